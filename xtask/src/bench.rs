//! `cargo xtask bench`: the benchmarks of DESIGN.md's "Performance we hold ourselves to",
//! printed as one table and written to `target/bench/latest.json` for the next run to compare.
//!
//! Benchmarks, not tests: nothing here fails on a slow figure; a missed target is marked
//! `MISSED` in the table. Everything runs on this machine: the service's release binaries,
//! the fake Bedrock, moto for DynamoDB, a local Lambda Runtime API, load on 127.0.0.1 only.

mod artifact;
mod cold;
mod cold_start;
mod load;
mod markdown;
mod page;
mod process;
mod report;
mod shipped;
mod stand_ins;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::{env, stack, tools};
use cold::ColdStart;
use report::{Limit, Machine, Report, Row};

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

/// The table stored for DynamoDB in the cold-start and burst runs.
const TABLE: &str = "chatbot-bench";
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
    let (bins, bundles) = match &args.bin_dir {
        Some(dir) => (Binaries::in_folder(dir), None),
        None if !service => (Binaries::in_folder(&root.join("target/release")), None),
        None => {
            let bundles = if args.no_build {
                shipped::Bundles::existing()
            } else {
                build(&root)?;
                shipped::Bundles::build()
            };
            let mut bins = Binaries::in_folder(&root.join("target/release"));
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

/// The release programs the benchmarks run.
struct Binaries {
    bootstrap: PathBuf,
    chatbot_local: PathBuf,
    fake_bedrock: PathBuf,
    loadgen: PathBuf,
}

impl Binaries {
    fn in_folder(dir: &Path) -> Binaries {
        Binaries {
            bootstrap: dir.join("bootstrap"),
            chatbot_local: dir.join("chatbot-local"),
            fake_bedrock: dir.join("fake-bedrock"),
            loadgen: dir.join("loadgen"),
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        for bin in [
            &self.bootstrap,
            &self.chatbot_local,
            &self.fake_bedrock,
            &self.loadgen,
        ] {
            if !bin.exists() {
                bail!(
                    "{} is missing: run `cargo xtask bench` without --no-build",
                    bin.display()
                );
            }
        }
        Ok(())
    }
}

/// Host release builds of the harness programs: `chatbot-local` alone (so its features are
/// the service's), the fake Bedrock, the load generator. `bootstrap` comes from the bundles.
fn build(root: &Path) -> anyhow::Result<()> {
    let steps: [&[&str]; 3] = [
        &[
            "build",
            "--release",
            "-p",
            "chatbot",
            "--bin",
            "chatbot-local",
        ],
        &[
            "build",
            "--release",
            "-p",
            "testkit",
            "--bin",
            "fake-bedrock",
        ],
        &["build", "--release", "-p", "loadgen"],
    ];
    for step in steps {
        eprintln!("bench: cargo {}", step.join(" "));
        let started = Instant::now();
        let status = Command::new(artifact::cargo())
            .current_dir(root)
            .args(step)
            .status()
            .context("could not run cargo")?;
        if !status.success() {
            bail!("cargo {} failed with {status}", step.join(" "));
        }
        eprintln!("bench: built in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The variables a deployed function gets, pointed at local stand-ins. `load` lifts the rate
/// limit and the daily budget, which a benchmark from one address would otherwise hit.
fn service_env(
    environment: &env::Environment,
    table: Option<&str>,
    load: bool,
) -> Vec<(String, String)> {
    let mut vars: BTreeMap<String, String> = stack::function_environment(environment)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if let Some(table) = table {
        vars.insert(chatbot_contract::env_vars::TABLE_NAME.into(), table.into());
    }
    if load {
        vars.insert(
            chatbot_contract::env_vars::RATE_LIMIT.into(),
            "1000000".into(),
        );
        vars.insert(
            chatbot_contract::env_vars::DAILY_TOKEN_BUDGET.into(),
            "1000000000000".into(),
        );
    }
    for (name, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("TZ", ":UTC"),
    ] {
        vars.insert(name.into(), value.into());
    }
    vars.into_iter().collect()
}

/// What a Lambda instance sets for its runtime.
fn lambda_env(environment: &env::Environment, task_root: &Path) -> Vec<(String, String)> {
    vec![
        (
            "AWS_LAMBDA_FUNCTION_NAME".into(),
            format!("{}-bench", environment.stack_name),
        ),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            environment.function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            "/aws/lambda/chatbot-bench".into(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), "bench".into()),
        ("LAMBDA_TASK_ROOT".into(), task_root.display().to_string()),
    ]
}

/// The origin secret `bootstrap` gets in the cold-start runs, which refuses to start without
/// one; the events carry it as CloudFront would.
const BENCH_ORIGIN_SECRET: &str = "bench0origin0secret0not0used0anywhere0else";

/// An API Gateway event of `bench/events/`, with the origin header CloudFront adds.
fn read_event(root: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = root.join("bench").join("events").join(name);
    let text =
        std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
    let mut event: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let header = chatbot_contract::ORIGIN_VERIFY_HEADER;
    for (field, value) in [
        ("headers", serde_json::json!(BENCH_ORIGIN_SECRET)),
        (
            "multiValueHeaders",
            serde_json::json!([BENCH_ORIGIN_SECRET]),
        ),
    ] {
        let Some(headers) = event.get_mut(field).and_then(|h| h.as_object_mut()) else {
            bail!("{} has no {field} object", path.display());
        };
        headers.insert(header.into(), value);
    }
    Ok(serde_json::to_vec(&event)?)
}

/// `synth --all` as a user runs it after a build: the xtask binary itself, and through cargo.
fn synth_rows(root: &Path, exe: &Path) -> Vec<Row> {
    const GROUP: &str = "deploy";
    let time = |command: &mut Command| -> anyhow::Result<Vec<f64>> {
        let mut samples = Vec::new();
        for round in 0..11 {
            let started = Instant::now();
            let output = command.output().context("could not run synth")?;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            if !output.status.success() {
                bail!(
                    "synth --all --check failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            if round > 0 {
                samples.push(elapsed);
            }
        }
        Ok(samples)
    };
    let mut rows = Vec::new();
    let mut direct = Command::new(exe);
    direct.current_dir(root).args(["synth", "--all", "--check"]);
    rows.push(match time(&mut direct) {
        Ok(samples) => Row::new(
            "deploy.synth",
            GROUP,
            "synth --all --check (xtask binary)",
            "ms",
        )
        .stats(&samples)
        .target("≤ 100 ms", Limit::AtMost(100.0))
        .note("renders every environment and compares it with templates/, writing nothing"),
        Err(err) => Row::not_measured("deploy.synth", GROUP, "synth --all", format!("{err:#}")),
    });
    let mut via_cargo = Command::new(artifact::cargo());
    via_cargo
        .current_dir(root)
        .args(["xtask", "synth", "--all", "--check"]);
    rows.push(match time(&mut via_cargo) {
        Ok(samples) => Row::new(
            "deploy.synth_cargo",
            GROUP,
            "cargo xtask synth --all --check (with cargo's freshness check)",
            "ms",
        )
        .stats(&samples),
        Err(err) => Row::not_measured(
            "deploy.synth_cargo",
            GROUP,
            "cargo xtask synth --all",
            format!("{err:#}"),
        ),
    });
    rows
}

/// A link to the running xtask binary under target/bench, so a rebuild of target/debug/xtask
/// during the run (the folder is shared) cannot pull it away.
fn xtask_snapshot(root: &Path) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("the xtask binary's path is unknown")?;
    let exe = match exe.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(_) => bail!("the xtask binary was replaced while this run was going; run it again"),
        None => exe,
    };
    let dir = root.join("target").join("bench").join("bin");
    std::fs::create_dir_all(&dir)?;
    let snapshot = dir.join("xtask");
    let _ = std::fs::remove_file(&snapshot);
    if std::fs::hard_link(&exe, &snapshot).is_err() {
        std::fs::copy(&exe, &snapshot)
            .with_context(|| format!("could not copy {}", exe.display()))?;
    }
    Ok(snapshot)
}

/// A deploy with nothing to change against `sam deploy` of the same template, both against
/// one moto_server (see `aws::bench`).
fn deploy_row(exe: &Path, runs: usize) -> Row {
    let id = "deploy.noop";
    let figure = "no-op cargo xtask deploy vs sam deploy, same stand-in template, same moto";
    match crate::aws::bench::noop_deploy(exe, ENVIRONMENT, runs) {
        Ok(times) => Row::new(id, "deploy", figure, "s")
            .value(times.xtask.as_secs_f64())
            .baseline("sam deploy", Some(times.sam.as_secs_f64()))
            .ratio_target("≥ 4×", 4.0)
            .note(format!(
                "medians of {} runs each, after one deploy of each to set the stacks up; \
                 xtask with --skip-preflight (moto has no Bedrock control plane, and sam checks \
                 nothing either)",
                times.runs
            )),
        Err(err) => Row::not_measured(id, "deploy", figure, format!("{err:#}")),
    }
}

fn machine(root: &Path, python: &Path, load_average: &str) -> Machine {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let output = |program: &Path, args: &[&str]| {
        Command::new(program)
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into())
    };
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_kib: f64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let dirty = !output(
        Path::new("git"),
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .is_empty();
    let commit = output(Path::new("git"), &["rev-parse", "--short", "HEAD"]);
    Machine {
        date_utc: utc_now(),
        commit: if dirty {
            format!("{commit} (with uncommitted changes)")
        } else {
            commit
        },
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_gib: memory_kib / 1048576.0,
        kernel: format!("Linux {}", read("/proc/sys/kernel/osrelease").trim()),
        load_average: load_average.to_owned(),
        rustc: output(Path::new("rustc"), &["--version"]),
        python: output(
            python,
            &["-c", "import platform; print(platform.python_version())"],
        ),
        boto3: output(python, &["-c", "import boto3; print(boto3.__version__)"]),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` now, without a date crate.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
