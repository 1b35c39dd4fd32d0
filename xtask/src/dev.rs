//! `cargo xtask dev`: the whole chatbot on 127.0.0.1, the page at `/` and the API at `/api`,
//! with an environment's models and limits and no AWS needed.
//!
//! It runs `chatbot-local` (the same router as the Lambda function) with the environment
//! variables the template gives the function. History stays in memory unless
//! `AWS_ENDPOINT_URL_DYNAMODB` and `CHATBOT_TABLE_NAME` are set; answers come from Bedrock when
//! AWS credentials resolve, otherwise from an offline demo model that says it is not a real
//! model. Any `CHATBOT_*` variable already set in the caller's environment wins over the
//! environment file (handy to lower the rate limit, say). An environment's guardrail is only
//! used when the caller names a deployed one with `CHATBOT_GUARDRAIL_ID` and
//! `CHATBOT_GUARDRAIL_VERSION`; its messages and stream processing then come from the file.
//!
//! An environment with sign-in (`[auth] mode = "users"`) gets a local OpenID provider with two
//! test users and the DynamoDB store ([`sign_in`]); the page signs in through it.

mod sign_in;

use std::collections::BTreeMap;
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::Context;

use crate::args;
use crate::env::Environment;
use crate::stack;
use crate::tools;

#[derive(clap::Args)]
pub struct Args {
    /// Port to listen on, on 127.0.0.1 only
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Environment whose models and limits to use: envs/ENV.toml
    #[arg(long = "env", value_name = "ENV", default_value = "dev")]
    pub env: String,
    /// Answer with the offline demo model even when AWS credentials resolve
    #[arg(long)]
    pub demo: bool,
    /// With sign-in: how long the local provider's access tokens last, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub access_token_seconds: u32,
    /// With sign-in: how long one sign-in lasts (its refresh tokens), in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 28_800, value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_seconds: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = tools::project_root();
    let environment = args::load_with_warnings(&root, &args.env)?;
    let lookup = |name: &str| std::env::var(name).ok();
    let mut vars = service_environment(&environment, lookup);
    // Kept until the server stops: the provider and the store stop with it.
    let sign_in = match environment.auth.users() {
        Some(users) => {
            let lifetimes = sign_in::Lifetimes {
                access_token_seconds: args.access_token_seconds,
                sign_in_seconds: args.sign_in_seconds,
            };
            let local = sign_in::start(&environment, users, args.port, lifetimes, lookup)?;
            vars.extend(local.vars.clone());
            Some(local)
        }
        None => None,
    };

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args([
            "run",
            "--quiet",
            "--package",
            "chatbot",
            "--bin",
            "chatbot-local",
            "--",
        ])
        .arg("--port")
        .arg(args.port.to_string())
        .arg("--site-dir")
        .arg(root.join("frontend"))
        .envs(&vars);
    if args.demo {
        command.arg("--demo");
    }
    println!(
        "cargo xtask dev: building and starting the chatbot with envs/{}.toml on http://127.0.0.1:{}/",
        environment.name, args.port
    );
    if let Some(local) = &sign_in {
        print_sign_in(&environment.name, local, &vars);
    }
    let child = command
        .spawn()
        .context("could not start `cargo run --bin chatbot-local`")?;
    let status = wait_forwarding_signals(child)?;
    drop(sign_in);
    Ok(exit_code(status))
}

/// What a developer needs to sign in: who, with which password, where.
fn print_sign_in(env: &str, local: &sign_in::LocalSignIn, vars: &BTreeMap<String, String>) {
    println!(
        "sign-in (envs/{env}.toml: [auth] mode = \"users\"): the page signs in at the local OpenID provider {} (dev only, stops with the server)",
        local.issuer
    );
    for (user, password) in sign_in::USERS {
        println!("  user {user:<6} password {password}");
    }
    if let Some(table) = vars.get(chatbot_contract::env_vars::TABLE_NAME) {
        let store = vars
            .get("AWS_ENDPOINT_URL_DYNAMODB")
            .map_or("your DynamoDB endpoint", String::as_str);
        println!("  chats kept per person in table {table} at {store}");
    }
}

/// The variables to set for `chatbot-local`: the function's environment from the environment
/// file (with the guardrail's settings when `lookup` names a guardrail), minus the ones `lookup`
/// (the caller's environment) already sets, plus the environment's region when no region is
/// set.
pub fn service_environment(
    environment: &Environment,
    lookup: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let is_set = |name: &str| lookup(name).is_some_and(|v| !v.is_empty());
    let mut from_file = stack::function_environment(environment);
    if is_set(chatbot_contract::env_vars::GUARDRAIL_ID) {
        from_file.extend(stack::guardrail::literal_environment(environment));
    }
    let mut vars: BTreeMap<String, String> = from_file
        .into_iter()
        .filter(|(name, _)| !is_set(name))
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    if !is_set("AWS_REGION") && !is_set("AWS_DEFAULT_REGION") {
        vars.insert("AWS_REGION".to_owned(), environment.region.clone());
    }
    vars
}

/// Waits for the server. Ctrl-C reaches it directly (it shares the terminal's process group)
/// and it shuts down cleanly; an interrupt or termination sent to this process alone is passed
/// on, so the server never outlives it.
fn wait_forwarding_signals(mut child: std::process::Child) -> anyhow::Result<ExitStatus> {
    let pid = child.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the signal handler")?;
    runtime.block_on(async move {
        let mut wait = tokio::task::spawn_blocking(move || child.wait());
        #[cfg(unix)]
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("could not listen for SIGTERM")?;
        loop {
            #[cfg(unix)]
            let terminated = terminate.recv();
            #[cfg(not(unix))]
            let terminated = std::future::pending::<Option<()>>();
            tokio::select! {
                status = &mut wait => {
                    let status = status.context("waiting for the server failed")?;
                    return status.context("waiting for the server failed");
                }
                _ = tokio::signal::ctrl_c() => forward(pid, "INT"),
                _ = terminated => forward(pid, "TERM"),
            }
        }
    })
}

/// Sends a signal to the server with the `kill` command (no unsafe code for `libc::kill`).
fn forward(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
    if !sent.is_ok_and(|status| status.success()) {
        eprintln!("cargo xtask dev: could not pass SIG{signal} on to the server (pid {pid})");
    }
}

fn exit_code(status: ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + signal).unwrap_or(1));
        }
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env;
    use chatbot_contract::env_vars;

    fn dev() -> Environment {
        env::load(&tools::project_root(), "dev").expect("envs/dev.toml loads")
    }

    fn parse(argv: &[&str]) -> Args {
        use clap::{Args as _, FromArgMatches};
        let matches = Args::augment_args(clap::Command::new("dev"))
            .try_get_matches_from(argv)
            .expect("the flags parse");
        Args::from_arg_matches(&matches).expect("the flags make Args")
    }

    #[test]
    fn runs_the_dev_environment_unless_told_otherwise() {
        assert_eq!(parse(&["dev"]).env, "dev");
        assert_eq!(parse(&["dev", "--env", "staging"]).env, "staging");
    }

    #[test]
    fn passes_the_function_environment_and_the_region() {
        let environment = dev();
        let vars = service_environment(&environment, |_| None);
        // The table is in memory and no CloudFront adds an origin header locally.
        for name in env_vars::ALL {
            assert_eq!(
                vars.contains_key(name),
                ![
                    env_vars::TABLE_NAME,
                    env_vars::ORIGIN_SECRET,
                    env_vars::ORIGIN_SECRET_PREVIOUS
                ]
                .contains(&name),
                "{name}"
            );
        }
        assert_eq!(vars["CHATBOT_ENVIRONMENT"], "dev");
        assert_eq!(vars["AWS_REGION"], environment.region);
    }

    #[test]
    fn the_callers_variables_win() {
        let vars = service_environment(&dev(), |name| match name {
            "CHATBOT_RATE_LIMIT" => Some("3".to_owned()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_owned()),
            _ => None,
        });
        assert!(!vars.contains_key("CHATBOT_RATE_LIMIT"));
        assert!(!vars.contains_key("AWS_REGION"));
        assert!(vars.contains_key("CHATBOT_DAILY_TOKEN_BUDGET"));
    }

    #[test]
    fn a_guardrail_is_used_only_when_the_caller_names_one() {
        let prod = env::load(&tools::project_root(), "prod").expect("envs/prod.toml loads");
        let vars = service_environment(&prod, |_| None);
        for name in env_vars::GUARDRAIL {
            assert!(!vars.contains_key(name), "{name}");
        }
        let vars = service_environment(&prod, |name| {
            (name == env_vars::GUARDRAIL_ID || name == env_vars::GUARDRAIL_VERSION)
                .then(|| "abc123".to_owned())
        });
        let settings = prod.guardrail.as_ref().expect("prod has a guardrail");
        assert_eq!(
            vars[env_vars::GUARDRAIL_BLOCKED_INPUT_MESSAGE],
            settings.blocked_input_message
        );
        assert_eq!(vars[env_vars::GUARDRAIL_STREAM_PROCESSING], "sync");
        assert!(
            !vars.contains_key(env_vars::GUARDRAIL_ID),
            "the caller's own"
        );
    }
}
