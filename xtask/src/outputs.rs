//! `cargo xtask outputs` (or `status`): the environment's capacity from its env file, then the
//! stack's state and outputs, drift from its template, and the last deployments.

use std::process::ExitCode;

use crate::args::EnvArgs;
use crate::aws::deployments as store;
use crate::aws::{self, artifacts, cfn, drift};
use crate::deployments;
use crate::plan;
use crate::review::{self, DriftCheck};
use crate::terminal::palette;
use chatbot_envfile::capacity::{self, Capacity};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
    /// Print the state and outputs as JSON
    #[arg(long)]
    pub json: bool,
    /// Do not run CloudFormation's drift detection on the stack
    #[arg(long)]
    pub no_drift: bool,
    /// How many of the last deployments to list
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub deployments: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env = args.env.load()?;
    // From the env file alone, so it is shown even when the stack cannot be reached.
    let capacity = Capacity::of(capacity::Settings::of(&env));
    if !args.json {
        println!(
            "Capacity of {} (envs/{}.toml)\n{capacity}",
            env.name, env.name
        );
    }
    aws::runtime()?.block_on(async {
        let clients = aws::connect(&env.region).await;
        let Some(stack) = cfn::describe_stack(&clients.cfn, &env.stack_name).await? else {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"stack_name": env.stack_name, "status": null, "outputs": {}, "capacity": capacity_json(&capacity)})
                );
            } else {
                println!("Stack {} does not exist in {}", env.stack_name, env.region);
            }
            return Ok(ExitCode::FAILURE);
        };
        let template = if stack.is_under_review() {
            String::new()
        } else {
            cfn::deployed_template(&clients.cfn, &stack.id).await?
        };
        let outputs = plan::outputs(&clients, &stack, &template).await?;
        let account = aws::caller_account(&clients).await?;
        let bucket = artifacts::bucket_name(&account, &clients.region);
        let drift = async {
            match stack.is_under_review() || args.no_drift {
                true => DriftCheck::Skipped {
                    reason: if args.no_drift {
                        "--no-drift".to_owned()
                    } else {
                        "the stack waits for its first change set".to_owned()
                    },
                },
                false => drift::check(&clients.cfn, &stack.id).await,
            }
        };
        let records = store::newest(&clients, &bucket, &env.name, args.deployments.max(1));
        let (drift, records) = tokio::join!(drift, records);
        let mut records = records?;
        let hotswapped = deployments::live_hotswap(&records, &stack).cloned();
        records.truncate(args.deployments);
        if args.json {
            let json = serde_json::json!({
                "stack_name": stack.name,
                "stack_id": stack.id,
                "status": stack.status.as_str(),
                "status_reason": stack.status_reason,
                "last_updated": stack.last_updated.as_ref().unwrap_or(&stack.created),
                "outputs": outputs,
                "capacity": capacity_json(&capacity),
                "drift": review::drift_json(&drift),
                "hotswapped": hotswapped,
                "deployments": deployments::list_json(&records),
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
            return Ok(ExitCode::SUCCESS);
        }
        let palette = palette();
        println!(
            "{} {}",
            palette.bold(&format!("Stack {}", stack.name)),
            stack.status
        );
        if let Some(reason) = &stack.status_reason {
            println!("  {reason}");
        }
        println!(
            "  updated {}",
            stack.last_updated.as_ref().unwrap_or(&stack.created)
        );
        let width = outputs.keys().map(String::len).max().unwrap_or(0);
        for (name, value) in &outputs {
            println!("  {name:<width$}  {value}");
        }
        print!("{}", review::render_drift(&drift, palette));
        print!(
            "{}",
            deployments::render_list(&records, hotswapped.as_ref(), palette)
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// The capacity figures for `--json`.
fn capacity_json(capacity: &Capacity) -> serde_json::Value {
    let s = &capacity.settings;
    serde_json::json!({
        "simultaneous_streams": capacity.simultaneous_streams,
        "answers_per_second_at_timeout": capacity.answers_per_second_at_timeout,
        "timeout_seconds": s.timeout_seconds,
        "stage_rate": s.throttle_rate,
        "stage_burst": s.throttle_burst,
        "budget_shards": s.budget_shards,
        "budget_writes_per_second": capacity.budget_writes_per_second,
        "budget_reader_instances": capacity.budget_reader_instances,
        "break_even_seconds": capacity.break_even_seconds,
        "first_ceiling": capacity.first_at_timeout.setting(),
    })
}
