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

use std::collections::BTreeMap;
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::Context;

use crate::args::EnvArgs;
use crate::env::Environment;
use crate::stack;

#[derive(clap::Args)]
#[command(mut_arg("env", |env| env.default_value("dev")))]
pub struct Args {
    /// Port to listen on, on 127.0.0.1 only
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    #[command(flatten)]
    pub env: EnvArgs,
    /// Answer with the offline demo model even when AWS credentials resolve
    #[arg(long)]
    pub demo: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = args.env.root();
    let environment = args.env.load()?;
    let vars = service_environment(&environment, |name| std::env::var(name).ok());

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
    let child = command
        .spawn()
        .context("could not start `cargo run --bin chatbot-local`")?;
    let status = wait_forwarding_signals(child)?;
    Ok(exit_code(status))
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
    use crate::{env, tools};
    use chatbot_contract::env_vars;

    fn dev() -> Environment {
        env::load(&tools::project_root(), "dev").expect("envs/dev.toml loads")
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
