//! `fake-bedrock [--port P] [--token-delay-ms N] [--first-token-delay-ms N] [--guardrail ID:VERSION]...`:
//! the local fake of Bedrock Runtime (see `testkit::bedrock`) as a process, for manual runs and
//! the browser tests. Point the SDK at it with `AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:P`.
//! Each `--guardrail` serves a guardrail requests may name, with Bedrock console's default
//! blocked messages.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use testkit::bedrock::{FakeBedrock, Guardrail, Options};

const USAGE: &str = "usage: fake-bedrock [--port P] [--token-delay-ms N] [--first-token-delay-ms N] [--guardrail ID:VERSION]...";

#[tokio::main]
async fn main() -> ExitCode {
    let (port, options, guardrails) = match parse(std::env::args().skip(1)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fake-bedrock: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fake = match FakeBedrock::start_on(SocketAddr::from(([127, 0, 0, 1], port)), options).await
    {
        Ok(fake) => fake,
        Err(error) => {
            eprintln!("fake-bedrock: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    for guardrail in guardrails {
        fake.add_guardrail(guardrail);
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "fake-bedrock listening on {}", fake.endpoint());
    let _ = stdout.flush();
    match tokio::signal::ctrl_c().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fake-bedrock: could not wait for Ctrl-C: {error}");
            // Keep serving until killed.
            std::future::pending::<ExitCode>().await
        }
    }
}

/// What the command line asks for: the port, the delays and the guardrails to serve.
type Parsed = (u16, Options, Vec<Guardrail>);

/// `Ok(None)` asks for the usage text.
fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Parsed>, String> {
    let mut port = 0;
    let mut options = Options::default();
    let mut guardrails = Vec::new();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (flag, None),
        };
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{name} needs a value")),
        };
        let number = |value: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name} expects a whole number, got `{value}`"))
        };
        match name.as_str() {
            "--port" => {
                port = value
                    .parse::<u16>()
                    .map_err(|_| format!("--port expects a port number, got `{value}`"))?;
            }
            "--token-delay-ms" => options.token_delay = Duration::from_millis(number(&value)?),
            "--first-token-delay-ms" => {
                options.first_token_delay = Duration::from_millis(number(&value)?);
            }
            "--guardrail" => match value.split_once(':') {
                Some((id, version)) if !id.is_empty() && !version.is_empty() => {
                    guardrails.push(Guardrail::new(id, version));
                }
                _ => return Err(format!("--guardrail expects ID:VERSION, got `{value}`")),
            },
            _ => return Err(format!("unknown option {name}")),
        }
    }
    Ok(Some((port, options, guardrails)))
}
