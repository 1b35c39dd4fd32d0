//! `cargo xtask outputs` (or `status`): the environment's capacity from its env file, then the
//! stack's state and outputs.

use std::process::ExitCode;

use crate::args::EnvArgs;
use crate::aws::{self, cfn};
use crate::plan;
use crate::terminal::palette;
use chatbot_envfile::capacity::{self, Capacity};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
    /// Print the state and outputs as JSON
    #[arg(long)]
    pub json: bool,
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
        if args.json {
            let json = serde_json::json!({
                "stack_name": stack.name,
                "stack_id": stack.id,
                "status": stack.status.as_str(),
                "status_reason": stack.status_reason,
                "last_updated": stack.last_updated.as_ref().unwrap_or(&stack.created),
                "outputs": outputs,
                "capacity": capacity_json(&capacity),
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
