//! The cold-start groups: `bootstrap` against the Python + boto3 handler, both through the
//! local Lambda Runtime API with the same HTTPS stand-ins, alternating run by run so both see
//! the same machine. A health check (no AWS call), a first chat turn and a warm one in the
//! same process, and a burst of 100 turns for memory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use testkit::faulty_dynamo::Exchange;

use super::binaries::Binaries;
use super::cold_start::{self, Milestones, Sample, Turns};
use super::process::Launch;
use super::report::{self, Limit, Row, Stats};
use super::service::{BENCH_ORIGIN_SECRET, TABLE, lambda_env, read_event, service_env};
use super::stand_ins::StandIns;
use crate::env;

const HEALTH: &str = "cold start: GET /api/health";
const CHAT: &str = "cold start: first chat turn over HTTPS";

/// The stand-ins the cold starts talk to, and how to launch each runtime.
pub struct ColdStart {
    pub rust: Launch,
    /// `bootstrap` with the system's usual certificate settings: no `SSL_CERT_FILE`, so the
    /// private root is not trusted and INIT's connections fail their handshakes.
    rust_usual_roots: Launch,
    python: Launch,
    chat_event: Vec<u8>,
    health_event: Vec<u8>,
    stand_ins: StandIns,
    logs: PathBuf,
}

impl ColdStart {
    pub async fn new(
        root: &Path,
        bins: &Binaries,
        environment: &env::Environment,
        python: &Path,
        logs: &Path,
    ) -> anyhow::Result<ColdStart> {
        let stand_ins = StandIns::start(&bins.fake_bedrock, logs).await?;
        let mut vars = service_env(environment, Some(TABLE), true);
        vars.push((
            chatbot_contract::env_vars::ORIGIN_SECRET.into(),
            BENCH_ORIGIN_SECRET.into(),
        ));
        vars.extend(stand_ins.env());
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
        let mut rust_usual_roots = rust.clone();
        rust_usual_roots
            .env
            .retain(|(name, _)| name != "SSL_CERT_FILE" && name != "AWS_CA_BUNDLE");
        Ok(ColdStart {
            rust,
            rust_usual_roots,
            python,
            chat_event: read_event(root, "apigw-post-chat.json")?,
            health_event: read_event(root, "apigw-get-health.json")?,
            stand_ins,
            logs: logs.to_path_buf(),
        })
    }

    pub fn health_event(&self) -> &[u8] {
        &self.health_event
    }

    pub async fn rows(&self, runs: usize) -> Vec<Row> {
        let mut rows = self.health_rows(runs).await;
        rows.extend(self.chat_rows(runs).await);
        rows.push(self.burst_row().await);
        rows
    }

    async fn health_rows(&self, runs: usize) -> Vec<Row> {
        let mut rust = Vec::new();
        let mut python = Vec::new();
        let mut usual = Vec::new();
        let rust_log = self.logs.join("bootstrap-cold.log");
        let python_log = self.logs.join("python-cold.log");
        // Alternate them, so a change in the machine's load touches all alike; the first
        // round warms the page cache and is not counted.
        for round in 0..=runs {
            for (launch, samples, log) in [
                (&self.rust, &mut rust, &rust_log),
                (&self.python, &mut python, &python_log),
                (&self.rust_usual_roots, &mut usual, &rust_log),
            ] {
                match cold_start::once(launch, &self.health_event, log).await {
                    Ok(sample) if round > 0 => samples.push(Ok(sample)),
                    Ok(_) => {}
                    Err(err) => samples.push(Err(format!("{err:#}"))),
                }
            }
        }
        let py = |f: fn(&Sample) -> f64| median(&ok(&python, f));
        let mut rows = vec![
            Row::new(
                "cold_start.bootstrap.first_byte",
                HEALTH,
                "bootstrap: spawn → first byte of GET /api/health",
                "ms",
            )
            .stats(&ok(&rust, |s| s.first_byte_ms))
            .baseline("Python + boto3", py(|s| s.first_byte_ms))
            .target("≤ 8 ms", Limit::AtMost(8.0))
            .note("INIT included: configuration, trusted roots, SDK clients; the connections start opening during INIT, beside the first request"),
            Row::new(
                "cold_start.bootstrap.ratio",
                HEALTH,
                "bootstrap vs Python + boto3, same run",
                "ms",
            )
            .stats(&ok(&rust, |s| s.first_byte_ms))
            .baseline("Python + boto3", py(|s| s.first_byte_ms))
            .ratio_target("≥ 25×", 25.0),
            Row::new(
                "cold_start.bootstrap.complete",
                HEALTH,
                "bootstrap: spawn → complete answer",
                "ms",
            )
            .stats(&ok(&rust, |s| s.complete_ms))
            .baseline("Python + boto3", py(|s| s.complete_ms)),
            Row::new(
                "stall.bootstrap.health",
                HEALTH,
                "bootstrap: first byte → last byte of GET /api/health (66 bytes, streamed)",
                "ms",
            )
            .stats(&ok(&rust, |s| s.complete_ms - s.first_byte_ms))
            .compare("Python + boto3", py(|s| s.complete_ms - s.first_byte_ms))
            .target("≤ 2 ms", Limit::AtMost(2.0))
            .note("the answer's writes to the Runtime API after the first: a Nagle stall shows as ~40 ms"),
            Row::new(
                "cold_start.bootstrap.peak_rss",
                HEALTH,
                "bootstrap: peak RSS at first answer",
                "MiB",
            )
            .stats(&ok(&rust, |s| s.peak_rss_mib))
            .baseline("Python + boto3", py(|s| s.peak_rss_mib))
            .target("≤ 16 MB", Limit::AtMost(16e6 / 1048576.0)),
            Row::new(
                "cold_start.python.first_byte",
                HEALTH,
                "Python 3 + boto3 clients at import: spawn → first byte",
                "ms",
            )
            .stats(&ok(&python, |s| s.first_byte_ms)),
        ];
        if let Some(err) = failure(&rust) {
            rows[0] = rows[0].clone().note(format!("some runs failed: {err}"));
        }
        if let Some(err) = failure(&python) {
            rows[5] = rows[5].clone().note(format!("some runs failed: {err}"));
        }
        rows.push(
            Row::new(
                "cold_start.bootstrap_usual_roots.first_byte",
                HEALTH,
                "bootstrap without SSL_CERT_FILE (the system's certificates): first byte",
                "ms",
            )
            .stats(&ok(&usual, |s| s.first_byte_ms))
            .compare("with SSL_CERT_FILE", median(&ok(&rust, |s| s.first_byte_ms)))
            .note(failure(&usual).map_or_else(
                || "the roots a deployed function reads; here the private root is untrusted, so the early handshakes fail".to_owned(),
                |err| format!("some runs failed: {err}"),
            )),
        );
        rows
    }

    async fn chat_rows(&self, runs: usize) -> Vec<Row> {
        let mut rust = Vec::new();
        let mut python = Vec::new();
        let mut rust_store = Vec::new();
        let mut python_store = Vec::new();
        let mut rust_split = Vec::new();
        let mut python_split = Vec::new();
        let rust_log = self.logs.join("bootstrap-chat.log");
        let python_log = self.logs.join("python-chat.log");
        for round in 0..=runs {
            for (launch, samples, store, split, log) in [
                (
                    &self.rust,
                    &mut rust,
                    &mut rust_store,
                    &mut rust_split,
                    &rust_log,
                ),
                (
                    &self.python,
                    &mut python,
                    &mut python_store,
                    &mut python_split,
                    &python_log,
                ),
            ] {
                match cold_start::two_turns(launch, &self.chat_event, log).await {
                    Ok(turns) if round > 0 => {
                        let exchanges = self.stand_ins.store_exchanges();
                        store.push(StoreCalls::of(&exchanges, turns.warm));
                        split.extend(Split::of(&exchanges, &turns));
                        samples.push(Ok(turns));
                    }
                    Ok(_) => {}
                    Err(err) => samples.push(Err(format!("{err:#}"))),
                }
            }
        }
        let py = |f: fn(&Turns) -> f64| median(&ok(&python, f));
        let mut rows = vec![
            Row::new(
                "cold_chat.bootstrap.first_delta",
                CHAT,
                "bootstrap: spawn → first delta of the first chat turn",
                "ms",
            )
            .stats(&ok(&rust, |t| t.cold_first_delta_ms))
            .baseline("Python + boto3", py(|t| t.cold_first_delta_ms)),
            Row::new(
                "cold_chat.bootstrap.end",
                CHAT,
                "bootstrap: spawn → end of the first chat turn",
                "ms",
            )
            .stats(&ok(&rust, |t| t.cold_end_ms))
            .baseline("Python + boto3", py(|t| t.cold_end_ms)),
            Row::new(
                "cold_chat.bootstrap.warm_first_delta",
                CHAT,
                "bootstrap: second turn, same process: handed out → first delta",
                "ms",
            )
            .stats(&ok(&rust, |t| t.warm_first_delta_ms))
            .compare("Python + boto3", py(|t| t.warm_first_delta_ms)),
            Row::new(
                "cold_chat.bootstrap.warm_end",
                CHAT,
                "bootstrap: second turn: handed out → end",
                "ms",
            )
            .stats(&ok(&rust, |t| t.warm_end_ms))
            .compare("Python + boto3", py(|t| t.warm_end_ms)),
            Row::new(
                "cold_chat.bootstrap.cold_overhead",
                CHAT,
                "bootstrap: cold overhead (first turn's first delta − second turn's, per process)",
                "ms",
            )
            .stats(&ok(&rust, Turns::cold_overhead_ms))
            .compare("Python + boto3", py(Turns::cold_overhead_ms))
            .target("≤ 15 ms", Limit::AtMost(15.0)),
            Row::new(
                "cold_chat.bootstrap.overhead_ratio",
                CHAT,
                "cold overhead: bootstrap vs Python + boto3, same run",
                "ms",
            )
            .stats(&ok(&rust, Turns::cold_overhead_ms))
            .baseline("Python + boto3", py(Turns::cold_overhead_ms))
            .ratio_target("≥ 25×", 25.0),
            Row::new(
                "cold_chat.bootstrap.peak_rss",
                CHAT,
                "bootstrap: peak RSS after both turns",
                "MiB",
            )
            .stats(&ok(&rust, |t| t.peak_rss_mib))
            .baseline("Python + boto3", py(|t| t.peak_rss_mib)),
            Row::new(
                "cold_chat.python.first_delta",
                CHAT,
                "Python 3 + boto3: spawn → first delta of the first chat turn",
                "ms",
            )
            .stats(&ok(&python, |t| t.cold_first_delta_ms)),
            Row::new(
                "cold_chat.python.cold_overhead",
                CHAT,
                "Python 3 + boto3: cold overhead, per process",
                "ms",
            )
            .stats(&ok(&python, Turns::cold_overhead_ms)),
        ];
        if let Some(err) = failure(&rust) {
            rows[0] = rows[0].clone().note(format!("some runs failed: {err}"));
        }
        if let Some(err) = failure(&python) {
            rows[7] = rows[7].clone().note(format!("some runs failed: {err}"));
        }
        rows.extend(split_rows(&rust_split, &python_split));
        rows.extend(store_rows(&rust_store, &python_store));
        rows
    }

    /// 100 streamed chat turns through one `bootstrap`, one after another as Lambda sends them,
    /// with history in DynamoDB (moto) and the fake Bedrock answering at once.
    async fn burst_row(&self) -> Row {
        let id = "cold_start.burst.peak_rss";
        let figure = "bootstrap: peak RSS after 100 streamed chat turns";
        if let Some(err) = &self.stand_ins.moto_error {
            return Row::not_measured(
                id,
                CHAT,
                figure,
                format!("moto_server did not start: {err}"),
            );
        }
        let log = self.logs.join("bootstrap-burst.log");
        match cold_start::burst(&self.rust, &self.chat_event, 100, &log).await {
            Ok(burst) if burst.failures.is_empty() => {
                let p50 = report::percentile(&burst.complete_ms, 50.0).unwrap_or_default();
                let p99 = report::percentile(&burst.complete_ms, 99.0).unwrap_or_default();
                Row::new(id, CHAT, figure, "MiB")
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
                CHAT,
                figure,
                format!(
                    "{} of 100 turns failed, e.g. {}",
                    burst.failures.len(),
                    burst.failures[0]
                ),
            ),
            Err(err) => Row::not_measured(id, CHAT, figure, format!("{err:#}")),
        }
    }

    pub async fn stop(self) {
        self.stand_ins.stop().await;
    }
}

/// Where a first and a second turn spend their time before the first delta: the store's
/// first request, as the store received it, divides each.
#[derive(Debug, Clone, Copy)]
struct Split {
    /// Spawn → the first event handed out: the process's start and INIT.
    init_ms: f64,
    /// Event handed out → the turn's first store request received.
    cold_to_store_ms: f64,
    warm_to_store_ms: f64,
    /// First store request received → first delta.
    cold_after_store_ms: f64,
    warm_after_store_ms: f64,
}

impl Split {
    /// `None` when a turn sent no store request before its first delta.
    fn of(exchanges: &[Exchange], turns: &Turns) -> Option<Split> {
        let first_request = |turn: &Milestones| {
            exchanges
                .iter()
                .map(|e| e.received)
                .filter(|at| *at >= turn.delivered && *at < turn.first_delta)
                .min()
        };
        let cold = first_request(&turns.cold)?;
        let warm = first_request(&turns.warm)?;
        Some(Split {
            init_ms: cold_start::ms(turns.cold.delivered - turns.spawned),
            cold_to_store_ms: cold_start::ms(cold - turns.cold.delivered),
            warm_to_store_ms: cold_start::ms(warm - turns.warm.delivered),
            cold_after_store_ms: cold_start::ms(turns.cold.first_delta - cold),
            warm_after_store_ms: cold_start::ms(turns.warm.first_delta - warm),
        })
    }
}

/// A part of a turn: its row id, what it spans, and its figure in one run.
type SplitPart = (&'static str, &'static str, fn(&Split) -> f64);

/// Medians of each part of the first and the second turn, side by side.
fn split_rows(rust: &[Split], python: &[Split]) -> Vec<Row> {
    let parts: [SplitPart; 5] = [
        (
            "init",
            "first turn: spawn → event handed out (process start, INIT)",
            |s| s.init_ms,
        ),
        (
            "cold_to_store",
            "first turn: handed out → first store request received",
            |s| s.cold_to_store_ms,
        ),
        (
            "warm_to_store",
            "second turn: handed out → first store request received",
            |s| s.warm_to_store_ms,
        ),
        (
            "cold_after_store",
            "first turn: first store request received → first delta",
            |s| s.cold_after_store_ms,
        ),
        (
            "warm_after_store",
            "second turn: first store request received → first delta",
            |s| s.warm_after_store_ms,
        ),
    ];
    parts
        .into_iter()
        .map(|(id, figure, part)| {
            let of = |splits: &[Split]| splits.iter().map(part).collect::<Vec<_>>();
            Row::new(
                format!("cold_chat.split.{id}"),
                CHAT,
                format!("bootstrap: {figure}"),
                "ms",
            )
            .stats(&of(rust))
            .compare("Python + boto3", median(&of(python)))
            .note("where the cold overhead goes; the store's first request as the recording proxy in front of moto received it")
        })
        .collect()
}

/// The store requests of a warm chat turn on its critical path, as the store received them.
#[derive(Debug, Clone, Copy)]
struct StoreCalls {
    /// Event handed out → first delta at the Runtime API.
    before_first_delta: Trips,
    /// Last delta → end of the answer.
    after_last_delta: Trips,
    /// Event handed out → end.
    whole_turn: Trips,
}

#[derive(Debug, Clone, Copy)]
struct Trips {
    requests: usize,
    /// Waits for one or more requests in flight together: a request that arrives after every
    /// earlier one was answered starts a new one.
    round_trips: usize,
}

impl StoreCalls {
    fn of(exchanges: &[Exchange], turn: Milestones) -> StoreCalls {
        StoreCalls {
            before_first_delta: Trips::between(exchanges, turn.delivered, turn.first_delta),
            after_last_delta: Trips::between(exchanges, turn.last_delta, turn.end),
            whole_turn: Trips::between(exchanges, turn.delivered, turn.end),
        }
    }
}

impl Trips {
    /// The requests that arrived within `from..to`.
    fn between(exchanges: &[Exchange], from: Instant, to: Instant) -> Trips {
        let mut inside: Vec<&Exchange> = exchanges
            .iter()
            .filter(|e| e.received >= from && e.received < to)
            .collect();
        inside.sort_by_key(|e| e.received);
        let mut round_trips = 0;
        let mut answered: Option<Instant> = None;
        for exchange in &inside {
            if answered.is_none_or(|last| exchange.received > last) {
                round_trips += 1;
            }
            answered = Some(answered.map_or(exchange.answered, |last| last.max(exchange.answered)));
        }
        Trips {
            requests: inside.len(),
            round_trips,
        }
    }
}

/// A part of a turn: its row id, what it spans, and its figures in one run.
type Phase = (&'static str, &'static str, fn(&StoreCalls) -> Trips);

/// Medians over the runs of each runtime's store requests and round trips in a warm turn.
fn store_rows(rust: &[StoreCalls], python: &[StoreCalls]) -> Vec<Row> {
    let phases: [Phase; 3] = [
        (
            "before_first_delta",
            "event handed out → first delta",
            |c| c.before_first_delta,
        ),
        ("after_last_delta", "last delta → end", |c| {
            c.after_last_delta
        }),
        ("whole_turn", "event handed out → end", |c| c.whole_turn),
    ];
    let mut rows = Vec::new();
    for (id, span, phase) in phases {
        for (what, unit, count) in [
            (
                "round_trips",
                "round trips",
                (|t: Trips| t.round_trips) as fn(Trips) -> usize,
            ),
            ("requests", "requests", |t: Trips| t.requests),
        ] {
            let of = |calls: &[StoreCalls]| -> Vec<f64> {
                calls.iter().map(|c| count(phase(c)) as f64).collect()
            };
            rows.push(
                Row::new(
                    format!("store.warm_turn.{id}.{what}"),
                    CHAT,
                    format!("bootstrap: store {unit} received in a warm chat turn, {span}"),
                    "count",
                )
                .stats(&of(rust))
                .compare("Python + boto3", median(&of(python)))
                .note("counted by a recording proxy in front of moto; a round trip is a wait for requests in flight together"),
            );
        }
    }
    rows
}

fn ok<T: Copy>(samples: &[Result<T, String>], f: impl Fn(&T) -> f64) -> Vec<f64> {
    samples
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .map(f)
        .collect()
}

fn failure<T>(samples: &[Result<T, String>]) -> Option<String> {
    samples.iter().find_map(|s| s.as_ref().err().cloned())
}

fn median(samples: &[f64]) -> Option<f64> {
    Stats::of(samples).map(|s| s.median)
}
