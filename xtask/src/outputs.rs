//! `cargo xtask outputs` (or `status`): the environment's capacity from its env file, then the
//! stack's state and outputs.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::aws::{self, cfn, plan};
use crate::capacity::{self, Capacity};
use crate::deploy::palette;
use crate::{env, tools};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Environment to show: envs/ENV.toml
    #[arg(long = "env", value_name = "ENV")]
    pub env: String,
    /// Print the state and outputs as JSON
    #[arg(long)]
    pub json: bool,
    /// Project folder holding envs/ (the workspace by default)
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = args.root.clone().unwrap_or_else(tools::project_root);
    let env = env::load(&root, &args.env)?;
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
                    serde_json::json!({"stack_name": env.stack_name, "status": null, "outputs": {}, "capacity": capacity.to_json()})
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
                "status": stack.status,
                "status_reason": stack.status_reason,
                "last_updated": stack.last_updated.as_ref().unwrap_or(&stack.created),
                "outputs": outputs,
                "capacity": capacity.to_json(),
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
