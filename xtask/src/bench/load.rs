//! Per-turn overhead and streaming: `chatbot-local` (release) with the fake Bedrock (release)
//! and the in-memory store, loaded by `loadgen` (release) on 127.0.0.1. Every level is also
//! run against the fake Bedrock directly, so the service's own share can be told apart.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use loadgen::{Plan, Report as LoadReport};
use tokio::io::AsyncWriteExt;

use super::process::{Launch, peak_rss_kib, stop, url_in};
use super::report::{Limit, Row, number, percentile};

const GROUP: &str = "per-turn overhead and streaming";

/// The built programs and the environment the service runs with.
pub struct Setup {
    pub chatbot_local: PathBuf,
    pub fake_bedrock: PathBuf,
    pub loadgen: PathBuf,
    /// `CHATBOT_*` and AWS variables for `chatbot-local` (without the Bedrock endpoint).
    pub service_env: Vec<(String, String)>,
    pub model_id: String,
    pub system_prompt: String,
    pub logs: PathBuf,
}

/// One way of loading the service.
struct Scenario {
    id: &'static str,
    label: &'static str,
    stream: bool,
    first_token_ms: u64,
    token_ms: u64,
    chunks: u32,
    /// (concurrent requests, requests in all)
    levels: &'static [(usize, usize)],
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        id: "json_zero",
        label: "JSON turn, zero-latency model",
        stream: false,
        first_token_ms: 0,
        token_ms: 0,
        chunks: 32,
        levels: &[(1, 2000), (50, 5000), (500, 10000)],
    },
    Scenario {
        id: "stream_zero",
        label: "stream, zero-latency model",
        stream: true,
        first_token_ms: 0,
        token_ms: 0,
        chunks: 32,
        levels: &[(1, 2000), (50, 5000), (500, 10000)],
    },
    Scenario {
        id: "stream_short",
        label: "short stream (one chunk), zero-latency model",
        stream: true,
        first_token_ms: 0,
        token_ms: 0,
        chunks: 1,
        levels: &[(1, 1000)],
    },
    Scenario {
        id: "stream_real",
        label: "stream, model at 200 ms first token + 10 ms/token",
        stream: true,
        first_token_ms: 200,
        token_ms: 10,
        chunks: 32,
        levels: &[(1, 10), (50, 200), (500, 1000)],
    },
];

/// Time cap of one load level.
const MAX_SECONDS: f64 = 30.0;

pub async fn run(setup: &Setup) -> Vec<Row> {
    let mut rows = Vec::new();
    for scenario in &SCENARIOS {
        match run_scenario(setup, scenario).await {
            Ok(mut scenario_rows) => rows.append(&mut scenario_rows),
            Err(err) => rows.push(Row::not_measured(
                format!("load.{}", scenario.id),
                GROUP,
                scenario.label,
                format!("{err:#}"),
            )),
        }
    }
    rows
}

async fn run_scenario(setup: &Setup, scenario: &Scenario) -> anyhow::Result<Vec<Row>> {
    let fake_log = setup.logs.join(format!("fake-bedrock-{}.log", scenario.id));
    let (fake, line) = Launch::new(&setup.fake_bedrock)
        .arg("--port")
        .arg("0")
        .arg("--token-delay-ms")
        .arg(scenario.token_ms.to_string())
        .arg("--first-token-delay-ms")
        .arg(scenario.first_token_ms.to_string())
        .start_server(&fake_log, "fake-bedrock listening on")
        .await?;
    let fake_url = url_in(&line).context("fake-bedrock did not print its address")?;

    let service_log = setup
        .logs
        .join(format!("chatbot-local-{}.log", scenario.id));
    let (service, line) = Launch::new(&setup.chatbot_local)
        .arg("--port")
        .arg("0")
        .envs(setup.service_env.iter().cloned())
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &fake_url)
        .start_server(&service_log, "chatbot (")
        .await?;
    let service_url = url_in(&line).context("chatbot-local did not print its address")?;
    let service_pid = service.id().context("chatbot-local has no process id")?;

    let result = levels(setup, scenario, &fake_url, &service_url).await;
    let peak = peak_rss_kib(service_pid);
    stop(service).await;
    stop(fake).await;
    let mut rows = result?;
    rows.push(
        Row::new(
            format!("load.{}.peak_rss", scenario.id),
            GROUP,
            format!("{}: chatbot-local peak RSS", scenario.label),
            "MiB",
        )
        .stats(
            &peak
                .map(|kib| kib as f64 / 1024.0)
                .into_iter()
                .collect::<Vec<_>>(),
        )
        .note("after every level of this scenario, history of every turn kept in memory"),
    );
    Ok(rows)
}

async fn levels(
    setup: &Setup,
    scenario: &Scenario,
    fake_url: &str,
    service_url: &str,
) -> anyhow::Result<Vec<Row>> {
    let service_addr = address(service_url)?;
    let fake_addr = address(fake_url)?;
    let message = format!("Benchmark turn. [[chunks:{}]]", scenario.chunks);
    let service_plan = |concurrency, requests| Plan {
        addr: service_addr,
        method: "POST".into(),
        path: "/api/chat".into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (
                "accept".into(),
                if scenario.stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }
                .into(),
            ),
        ],
        body: serde_json::json!({ "message": message }).to_string(),
        concurrency,
        requests,
        max_seconds: MAX_SECONDS,
        mark: scenario.stream.then(|| "event: delta".into()),
    };
    let operation = if scenario.stream {
        "converse-stream"
    } else {
        "converse"
    };
    let direct_plan = |concurrency, requests| Plan {
        addr: fake_addr,
        method: "POST".into(),
        path: format!("/model/{}/{operation}", setup.model_id.replace(':', "%3A")),
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::json!({
            "messages": [{"role": "user", "content": [{"text": message}]}],
            "system": [{"text": setup.system_prompt}],
            "inferenceConfig": {"maxTokens": 1024},
        })
        .to_string(),
        concurrency,
        requests,
        max_seconds: MAX_SECONDS,
        mark: scenario.stream.then(|| "contentBlockDelta".into()),
    };

    // Warm both up: connections, allocator, the SDK's first request.
    generate(setup, &service_plan(4, 40)).await?;
    generate(setup, &direct_plan(4, 40)).await?;

    let mut rows = Vec::new();
    for &(concurrency, requests) in scenario.levels {
        let direct = generate(setup, &direct_plan(concurrency, requests)).await?;
        let service = generate(setup, &service_plan(concurrency, requests)).await?;
        rows.extend(level_rows(scenario, concurrency, &service, &direct));
    }
    Ok(rows)
}

fn level_rows(
    scenario: &Scenario,
    concurrency: usize,
    service: &LoadReport,
    direct: &LoadReport,
) -> Vec<Row> {
    let id = |what: &str| format!("load.{}.c{concurrency}.{what}", scenario.id);
    let figure = |what: &str| format!("{} ×{concurrency}: {what}", scenario.label);
    let ms = |us: &[u64]| us.iter().map(|u| *u as f64 / 1000.0).collect::<Vec<f64>>();
    let mut rows = Vec::new();

    let mut rps =
        Row::new(id("rps"), GROUP, figure("requests/s"), "req/s").value(per_second(service));
    rps = rps.compare("fake direct", Some(per_second(direct)));
    let errors = service.errors + direct.errors;
    if errors > 0 {
        let samples: Vec<&str> = service
            .error_samples
            .iter()
            .chain(&direct.error_samples)
            .map(String::as_str)
            .take(2)
            .collect();
        rps = rps.note(format!(
            "{} of {} service requests and {} of {} direct ones failed, e.g. {}",
            service.errors,
            service.errors + service.completed,
            direct.errors,
            direct.errors + direct.completed,
            samples.join(" | ")
        ));
    }
    rows.push(rps);

    let service_ms = ms(&service.latencies_us);
    let direct_ms = ms(&direct.latencies_us);
    let (Some(s50), Some(s99), Some(d50), Some(d99)) = (
        percentile(&service_ms, 50.0),
        percentile(&service_ms, 99.0),
        percentile(&direct_ms, 50.0),
        percentile(&direct_ms, 99.0),
    ) else {
        rows.push(Row::not_measured(
            id("latency"),
            GROUP,
            figure("latency"),
            "no request completed",
        ));
        return rows;
    };
    rows.push(
        Row::new(id("p50"), GROUP, figure("latency p50 (min–max)"), "ms")
            .stats(&service_ms)
            .compare("fake direct", Some(d50)),
    );
    rows.push(
        Row::new(id("p99"), GROUP, figure("latency p99"), "ms")
            .value(s99)
            .compare("fake direct", Some(d99)),
    );
    let mut added = Row::new(id("added_p99"), GROUP, figure("service's added p99"), "ms")
        .value(s99 - d99)
        .note_if(
            concurrency > 1,
            "p99 of the service minus p99 of the fake alone; above one stream both queue for the same 2 cores",
        );
    if !scenario.stream && concurrency == 1 {
        added = added.target("≤ 2 ms", Limit::AtMost(2.0));
    }
    let mut added_p50 =
        Row::new(id("added_p50"), GROUP, figure("service's added p50"), "ms").value(s50 - d50);
    if scenario.stream && scenario.first_token_ms == 0 && concurrency == 1 {
        added_p50 = added_p50.target("≤ 2 ms", Limit::AtMost(2.0));
    }
    rows.push(added_p50);
    rows.push(added);

    if scenario.stream && concurrency == 1 {
        // Every write after the first waits for an ACK when Nagle's algorithm is on.
        let spread = |report: &LoadReport| -> Vec<f64> {
            report
                .latencies_us
                .iter()
                .zip(&report.first_bytes_us)
                .map(|(end, first)| end.saturating_sub(*first) as f64 / 1000.0)
                .collect()
        };
        let service_spread = spread(service);
        let direct_spread = spread(direct);
        let mut row = Row::new(
            id("first_to_last_byte"),
            GROUP,
            figure("first byte → last byte, p50 (min–max)"),
            "ms",
        )
        .stats(&service_spread)
        .compare("fake direct", percentile(&direct_spread, 50.0));
        if scenario.chunks == 1 {
            row = row.target("≤ 2 ms", Limit::AtMost(2.0)).note(
                "meta, one delta and done: a Nagle stall on the accepted socket shows as ~40 ms",
            );
        }
        rows.push(row);
    }

    if scenario.stream {
        let first = scenario.first_token_ms as f64;
        let service_ttfb: Vec<f64> = ms(&service.marks_us).iter().map(|m| m - first).collect();
        let direct_ttfb: Vec<f64> = ms(&direct.marks_us).iter().map(|m| m - first).collect();
        let direct_p50 = percentile(&direct_ttfb, 50.0);
        let direct_p99 = percentile(&direct_ttfb, 99.0);
        let p50 = Row::new(
            id("ttfb_p50"),
            GROUP,
            figure("first delta − model's first token, p50"),
            "ms",
        )
        .stats(&service_ttfb)
        .compare("fake direct", direct_p50);
        let p99 = Row::new(
            id("ttfb_p99"),
            GROUP,
            figure("first delta − model's first token, p99"),
            "ms",
        )
        .stats(
            &percentile(&service_ttfb, 99.0)
                .into_iter()
                .collect::<Vec<_>>(),
        )
        .compare("fake direct", direct_p99);
        rows.push(p50);
        rows.push(p99);
        // At 500 streams the load generator, the fake and the service share two cores, so no
        // absolute figure means much: the target is what the service adds relative to what the
        // fake alone takes in the same run. A bare relay, which accepts each request and sends
        // it on, does the fake's work per request twice over; the service is held to that.
        let service_p50 = percentile(&service_ttfb, 50.0);
        if let (Some(service_p50), Some(direct_p50)) = (service_p50, direct_p50) {
            let mut added = Row::new(
                id("ttfb_added_p50"),
                GROUP,
                figure("service's added first-delta latency, p50"),
                "ms",
            )
            .value(service_p50 - direct_p50)
            .compare("fake direct", Some(direct_p50))
            .note(
                "first delta p50 of the service minus first frame p50 of the fake alone, same run",
            );
            if concurrency == 500 {
                added = added.target(
                    format!("≤ 2× fake direct ({} ms)", number(2.0 * direct_p50)),
                    Limit::AtMost(2.0 * direct_p50),
                );
            }
            rows.push(added);
        }
    }
    rows
}

fn per_second(report: &LoadReport) -> f64 {
    if report.elapsed_us == 0 {
        return 0.0;
    }
    report.completed as f64 / (report.elapsed_us as f64 / 1e6)
}

fn address(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    url.trim_start_matches("http://")
        .parse()
        .with_context(|| format!("{url} is not an address with a port"))
}

/// Runs `loadgen` with `plan` and reads its report.
async fn generate(setup: &Setup, plan: &Plan) -> anyhow::Result<LoadReport> {
    let mut child = tokio::process::Command::new(&setup.loadgen)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("could not start {}", setup.loadgen.display()))?;
    let mut stdin = child.stdin.take().context("no standard input")?;
    stdin.write_all(&serde_json::to_vec(plan)?).await?;
    drop(stdin);
    let limit = std::time::Duration::from_secs_f64(plan.max_seconds + 30.0);
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .context("loadgen overran its time cap")??;
    if !output.status.success() {
        bail!(
            "loadgen failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("could not read loadgen's report")
}

/// The log folder's path relative to the working directory, for messages.
pub fn logs_dir(root: &Path) -> PathBuf {
    root.join("target").join("bench").join("logs")
}
