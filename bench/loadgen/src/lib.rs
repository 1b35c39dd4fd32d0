//! A bounded HTTP/1.1 load generator for `cargo xtask bench`.
//!
//! A [`Plan`] names one request (method, path, headers, body), how many to send, how many at
//! once, and a time cap; [`run`] sends them over `concurrency` keep-alive connections and
//! reports each request's latency to the end of its body, its time to first byte, and the time
//! at which an optional byte pattern (`mark`, such as `event: delta`) first arrived. Only
//! loopback addresses are accepted: the load never leaves the machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// What to send.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// `127.0.0.1:PORT` (any loopback address).
    pub addr: SocketAddr,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
    /// Requests in flight at once (one connection each).
    pub concurrency: usize,
    /// Requests to send in all.
    pub requests: usize,
    /// No request starts after this many seconds, and requests still open a few seconds
    /// later are abandoned and counted as errors.
    pub max_seconds: f64,
    /// Bytes whose first arrival in a response body is timed (`marks_us`).
    #[serde(default)]
    pub mark: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Requests answered with a 2xx status and read to the end.
    pub completed: usize,
    /// Requests that failed: a non-2xx status, a broken connection, or the time cap.
    pub errors: usize,
    /// Up to five error descriptions.
    pub error_samples: Vec<String>,
    /// Wall time from the first request to the last answer.
    pub elapsed_us: u64,
    /// Per completed request: send → end of body, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Per completed request: send → first body byte.
    pub first_bytes_us: Vec<u64>,
    /// Per completed request whose body contained `mark`: send → the chunk holding it.
    pub marks_us: Vec<u64>,
}

/// How long requests still open at the time cap may take to finish.
const GRACE: Duration = Duration::from_secs(5);

pub async fn run(plan: Plan) -> Result<Report, String> {
    if !plan.addr.ip().is_loopback() {
        return Err(format!(
            "{} is not a loopback address: load is only sent to this machine",
            plan.addr
        ));
    }
    if plan.concurrency == 0 || plan.requests == 0 {
        return Err("concurrency and requests must be at least 1".into());
    }
    if !(plan.max_seconds > 0.0 && plan.max_seconds.is_finite()) {
        return Err("max_seconds must be a positive number".into());
    }
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let report = Arc::new(Mutex::new(Report::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(plan.max_seconds);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency.min(plan.requests) {
        workers.spawn(worker(plan.clone(), next.clone(), report.clone(), deadline));
    }
    while workers.join_next().await.is_some() {}
    let mut report = std::mem::take(&mut *report.lock().await);
    report.elapsed_us = micros(started.elapsed());
    Ok(report)
}

async fn worker(
    plan: Arc<Plan>,
    next: Arc<AtomicUsize>,
    report: Arc<Mutex<Report>>,
    deadline: Instant,
) {
    let mut connection: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < deadline && next.fetch_add(1, Ordering::Relaxed) < plan.requests {
        let cap = deadline + GRACE;
        let attempt = tokio::time::timeout_at(cap.into(), one(&plan, &mut connection)).await;
        let mut report = report.lock().await;
        match attempt {
            Ok(Ok(timing)) => {
                report.completed += 1;
                report.latencies_us.push(timing.latency_us);
                report.first_bytes_us.push(timing.first_byte_us);
                if let Some(mark) = timing.mark_us {
                    report.marks_us.push(mark);
                }
            }
            Ok(Err(err)) => {
                connection = None;
                record_error(&mut report, err);
            }
            Err(_) => {
                connection = None;
                record_error(
                    &mut report,
                    "the request was still open at the time cap".into(),
                );
            }
        }
    }
}

fn record_error(report: &mut Report, err: String) {
    report.errors += 1;
    if report.error_samples.len() < 5 {
        report.error_samples.push(err);
    }
}

struct Timing {
    latency_us: u64,
    first_byte_us: u64,
    mark_us: Option<u64>,
}

async fn one(
    plan: &Plan,
    connection: &mut Option<SendRequest<Full<Bytes>>>,
) -> Result<Timing, String> {
    let sender = match connection {
        Some(sender) if !sender.is_closed() => sender,
        _ => connection.insert(connect(plan.addr).await?),
    };
    sender
        .ready()
        .await
        .map_err(|err| format!("connection: {err}"))?;
    let mut request = Request::builder()
        .method(plan.method.as_str())
        .uri(plan.path.as_str())
        .header("host", plan.addr.to_string());
    for (name, value) in &plan.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(plan.body.clone())))
        .map_err(|err| format!("bad request: {err}"))?;
    let sent = Instant::now();
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("request: {err}"))?;
    let status = response.status();
    let mut body = response.into_body();
    let mark = plan.mark.as_deref().map(str::as_bytes).unwrap_or_default();
    let mut first_byte = None;
    let mut mark_at = None;
    // The end of what was read so far, long enough to find a mark split across two chunks.
    let mut tail: Vec<u8> = Vec::new();
    let mut error_text = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| format!("body: {err}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let now = Instant::now();
        if data.is_empty() {
            continue;
        }
        first_byte.get_or_insert(now);
        if !status.is_success() && error_text.len() < 300 {
            error_text.extend_from_slice(&data);
        }
        if !mark.is_empty() && mark_at.is_none() {
            tail.extend_from_slice(&data);
            if contains(&tail, mark) {
                mark_at = Some(now);
            } else {
                let keep = mark.len() - 1;
                if tail.len() > keep {
                    tail.drain(..tail.len() - keep);
                }
            }
        }
    }
    let end = Instant::now();
    if !status.is_success() {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&error_text)
        ));
    }
    Ok(Timing {
        latency_us: micros(end - sent),
        first_byte_us: micros(first_byte.unwrap_or(end) - sent),
        mark_us: mark_at.map(|at| micros(at - sent)),
    })
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|err| format!("connect to {addr}: {err}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("handshake with {addr}: {err}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
