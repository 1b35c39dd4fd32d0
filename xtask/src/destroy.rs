//! `cargo xtask destroy`: empty the buckets the stack owns, delete the stack, wait.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::aws::follow::{self, Display};
use crate::aws::{self, Clients, Elapsed, cfn, publish};
use crate::deploy::palette;
use crate::{env, review, tools};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Environment to delete: envs/ENV.toml
    #[arg(long = "env", value_name = "ENV")]
    pub env: String,
    /// Do not ask first (prod still needs its name typed on a terminal unless given)
    #[arg(long)]
    pub yes: bool,
    /// Project folder holding envs/ (the workspace by default)
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = args.root.clone().unwrap_or_else(tools::project_root);
    let env = env::load(&root, &args.env)?;
    aws::runtime()?.block_on(async {
        let clients = aws::connect(&env.region).await;
        destroy(&clients, &env, args.yes).await
    })
}

async fn destroy(clients: &Clients, env: &env::Environment, yes: bool) -> anyhow::Result<ExitCode> {
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
    if !confirm(&env.name, yes)? {
        println!("Nothing deleted");
        return Ok(ExitCode::FAILURE);
    }
    for bucket in &buckets {
        let removed = publish::empty_bucket(clients, bucket).await?;
        println!("Emptied s3://{bucket} ({removed} objects)");
    }
    let since = cfn::newest_event_id(&clients.cfn, &stack.id).await?;
    cfn::delete_stack(&clients.cfn, &stack.id).await?;
    let display = Display {
        palette: palette(),
        live: std::io::stdout().is_terminal(),
    };
    let followed = match follow::unless_interrupted(follow::follow(
        &clients.cfn,
        &stack.id,
        since,
        display,
        Duration::from_secs(3600),
        None,
    ))
    .await
    {
        follow::Waited::Done(followed) => followed?,
        follow::Waited::Interrupted => {
            if display.live {
                println!();
            }
            eprintln!(
                "{}",
                follow::interrupted_message(&stack.name, "the delete", &env.name)
            );
            return Ok(ExitCode::from(130));
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
            review::render_failures(&stack.name, &followed.status, &failures, palette())
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

/// Prod asks twice: a yes, then its name.
fn confirm(env_name: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("refusing to delete without a terminal to confirm on: pass --yes");
    }
    let ask = |question: &str| -> anyhow::Result<String> {
        let mut stderr = std::io::stderr();
        write!(stderr, "{question}")?;
        stderr.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim().to_owned())
    };
    if !matches!(
        ask(&format!(
            "Delete environment {env_name} and all its data? [y/N] "
        ))?
        .as_str(),
        "y" | "Y" | "yes"
    ) {
        return Ok(false);
    }
    if env_name == "prod" {
        return Ok(ask("Type 'prod' to delete it: ")? == env_name);
    }
    Ok(true)
}
