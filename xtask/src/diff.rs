//! `cargo xtask diff`: what `deploy` would change, from a change set against the stack's real
//! state, without changing anything (the change set is deleted unless `--out` keeps it).
//!
//! Exit codes with `--exit-code`: 0 no changes, 2 changes, 1 error.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::args::PreflightFlag;
use crate::aws::deployments as deployments_store;
use crate::aws::{self, Clients, artifacts, cfn};
use crate::deployments;
use crate::plan::{self, Inputs, PlanFile, Target};
use crate::review::{self, AlarmRouting, Verdict};
use crate::terminal::palette;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Print the review as JSON
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when there are changes or drift, 0 when there are none (1 on errors)
    #[arg(long)]
    pub exit_code: bool,
    /// Do not run CloudFormation's drift detection on the deployed stack
    #[arg(long)]
    pub no_drift: bool,
    /// Keep the change set and write a plan that `deploy --plan` executes exactly
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub preflight: PreflightFlag,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let inputs = args.target.resolve(args.target.env.load()?)?;
    // Said before AWS is asked anything, so even a diff that fails shows it.
    let alarms = AlarmRouting::of(&inputs.env);
    if !args.json {
        print!("{}", review::render_alarm_routing(&alarms, palette()));
    }
    let changed = aws::runtime()?.block_on(async {
        let clients = aws::connect(&inputs.env.region).await;
        diff(&clients, &inputs, &args, &alarms).await
    })?;
    Ok(if changed && args.exit_code {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Shows the review; true when deploying would change something.
async fn diff(
    clients: &Clients,
    inputs: &Inputs,
    args: &Args,
    alarms: &AlarmRouting,
) -> anyhow::Result<bool> {
    let situation = plan::survey(clients, inputs).await?;
    if let Some(stack) = &situation.deployed
        && stack.is_busy()
    {
        anyhow::bail!(stack.busy_message(&inputs.env.name));
    }
    let preflight = match args.preflight.skip_preflight {
        true => None,
        false => Some(plan::preflight(clients, inputs, &situation).await),
    };
    let preflight_json = preflight.as_ref().map_or_else(
        crate::preflight::skipped_json,
        crate::preflight::report_json,
    );
    if let Some(report) = &preflight {
        if !args.json {
            print!("{}", crate::preflight::render(report, palette()));
        }
        if let Some(refusal) = report.refusal("diff") {
            if args.json {
                let json = serde_json::json!({ "preflight": preflight_json });
                println!("{}", serde_json::to_string_pretty(&json)?);
            }
            anyhow::bail!(refusal);
        }
    }
    let drift = drift_check(clients, &situation, args.no_drift);
    let latest = deployments_store::newest(clients, &situation.bucket, &inputs.env.name, 1).await?;
    let hotswapped = situation
        .deployed
        .as_ref()
        .and_then(|stack| deployments::live_hotswap(&latest, stack));
    let proposal = async {
        if situation.is_unchanged(&inputs.template) {
            return anyhow::Ok(None);
        }
        if args.out.is_some() {
            // `deploy --plan` executes this change set as it is: its code must be in place.
            let bucket = artifacts::ensure_bucket(clients, &situation.account).await?;
            artifacts::upload_if_missing(
                clients,
                &bucket,
                &inputs.bundle.key(),
                inputs.bundle.bytes.clone(),
                "application/zip",
            )
            .await?;
        }
        plan::propose(clients, inputs, &situation, &plan::change_set_name()).await
    };
    // Drift detection runs while CloudFormation prepares the change set.
    let (proposal, drift) = tokio::join!(proposal, drift);
    let proposal = proposal?;
    let review = plan::review(inputs, &situation, proposal.as_ref().map(|p| &p.described));
    // A deploy after a hotswap puts the stack's code back even when nothing else changes.
    let changed = review.has_changes() || drift.has_drift() || hotswapped.is_some();
    if args.json {
        let mut json = review::review_json(&review);
        if let Some(object) = json.as_object_mut() {
            object.insert("preflight".to_owned(), preflight_json);
        }
        json["alarms"] = serde_json::to_value(alarms)?;
        json["drift"] = review::drift_json(&drift);
        json["hotswapped"] = serde_json::to_value(hotswapped)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", review::render_review(&review, palette()));
        if let Some(hotswap) = hotswapped {
            println!(
                "Hotswapped: the function runs code from deployment {} ({}), not the code the \
                 stack names; deploying puts the stack's code back",
                hotswap.id, hotswap.code.key
            );
        }
        print!("{}", review::render_drift(&drift, palette()));
        if alarms.verdict != Verdict::Ok {
            print!("{}", review::render_alarm_routing(alarms, palette()));
        }
    }
    match (proposal, &args.out) {
        (Some(proposal), Some(out)) => {
            PlanFile {
                env: inputs.env.name.clone(),
                stack_name: inputs.env.stack_name.clone(),
                change_set_arn: proposal.arn.clone(),
                stack_id: proposal.stack_id.clone(),
                fingerprint: situation.fingerprint(),
                code_bucket: situation.bucket.clone(),
                code_key: inputs.bundle.key(),
                plan: review.summary.line(),
            }
            .write(out)?;
            if !args.json {
                println!(
                    "Plan kept in {}: run `cargo xtask deploy --env {} --plan {}` to execute exactly this",
                    out.display(),
                    inputs.env.name,
                    out.display()
                );
            }
        }
        (Some(proposal), None) => {
            cfn::delete_change_set(&clients.cfn, &proposal.arn).await?;
            if situation.kind() == review::ChangeKind::Create {
                // A change set for a new stack leaves an empty stack under review behind.
                cfn::delete_stack(&clients.cfn, &proposal.stack_id).await?;
            }
        }
        (None, Some(out)) => {
            if out.exists() {
                std::fs::remove_file(out)?;
            }
            if !args.json {
                println!("No plan written: there is nothing to change");
            }
        }
        (None, None) => {}
    }
    Ok(changed)
}

/// Drift detection on the deployed stack, unless there is none yet or `--no-drift`.
pub(crate) async fn drift_check(
    clients: &Clients,
    situation: &plan::Situation,
    skip: bool,
) -> review::DriftCheck {
    match &situation.deployed {
        _ if skip => review::DriftCheck::Skipped {
            reason: "--no-drift".to_owned(),
        },
        Some(stack) if !stack.is_under_review() => aws::drift::check(&clients.cfn, &stack.id).await,
        _ => review::DriftCheck::Skipped {
            reason: "no stack deployed yet".to_owned(),
        },
    }
}
