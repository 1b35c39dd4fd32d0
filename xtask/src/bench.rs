//! `cargo xtask bench`: the benchmarks of DESIGN.md's "Performance we hold ourselves to",
//! printed as one table and written to `target/bench/latest.json` for the next run to compare.
//!
//! Benchmarks, not tests: nothing here fails on a slow figure; a missed target is marked
//! `MISSED` in the table. Everything runs on this machine: the service's release binaries,
//! the fake Bedrock, moto for DynamoDB, a local Lambda Runtime API, load on 127.0.0.1 only.

mod artifact;
mod cold_start;
mod load;
mod markdown;
mod page;
mod process;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{env, stack, tools};
use process::{Launch, stop, url_in};
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
    if service && !args.no_build && args.bin_dir.is_none() {
        build(&root)?;
    }
    let bin_dir = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| root.join("target/release"));
    let bins = Binaries::in_folder(&bin_dir);
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
                        let event = read_event(&root, "apigw-get-health.json");
                        match event {
                            Ok(event) => rows.extend(
                                artifact::profile_rows(
                                    &root,
                                    &cold.rust,
                                    &event,
                                    args.runs.min(10),
                                )
                                .await,
                            ),
                            Err(err) => rows.push(Row::not_measured(
                                "profile",
                                "release profile",
                                "variants",
                                format!("{err:#}"),
                            )),
                        }
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
        rows.extend(artifact::size_rows(&bins.bootstrap));
        rows.extend(artifact::bundle_rows());
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

/// Release builds: the service alone (so its features are what a deploy builds), then the
/// harness programs.
fn build(root: &Path) -> anyhow::Result<()> {
    let steps: [&[&str]; 3] = [
        &[
            "build",
            "--release",
            "-p",
            "chatbot",
            "--bin",
            "bootstrap",
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

/// The stand-ins the cold starts talk to, and how to launch each runtime.
struct ColdStart {
    rust: Launch,
    /// `bootstrap` reading the CA bundle file only (`SSL_CERT_DIR` empty), to show what
    /// loading this machine's certificate folder costs.
    rust_bundle_only: Launch,
    python: Launch,
    chat_event: Vec<u8>,
    health_event: Vec<u8>,
    fake: tokio::process::Child,
    moto: Option<tokio::process::Child>,
    moto_error: Option<String>,
    logs: PathBuf,
}

impl ColdStart {
    async fn new(
        root: &Path,
        bins: &Binaries,
        environment: &env::Environment,
        python: &Path,
        logs: &Path,
    ) -> anyhow::Result<ColdStart> {
        let (fake, line) = Launch::new(&bins.fake_bedrock)
            .arg("--port")
            .arg("0")
            .start_server(
                &logs.join("fake-bedrock-cold.log"),
                "fake-bedrock listening on",
            )
            .await?;
        let fake_url = url_in(&line).context("fake-bedrock did not print its address")?;
        let (moto, dynamo_url, moto_error) = match start_moto(logs).await {
            Ok((child, url)) => (Some(child), url, None),
            // The health check never reaches DynamoDB; only the chat burst needs it.
            Err(err) => (
                None,
                "http://127.0.0.1:9".to_owned(),
                Some(format!("{err:#}")),
            ),
        };
        let mut vars = service_env(environment, Some(TABLE), true);
        vars.push((
            chatbot_contract::env_vars::ORIGIN_SECRET.into(),
            BENCH_ORIGIN_SECRET.into(),
        ));
        vars.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(), fake_url));
        vars.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamo_url));
        let task_root = root.join("bench").join("python");
        let rust = Launch::new(&bins.bootstrap)
            .envs(vars.iter().cloned())
            .envs(lambda_env(
                environment,
                bins.bootstrap.parent().unwrap_or(root),
            ));
        let python = Launch::new(python)
            .arg(task_root.join("bootstrap.py").display().to_string())
            .envs(vars.iter().cloned())
            .envs(lambda_env(environment, &task_root))
            .env("_HANDLER", "handler.handler")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let no_dir = logs.join("empty-cert-dir");
        std::fs::create_dir_all(&no_dir)?;
        let rust_bundle_only = rust
            .clone()
            .env("SSL_CERT_DIR", no_dir.display().to_string());
        Ok(ColdStart {
            rust,
            rust_bundle_only,
            python,
            chat_event: read_event(root, "apigw-post-chat.json")?,
            health_event: read_event(root, "apigw-get-health.json")?,
            fake,
            moto,
            moto_error,
            logs: logs.to_path_buf(),
        })
    }

    async fn rows(&self, runs: usize) -> Vec<Row> {
        const GROUP: &str = "cold start";
        let mut rust = Vec::new();
        let mut python = Vec::new();
        let mut bundle_only = Vec::new();
        let rust_log = self.logs.join("bootstrap-cold.log");
        let python_log = self.logs.join("python-cold.log");
        // Alternate the two, so a change in the machine's load touches both alike; the first
        // round warms the page cache and is not counted.
        for round in 0..=runs {
            for (launch, samples, log) in [
                (&self.rust, &mut rust, &rust_log),
                (&self.python, &mut python, &python_log),
                (&self.rust_bundle_only, &mut bundle_only, &rust_log),
            ] {
                match cold_start::once(launch, &self.health_event, log).await {
                    Ok(sample) if round > 0 => samples.push(Ok(sample)),
                    Ok(_) => {}
                    Err(err) => samples.push(Err(format!("{err:#}"))),
                }
            }
        }
        let failure = |samples: &[Result<cold_start::Sample, String>]| {
            samples.iter().find_map(|s| s.as_ref().err().cloned())
        };
        let ok = |samples: &[Result<cold_start::Sample, String>],
                  f: fn(&cold_start::Sample) -> f64| {
            samples
                .iter()
                .filter_map(|s| s.as_ref().ok())
                .map(f)
                .collect::<Vec<f64>>()
        };
        let py_first = report::Stats::of(&ok(&python, |s| s.first_byte_ms)).map(|s| s.median);
        let py_complete = report::Stats::of(&ok(&python, |s| s.complete_ms)).map(|s| s.median);
        let py_rss = report::Stats::of(&ok(&python, |s| s.peak_rss_mib)).map(|s| s.median);
        let mut rows = vec![
            Row::new(
                "cold_start.bootstrap.first_byte",
                GROUP,
                "bootstrap: spawn → first byte of GET /api/health",
                "ms",
            )
            .stats(&ok(&rust, |s| s.first_byte_ms))
            .baseline("Python + boto3", py_first)
            .target("≤ 8 ms", Limit::AtMost(8.0)),
            Row::new(
                "cold_start.bootstrap.ratio",
                GROUP,
                "bootstrap vs Python + boto3, same run",
                "ms",
            )
            .stats(&ok(&rust, |s| s.first_byte_ms))
            .baseline("Python + boto3", py_first)
            .ratio_target("≥ 25×", 25.0),
            Row::new(
                "cold_start.bootstrap.complete",
                GROUP,
                "bootstrap: spawn → complete answer",
                "ms",
            )
            .stats(&ok(&rust, |s| s.complete_ms))
            .baseline("Python + boto3", py_complete),
            Row::new(
                "cold_start.bootstrap.peak_rss",
                GROUP,
                "bootstrap: peak RSS at first answer",
                "MiB",
            )
            .stats(&ok(&rust, |s| s.peak_rss_mib))
            .baseline("Python + boto3", py_rss)
            .target("≤ 16 MB", Limit::AtMost(16e6 / 1048576.0)),
            Row::new(
                "cold_start.python.first_byte",
                GROUP,
                "Python 3 + boto3 clients at import: spawn → first byte",
                "ms",
            )
            .stats(&ok(&python, |s| s.first_byte_ms)),
            Row::new(
                "cold_start.python.peak_rss",
                GROUP,
                "Python 3 + boto3: peak RSS at first answer",
                "MiB",
            )
            .stats(&ok(&python, |s| s.peak_rss_mib)),
        ];
        if let Some(err) = failure(&rust) {
            rows[0] = rows[0].clone().note(format!("some runs failed: {err}"));
        }
        if let Some(err) = failure(&python) {
            rows[4] = rows[4].clone().note(format!("some runs failed: {err}"));
        }
        rows.push(
            Row::new(
                "cold_start.bootstrap_bundle_only.first_byte",
                GROUP,
                "bootstrap with SSL_CERT_DIR empty (CA bundle file only): first byte",
                "ms",
            )
            .stats(&ok(&bundle_only, |s| s.first_byte_ms))
            .compare("bootstrap as is", report::Stats::of(&ok(&rust, |s| s.first_byte_ms)).map(|s| s.median))
            .note(
                "diagnostic: the SDK's HTTPS client loads the system roots at start, here a 200 kB bundle plus \
                 a folder of ~150 per-certificate files (Debian); AL2023 keeps bundles only",
            ),
        );
        rows.push(self.burst_row().await);
        rows
    }

    /// 100 streamed chat turns through one `bootstrap`, one after another as Lambda sends them,
    /// with history in DynamoDB (moto) and the fake Bedrock answering at once.
    async fn burst_row(&self) -> Row {
        const GROUP: &str = "cold start";
        let id = "cold_start.burst.peak_rss";
        let figure = "bootstrap: peak RSS after 100 streamed chat turns";
        if let Some(err) = &self.moto_error {
            return Row::not_measured(
                id,
                GROUP,
                figure,
                format!("moto_server did not start: {err}"),
            );
        }
        let log = self.logs.join("bootstrap-burst.log");
        match cold_start::burst(&self.rust, &self.chat_event, 100, &log).await {
            Ok(burst) if burst.failures.is_empty() => {
                let p50 = report::percentile(&burst.complete_ms, 50.0).unwrap_or_default();
                let p99 = report::percentile(&burst.complete_ms, 99.0).unwrap_or_default();
                Row::new(id, GROUP, figure, "MiB")
                    .value(burst.peak_rss_mib)
                    .target("≤ 32 MB", Limit::AtMost(32e6 / 1048576.0))
                    .note(format!(
                        "per turn, event handed out → end of stream: p50 {} ms, p99 {} ms (DynamoDB is moto, a Python server)",
                        report::number(p50),
                        report::number(p99)
                    ))
            }
            Ok(burst) => Row::not_measured(
                id,
                GROUP,
                figure,
                format!(
                    "{} of 100 turns failed, e.g. {}",
                    burst.failures.len(),
                    burst.failures[0]
                ),
            ),
            Err(err) => Row::not_measured(id, GROUP, figure, format!("{err:#}")),
        }
    }

    async fn stop(self) {
        stop(self.fake).await;
        if let Some(moto) = self.moto {
            stop(moto).await;
        }
    }
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

/// moto_server on a free port of 127.0.0.1 with the service's table created in it.
async fn start_moto(logs: &Path) -> anyhow::Result<(tokio::process::Child, String)> {
    let bin = tools::ensure(&tools::MOTO_SERVER)?;
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port();
    let child = Launch::new(&bin)
        .arg("-H")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .command(&logs.join("moto.log"))?
        .spawn()
        .context("could not start moto_server")?;
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            stop(child).await;
            bail!("moto_server did not listen on port {port} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // moto's venv has boto3: create the table the way any client would.
    let python = bin.with_file_name("python");
    let script = format!(
        "import boto3\n\
         c = boto3.client('dynamodb', endpoint_url='{url}', region_name='us-east-1',\n\
             aws_access_key_id='bench', aws_secret_access_key='bench')\n\
         c.create_table(TableName='{TABLE}', BillingMode='PAY_PER_REQUEST',\n\
             AttributeDefinitions=[{{'AttributeName': 'pk', 'AttributeType': 'S'}},\n\
                                   {{'AttributeName': 'sk', 'AttributeType': 'S'}}],\n\
             KeySchema=[{{'AttributeName': 'pk', 'KeyType': 'HASH'}},\n\
                        {{'AttributeName': 'sk', 'KeyType': 'RANGE'}}])\n"
    );
    let output = tokio::process::Command::new(&python)
        .args(["-c", &script])
        .output()
        .await
        .context("could not run moto's Python")?;
    if !output.status.success() {
        stop(child).await;
        bail!(
            "could not create the table in moto: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok((child, url))
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
