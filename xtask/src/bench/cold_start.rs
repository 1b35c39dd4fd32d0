//! Cold starts through a local Lambda Runtime API: spawn a runtime with one event already
//! queued, time spawn → first byte and → end of its answer, read its peak RSS, kill it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use testkit::runtime_api::{Invocation, Outcome, RuntimeApi};

use super::binaries::Binaries;
use super::process::{Launch, peak_rss_kib, stop, url_in};
use super::report::{self, Limit, Row};
use super::service::{BENCH_ORIGIN_SECRET, TABLE, lambda_env, read_event, service_env, start_moto};
use crate::env;

/// Bound on one cold start or one invocation.
const LIMIT: Duration = Duration::from_secs(60);

/// One cold start.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Spawn → first byte of the answer's body.
    pub first_byte_ms: f64,
    /// Spawn → end of the answer.
    pub complete_ms: f64,
    /// `VmHWM` once the answer is complete.
    pub peak_rss_mib: f64,
}

/// Spawns `launch` against a fresh Runtime API holding `event`, and times its first answer,
/// which must carry HTTP status 200.
pub async fn once(launch: &Launch, event: &[u8], log: &Path) -> anyhow::Result<Sample> {
    let api = RuntimeApi::start()
        .await
        .context("could not start the Runtime API")?;
    let pending = api.enqueue(event.to_vec());
    let mut command = launch
        .clone()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .command(log)?;
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {}", launch.program.display()))?;
    let pid = child.id();
    let invocation = tokio::select! {
        outcome = pending.outcome() => outcome?,
        status = child.wait() => bail!(
            "{} exited ({}) before answering; see {}",
            launch.program.display(),
            status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
            log.display()
        ),
        () = tokio::time::sleep(LIMIT) => bail!(
            "{} did not answer within {} s; see {}",
            launch.program.display(),
            LIMIT.as_secs(),
            log.display()
        ),
    };
    let peak = pid.and_then(peak_rss_kib);
    stop(child).await;
    check(&invocation, log)?;
    Ok(Sample {
        first_byte_ms: ms(invocation.first_byte_at - started),
        complete_ms: ms(invocation.end_at - started),
        peak_rss_mib: kib_to_mib(peak.context("could not read the runtime's peak RSS")?),
    })
}

/// What one runtime process did with a burst of events, answered one after another as a
/// Lambda instance does.
#[derive(Debug, Clone)]
pub struct Burst {
    /// Per event: handed out by `/next` → first byte after the metadata prelude.
    pub first_payload_ms: Vec<f64>,
    /// Per event: handed out → end of the answer.
    pub complete_ms: Vec<f64>,
    /// `VmHWM` after the last answer.
    pub peak_rss_mib: f64,
    /// Answers that were not a 200 ending with an SSE `done` event.
    pub failures: Vec<String>,
}

pub async fn burst(
    launch: &Launch,
    event: &[u8],
    count: usize,
    log: &Path,
) -> anyhow::Result<Burst> {
    let api = RuntimeApi::start()
        .await
        .context("could not start the Runtime API")?;
    let pending: Vec<_> = (0..count).map(|_| api.enqueue(event.to_vec())).collect();
    let mut child = launch
        .clone()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .command(log)?
        .spawn()
        .with_context(|| format!("could not start {}", launch.program.display()))?;
    let pid = child.id();
    let mut result = Burst {
        first_payload_ms: Vec::new(),
        complete_ms: Vec::new(),
        peak_rss_mib: 0.0,
        failures: Vec::new(),
    };
    for pending in pending {
        let invocation = tokio::select! {
            outcome = pending.outcome() => outcome?,
            status = child.wait() => bail!(
                "{} exited ({}) during the burst; see {}",
                launch.program.display(),
                status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                log.display()
            ),
            () = tokio::time::sleep(LIMIT) => bail!(
                "{} did not answer within {} s; see {}",
                launch.program.display(),
                LIMIT.as_secs(),
                log.display()
            ),
        };
        match check_stream(&invocation) {
            Ok(()) => {
                let first = invocation.first_payload_at.unwrap_or(invocation.end_at);
                result
                    .first_payload_ms
                    .push(ms(first - invocation.delivered_at));
                result
                    .complete_ms
                    .push(ms(invocation.end_at - invocation.delivered_at));
            }
            Err(err) => result.failures.push(err),
        }
    }
    let peak = pid.and_then(peak_rss_kib);
    stop(child).await;
    result.peak_rss_mib = kib_to_mib(peak.context("could not read the runtime's peak RSS")?);
    Ok(result)
}

fn check(invocation: &Invocation, log: &Path) -> anyhow::Result<()> {
    if let Outcome::Error { error_type } = &invocation.outcome {
        bail!(
            "the runtime reported an invocation error {error_type}: {}; see {}",
            snippet(&invocation.body),
            log.display()
        );
    }
    match invocation.status_code() {
        Some(200) => Ok(()),
        status => bail!(
            "the runtime answered with status {status:?} instead of 200: {}; see {}",
            snippet(&invocation.body),
            log.display()
        ),
    }
}

fn check_stream(invocation: &Invocation) -> Result<(), String> {
    if let Outcome::Error { error_type } = &invocation.outcome {
        return Err(format!("{error_type}: {}", snippet(&invocation.body)));
    }
    let Some(streamed) = invocation.streamed() else {
        return Err(format!(
            "not a streamed answer: {}",
            snippet(&invocation.body)
        ));
    };
    let body = String::from_utf8_lossy(&streamed.body);
    if streamed.status_code() != Some(200) || !body.contains("event: done") {
        return Err(format!(
            "status {:?}: {}",
            streamed.status_code(),
            snippet(&streamed.body)
        ));
    }
    Ok(())
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(300).collect()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The stand-ins the cold starts talk to, and how to launch each runtime.
pub(super) struct ColdStart {
    pub(super) rust: Launch,
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
    pub(super) async fn new(
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

    pub(super) async fn rows(&self, runs: usize) -> Vec<Row> {
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
                match once(launch, &self.health_event, log).await {
                    Ok(sample) if round > 0 => samples.push(Ok(sample)),
                    Ok(_) => {}
                    Err(err) => samples.push(Err(format!("{err:#}"))),
                }
            }
        }
        let failure = |samples: &[Result<Sample, String>]| {
            samples.iter().find_map(|s| s.as_ref().err().cloned())
        };
        let ok = |samples: &[Result<Sample, String>], f: fn(&Sample) -> f64| {
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
        match burst(&self.rust, &self.chat_event, 100, &log).await {
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

    pub(super) async fn stop(self) {
        stop(self.fake).await;
        if let Some(moto) = self.moto {
            stop(moto).await;
        }
    }
}
