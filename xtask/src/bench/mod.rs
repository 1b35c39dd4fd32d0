//! `cargo xtask bench`: the benchmarks of BENCHMARKS.md, each figure against its target,
//! printed as one table and written to `target/bench/latest.json` for the next run to compare.
//!
//! Benchmarks, not tests: nothing here fails on a slow figure; a missed target is marked
//! `MISSED` in the table. Everything runs on this machine: the service's release binaries,
//! the fake Bedrock, moto for DynamoDB, a local Lambda Runtime API, load on 127.0.0.1 only.
//!
//! This file parses the flags and runs the groups the run asks for; one file per group
//! (`cold_start.rs`, `load.rs`, `artifact.rs`, `deploy.rs`, `markdown.rs`), with the programs
//! (`binaries.rs`), the service's environment and stand-ins (`service.rs`), processes
//! (`process.rs`), the machine (`machine.rs`) and the table (`report.rs`).

mod artifact;
mod binaries;
mod cold;
mod cold_start;
pub mod deploy;
mod load;
mod machine;
mod markdown;
mod page;
mod process;
mod report;
mod service;
mod shipped;
mod stand_ins;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::{env, tools};
use binaries::{Binaries, build};
use cold::ColdStart;
use deploy::{deploy_row, synth_rows, xtask_snapshot};
use machine::machine;
use report::{Report, Row};
use service::service_env;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Cold starts timed per runtime (after one untimed warm-up)
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Only these groups, comma-separated: cold-start, load, artifact, deploy, markdown, page
    #[arg(long, value_delimiter = ',', value_name = "GROUPS")]
    only: Vec<Group>,
    /// The revision whose chat page the page group measures beside the page now
    #[arg(long, value_name = "REV", default_value = "main")]
    page_before: String,
    /// Also build `bootstrap` under release-profile variants (strip, LTO, codegen units,
    /// opt-level, panic) and measure each: a full release build per variant, many minutes
    #[arg(long)]
    profiles: bool,
    /// Use the release binaries already in target/release instead of building them
    #[arg(long)]
    no_build: bool,
    /// Take the programs from this folder instead of target/release (implies --no-build)
    #[arg(long, value_name = "DIR", hide = true)]
    bin_dir: Option<PathBuf>,
    /// Where to write the JSON report
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    ColdStart,
    Load,
    Artifact,
    Deploy,
    Markdown,
    Page,
}

/// The environment whose settings the service runs with.
const ENVIRONMENT: &str = "dev";

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = tools::project_root();
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| root.join("target/bench/latest.json"));
    let wants = |group: Group| args.only.is_empty() || args.only.contains(&group);
    let previous = Report::load(&json);
    let xtask_bin = xtask_snapshot(&root);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let logs = load::logs_dir(&root);
    let _ = std::fs::remove_dir_all(&logs);

    // The Markdown and page groups run in Chromium: they need none of the service's programs.
    let service = args.profiles
        || [
            Group::ColdStart,
            Group::Load,
            Group::Artifact,
            Group::Deploy,
        ]
        .into_iter()
        .any(wants);
    // `bootstrap` is what a deploy ships (cargo-lambda's bundle for this machine's
    // architecture); the harness programs are host release builds. `--bin-dir` takes every
    // program, `bootstrap` included, from one folder instead.
    let release = tools::cargo_target_dir().join("release");
    let (bins, bundles) = match &args.bin_dir {
        Some(dir) => (Binaries::in_folder(dir), None),
        None if !service => (Binaries::in_folder(&release), None),
        None => {
            let bundles = if args.no_build {
                shipped::Bundles::existing()
            } else {
                build(&root)?;
                shipped::Bundles::build()
            };
            let mut bins = Binaries::in_folder(&release);
            bins.bootstrap = shipped::bootstrap_path(&root);
            bundles.extract_host_bootstrap(&bins.bootstrap)?;
            (bins, Some(bundles))
        }
    };
    if service {
        bins.check()?;
    }
    let environment = env::load(&root, ENVIRONMENT)?;
    let python = if service {
        tools::ensure(&tools::BOTO3).context("could not install boto3 for the Python baseline")?
    } else {
        PathBuf::from("python3")
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let mut rows = Vec::new();
    runtime.block_on(async {
        if wants(Group::ColdStart) || args.profiles {
            let cold = ColdStart::new(&root, &bins, &environment, &python, &logs).await;
            match cold {
                Ok(cold) => {
                    if wants(Group::ColdStart) {
                        rows.extend(cold.rows(args.runs).await);
                    }
                    if wants(Group::Artifact) && args.profiles {
                        rows.extend(
                            artifact::profile_rows(
                                &root,
                                &cold.rust,
                                cold.health_event(),
                                args.runs.min(10),
                            )
                            .await,
                        );
                    }
                    cold.stop().await;
                }
                Err(err) => rows.push(Row::not_measured(
                    "cold_start",
                    "cold start",
                    "cold start",
                    format!("{err:#}"),
                )),
            }
        }
        if wants(Group::Load) {
            let setup = load::Setup {
                chatbot_local: bins.chatbot_local.clone(),
                fake_bedrock: bins.fake_bedrock.clone(),
                loadgen: bins.loadgen.clone(),
                service_env: service_env(&environment, None, true),
                model_id: environment.default_model.clone(),
                system_prompt: environment.system_prompt.clone(),
                logs: logs.clone(),
            };
            rows.extend(load::run(&setup).await);
        }
    });
    if wants(Group::Artifact) {
        match &bundles {
            Some(bundles) => rows.extend(bundles.rows(Some(&bins.bootstrap))),
            None => rows.extend(artifact::size_rows(&bins.bootstrap)),
        }
        rows.extend(artifact::feature_rows(&root));
    }
    if wants(Group::Deploy) {
        match &xtask_bin {
            Ok(exe) => {
                rows.extend(synth_rows(&root, exe));
                rows.push(deploy_row(exe, 3));
            }
            Err(err) => rows.push(Row::not_measured(
                "deploy.synth",
                "deploy",
                "synth --all and deploy",
                format!("{err:#}"),
            )),
        }
    }
    if wants(Group::Markdown) {
        rows.extend(markdown::rows(&root));
    }
    if wants(Group::Page) {
        rows.extend(page::rows(&root, &args.page_before));
    }

    let report = Report {
        machine: machine(&root, &python, &load_average),
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        rows,
    };
    println!("{}", report.table(previous.as_ref()));
    let missed = report.missed();
    if !missed.is_empty() {
        println!(
            "targets missed: {}",
            missed
                .iter()
                .map(|r| r.figure.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    println!(
        "machine: {} ({} cores, {:.0} GiB, load average {} at start), {}, {}, Python {} with boto3 {}; commit {}",
        report.machine.cpu,
        report.machine.cores,
        report.machine.memory_gib,
        report.machine.load_average,
        report.machine.kernel,
        report.machine.rustc,
        report.machine.python,
        report.machine.boto3,
        report.machine.commit
    );
    report.write(&json)?;
    println!(
        "written to {} (process logs in {})",
        json.display(),
        logs.display()
    );
    Ok(ExitCode::SUCCESS)
}
