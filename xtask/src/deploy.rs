//! `cargo xtask deploy`: build, upload, review, confirm, execute, follow, publish the site.
//!
//! A deploy whose template, parameters and code are what is deployed makes no change set at
//! all; the site is still compared file by file and only what changed is uploaded.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

use crate::aws::cfn::{self, DeployedStack};
use crate::aws::follow::{self, Display};
use crate::aws::plan::{self, Bundle, Inputs, PlanFile, Situation};
use crate::aws::preflight;
use crate::aws::rollout::RolloutWatch;
use crate::aws::{self, Clients, Elapsed, artifacts, site};
use crate::review::{self, AlarmRouting, ChangeKind, Palette, Verdict};
use crate::stack::OUTPUT_SITE_URL;
use crate::{build, env, tools};

/// How long a stack may take before we stop following it (it goes on in AWS).
const FOLLOW_LIMIT: Duration = Duration::from_secs(60 * 60);

/// What `diff` and `deploy` deploy: an environment, and optionally a prebuilt bundle.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// Environment to deploy: envs/ENV.toml
    #[arg(long = "env", value_name = "ENV")]
    pub env: String,
    /// Use this Lambda bundle (a zip) instead of building one
    #[arg(long, value_name = "ZIP", conflicts_with = "no_build")]
    pub artifact: Option<PathBuf>,
    /// Use the bundle the last `cargo xtask build` made instead of building
    #[arg(long)]
    pub no_build: bool,
    /// Deploy this template instead of rendering one from the environment (rehearsals)
    #[arg(long, value_name = "FILE", hide = true)]
    pub template: Option<PathBuf>,
    /// Project folder holding envs/ and frontend/ (the workspace by default)
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Do not ask before executing (for CI)
    #[arg(long)]
    pub yes: bool,
    /// Execute exactly the change set reviewed with `cargo xtask diff --out PLAN`
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Write the stack's outputs to this file as JSON
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    #[command(flatten)]
    pub preflight: preflight::Flag,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Before building or asking AWS anything: an environment whose alarms must reach someone
    // and would not is not deployed.
    let root = args.target.root.clone().unwrap_or_else(tools::project_root);
    let alarms = AlarmRouting::of(&env::load(&root, &args.target.env)?);
    if alarms.verdict == Verdict::Refuse {
        anyhow::bail!(alarms.message);
    }
    let inputs = resolve(&args.target)?;
    let runtime = aws::runtime()?;
    let result = runtime.block_on(async {
        let clients = aws::connect(&inputs.env.region).await;
        deploy(&clients, &inputs, &args).await
    });
    // A prompt left unanswered (Ctrl-C) still blocks a thread reading the terminal.
    runtime.shutdown_background();
    result
}

/// Reads the environment, renders its template and finds or builds the bundle.
pub fn resolve(target: &Target) -> anyhow::Result<Inputs> {
    let root = target.root.clone().unwrap_or_else(tools::project_root);
    let env = env::load(&root, &target.env)?;
    let template = match &target.template {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the template {}", path.display()))?,
        None => crate::stack::render(&env)
            .with_context(|| format!("rendering the template of {}", env.name))?,
    };
    let bundle = match (&target.artifact, target.no_build) {
        (Some(path), _) => {
            if !build::looks_like_bundle(path) {
                anyhow::bail!(
                    "{} is not a Lambda bundle: a zip with `bootstrap` at its root",
                    path.display()
                );
            }
            Bundle::read(path)?
        }
        (None, true) => {
            let path = build::bundle_path(env.function.architecture);
            if !path.is_file() {
                anyhow::bail!(
                    "--no-build: there is no bundle at {} yet; run `cargo xtask build --env {}` first",
                    path.display(),
                    env.name
                );
            }
            Bundle::read(&path)?
        }
        (None, false) => Bundle::read(&build::build(env.function.architecture)?)?,
    };
    Ok(Inputs {
        template_name: format!("templates/{}.yaml (rendered)", env.name),
        env,
        root,
        template,
        bundle,
    })
}

pub(crate) fn palette() -> Palette {
    Palette::new(
        std::io::stdout().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    )
}

async fn deploy(clients: &Clients, inputs: &Inputs, args: &Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let palette = palette();
    let env = &inputs.env;
    let mut situation = plan::survey(clients, inputs).await?;
    println!(
        "{} {}: stack {} in {}, account {}",
        palette.bold("Environment"),
        env.name,
        env.stack_name,
        env.region,
        situation.account
    );
    let alarms = AlarmRouting::of(env);
    print!("{}", review::render_alarm_routing(&alarms, palette));

    if let Some(stack) = &situation.deployed {
        if stack.is_busy() {
            anyhow::bail!(stack.busy_message(&env.name));
        }
        if let Some(stuck) = stack.stuck(&env.name) {
            anyhow::bail!(stuck);
        }
    }
    if !args.preflight.skip_preflight {
        preflight::gate(clients, inputs, &situation, "deploy", palette).await?;
    }
    if let Some(stack) = &situation.deployed
        && stack.status == "ROLLBACK_COMPLETE"
    {
        if let Some(stopped) =
            recreate_after_failed_create(clients, inputs, stack, args.yes).await?
        {
            return Ok(stopped);
        }
        situation = plan::survey(clients, inputs).await?;
    }

    if let Some(plan_path) = &args.plan {
        return execute_plan(clients, inputs, &situation, plan_path, args, started).await;
    }

    // Nothing to execute: no change set at all.
    if situation.is_unchanged(&inputs.template) {
        upload_bundle(clients, inputs, &situation).await?;
        println!(
            "No changes: template, parameters and code match stack {} ({})",
            env.stack_name,
            situation
                .deployed
                .as_ref()
                .map(|s| s.status.as_str())
                .unwrap_or("")
        );
        let stack = situation
            .deployed
            .clone()
            .expect("unchanged means deployed");
        return finish(clients, inputs, &stack, args, started).await;
    }

    upload_bundle(clients, inputs, &situation).await?;
    // Ctrl-C while CloudFormation prepares the change set, or at the prompt: nothing is
    // deployed, and nothing is left behind.
    let name = plan::change_set_name();
    let proposed =
        follow::unless_interrupted(plan::propose(clients, inputs, &situation, &name)).await;
    let follow::Waited::Done(proposed) = proposed else {
        plan::withdraw(clients, inputs, &situation, &name).await;
        eprintln!("Interrupted: nothing was deployed, and the change set was deleted");
        return Ok(ExitCode::from(130));
    };
    let Some(proposal) = proposed? else {
        println!(
            "No changes: CloudFormation found nothing to change; the empty change set was deleted"
        );
        let stack = cfn::describe_stack(&clients.cfn, &env.stack_name)
            .await?
            .context("the stack disappeared while deploying")?;
        return finish(clients, inputs, &stack, args, started).await;
    };
    let review = plan::review(inputs, &situation, Some(&proposal.described));
    print!("{}", review::render_review(&review, palette));
    if alarms.verdict != Verdict::Ok {
        print!("{}", review::render_alarm_routing(&alarms, palette));
    }

    let (confirmed, interrupted) =
        match follow::unless_interrupted(confirm(&env.name, args.yes)).await {
            follow::Waited::Done(answer) => (answer, false),
            follow::Waited::Interrupted => {
                // A line of its own after the prompt.
                eprintln!();
                (Ok(false), true)
            }
        };
    if !matches!(confirmed, Ok(true)) {
        cfn::delete_change_set(&clients.cfn, &proposal.arn).await?;
        if situation.kind() == ChangeKind::Create {
            // The change set of a new stack leaves an empty stack under review behind.
            cfn::delete_stack(&clients.cfn, &proposal.stack_id).await?;
        }
        confirmed?;
        println!("Not deployed; the change set was deleted");
        return Ok(if interrupted {
            ExitCode::from(130)
        } else {
            ExitCode::FAILURE
        });
    }
    execute(
        clients,
        inputs,
        &Execution {
            arn: &proposal.arn,
            stack_id: &proposal.stack_id,
            kind: situation.kind(),
        },
        args,
        started,
    )
    .await
}

/// A stack whose first create failed cannot be updated: explain, delete it after asking, wait.
/// `Some(exit code)` when the deploy stops here (Ctrl-C during the delete).
async fn recreate_after_failed_create(
    clients: &Clients,
    inputs: &Inputs,
    stack: &DeployedStack,
    yes: bool,
) -> anyhow::Result<Option<ExitCode>> {
    let palette = palette();
    print!("{}", review::explain_rollback_complete(&stack.name));
    let events = cfn::events_after(&clients.cfn, &stack.id, None).await?;
    let failures = review::failures_or_reason(
        &events,
        &stack.name,
        &stack.status,
        stack.status_reason.as_deref(),
    );
    print!(
        "{}",
        review::render_failures(&stack.name, &stack.status, &failures, palette)
    );
    if !yes && !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "stack {} stays in ROLLBACK_COMPLETE: deploy again with --yes to delete it and create \
             it again, or delete it with `cargo xtask destroy --env {}`",
            stack.name,
            inputs.env.name
        );
    }
    println!("Delete it and create it again?");
    if !confirm(&inputs.env.name, yes).await? {
        anyhow::bail!(
            "stack {} stays in ROLLBACK_COMPLETE; delete it (`cargo xtask destroy --env {}`) or \
             confirm to let deploy do it",
            stack.name,
            inputs.env.name
        );
    }
    let since = cfn::newest_event_id(&clients.cfn, &stack.id).await?;
    cfn::delete_stack(&clients.cfn, &stack.id).await?;
    let display = Display {
        palette,
        live: std::io::stdout().is_terminal(),
    };
    let followed = match follow::unless_interrupted(follow::follow(
        &clients.cfn,
        &stack.id,
        since,
        display,
        FOLLOW_LIMIT,
        None,
    ))
    .await
    {
        follow::Waited::Done(followed) => followed?,
        follow::Waited::Interrupted => {
            return Ok(Some(interrupted(
                &stack.name,
                "the delete",
                &inputs.env.name,
                display,
            )));
        }
    };
    if followed.status != "DELETE_COMPLETE" {
        let failures = review::failures_or_reason(
            &followed.events,
            &stack.name,
            &followed.status,
            followed.reason.as_deref(),
        );
        print!(
            "{}",
            review::render_failures(&stack.name, &followed.status, &failures, palette)
        );
        anyhow::bail!(
            "deleting stack {} ended in {}: it cannot be created again until it is gone; fix the \
             cause above and run `cargo xtask destroy --env {}`",
            stack.name,
            followed.status,
            inputs.env.name
        );
    }
    println!("Deleted {}; creating it again", stack.name);
    Ok(None)
}

/// After Ctrl-C: say that the operation goes on in AWS and how to follow it; exit code 130.
fn interrupted(stack_name: &str, operation: &str, env_name: &str, display: Display) -> ExitCode {
    if display.live {
        println!();
    }
    eprintln!(
        "{}",
        follow::interrupted_message(stack_name, operation, env_name)
    );
    ExitCode::from(130)
}

async fn upload_bundle(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
) -> anyhow::Result<()> {
    let bucket = artifacts::ensure_bucket(clients, &situation.account).await?;
    let key = inputs.bundle.key();
    let uploaded = artifacts::upload_if_missing(
        clients,
        &bucket,
        &key,
        inputs.bundle.bytes.clone(),
        "application/zip",
    )
    .await?;
    println!(
        "Bundle s3://{bucket}/{key} ({:.1} kB): {}",
        inputs.bundle.bytes.len() as f64 / 1e3,
        if uploaded {
            "uploaded"
        } else {
            "already there"
        }
    );
    Ok(())
}

/// Asks on the terminal; without one, only `--yes` goes ahead. Prod wants its name typed.
/// The answer is read off the runtime's thread, so Ctrl-C still ends the deploy at the prompt.
pub(crate) async fn confirm(env_name: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to deploy without a terminal to confirm on: review with `cargo xtask diff \
             --env {env_name}`, then pass --yes"
        );
    }
    let env_name = env_name.to_owned();
    tokio::task::spawn_blocking(move || ask(&env_name)).await?
}

fn ask(env_name: &str) -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr();
    if env_name == "prod" {
        write!(stderr, "Type '{env_name}' to deploy these changes: ")?;
    } else {
        write!(stderr, "Deploy these changes to {env_name}? [y/N] ")?;
    }
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let answer = answer.trim();
    Ok(if env_name == "prod" {
        answer == env_name
    } else {
        matches!(answer, "y" | "Y" | "yes")
    })
}

async fn execute_plan(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    plan_path: &Path,
    args: &Args,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let plan = PlanFile::read(plan_path)?;
    if plan.env != inputs.env.name || plan.stack_name != inputs.env.stack_name {
        anyhow::bail!(
            "the plan {} is for environment {} (stack {}), not {}",
            plan_path.display(),
            plan.env,
            plan.stack_name,
            inputs.env.name
        );
    }
    if plan.fingerprint != situation.fingerprint() {
        anyhow::bail!(
            "stack {} changed since the plan was reviewed: review again with `cargo xtask diff \
             --env {} --out {}`",
            plan.stack_name,
            plan.env,
            plan_path.display()
        );
    }
    let described = cfn::describe_change_set(&clients.cfn, &plan.change_set_arn).await?;
    if described.execution_status.as_deref() != Some("AVAILABLE") {
        anyhow::bail!(
            "the reviewed change set cannot run (it is {}): review again with `cargo xtask diff \
             --env {} --out {}`",
            described.execution_status.as_deref().unwrap_or("unknown"),
            plan.env,
            plan_path.display()
        );
    }
    println!("Executing the reviewed plan: {}", plan.plan);
    if !confirm(&inputs.env.name, args.yes).await? {
        println!("Not deployed; the reviewed change set is kept");
        return Ok(ExitCode::FAILURE);
    }
    execute(
        clients,
        inputs,
        &Execution {
            arn: &plan.change_set_arn,
            stack_id: &plan.stack_id,
            kind: situation.kind(),
        },
        args,
        started,
    )
    .await
}

/// The change set to execute.
pub(crate) struct Execution<'a> {
    pub arn: &'a str,
    pub stack_id: &'a str,
    pub kind: ChangeKind,
}

async fn execute(
    clients: &Clients,
    inputs: &Inputs,
    execution: &Execution<'_>,
    args: &Args,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let again = format!("cargo xtask deploy --env {}", inputs.env.name);
    if let Executed::Stopped(code) =
        run_change_set(clients, &inputs.env, execution, &again, started).await?
    {
        return Ok(code);
    }
    let stack = cfn::describe_stack(&clients.cfn, execution.stack_id)
        .await?
        .context("the stack disappeared after deploying")?;
    finish(clients, inputs, &stack, args, started).await
}

/// How executing a change set ended.
pub(crate) enum Executed {
    /// The stack is `CREATE_COMPLETE` or `UPDATE_COMPLETE`.
    Succeeded,
    /// It failed (what and why were printed) or Ctrl-C stopped the following: exit with this.
    Stopped(ExitCode),
}

/// Executes the change set and follows the stack until it settles, printing its events, and
/// on failure the failed resources with CloudFormation's reasons and what to do; `again` is
/// the command that updates a rolled-back stack.
pub(crate) async fn run_change_set(
    clients: &Clients,
    env: &env::Environment,
    execution: &Execution<'_>,
    again: &str,
    started: Instant,
) -> anyhow::Result<Executed> {
    let palette = palette();
    let stack_id = execution.stack_id;
    let since = cfn::newest_event_id(&clients.cfn, stack_id).await?;
    if let Err(err) = cfn::execute_change_set(&clients.cfn, execution.arn).await {
        // It cannot run any more (the stack changed, or it is busy): leave nothing behind.
        cfn::delete_change_set(&clients.cfn, execution.arn)
            .await
            .ok();
        return Err(err);
    }
    let display = Display {
        palette,
        live: std::io::stdout().is_terminal(),
    };
    // A create points the new alias at the first version at once; only updates shift.
    let started_at = SystemTime::now()
        .checked_sub(started.elapsed())
        .unwrap_or_else(SystemTime::now);
    let mut rollout = crate::stack::deployment_type(env.function.rollout)
        .filter(|_| execution.kind == ChangeKind::Update)
        .map(|kind| RolloutWatch::new(clients, stack_id, kind.as_str(), started_at, palette));
    let followed = match follow::unless_interrupted(follow::follow(
        &clients.cfn,
        stack_id,
        since,
        display,
        FOLLOW_LIMIT,
        rollout.as_mut(),
    ))
    .await
    {
        follow::Waited::Done(followed) => followed?,
        follow::Waited::Interrupted => {
            let operation = match execution.kind {
                ChangeKind::Create => "the create",
                ChangeKind::Update => "the update",
            };
            return Ok(Executed::Stopped(interrupted(
                &env.stack_name,
                operation,
                &env.name,
                display,
            )));
        }
    };
    let succeeded = matches!(
        followed.status.as_str(),
        "CREATE_COMPLETE" | "UPDATE_COMPLETE"
    );
    if !succeeded {
        let failures = review::failures_or_reason(
            &followed.events,
            &env.stack_name,
            &followed.status,
            followed.reason.as_deref(),
        );
        print!(
            "{}",
            review::render_failures(&env.stack_name, &followed.status, &failures, palette)
        );
        if let Some(report) = match rollout.as_mut() {
            Some(watch) => watch.rollback_report().await,
            None => None,
        } {
            print!("{report}");
        }
        match followed.status.as_str() {
            "ROLLBACK_COMPLETE" => {
                print!("{}", review::explain_rollback_complete(&env.stack_name));
                println!(
                    "The next `cargo xtask deploy --env {}` deletes it and creates it again after \
                     asking (--yes: without asking)",
                    env.name
                );
            }
            "UPDATE_ROLLBACK_COMPLETE" => {
                println!("Fix the cause and run `{again}` again: it updates the rolled-back stack")
            }
            _ => {
                if let Some(stuck) = cfn::describe_stack(&clients.cfn, stack_id)
                    .await?
                    .and_then(|stack| stack.stuck(&env.name))
                {
                    println!("{stuck}");
                }
            }
        }
        return Ok(Executed::Stopped(ExitCode::FAILURE));
    }
    println!(
        "Stack {}: {} after {}",
        env.stack_name,
        palette.green(&followed.status),
        Elapsed(started.elapsed())
    );
    Ok(Executed::Succeeded)
}

/// After the stack: write the outputs, publish the site, invalidate CloudFront, print the URL.
/// When publishing fails the stack is still up: the error says so, and what to run again.
async fn finish(
    clients: &Clients,
    inputs: &Inputs,
    stack: &DeployedStack,
    args: &Args,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let outputs = plan::outputs(clients, stack, &inputs.template)
        .await
        .with_context(|| {
            format!(
                "stack {} is {}, but its outputs could not be read",
                stack.name, stack.status
            )
        })?;
    if let Some(path) = &args.outputs_file {
        write_outputs(path, stack, &outputs)?;
    }
    if let Err(unfinished) = site::publish(clients, &inputs.root, &outputs).await {
        anyhow::bail!(unfinished.explain(stack, &inputs.env.name, args.outputs_file.as_deref()));
    }
    match outputs.get(OUTPUT_SITE_URL) {
        Some(url) => println!("Site URL: {url}"),
        None => println!("Site URL: none yet (the stack has no {OUTPUT_SITE_URL} output)"),
    }
    println!("Done in {}", Elapsed(started.elapsed()));
    Ok(ExitCode::SUCCESS)
}

fn write_outputs(
    path: &Path,
    stack: &DeployedStack,
    outputs: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let json = serde_json::json!({
        "stack_name": stack.name,
        "stack_id": stack.id,
        "outputs": outputs,
    });
    std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing the outputs to {}", path.display()))
}
