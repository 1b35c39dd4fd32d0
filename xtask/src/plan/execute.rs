//! Executing a reviewed change set and following the stack until it settles; on failure, the
//! failed resources with CloudFormation's reasons and what to do. `deploy` and
//! `rotate-secret` both go through here.

use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use crate::aws::rollout::RolloutWatch;
use crate::aws::{Clients, cfn};
use crate::env::Environment;
use crate::follow::{self, Ended, Operation};
use crate::review::{self, ChangeKind, StackStatus};
use crate::terminal::{self, Elapsed};

/// The change set to execute.
pub struct Execution<'a> {
    pub arn: &'a str,
    pub stack_id: &'a str,
    pub kind: ChangeKind,
}

/// How executing a change set ended.
pub enum Executed {
    /// The stack is `CREATE_COMPLETE` or `UPDATE_COMPLETE`.
    Succeeded,
    /// It failed (what and why were printed) or Ctrl-C stopped the following: exit with this.
    Stopped(ExitCode),
}

/// Executes the change set and follows the stack until it settles, printing its events, and
/// on failure the failed resources with CloudFormation's reasons and what to do; `again` is
/// the command that updates a rolled-back stack.
pub async fn run_change_set(
    clients: &Clients,
    env: &Environment,
    execution: &Execution<'_>,
    again: &str,
    started: Instant,
) -> anyhow::Result<Executed> {
    let palette = terminal::palette();
    let stack_id = execution.stack_id;
    let since = cfn::newest_event_id(&clients.cfn, stack_id).await?;
    if let Err(err) = cfn::execute_change_set(&clients.cfn, execution.arn).await {
        // It cannot run any more (the stack changed, or it is busy): leave nothing behind.
        cfn::delete_change_set(&clients.cfn, execution.arn)
            .await
            .ok();
        return Err(err);
    }
    // A create points the new alias at the first version at once; only updates shift.
    let started_at = SystemTime::now()
        .checked_sub(started.elapsed())
        .unwrap_or_else(SystemTime::now);
    let mut rollout = crate::stack::deployment_type(env.function.rollout)
        .filter(|_| execution.kind == ChangeKind::Update)
        .map(|kind| RolloutWatch::new(clients, stack_id, kind.as_str(), started_at, palette));
    let operation = Operation {
        name: match execution.kind {
            ChangeKind::Create => "the create",
            ChangeKind::Update => "the update",
        },
        env_name: &env.name,
    };
    let followed = match follow::operation(
        &clients.cfn,
        stack_id,
        &env.stack_name,
        since,
        operation,
        rollout.as_mut(),
    )
    .await?
    {
        Ended::Settled(followed) => followed,
        Ended::Interrupted(code) => return Ok(Executed::Stopped(code)),
    };
    if !followed.status.is_deployed() {
        print!("{}", followed.failure_report(&env.stack_name, palette));
        if let Some(report) = match rollout.as_mut() {
            Some(watch) => watch.rollback_report().await,
            None => None,
        } {
            print!("{report}");
        }
        match followed.status {
            StackStatus::RollbackComplete => {
                print!("{}", review::explain_rollback_complete(&env.stack_name));
                println!(
                    "The next `cargo xtask deploy --env {}` deletes it and creates it again after \
                     asking (--yes: without asking)",
                    env.name
                );
            }
            StackStatus::UpdateRollbackComplete => {
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
        palette.green(followed.status.as_str()),
        Elapsed(started.elapsed())
    );
    Ok(Executed::Succeeded)
}
