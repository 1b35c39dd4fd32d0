//! `cargo xtask test`: every check CI runs, in order, with a summary at the end.
//!
//! Each step runs even when an earlier one failed, so one run shows every problem. One file per
//! kind of step: `rust.rs` (rustfmt, clippy, unused dependencies, cargo test), `fuzz.rs`,
//! `schemathesis.rs`, `reliability.rs`, `browser.rs`, `diagram.rs` (the architecture diagrams
//! rendered again and a screenshot), `workflows.rs` (zizmor) and `validators.rs` (the SAM
//! expansion, cfn-lint, sam validate, checkov).

mod browser;
mod diagram;
mod fuzz;
mod reliability;
mod rust;
mod schemathesis;
mod validators;
mod workflows;

use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::tools::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// Skip the slow template validators (SAM expansion, cfn-lint, sam validate, checkov)
    #[arg(long)]
    pub no_validate: bool,
    /// Seconds each libFuzzer target runs in the fuzz step
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub fuzz_seconds: u32,
    /// Test cases schemathesis generates per API operation
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub schemathesis_examples: u32,
}

struct Step {
    name: &'static str,
    run: Box<dyn Fn() -> anyhow::Result<String>>,
}

impl Step {
    fn new(name: &'static str, run: impl Fn() -> anyhow::Result<String> + 'static) -> Step {
        Step {
            name,
            run: Box::new(run),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The fuzz steps come after cargo test (which empties the evidence folder) and before the
    // reliability summary, which counts what they ran.
    let mut steps = vec![
        Step::new("rustfmt", rust::rustfmt),
        Step::new("clippy", rust::clippy),
        Step::new("unused deps", rust::unused_dependencies),
        Step::new("cargo test", rust::cargo_test),
        Step::new("fuzz", move || fuzz::run_fuzz_targets(args.fuzz_seconds)),
        Step::new("schemathesis", move || {
            schemathesis::run_schemathesis(args.schemathesis_examples)
        }),
        Step::new("reliability summary", reliability::summary),
        Step::new("browser", browser::run_browser_tests),
        Step::new("diagram", diagram::check_diagrams),
        Step::new("zizmor", workflows::zizmor),
    ];
    if !args.no_validate {
        steps.push(Step::new("sam expand", validators::sam_expand));
        steps.push(Step::new("cfn-lint", validators::cfn_lint));
        steps.push(Step::new("sam validate", validators::sam_validate));
        steps.push(Step::new("checkov", validators::checkov));
    }

    let mut results = Vec::new();
    for step in &steps {
        eprintln!("\n==> {}", step.name);
        let started = Instant::now();
        let outcome = (step.run)();
        let seconds = started.elapsed().as_secs_f64();
        match &outcome {
            Ok(summary) => eprintln!("<== {}: ok ({seconds:.1} s) {summary}", step.name),
            Err(err) => eprintln!("<== {}: FAILED ({seconds:.1} s): {err:#}", step.name),
        }
        results.push((step.name, seconds, outcome));
    }

    println!("\nsummary");
    for (name, seconds, outcome) in &results {
        match outcome {
            Ok(summary) => println!("  ok      {name:<14} {seconds:>6.1} s  {summary}"),
            Err(err) => println!("  FAILED  {name:<14} {seconds:>6.1} s  {err:#}"),
        }
    }
    let failed = results
        .iter()
        .filter(|(_, _, outcome)| outcome.is_err())
        .count();
    println!("steps: {} passed, {failed} failed", results.len() - failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `cargo` as the one running xtask, in the project's root.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(project_root());
    command
}

/// Runs `command` in the project's root; an error unless it succeeds.
fn check(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .current_dir(project_root())
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{:?} exited with {status}", command.get_program());
    }
    Ok(())
}
