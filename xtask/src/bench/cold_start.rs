//! Cold starts through a local Lambda Runtime API: spawn a runtime with one event already
//! queued, time spawn → first byte and → end of its answer, read its peak RSS, kill it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use testkit::runtime_api::{Invocation, Outcome, RuntimeApi};

use super::process::{Launch, peak_rss_kib, stop};

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

/// A first chat turn and a second one in the same process, both streamed.
#[derive(Debug, Clone, Copy)]
pub struct Turns {
    /// Spawn → the first SSE `delta` of the first turn.
    pub cold_first_delta_ms: f64,
    /// Spawn → end of the first turn's answer.
    pub cold_end_ms: f64,
    /// Second event handed out by `/next` → its first `delta`.
    pub warm_first_delta_ms: f64,
    /// Second event handed out → end of its answer.
    pub warm_end_ms: f64,
    /// `VmHWM` after both answers.
    pub peak_rss_mib: f64,
    /// When the process was spawned.
    pub spawned: Instant,
    /// When the first turn passed each point.
    pub cold: Milestones,
    /// When the second turn passed each point, to count the store requests in between.
    pub warm: Milestones,
}

/// When the Runtime API handed out an event and received the parts of its answer.
#[derive(Debug, Clone, Copy)]
pub struct Milestones {
    pub delivered: Instant,
    pub first_delta: Instant,
    pub last_delta: Instant,
    pub end: Instant,
}

impl Turns {
    /// What the first turn cost more than the second: cold first delta − warm first delta.
    pub fn cold_overhead_ms(&self) -> f64 {
        self.cold_first_delta_ms - self.warm_first_delta_ms
    }
}

/// Spawns `launch` against a fresh Runtime API holding `event` twice, and times both turns,
/// which must be 200 streams ending with `done`.
pub async fn two_turns(launch: &Launch, event: &[u8], log: &Path) -> anyhow::Result<Turns> {
    let api = RuntimeApi::start()
        .await
        .context("could not start the Runtime API")?;
    let first = api.enqueue(event.to_vec());
    let second = api.enqueue(event.to_vec());
    let mut command = launch
        .clone()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .command(log)?;
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {}", launch.program.display()))?;
    let pid = child.id();
    let mut answers = Vec::new();
    for pending in [first, second] {
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
        check_stream(&invocation).map_err(|err| anyhow::anyhow!("{err}; see {}", log.display()))?;
        let delta = invocation
            .arrival_of(b"event: delta")
            .context("the answer has no delta event")?;
        let last_delta = last_arrival_of(&invocation, b"event: delta").unwrap_or(delta);
        answers.push((invocation, delta, last_delta));
    }
    let peak = pid.and_then(peak_rss_kib);
    stop(child).await;
    let (cold, cold_delta, cold_last_delta) = &answers[0];
    let (warm, warm_delta, warm_last_delta) = &answers[1];
    let milestones =
        |invocation: &Invocation, first_delta: Instant, last_delta: Instant| Milestones {
            delivered: invocation.delivered_at,
            first_delta,
            last_delta,
            end: invocation.end_at,
        };
    Ok(Turns {
        cold_first_delta_ms: ms(*cold_delta - started),
        cold_end_ms: ms(cold.end_at - started),
        warm_first_delta_ms: ms(*warm_delta - warm.delivered_at),
        warm_end_ms: ms(warm.end_at - warm.delivered_at),
        peak_rss_mib: kib_to_mib(peak.context("could not read the runtime's peak RSS")?),
        spawned: started,
        cold: milestones(cold, *cold_delta, *cold_last_delta),
        warm: milestones(warm, *warm_delta, *warm_last_delta),
    })
}

/// When the last occurrence of `pattern` in the answer's body had arrived.
fn last_arrival_of(invocation: &Invocation, pattern: &[u8]) -> Option<Instant> {
    let start = invocation
        .body
        .windows(pattern.len())
        .rposition(|window| window == pattern)?;
    let end = start + pattern.len();
    invocation
        .arrivals
        .iter()
        .find(|(_, length)| *length >= end)
        .map(|(at, _)| *at)
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
