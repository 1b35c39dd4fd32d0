//! `cargo xtask deploy`: build, upload, review, confirm, execute, follow, publish the site.
//!
//! A deploy whose template, parameters and code are what is deployed makes no change set at
//! all; the site is still compared file by file and only what changed is uploaded.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::args::PreflightFlag;
use crate::aws::{self, Clients, artifacts, cfn, site};
use crate::follow::{self, Ended, Operation};
use crate::plan::{self, Executed, Execution, Inputs, PlanFile, Situation, Target};
use crate::review::{self, AlarmRouting, ChangeKind, DeployedStack, StackStatus, Verdict};
use crate::stack::OUTPUT_SITE_URL;
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
    /// Do not run the smoke test (`cargo xtask smoke`) once deployed
    #[arg(long)]
    pub no_smoke: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Before building or asking AWS anything: an environment whose alarms must reach someone
    // and would not is not deployed.
    let env = args.target.env.load()?;
    let alarms = AlarmRouting::of(&env);
    if alarms.verdict == Verdict::Refuse {
        anyhow::bail!(alarms.message);
    }
    let inputs = args.target.resolve(env)?;
    let runtime = aws::runtime()?;
    let result = runtime.block_on(async {
        let clients = aws::connect(&inputs.env.region).await;
        deploy(&clients, &inputs, &args).await
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
        args,
        started,
    )
    .await
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
        plan::run_change_set(clients, &inputs.env, execution, &again, started).await?
    {
        return Ok(code);
    }
    let stack = cfn::describe_stack(&clients.cfn, execution.stack_id)
        .await?
        .context("the stack disappeared after deploying")?;
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
    if let Err(unfinished) = site::publish(clients, &inputs.root, &outputs).await {
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
