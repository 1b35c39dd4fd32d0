//! `cargo xtask deploy`: build, upload, review, confirm, execute, follow, publish the site.
//!
//! A deploy whose template, parameters and code are what is deployed makes no change set at
//! all; the site is still compared file by file and only what changed is uploaded.

pub mod rollback;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::args::PreflightFlag;
use crate::aws::deployments as deployments_store;
use crate::aws::{self, Clients, artifacts, cfn, site};
use crate::deployments::{self, Artifact, FunctionVersion, GitState, Kind, Record};
use crate::digest::sha256_hex;
use crate::follow::{self, Ended, Operation};
use crate::hotswap::{self as hotswap_plan, CodeTarget, Comparison, Decision};
use crate::plan::{self, Executed, Execution, Inputs, PlanFile, Situation, Target};
use crate::review::{self, AlarmRouting, ChangeKind, DeployedStack, StackStatus, Verdict};
use crate::stack::{OUTPUT_SITE_URL, PARAM_CODE_KEY};
use crate::terminal::{self, Elapsed};

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
    pub preflight: PreflightFlag,
    /// When only the function's code changed, push it straight to the function (seconds, no
    /// change set); needs `[deploy] hotswap = true` in the env file
    #[arg(long, conflicts_with = "plan")]
    pub hotswap: bool,
    /// Set by `rollback`: the id of the deployment being put back.
    #[arg(skip)]
    pub rollback_to: Option<String>,
    /// Do not run the smoke test (`cargo xtask smoke`) once deployed
    #[arg(long)]
    pub no_smoke: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Before building or asking AWS anything: a hotswap the env file does not allow, and an
    // environment whose alarms must reach someone and would not, are refused.
    let env = args.target.env.load()?;
    if args.hotswap && !env.hotswap {
        anyhow::bail!(
            "--hotswap is not allowed for {name}: envs/{name}.toml does not set `[deploy] \
             hotswap = true` (a hotswap changes the function outside CloudFormation, unreviewed); \
             deploy without --hotswap",
            name = env.name
        );
    }
    if args.hotswap && env.function.rollout != crate::env::Rollout::AllAtOnce {
        anyhow::bail!(
            "--hotswap is refused while envs/{}.toml sets a gradual function.rollout: a hotswap \
             would move the alias at once, past the rollout and its alarms; deploy without \
             --hotswap",
            env.name
        );
    }
    let alarms = AlarmRouting::of(&env);
    if alarms.verdict == Verdict::Refuse {
        anyhow::bail!(alarms.message);
    }
    let inputs = args.target.resolve(env)?;
    run_inputs(&inputs, &args)
}

/// Deploys `inputs`, resolved already (by `run`, or by `rollback` from a deployment record).
pub(crate) fn run_inputs(inputs: &Inputs, args: &Args) -> anyhow::Result<ExitCode> {
    let runtime = aws::runtime()?;
    let result = runtime.block_on(async {
        let clients = aws::connect(&inputs.env.region).await;
        deploy(&clients, inputs, args).await
    });
    // A prompt left unanswered (Ctrl-C) still blocks a thread reading the terminal.
    runtime.shutdown_background();
    result
}

async fn deploy(clients: &Clients, inputs: &Inputs, args: &Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let palette = terminal::palette();
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
    let latest = deployments_store::newest(clients, &situation.bucket, &env.name, 1).await?;
    let hotswapped = situation
        .deployed
        .as_ref()
        .and_then(|stack| deployments::live_hotswap(&latest, stack));
    if args.hotswap {
        match hotswap_decision(clients, inputs, &situation, hotswapped).await? {
            Ok(targets) => {
                return hotswap(clients, inputs, &situation, &targets, args, started).await;
            }
            Err(None) => {
                println!(
                    "No changes: the function already runs this code, and the template and \
                     parameters match stack {}",
                    env.stack_name
                );
                let stack = situation.deployed.clone().expect("a hotswap needs a stack");
                return finish(clients, inputs, &stack, args, started).await;
            }
            Err(Some(why)) => println!("Not hotswapping: {why}; deploying through a change set"),
        }
    }
    if !args.preflight.skip_preflight {
        plan::gate(clients, inputs, &situation, "deploy", palette).await?;
    }
    if let Some(stack) = &situation.deployed
        && stack.status == StackStatus::RollbackComplete
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
        if let Some(hotswap) = hotswapped {
            // The stack is as wanted, but its function runs hotswapped code: put its own back.
            let stack = situation
                .deployed
                .clone()
                .expect("unchanged means deployed");
            restore_code(clients, inputs, &situation, hotswap).await?;
            write_record(
                clients,
                inputs,
                &situation,
                &stack,
                Recorded::deploy(args, None),
            )
            .await;
            return finish(clients, inputs, &stack, args, started).await;
        }
        println!(
            "No changes: template, parameters and code match stack {} ({})",
            env.stack_name,
            situation
                .deployed
                .as_ref()
                .map_or("", |s| s.status.as_str())
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
        match follow::unless_interrupted(terminal::confirm_deploy(&env.name, args.yes)).await {
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
        &situation,
        hotswapped,
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
    let palette = terminal::palette();
    print!("{}", review::explain_rollback_complete(&stack.name));
    let events = cfn::events_after(&clients.cfn, &stack.id, None).await?;
    print!(
        "{}",
        review::render_failure_report(
            &stack.name,
            &stack.status,
            stack.status_reason.as_deref(),
            &events,
            palette
        )
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
    if !terminal::confirm_deploy(&inputs.env.name, yes).await? {
        anyhow::bail!(
            "stack {} stays in ROLLBACK_COMPLETE; delete it (`cargo xtask destroy --env {}`) or \
             confirm to let deploy do it",
            stack.name,
            inputs.env.name
        );
    }
    let since = cfn::newest_event_id(&clients.cfn, &stack.id).await?;
    cfn::delete_stack(&clients.cfn, &stack.id).await?;
    let operation = Operation {
        name: "the delete",
        env_name: &inputs.env.name,
    };
    let followed =
        match follow::operation(&clients.cfn, &stack.id, &stack.name, since, operation, None)
            .await?
        {
            Ended::Settled(followed) => followed,
            Ended::Interrupted(code) => return Ok(Some(code)),
        };
    if followed.status != StackStatus::DeleteComplete {
        print!("{}", followed.failure_report(&stack.name, palette));
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
    if !terminal::confirm_deploy(&inputs.env.name, args.yes).await? {
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
        situation,
        None,
        args,
        started,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    clients: &Clients,
    inputs: &Inputs,
    execution: &Execution<'_>,
    situation: &Situation,
    hotswapped: Option<&Record>,
    args: &Args,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let again = format!("cargo xtask deploy --env {}", inputs.env.name);
    if let Executed::Stopped(code) =
        plan::run_change_set(clients, &inputs.env, execution, &again, started).await?
    {
        return Ok(code);
    }
    let stack = cfn::describe_stack(&clients.cfn, execution.stack_id)
        .await?
        .context("the stack disappeared after deploying")?;
    // An update that left CodeKey as it was does not give the function its code again: after
    // a hotswap it would keep running (and publish) the hotswapped code.
    if let Some(hotswap) = hotswapped
        && situation.deployed.as_ref().is_some_and(|before| {
            before.parameters.get(PARAM_CODE_KEY) == stack.parameters.get(PARAM_CODE_KEY)
        })
    {
        restore_code(clients, inputs, situation, hotswap).await?;
    }
    write_record(
        clients,
        inputs,
        situation,
        &stack,
        Recorded::deploy(args, Some(execution.arn)),
    )
    .await;
    finish(clients, inputs, &stack, args, started).await
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
    if args.rollback_to.is_some() {
        println!("Site files left as they are: a rollback puts back the stack and the code");
    } else if let Err(unfinished) = site::publish(clients, &inputs.root, &outputs).await {
        anyhow::bail!(unfinished.explain(stack, &inputs.env.name, args.outputs_file.as_deref()));
    }
    match outputs.get(OUTPUT_SITE_URL) {
        Some(url) => println!("Site URL: {url}"),
        None => println!("Site URL: none yet (the stack has no {OUTPUT_SITE_URL} output)"),
    }
    if !args.no_smoke
        && let Some(failed) =
            crate::probe::after_deploy(&inputs.env, &outputs, terminal::palette()).await
    {
        return Ok(failed);
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

/// A function to hotswap: what the template calls it, its deployed name.
struct Swap {
    target: CodeTarget,
    function: String,
}

/// `Ok`: hotswap these functions; `Err(None)`: nothing to do; `Err(Some(why))`: deploy
/// through a change set instead, for this reason.
async fn hotswap_decision(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    hotswapped: Option<&Record>,
) -> anyhow::Result<Result<Vec<Swap>, Option<String>>> {
    let stack = situation.deployed.as_ref();
    let live_code_key = match hotswapped {
        Some(record) => Some(record.code.key.as_str()),
        None => stack.and_then(|s| s.parameters.get(PARAM_CODE_KEY).map(String::as_str)),
    };
    let targets = match hotswap_plan::decide(&Comparison {
        stack,
        deployed_template: &situation.deployed_template,
        template: &inputs.template,
        parameters: &situation.parameters,
        live_code_key,
    }) {
        Decision::Hotswap(targets) => targets,
        Decision::NothingToDo => return Ok(Err(None)),
        Decision::FullDeploy(why) => return Ok(Err(Some(why))),
    };
    let stack = stack.expect("a hotswap decision needs a stack");
    let resources = cfn::stack_resources(&clients.cfn, &stack.id).await?;
    let mut swaps = Vec::new();
    for target in targets {
        let Some(function) = aws::hotswap::physical_name(&resources, &target) else {
            return Ok(Err(Some(format!(
                "stack {} has no Lambda function {} to update",
                stack.name, target.logical_id
            ))));
        };
        swaps.push(Swap { target, function });
    }
    Ok(Ok(swaps))
}

/// Pushes the new code to each function, records the hotswap, and says plainly that the stack
/// no longer describes what runs.
async fn hotswap(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    swaps: &[Swap],
    args: &Args,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let palette = terminal::palette();
    let stack = situation.deployed.clone().expect("a hotswap needs a stack");
    for swap in swaps {
        if let Some(alias) = &swap.target.alias {
            aws::hotswap::check_alias(clients, &swap.function, alias).await?;
        }
    }
    upload_bundle(clients, inputs, situation).await?;
    println!(
        "{} only the function's code changed: updating it directly, no change set",
        palette.bold("Hotswap:")
    );
    let mut pushed = None;
    for swap in swaps {
        let version = push_code(
            clients,
            situation,
            swap,
            &inputs.bundle.key(),
            &format!("cargo xtask deploy --env {} --hotswap", inputs.env.name),
        )
        .await?;
        pushed.get_or_insert(version);
    }
    println!(
        "{} stack {} now differs from its template: its {PARAM_CODE_KEY} parameter names {}, \
         the function runs {}. `cargo xtask status` and `diff` say so until the next full \
         deploy (`cargo xtask deploy --env {}` without --hotswap) puts them back in step",
        palette.yellow("WARNING"),
        stack.name,
        stack
            .parameters
            .get(PARAM_CODE_KEY)
            .map_or("nothing", String::as_str),
        inputs.bundle.key(),
        inputs.env.name
    );
    let mut recorded = Recorded::deploy(args, None);
    recorded.kind = Kind::Hotswap;
    recorded.code_key = Some(inputs.bundle.key());
    recorded.function = pushed;
    write_record(clients, inputs, situation, &stack, recorded).await;
    finish(clients, inputs, &stack, args, started).await
}

/// Gives one function the code at `key` in the artifacts bucket, saying what it did.
async fn push_code(
    clients: &Clients,
    situation: &Situation,
    swap: &Swap,
    key: &str,
    description: &str,
) -> anyhow::Result<FunctionVersion> {
    let began = Instant::now();
    let version = aws::hotswap::push(
        clients,
        &swap.function,
        swap.target.alias.as_deref(),
        &situation.bucket,
        key,
        description,
    )
    .await?;
    match (&version.version, &version.alias) {
        (Some(number), Some(alias)) => println!(
            "Function {}: code {key} in place, version {number} published, alias {alias} → \
             {number} ({})",
            swap.function,
            Elapsed(began.elapsed())
        ),
        _ => println!(
            "Function {}: code {key} in place ({})",
            swap.function,
            Elapsed(began.elapsed())
        ),
    }
    Ok(version)
}

/// After a hotswap, gives the function back the code its stack names.
async fn restore_code(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    hotswap: &Record,
) -> anyhow::Result<()> {
    let stack = situation
        .deployed
        .as_ref()
        .expect("a hotswap needs a stack");
    let key = inputs.bundle.key();
    println!(
        "The function runs code hotswapped by deployment {} ({}): putting back the code stack \
         {} names ({key})",
        hotswap.id, hotswap.code.key, stack.name
    );
    let resources = cfn::stack_resources(&clients.cfn, &stack.id).await?;
    for target in hotswap_plan::code_targets(&inputs.template) {
        let Some(function) = aws::hotswap::physical_name(&resources, &target) else {
            continue;
        };
        let swap = Swap { target, function };
        push_code(
            clients,
            situation,
            &swap,
            &key,
            &format!("cargo xtask deploy --env {}", inputs.env.name),
        )
        .await?;
    }
    Ok(())
}

/// What a record says beyond the stack and the inputs.
struct Recorded<'a> {
    kind: Kind,
    change_set_id: Option<&'a str>,
    rolled_back_to: Option<String>,
    /// The code the function runs, when not the stack's `CodeKey` (a hotswap).
    code_key: Option<String>,
    function: Option<FunctionVersion>,
}

impl<'a> Recorded<'a> {
    fn deploy(args: &Args, change_set_id: Option<&'a str>) -> Recorded<'a> {
        Recorded {
            kind: if args.rollback_to.is_some() {
                Kind::Rollback
            } else {
                Kind::Deploy
            },
            change_set_id,
            rolled_back_to: args.rollback_to.clone(),
            code_key: None,
            function: None,
        }
    }
}

/// Writes the deployment record; a record that cannot be written is a warning, not a failed
/// deploy (the stack is deployed either way).
async fn write_record(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    stack: &DeployedStack,
    recorded: Recorded<'_>,
) {
    if let Err(err) = try_write_record(clients, inputs, situation, stack, recorded).await {
        eprintln!(
            "warning: the deployment record was not written ({err:#}): `status` will not list \
             this deployment, and `rollback` cannot come back to it"
        );
    }
}

async fn try_write_record(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    stack: &DeployedStack,
    recorded: Recorded<'_>,
) -> anyhow::Result<()> {
    let template_sha = sha256_hex(inputs.template.as_bytes());
    let template_key = artifacts::template_key(&inputs.env.stack_name, &template_sha);
    artifacts::upload_if_missing(
        clients,
        &situation.bucket,
        &template_key,
        inputs.template.clone().into_bytes(),
        "application/x-yaml",
    )
    .await?;
    let time = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)?;
    let code_key = recorded
        .code_key
        .or_else(|| stack.parameters.get(PARAM_CODE_KEY).cloned())
        .unwrap_or_else(|| inputs.bundle.key());
    let code_sha = code_key
        .strip_prefix("bootstrap/")
        .and_then(|k| k.strip_suffix(".zip"))
        .unwrap_or(&inputs.bundle.sha256)
        .to_owned();
    let git = match &recorded.rolled_back_to {
        // What runs is the earlier deployment's build, not the checkout's.
        Some(id) => deployments_store::newest(clients, &situation.bucket, &inputs.env.name, 50)
            .await?
            .into_iter()
            .find(|r| &r.id == id)
            .and_then(|r| r.git),
        None => git_state(&inputs.root),
    };
    let record = Record {
        id: deployments::new_id(&time),
        env: inputs.env.name.clone(),
        stack_name: stack.name.clone(),
        time,
        kind: recorded.kind,
        caller_arn: situation.caller_arn.clone(),
        git,
        template: Artifact {
            bucket: situation.bucket.clone(),
            key: template_key,
            sha256: template_sha,
        },
        parameters: stack.parameters.clone(),
        code: Artifact {
            bucket: situation.bucket.clone(),
            key: code_key,
            sha256: code_sha,
        },
        stack_status: stack.status.as_str().to_owned(),
        stack_last_updated: deployments::stack_updated(stack),
        change_set_id: recorded.change_set_id.map(str::to_owned),
        rolled_back_to: recorded.rolled_back_to,
        function: recorded.function,
    };
    let key = deployments_store::write(clients, &situation.bucket, &record).await?;
    println!(
        "Deployment {} recorded (s3://{}/{key})",
        record.id, situation.bucket
    );
    Ok(())
}

/// The checkout's commit and whether it has uncommitted changes; `None` outside a git
/// repository.
fn git_state(root: &Path) -> Option<GitState> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    Some(GitState { commit, dirty })
}
