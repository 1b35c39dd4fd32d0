//! A local Lambda Runtime API: the few endpoints a custom runtime such as `bootstrap` polls.
//!
//! Queue an event with [`RuntimeApi::enqueue`], start the runtime with
//! `AWS_LAMBDA_RUNTIME_API` set to [`RuntimeApi::address`], and await
//! [`PendingInvocation::outcome`]: it says when the event was handed out, when the first byte
//! of the answer arrived and when the answer ended. Streaming answers
//! (`Lambda-Runtime-Function-Response-Mode: streaming`) are read frame by frame, so the time of
//! the first byte after the metadata prelude is known too.
//!
//! Its sockets behave like those of an ordinary HTTP server on Linux, such as a Go one (Lambda's
//! Runtime API is written in Go): `TCP_NODELAY` on what it sends (Go's default), and the
//! kernel's delayed ACKs on what it receives (no `TCP_QUICKACK`). A runtime that streams its
//! answer with Nagle's algorithm on therefore waits for those ACKs here, up to the kernel's
//! 40 ms per small write, as it would against any server that acknowledges the same way: the
//! stand-in does not hide the stall. [`Invocation::arrivals`] says
//! when each piece of an answer arrived, so the stall shows in the timings.
//!
//! Endpoints (all under `/2018-06-01`): `GET /runtime/invocation/next`,
//! `POST /runtime/invocation/{id}/response`, `POST /runtime/invocation/{id}/error` and
//! `POST /runtime/init/error`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// The Runtime API's version prefix, as runtimes put it in every path.
pub const API_VERSION: &str = "2018-06-01";

/// ARN handed to the runtime with every event.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:chatbot-local";

/// Separates the JSON metadata prelude from the body in a streamed HTTP integration response.
const PRELUDE_DELIMITER: [u8; 8] = [0; 8];

/// A Runtime API listening on 127.0.0.1; stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

/// An event queued for the runtime, not answered yet.
pub struct PendingInvocation {
    pub request_id: String,
    answer: oneshot::Receiver<Result<Invocation, RuntimeApiError>>,
}

/// What the runtime did with one event.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// The answer was posted with `Lambda-Runtime-Function-Response-Mode: streaming`.
    pub streaming: bool,
    /// Every byte of the posted body, prelude included.
    pub body: Bytes,
    /// When `/next` handed the event to the runtime.
    pub delivered_at: Instant,
    /// When the first byte of the answer's body arrived.
    pub first_byte_at: Instant,
    /// When the first byte after a streaming answer's metadata prelude arrived; for buffered
    /// answers the same as `first_byte_at`. `None` when a stream carried no body.
    pub first_payload_at: Option<Instant>,
    /// When the answer's body ended.
    pub end_at: Instant,
    /// Each piece of the body as it was read: when, and the body's length once it was in.
    pub arrivals: Vec<(Instant, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted to `/invocation/{id}/response`.
    Response,
    /// Posted to `/invocation/{id}/error` with this `Lambda-Runtime-Function-Error-Type`.
    Error { error_type: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeApiError {
    /// The runtime posted to `/runtime/init/error`.
    InitError { error_type: String, body: String },
    /// The Runtime API was dropped before the runtime answered.
    Stopped,
}

impl std::fmt::Display for RuntimeApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeApiError::InitError { error_type, body } => {
                write!(
                    f,
                    "the runtime reported an init error ({error_type}): {body}"
                )
            }
            RuntimeApiError::Stopped => {
                write!(f, "the Runtime API stopped before the runtime answered")
            }
        }
    }
}

impl std::error::Error for RuntimeApiError {}

/// The parts of a streamed HTTP integration response (`lambda_http` streaming).
#[derive(Debug, Clone)]
pub struct StreamedResponse {
    /// The metadata prelude: `{"statusCode": 200, "headers": {...}, "cookies": [...]}`.
    pub prelude: serde_json::Value,
    pub body: Bytes,
}

impl StreamedResponse {
    pub fn status_code(&self) -> Option<u64> {
        self.prelude.get("statusCode").and_then(|s| s.as_u64())
    }
}

impl Invocation {
    /// Splits a streamed answer into its metadata prelude and body; `None` for a buffered
    /// answer or a stream without a prelude.
    pub fn streamed(&self) -> Option<StreamedResponse> {
        if !self.streaming {
            return None;
        }
        let at = find(&self.body, &PRELUDE_DELIMITER)?;
        let prelude = serde_json::from_slice(&self.body[..at]).ok()?;
        Some(StreamedResponse {
            prelude,
            body: self.body.slice(at + PRELUDE_DELIMITER.len()..),
        })
    }

    /// When the first occurrence of `pattern` in the body (prelude included) had arrived
    /// whole; `None` when the body does not hold it.
    pub fn arrival_of(&self, pattern: &[u8]) -> Option<Instant> {
        let end = find(&self.body, pattern)? + pattern.len();
        self.arrivals
            .iter()
            .find(|(_, length)| *length >= end)
            .map(|(at, _)| *at)
    }

    /// The HTTP status the answer carries: the prelude's for a stream, the JSON body's
    /// `statusCode` for a buffered API Gateway answer.
    pub fn status_code(&self) -> Option<u64> {
        match self.streamed() {
            Some(streamed) => streamed.status_code(),
            None => serde_json::from_slice::<serde_json::Value>(&self.body)
                .ok()?
                .get("statusCode")?
                .as_u64(),
        }
    }
}

impl RuntimeApi {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            events_tx,
            events_rx: tokio::sync::Mutex::new(events_rx),
            waiting: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            next_id: AtomicU64::new(1),
        });
        let handler = {
            let state = state.clone();
            move |req| handle(req, state.clone())
        };
        let server = tokio::spawn(crate::server::serve(listener, handler, || false));
        Ok(RuntimeApi {
            addr,
            state,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues `event` (the JSON payload) for the next `/next` poll.
    pub fn enqueue(&self, event: impl Into<Bytes>) -> PendingInvocation {
        let n = self.state.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("00000000-0000-4000-8000-{n:012}");
        let (tx, rx) = oneshot::channel();
        {
            let mut init_error = lock(&self.state.init_error);
            if let Some(err) = init_error.as_mut() {
                let _ = tx.send(Err(err.clone()));
                return PendingInvocation {
                    request_id,
                    answer: rx,
                };
            }
            lock(&self.state.waiting).insert(
                request_id.clone(),
                Waiting {
                    answer: tx,
                    delivered_at: None,
                },
            );
        }
        // The receiver lives in `state` as long as `self` does, so this cannot fail.
        let _ = self.state.events_tx.send(Event {
            request_id: request_id.clone(),
            payload: event.into(),
        });
        PendingInvocation {
            request_id,
            answer: rx,
        }
    }

    /// The init error the runtime reported, if any.
    pub fn init_error(&self) -> Option<RuntimeApiError> {
        lock(&self.state.init_error).clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl PendingInvocation {
    /// Waits for the runtime's answer to this event.
    pub async fn outcome(self) -> Result<Invocation, RuntimeApiError> {
        self.answer.await.unwrap_or(Err(RuntimeApiError::Stopped))
    }
}

struct State {
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    waiting: Mutex<HashMap<String, Waiting>>,
    init_error: Mutex<Option<RuntimeApiError>>,
    next_id: AtomicU64,
}

struct Event {
    request_id: String,
    payload: Bytes,
}

struct Waiting {
    answer: oneshot::Sender<Result<Invocation, RuntimeApiError>>,
    delivered_at: Option<Instant>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Reply = Response<Full<Bytes>>;

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Reply, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(API_VERSION))
    else {
        return Ok(reply(StatusCode::NOT_FOUND, "unknown path"));
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    Ok(match (method, parts.as_slice()) {
        (Method::GET, ["runtime", "invocation", "next"]) => next(&state).await,
        (Method::POST, ["runtime", "invocation", id, "response"]) => {
            let id = (*id).to_owned();
            answer(req, &state, id, None).await
        }
        (Method::POST, ["runtime", "invocation", id, "error"]) => {
            let id = (*id).to_owned();
            let error_type = error_type(&req);
            answer(req, &state, id, Some(error_type)).await
        }
        (Method::POST, ["runtime", "init", "error"]) => init_error(req, &state).await,
        _ => reply(StatusCode::NOT_FOUND, "unknown path"),
    })
}

async fn next(state: &State) -> Reply {
    let event = {
        let mut events = state.events_rx.lock().await;
        match events.recv().await {
            Some(event) => event,
            None => return reply(StatusCode::INTERNAL_SERVER_ERROR, "stopped"),
        }
    };
    if let Some(waiting) = lock(&state.waiting).get_mut(&event.request_id) {
        waiting.delivered_at = Some(Instant::now());
    }
    let deadline = SystemTime::now() + Duration::from_secs(900);
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &event.request_id)
        .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
        .header("lambda-runtime-invoked-function-arn", FUNCTION_ARN)
        .header(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
        )
        .body(Full::new(event.payload))
        .unwrap_or_else(|_| reply(StatusCode::INTERNAL_SERVER_ERROR, "bad header"))
}

async fn answer(
    req: Request<Incoming>,
    state: &State,
    request_id: String,
    error_type: Option<String>,
) -> Reply {
    if !lock(&state.waiting).contains_key(&request_id) {
        return reply(StatusCode::BAD_REQUEST, "unknown request id");
    }
    let streaming = req
        .headers()
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
    let received = match read_body(req.into_body(), streaming).await {
        Ok(received) => received,
        Err(_) => return reply(StatusCode::BAD_REQUEST, "the body broke off"),
    };
    let Some(waiting) = lock(&state.waiting).remove(&request_id) else {
        return reply(StatusCode::BAD_REQUEST, "answered twice");
    };
    let outcome = match error_type {
        None => Outcome::Response,
        Some(error_type) => Outcome::Error { error_type },
    };
    let invocation = Invocation {
        request_id,
        outcome,
        streaming,
        body: received.body,
        delivered_at: waiting.delivered_at.unwrap_or(received.first_byte_at),
        first_byte_at: received.first_byte_at,
        first_payload_at: received.first_payload_at,
        end_at: received.end_at,
        arrivals: received.arrivals,
    };
    let _ = waiting.answer.send(Ok(invocation));
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

async fn init_error(req: Request<Incoming>, state: &State) -> Reply {
    let error_type = error_type(&req);
    let body = match req.into_body().collect().await {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let err = RuntimeApiError::InitError { error_type, body };
    *lock(&state.init_error) = Some(err.clone());
    for (_, waiting) in lock(&state.waiting).drain() {
        let _ = waiting.answer.send(Err(err.clone()));
    }
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

fn error_type(req: &Request<Incoming>) -> String {
    req.headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled")
        .to_owned()
}

struct Received {
    body: Bytes,
    first_byte_at: Instant,
    first_payload_at: Option<Instant>,
    end_at: Instant,
    arrivals: Vec<(Instant, usize)>,
}

async fn read_body(mut body: Incoming, streaming: bool) -> Result<Received, hyper::Error> {
    let mut buf = Vec::new();
    let mut first_byte_at = None;
    let mut first_payload_at = None;
    let mut arrivals = Vec::new();
    while let Some(frame) = body.frame().await {
        let now = Instant::now();
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        if data.is_empty() {
            continue;
        }
        first_byte_at.get_or_insert(now);
        buf.extend_from_slice(&data);
        arrivals.push((now, buf.len()));
        if first_payload_at.is_none() {
            let payload_started = if streaming {
                find(&buf, &PRELUDE_DELIMITER).is_some_and(|at| buf.len() > at + 8)
            } else {
                true
            };
            if payload_started {
                first_payload_at = Some(now);
            }
        }
    }
    let end_at = Instant::now();
    Ok(Received {
        body: Bytes::from(buf),
        first_byte_at: first_byte_at.unwrap_or(end_at),
        first_payload_at,
        end_at,
        arrivals,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reply(status: StatusCode, body: &'static str) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
