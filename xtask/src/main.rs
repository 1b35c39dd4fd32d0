//! `cargo xtask`: render, review, deploy and run the chatbot.
//!
//! This file only parses flags and dispatches; each task lives in its own module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{
    bench, build, cost, deploy, destroy, dev, diagram, diff, logs, outputs, rotate, smoke, synth,
    test,
};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Render, review, deploy and run the chatbot",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render templates/ENV.yaml from envs/ENV.toml
    Synth(synth::Args),
    /// Build the Lambda bundle (bootstrap.zip) for an environment
    Build(build::Args),
    /// Show what `deploy` would change
    Diff(diff::Args),
    /// Estimate what an environment costs a month, per service
    Cost(cost::Args),
    /// Draw the architecture diagram (DOT, Mermaid, SVG) from the stack model
    Diagram(diagram::Args),
    /// Build, upload, review and deploy an environment
    Deploy(deploy::Args),
    /// Put an earlier deployment back (its template, parameters and code) through a reviewed change set
    Rollback(deploy::rollback::Args),
    /// Give CloudFront, API Gateway and the function a new origin secret, refusing no request
    RotateSecret(rotate::Args),
    /// Delete an environment's stack and empty its buckets
    Destroy(destroy::Args),
    /// Show a deployed environment's state and outputs
    #[command(alias = "status")]
    Outputs(outputs::Args),
    /// Run the whole chatbot locally: the page at /, the API at /api
    Dev(dev::Args),
    /// Run every check CI runs, installing the tools it needs
    Test(test::Args),
    /// Run the benchmarks and print the figures
    Bench(bench::Args),
    /// Show the function's (or the API's) logs from CloudWatch Logs, or follow them
    Logs(logs::Args),
    /// Check that a deployed environment (or any URL) serves the page and answers a chat
    Smoke(smoke::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Build(args) => build::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Cost(args) => cost::run(args),
        Command::Diagram(args) => diagram::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Rollback(args) => deploy::rollback::run(args),
        Command::RotateSecret(args) => rotate::run(args),
        Command::Destroy(args) => destroy::run(args),
        Command::Outputs(args) => outputs::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Smoke(args) => smoke::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
