//! `cargo xtask destroy`: empty the buckets the stack owns, delete the stack, wait.

use std::process::ExitCode;
use std::time::Instant;

use crate::args::EnvArgs;
use crate::aws::{self, Clients, cfn, publish};
use crate::env::Environment;
use crate::follow::{self, Ended, Operation};
use crate::review::StackStatus;
use crate::terminal::{self, Elapsed};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
    /// Do not ask first (prod still needs its name typed on a terminal unless given)
    #[arg(long)]
    pub yes: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env = args.env.load()?;
    aws::runtime()?.block_on(async {
        let clients = aws::connect(&env.region).await;
        destroy(&clients, &env, args.yes).await
    })
}

async fn destroy(clients: &Clients, env: &Environment, yes: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let account = aws::caller_account(clients).await?;
    aws::check_account(&env.name, env.account_id.as_deref(), &account)?;
    let Some(stack) = cfn::describe_stack(&clients.cfn, &env.stack_name).await? else {
        println!(
            "Stack {} does not exist in {}: nothing to delete",
            env.stack_name, env.region
        );
        return Ok(ExitCode::SUCCESS);
    };
    if stack.is_busy() {
        anyhow::bail!(stack.busy_message(&env.name));
    }
    let resources = cfn::stack_resources(&clients.cfn, &stack.id).await?;
    let buckets: Vec<&str> = resources
        .iter()
        .filter(|r| r.resource_type == "AWS::S3::Bucket" && !r.physical_id.is_empty())
        .map(|r| r.physical_id.as_str())
        .collect();
    println!(
        "Deleting stack {} ({} resources) in {}, account {account}; emptying {} {}",
        stack.name,
        resources.len(),
        env.region,
        buckets.len(),
        if buckets.len() == 1 {
            "bucket"
        } else {
            "buckets"
        }
    );
    if !terminal::confirm_delete(&env.name, yes)? {
        println!("Nothing deleted");
        return Ok(ExitCode::FAILURE);
    }
    for bucket in &buckets {
        let removed = publish::empty_bucket(clients, bucket).await?;
        println!("Emptied s3://{bucket} ({removed} objects)");
    }
    let since = cfn::newest_event_id(&clients.cfn, &stack.id).await?;
    cfn::delete_stack(&clients.cfn, &stack.id).await?;
    let operation = Operation {
        name: "the delete",
        env_name: &env.name,
    };
    let followed =
        match follow::operation(&clients.cfn, &stack.id, &stack.name, since, operation, None)
            .await?
        {
            Ended::Settled(followed) => followed,
            Ended::Interrupted(code) => return Ok(code),
        };
    if followed.status != StackStatus::DeleteComplete {
        print!(
            "{}",
            followed.failure_report(&stack.name, terminal::palette())
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "Deleted stack {} in {}",
        stack.name,
        Elapsed(started.elapsed())
    );
    Ok(ExitCode::SUCCESS)
}
