//! `cargo xtask rotate-secret`: a new origin secret, without refusing a request on the way.
//!
//! The secret CloudFront sends to the API (API key and origin header) lives in one of two slots
//! ([`crate::stack::origin`]). A rotation is a few stack updates that change nothing but the
//! `OriginSecrets` parameter, with the deployed template and code: first the other slot is
//! created afresh and accepted beside the current one, then CloudFront sends it (the update
//! ends when every edge does), then the old slot is removed. Each step is a change set executed
//! and followed like a deploy; a step that fails rolls back to the state before it, which is
//! safe, and running the command again finishes the rotation.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::args::EnvArgs;
use crate::aws::cfn::{self, ChangeSetRequest, TemplateSource};
use crate::aws::{self, Clients};
use crate::env::Environment;
use crate::follow;
use crate::plan::{self, Executed, Execution};
use crate::review::{self, ChangeKind, DeployedStack};
use crate::stack::origin::{OriginSecrets, PARAM_ORIGIN_SECRETS};
use crate::terminal::{self, Elapsed};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
    /// Do not ask before the first update (for CI)
    #[arg(long)]
    pub yes: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env = args.env.load()?;
    let runtime = aws::runtime()?;
    let result = runtime.block_on(async {
        let clients = aws::connect(&env.region).await;
        rotate(&clients, &env, args.yes).await
    });
    // A prompt left unanswered (Ctrl-C) still blocks a thread reading the terminal.
    runtime.shutdown_background();
    result
}

async fn rotate(clients: &Clients, env: &Environment, yes: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let palette = terminal::palette();
    let account = aws::caller_account(clients).await?;
    aws::check_account(&env.name, env.account_id.as_deref(), &account)?;
    let stack = settled_stack(clients, env).await?;
    let state = state_of(&stack, env)?;
    let steps = state.rotation();

    println!(
        "{} {}: stack {} in {}, account {}",
        palette.bold("Rotating the origin secret of"),
        env.name,
        env.stack_name,
        env.region,
        account
    );
    println!(
        "Now {PARAM_ORIGIN_SECRETS} = {} ({state}). {} updates, each with the deployed template \
         and code, changing only {PARAM_ORIGIN_SECRETS}:",
        state.parameter_value(),
        steps.len()
    );
    let mut before = state;
    for (i, step) in steps.iter().enumerate() {
        println!(
            "  {}. {} → {}: {}",
            i + 1,
            before.parameter_value(),
            step.parameter_value(),
            what_changes(before, *step)
        );
        before = *step;
    }
    if !terminal::confirm_deploy(&env.name, yes).await? {
        println!("Not rotated; nothing was changed");
        return Ok(ExitCode::FAILURE);
    }

    let mut stack = stack;
    let mut at = state;
    for (i, step) in steps.iter().enumerate() {
        println!(
            "\n{} {}/{}: {PARAM_ORIGIN_SECRETS} {} → {}",
            palette.bold("Step"),
            i + 1,
            steps.len(),
            at.parameter_value(),
            step.parameter_value()
        );
        if let Some(code) = apply(clients, env, &stack, *step, started).await? {
            eprintln!(
                "The rotation stopped at step {} of {}; the stack keeps {PARAM_ORIGIN_SECRETS} = \
                 {} ({at}), in which no request is refused. Run `cargo xtask rotate-secret --env \
                 {}` again to finish it",
                i + 1,
                steps.len(),
                at.parameter_value(),
                env.name
            );
            return Ok(code);
        }
        at = *step;
        stack = cfn::describe_stack(&clients.cfn, &stack.id)
            .await?
            .context("the stack disappeared while rotating")?;
    }
    println!(
        "\nOrigin secret rotated in {}: CloudFront sends the value of slot {}, created by this \
         rotation, and nothing else is accepted",
        Elapsed(started.elapsed()),
        at.sent
    );
    Ok(ExitCode::SUCCESS)
}

/// The stack, when it exists and a change set can update it now.
async fn settled_stack(clients: &Clients, env: &Environment) -> anyhow::Result<DeployedStack> {
    let stack = cfn::describe_stack(&clients.cfn, &env.stack_name)
        .await?
        .filter(|stack| !stack.is_under_review());
    let Some(stack) = stack else {
        anyhow::bail!(
            "stack {} does not exist: deploy it first (`cargo xtask deploy --env {}`), which \
             creates its origin secret",
            env.stack_name,
            env.name
        );
    };
    if stack.is_busy() {
        anyhow::bail!(stack.busy_message(&env.name));
    }
    if let Some(stuck) = stack.stuck(&env.name) {
        anyhow::bail!(stuck);
    }
    if !stack.is_updatable() {
        anyhow::bail!(
            "stack {} is {}: it cannot be updated; deploy it again first (`cargo xtask deploy \
             --env {}`)",
            stack.name,
            stack.status,
            env.name
        );
    }
    Ok(stack)
}

/// The deployed state of the origin secrets, from the stack's parameter.
fn state_of(stack: &DeployedStack, env: &Environment) -> anyhow::Result<OriginSecrets> {
    let Some(value) = stack.parameters.get(PARAM_ORIGIN_SECRETS) else {
        anyhow::bail!(
            "stack {} has no {PARAM_ORIGIN_SECRETS} parameter: it was deployed by a version \
             without origin secret slots; deploy this version first (`cargo xtask deploy --env \
             {}`), then rotate",
            stack.name,
            env.name
        );
    };
    OriginSecrets::parse(value).with_context(|| {
        format!(
            "stack {} has {PARAM_ORIGIN_SECRETS} = {value:?}, which is none of A, B, A+B, B+A",
            stack.name
        )
    })
}

/// What one step does, in a person's words.
fn what_changes(from: OriginSecrets, to: OriginSecrets) -> String {
    if to.sent != from.sent {
        return format!(
            "CloudFront sends slot {}'s value (the update ends when every edge does); both are \
             still accepted",
            to.sent
        );
    }
    match (from.also_accepted, to.also_accepted) {
        (None, Some(new)) => format!(
            "a new secret and API key in slot {new}, accepted by API Gateway and the function \
             beside slot {}",
            from.sent
        ),
        (Some(old), None) => format!(
            "slot {old}'s secret and API key removed; only slot {}'s value is accepted",
            to.sent
        ),
        _ => "nothing".to_owned(),
    }
}

/// Updates the stack to `to` with its deployed template and code. `Some(exit code)` when the
/// update did not happen (it failed, was refused, or Ctrl-C stopped it).
async fn apply(
    clients: &Clients,
    env: &Environment,
    stack: &DeployedStack,
    to: OriginSecrets,
    started: Instant,
) -> anyhow::Result<Option<ExitCode>> {
    let mut parameters: BTreeMap<String, String> = stack.parameters.clone();
    parameters.insert(
        PARAM_ORIGIN_SECRETS.to_owned(),
        to.parameter_value().to_owned(),
    );
    let name = plan::change_set_name();
    let request = ChangeSetRequest {
        stack_name: &stack.name,
        change_set_name: name.clone(),
        kind: ChangeKind::Update,
        template: TemplateSource::Previous,
        parameters: &parameters,
        description: format!(
            "cargo xtask rotate-secret --env {}: {PARAM_ORIGIN_SECRETS} = {}",
            env.name,
            to.parameter_value()
        ),
    };
    let proposal = match follow::unless_interrupted(plan::propose_change(clients, request)).await {
        follow::Waited::Done(proposal) => proposal?,
        follow::Waited::Interrupted => {
            cfn::delete_change_set_named(&clients.cfn, &stack.name, &name)
                .await
                .ok();
            eprintln!("Interrupted: this step was not deployed, and its change set was deleted");
            return Ok(Some(ExitCode::from(130)));
        }
    };
    let Some(proposal) = proposal else {
        println!("No changes: the stack already is in this state");
        return Ok(None);
    };
    let review = review::Review::new(
        &stack.name,
        ChangeKind::Update,
        proposal.described.resource_changes(),
        review::parameter_changes(&stack.parameters, &parameters),
        Vec::new(),
        String::new(),
    );
    print!("{}", review::render_review(&review, terminal::palette()));
    let again = format!("cargo xtask rotate-secret --env {}", env.name);
    let execution = Execution {
        arn: &proposal.arn,
        stack_id: &proposal.stack_id,
        kind: ChangeKind::Update,
    };
    Ok(
        match plan::run_change_set(clients, env, &execution, &again, started).await? {
            Executed::Succeeded => None,
            Executed::Stopped(code) => Some(code),
        },
    )
}
