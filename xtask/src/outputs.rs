//! `cargo xtask outputs` (or `status`): the stack's state and outputs.

use std::process::ExitCode;

use crate::args::EnvArgs;
use crate::aws::{self, cfn};
use crate::plan;
use crate::terminal::palette;

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
    aws::runtime()?.block_on(async {
        let clients = aws::connect(&env.region).await;
        let Some(stack) = cfn::describe_stack(&clients.cfn, &env.stack_name).await? else {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"stack_name": env.stack_name, "status": null, "outputs": {}})
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
