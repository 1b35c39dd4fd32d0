//! A local fake of Amazon Bedrock Runtime that speaks the real wire protocol, so the real
//! `aws-sdk-bedrockruntime` client works unchanged when pointed at it (`.endpoint_url(...)` on
//! the SDK config, or `AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:PORT`).
//!
//! Served operations (model ids arrive percent-encoded in the path and are decoded):
//! - `POST /model/{modelId}/converse`: JSON request, JSON response (`output.message`,
//!   `stopReason`, `usage`, `metrics`).
//! - `POST /model/{modelId}/converse-stream`: a chunked `application/vnd.amazon.eventstream`
//!   body whose frames are written one by one: `messageStart`, `contentBlockDelta` per chunk,
//!   `contentBlockStop`, `messageStop`, `metadata`.
//!
//! Errors are answered the way Bedrock does: an HTTP status, the header `x-amzn-ErrorType` and a
//! JSON body `{"message": "..."}`, which the SDK turns into its typed error variants. Errors in
//! the middle of a stream are exception frames (`:message-type=exception`).
//!
//! # Behaviour
//!
//! The reply is decided by directives written inside the text of the LAST user message, so tests
//! that only reach the fake through the chat service (or a browser) can still trigger faults.
//! Directives are removed from the text the reply echoes; unknown `[[...]]` text is left alone.
//!
//! - no directive: the reply is `Fake model reply to: <user text without directives>`.
//! - `[[reply:TEXT]]`: reply exactly TEXT (markdown, HTML, anything but `]]`); the two
//!   characters `\n` in TEXT become a newline.
//! - `[[chunks:N]]`: reply with N generated chunks (`t1 t2 ... tN`), for load tests.
//! - `[[tokens:K]]`: report `outputTokens = K` instead of the number of chunks.
//! - `[[cache:R:W]]`: report `cacheReadInputTokens = R` and `cacheWriteInputTokens = W` too,
//!   as Bedrock does for a prompt that hit or filled the model's prompt cache.
//! - `[[slow:MS]]`: MS milliseconds between chunks; `[[first:MS]]`: MS milliseconds before the
//!   first chunk (stream) or before the response (converse, and before any error response).
//!   Without them the start [`Options`] apply. A stream sends its response headers and
//!   `messageStart` at once and waits before the first `contentBlockDelta`. Converse waits as
//!   long as the stream would take in total: first delay + chunk delay × (chunks − 1). Gaps
//!   over 20 s trip the SDK's stalled-stream protection, as they would against Bedrock.
//! - `[[throttle]]`: always `ThrottlingException` (429). `[[throttle:N]]`: the first N calls
//!   whose last user message has exactly this text are throttled, later ones succeed (retries
//!   of the same request count as calls).
//! - `[[error:CODE]]`: an HTTP error: `400` ValidationException, `403` AccessDeniedException,
//!   `404` ResourceNotFoundException, `408` ModelTimeoutException, `424` ModelErrorException,
//!   `429` ThrottlingException, `500` InternalServerException, `503`
//!   ServiceUnavailableException; CODE may also be one of these names or
//!   `ModelNotReadyException` (429).
//! - `[[too-long]]`: `ValidationException` "Input is too long for requested model." when the
//!   request carries more than 2 messages (so a service that trims history to the last user
//!   message gets through); `[[too-long:always]]`: on every request.
//! - `[[break:N]]`: stream: after N chunks the connection is dropped without ending the chunked
//!   body. Converse: the connection is closed without any response.
//! - `[[stream-error:N]]`: stream: after N chunks a `modelStreamErrorException` frame ends the
//!   stream. `[[stream-error:N:KIND]]` sends another exception instead, KIND one of `model`,
//!   `throttling`, `internal`, `unavailable`, `validation`. Converse ignores it.
//! - `[[guardrail:input]]`: the guardrail named in `guardrailConfig` blocks the prompt: the
//!   answer is its blocked-input message, `stopReason` `guardrail_intervened`, no tokens used,
//!   and (with `trace` enabled) `trace.guardrail.inputAssessment` reports the policy.
//!   `[[guardrail:input:POLICY]]` reports another policy: `content` (a `VIOLENCE` filter, the
//!   default), `prompt-attack`, `topic` ([`DENIED_TOPIC`]), `word` (the managed `PROFANITY`
//!   list) or `pii` (`CREDIT_DEBIT_CARD_NUMBER`, whose `match` is the prompt).
//! - `[[guardrail:output]]`, `[[guardrail:output:POLICY]]`, `[[guardrail:output:POLICY:N]]`:
//!   the guardrail blocks the model's answer: the answer is its blocked-output message (after
//!   the first N chunks of the model's answer, which a stream sends first, as a synchronous
//!   guardrail passes the chunks it cleared), the trace carries `outputAssessments` and the
//!   blocked answer in `modelOutput`. `prompt-attack` is an input policy only.
//! - `[[guardrail:mask]]`: the guardrail masks the e-mail addresses of the answer as
//!   `{EMAIL}` (`sensitiveInformationPolicy`, action `ANONYMIZED`), `stopReason`
//!   `guardrail_intervened`; an answer with no address is left alone.
//!
//!   Guardrails act only on requests with a `guardrailConfig` naming one that
//!   [`FakeBedrock::add_guardrail`] registered (see [`guardrail`]); an unknown identifier or
//!   version is a `ValidationException`. The text of `guardContent` blocks counts as the text
//!   of the message, as Bedrock passes it to the model.
//!
//! A malformed directive (`[[slow:abc]]`) is answered with a ValidationException naming it.
//!
//! Token usage is deterministic: `inputTokens` is the number of whitespace-separated words in
//! every text block of `system` and `messages` (directives included, as sent), `outputTokens`
//! the number of chunks (or `[[tokens:K]]`). `inferenceConfig.maxTokens` cuts the reply to that
//! many chunks with `stopReason` `max_tokens`; otherwise it is `end_turn`.
//!
//! Every request is recorded ([`FakeBedrock::calls`]) before faults apply, so tests can assert
//! the model, system prompt and history the service sent.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub mod guardrail;

pub use guardrail::{DENIED_TOPIC, Guardrail};

/// Timing used when a request carries no `[[slow:MS]]` / `[[first:MS]]` directive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Pause between two chunks of a reply.
    pub token_delay: Duration,
    /// Pause before the first chunk (stream) or before the response (converse).
    pub first_token_delay: Duration,
}

/// Which Bedrock operation a request called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Converse,
    ConverseStream,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub operation: Operation,
    /// The model id, percent-decoded (`anthropic.claude-3-haiku-20240307-v1:0`).
    pub model_id: String,
    /// The JSON request body as sent (`messages`, `system`, `inferenceConfig`, ...).
    pub body: Value,
}

/// A running fake Bedrock Runtime; it stops serving when dropped.
#[derive(Debug)]
pub struct FakeBedrock {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl FakeBedrock {
    /// Serves on `127.0.0.1` on a free port with zero delays.
    pub async fn start() -> anyhow::Result<FakeBedrock> {
        FakeBedrock::start_with(Options::default()).await
    }

    /// Serves on `127.0.0.1` on a free port with the given default delays.
    pub async fn start_with(options: Options) -> anyhow::Result<FakeBedrock> {
        FakeBedrock::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), options).await
    }

    /// Serves on the given address (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr, options: Options) -> anyhow::Result<FakeBedrock> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("could not listen on {addr}"))?;
        let addr = listener
            .local_addr()
            .context("could not read the bound address")?;
        let state = Arc::new(State {
            options,
            calls: Mutex::new(Vec::new()),
            throttled: Mutex::new(HashMap::new()),
            guardrails: Mutex::new(Vec::new()),
            request_ids: AtomicU64::new(1),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&state)));
        Ok(FakeBedrock {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`, for `endpoint_url` or `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state.calls).clone()
    }

    /// Serves `guardrail` from now on: requests may name it in `guardrailConfig`.
    pub fn add_guardrail(&self, guardrail: Guardrail) {
        lock(&self.state.guardrails).push(guardrail);
    }
}

impl Drop for FakeBedrock {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open connection.
        self.server.abort();
    }
}

#[derive(Debug)]
struct State {
    options: Options,
    calls: Mutex<Vec<Call>>,
    /// Calls seen per exact last-user-message text, for `[[throttle:N]]`.
    throttled: Mutex<HashMap<String, u32>>,
    /// Guardrails requests may name.
    guardrails: Mutex<Vec<Guardrail>>,
    request_ids: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
                // Out of file descriptors and the like: wait for connections to close.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    // Frames are small and written one at a time: do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request| handle(Arc::clone(&state), request));
    // Errors here are clients going away or deliberate `[[break]]`s: nothing to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> io::Result<Response<Body>> {
    let started = Instant::now();
    let request_id = format!(
        "fake-{:08}",
        state.request_ids.fetch_add(1, Ordering::Relaxed)
    );
    let Some((model_id, operation)) = route(request.uri().path()) else {
        return Ok(error_response(
            &request_id,
            ApiError::new(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                format!(
                    "fake-bedrock serves POST /model/{{modelId}}/converse and /converse-stream, not {}",
                    request.uri().path()
                ),
            ),
        ));
    };
    if request.method() != hyper::Method::POST {
        return Ok(error_response(
            &request_id,
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "UnknownOperationException",
                format!("{} is served for POST only", request.uri().path()),
            ),
        ));
    }
    let bytes = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(io::Error::other("the request body could not be read")),
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(error) => {
            return Ok(error_response(
                &request_id,
                ApiError::validation(format!("The request body is not valid JSON: {error}")),
            ));
        }
    };
    lock(&state.calls).push(Call {
        operation,
        model_id,
        body: body.clone(),
    });

    let active = match guardrail::active(
        &state.guardrails,
        &body,
        operation == Operation::ConverseStream,
    ) {
        Ok(active) => active,
        Err(error) => return Ok(error_response(&request_id, error)),
    };
    let plan = match plan(&state, &body, active.as_ref()) {
        Ok(plan) => plan,
        Err(error) => {
            tokio::time::sleep(state.options.first_token_delay).await;
            return Ok(error_response(&request_id, error));
        }
    };
    if let Err(error) = plan.fault.clone() {
        tokio::time::sleep(plan.first_delay).await;
        return Ok(error_response(&request_id, error));
    }
    match operation {
        Operation::Converse => converse(plan, started, &request_id).await,
        Operation::ConverseStream => Ok(converse_stream(plan, started, &request_id)),
    }
}

/// Splits `/model/{modelId}/{operation}` and decodes the model id.
fn route(path: &str) -> Option<(String, Operation)> {
    let rest = path.strip_prefix("/model/")?;
    let (model, operation) = rest.rsplit_once('/')?;
    let operation = match operation {
        "converse" => Operation::Converse,
        "converse-stream" => Operation::ConverseStream,
        _ => return None,
    };
    if model.is_empty() {
        return None;
    }
    Some((percent_decode(model), operation))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn converse(plan: Plan, started: Instant, request_id: &str) -> io::Result<Response<Body>> {
    let generation = plan.first_delay
        + plan
            .token_delay
            .saturating_mul(plan.chunks.len().saturating_sub(1) as u32);
    tokio::time::sleep(generation).await;
    if matches!(plan.mid_stream, Some(MidStream::Break(_))) {
        return Err(io::Error::other("connection dropped on purpose"));
    }
    let text: String = plan.chunks.concat();
    let mut body = json!({
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": plan.stop_reason,
        "usage": plan.usage(),
        "metrics": {"latencyMs": started.elapsed().as_millis() as u64},
    });
    if let Some(trace) = &plan.trace {
        body["trace"] = json!({"guardrail": trace});
    }
    Ok(response(
        StatusCode::OK,
        "application/json",
        request_id,
        Body::Full(Some(Bytes::from(body.to_string()))),
    ))
}

fn converse_stream(plan: Plan, started: Instant, request_id: &str) -> Response<Body> {
    response(
        StatusCode::OK,
        "application/vnd.amazon.eventstream",
        request_id,
        Body::Stream(Box::new(EventStream {
            plan,
            started,
            phase: Phase::MessageStart,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            waiting: false,
            broken: None,
        })),
    )
}

/// The frames of one ConverseStream answer, produced as hyper asks for them: no task and no
/// buffer per stream, and nothing left running when the client goes away.
#[derive(Debug)]
struct EventStream {
    plan: Plan,
    started: Instant,
    phase: Phase,
    timer: Pin<Box<tokio::time::Sleep>>,
    waiting: bool,
    /// A `[[break]]` reached but not yet reported to hyper (see `poll_next`).
    broken: Option<io::Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    MessageStart,
    FirstChunk,
    /// Before the chunk at `index`; `waited` once the pause before it is over.
    Chunk {
        index: usize,
        waited: bool,
    },
    ContentBlockStop,
    MessageStop,
    Metadata,
    Done,
}

impl EventStream {
    fn wait(&mut self, delay: Duration) {
        if !delay.is_zero() {
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::now() + delay);
            self.waiting = true;
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            if let Some(error) = self.broken.take() {
                return Poll::Ready(Some(Err(error)));
            }
            if self.waiting {
                std::task::ready!(self.timer.as_mut().poll(cx));
                self.waiting = false;
            }
            let frame = match self.phase {
                Phase::MessageStart => {
                    self.phase = Phase::FirstChunk;
                    event_frame("messageStart", &json!({"role": "assistant"}))
                }
                Phase::FirstChunk => {
                    self.phase = Phase::Chunk {
                        index: 0,
                        waited: true,
                    };
                    self.wait(self.plan.first_delay);
                    continue;
                }
                Phase::Chunk { index, waited } => {
                    let fault = match self.plan.mid_stream {
                        Some(MidStream::Break(after) | MidStream::Exception(after, _))
                            if after == index
                                || (index == self.plan.chunks.len() && after > index) =>
                        {
                            self.plan.mid_stream
                        }
                        _ => None,
                    };
                    match fault {
                        Some(MidStream::Exception(_, kind)) => {
                            self.phase = Phase::Done;
                            exception_frame(kind)
                        }
                        Some(MidStream::Break(_)) => {
                            // hyper drops its unflushed output when a body fails, and flushes
                            // whenever the body is pending: pend once so the frames before the
                            // break reach the client.
                            self.phase = Phase::Done;
                            self.broken = Some(io::Error::other("connection dropped on purpose"));
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        None if index == self.plan.chunks.len() => {
                            self.phase = Phase::ContentBlockStop;
                            continue;
                        }
                        None if !waited => {
                            self.phase = Phase::Chunk {
                                index,
                                waited: true,
                            };
                            self.wait(self.plan.token_delay);
                            continue;
                        }
                        None => {
                            self.phase = Phase::Chunk {
                                index: index + 1,
                                waited: false,
                            };
                            let text = &self.plan.chunks[index];
                            event_frame(
                                "contentBlockDelta",
                                &json!({"contentBlockIndex": 0, "delta": {"text": text}}),
                            )
                        }
                    }
                }
                Phase::ContentBlockStop => {
                    self.phase = Phase::MessageStop;
                    event_frame("contentBlockStop", &json!({"contentBlockIndex": 0}))
                }
                Phase::MessageStop => {
                    self.phase = Phase::Metadata;
                    event_frame("messageStop", &json!({"stopReason": self.plan.stop_reason}))
                }
                Phase::Metadata => {
                    self.phase = Phase::Done;
                    let latency_ms = self.started.elapsed().as_millis() as u64;
                    let mut metadata = json!({
                        "usage": self.plan.usage(),
                        "metrics": {"latencyMs": latency_ms},
                    });
                    if let Some(trace) = &self.plan.trace {
                        metadata["trace"] = json!({"guardrail": trace});
                    }
                    event_frame("metadata", &metadata)
                }
                Phase::Done => return Poll::Ready(None),
            };
            return Poll::Ready(Some(Ok(frame)));
        }
    }
}

fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    })
}

fn event_frame(event_type: &'static str, payload: &Value) -> Bytes {
    frame(
        Message::new(Bytes::from(payload.to_string()))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("event".into()),
            ))
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String(event_type.into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            )),
    )
}

fn exception_frame(kind: ExceptionKind) -> Bytes {
    let (exception_type, message) = kind.describe();
    frame(
        Message::new(Bytes::from(json!({"message": message}).to_string()))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("exception".into()),
            ))
            .add_header(Header::new(
                ":exception-type",
                HeaderValue::String(exception_type.into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            )),
    )
}

fn frame(message: Message) -> Bytes {
    let mut buffer = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut buffer)
        .expect("a frame with string headers and a small payload is always writable");
    Bytes::from(buffer)
}

fn response(
    status: StatusCode,
    content_type: &str,
    request_id: &str,
    body: Body,
) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_str(content_type).expect("a valid content type"),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}

fn error_response(request_id: &str, error: ApiError) -> Response<Body> {
    let body = json!({"message": error.message}).to_string();
    let mut response = response(
        error.status,
        "application/json",
        request_id,
        Body::Full(Some(Bytes::from(body))),
    );
    response.headers_mut().insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(error.error_type),
    );
    response
}

/// An HTTP error answer, as Bedrock sends it.
#[derive(Debug, Clone)]
struct ApiError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, error_type: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error_type,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    fn throttling() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        )
    }

    /// `[[error:CODE]]`: CODE is an HTTP status or an exception name.
    fn from_code(code: &str) -> Option<ApiError> {
        const ERRORS: [(u16, &str, &str); 9] = [
            (
                400,
                "ValidationException",
                "The provided request is not valid.",
            ),
            (
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            ),
            (
                404,
                "ResourceNotFoundException",
                "The specified model could not be found.",
            ),
            (
                408,
                "ModelTimeoutException",
                "Model has timed out in processing the request. Try your request again.",
            ),
            (424, "ModelErrorException", "The model returned an error."),
            (
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            (
                500,
                "InternalServerException",
                "The server encountered an internal error while processing the request.",
            ),
            (
                503,
                "ServiceUnavailableException",
                "The service is temporarily unable to handle the request.",
            ),
            (
                429,
                "ModelNotReadyException",
                "The model is not ready to serve inference requests. Try again later.",
            ),
        ];
        let found = match code.parse::<u16>() {
            Ok(status) => ERRORS.iter().find(|(s, _, _)| *s == status),
            Err(_) => ERRORS.iter().find(|(_, name, _)| *name == code),
        }?;
        let (status, error_type, message) = *found;
        Some(ApiError::new(
            StatusCode::from_u16(status).expect("a valid status"),
            error_type,
            message,
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExceptionKind {
    ModelStream,
    Throttling,
    InternalServer,
    ServiceUnavailable,
    Validation,
}

impl ExceptionKind {
    fn parse(kind: &str) -> Option<ExceptionKind> {
        Some(match kind {
            "model" => ExceptionKind::ModelStream,
            "throttling" => ExceptionKind::Throttling,
            "internal" => ExceptionKind::InternalServer,
            "unavailable" => ExceptionKind::ServiceUnavailable,
            "validation" => ExceptionKind::Validation,
            _ => return None,
        })
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            ExceptionKind::ModelStream => (
                "modelStreamErrorException",
                "The model stream failed while generating the response.",
            ),
            ExceptionKind::Throttling => (
                "throttlingException",
                "Too many requests, please wait before trying again.",
            ),
            ExceptionKind::InternalServer => (
                "internalServerException",
                "The server encountered an internal error while processing the request.",
            ),
            ExceptionKind::ServiceUnavailable => (
                "serviceUnavailableException",
                "The service is temporarily unable to handle the request.",
            ),
            ExceptionKind::Validation => {
                ("validationException", "The provided request is not valid.")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MidStream {
    Break(usize),
    Exception(usize, ExceptionKind),
}

/// What to answer to one request.
#[derive(Debug)]
struct Plan {
    /// An error answered instead of a reply.
    fault: Result<(), ApiError>,
    chunks: Vec<String>,
    first_delay: Duration,
    token_delay: Duration,
    mid_stream: Option<MidStream>,
    input_tokens: u64,
    output_tokens: Option<u64>,
    /// `cacheReadInputTokens` and `cacheWriteInputTokens`, when `[[cache:R:W]]` asks for them.
    cache_tokens: Option<(u64, u64)>,
    stop_reason: &'static str,
    /// `trace.guardrail` of the answer, when a guardrail intervened and the trace is on.
    trace: Option<Value>,
}

impl Plan {
    fn output_tokens(&self) -> u64 {
        self.output_tokens.unwrap_or(self.chunks.len() as u64)
    }

    /// The `usage` object of the answer.
    fn usage(&self) -> Value {
        let mut usage = usage(self.input_tokens, self.output_tokens());
        if let Some((read, write)) = self.cache_tokens {
            usage["cacheReadInputTokens"] = read.into();
            usage["cacheWriteInputTokens"] = write.into();
            usage["totalTokens"] = (self.input_tokens + self.output_tokens() + read + write).into();
        }
        usage
    }
}

const DIRECTIVES: [&str; 13] = [
    "reply",
    "chunks",
    "tokens",
    "cache",
    "slow",
    "first",
    "throttle",
    "error",
    "too-long",
    "break",
    "stream-error",
    "guardrail",
    // Reserved so a typo such as `[[stream_error:1]]` is reported, not echoed.
    "stream_error",
];

/// Reads the directives of the last user message and decides the answer; `guardrail` is the
/// guardrail the request named, if any.
fn plan(
    state: &State,
    body: &Value,
    guardrail: Option<&guardrail::Active>,
) -> Result<Plan, ApiError> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let last_user_text = messages
        .iter()
        .rev()
        .find(|message| message.get("role").and_then(Value::as_str) == Some("user"))
        .map(|message| texts(message.get("content")).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    let (clean_text, directives) = split_directives(&last_user_text);

    let mut plan = Plan {
        fault: Ok(()),
        chunks: Vec::new(),
        first_delay: state.options.first_token_delay,
        token_delay: state.options.token_delay,
        mid_stream: None,
        input_tokens: texts(body.get("system"))
            .chain(
                messages
                    .iter()
                    .flat_map(|message| texts(message.get("content"))),
            )
            .map(|text| text.split_whitespace().count() as u64)
            .sum(),
        output_tokens: None,
        cache_tokens: None,
        stop_reason: "end_turn",
        trace: None,
    };
    let mut intervention = None;
    let mut reply = None;
    let mut chunk_count = None;
    for (name, arg) in &directives {
        let arg = arg.as_deref();
        let bad = || {
            ApiError::validation(match arg {
                Some(arg) => format!("fake-bedrock: the directive [[{name}:{arg}]] is malformed"),
                None => format!("fake-bedrock: the directive [[{name}]] needs a value"),
            })
        };
        let number = || {
            arg.and_then(|arg| arg.trim().parse::<u64>().ok())
                .ok_or_else(bad)
        };
        match name.as_str() {
            "reply" => reply = Some(arg.unwrap_or_default().replace("\\n", "\n")),
            "chunks" => chunk_count = Some(number()?),
            "tokens" => plan.output_tokens = Some(number()?),
            "cache" => {
                let (read, write) = arg.and_then(|a| a.split_once(':')).ok_or_else(bad)?;
                let count = |n: &str| n.trim().parse::<u64>().map_err(|_| bad());
                plan.cache_tokens = Some((count(read)?, count(write)?));
            }
            "slow" => plan.token_delay = Duration::from_millis(number()?),
            "first" => plan.first_delay = Duration::from_millis(number()?),
            "throttle" => {
                let throttle = match arg {
                    None => true,
                    Some(_) => {
                        let limit = number()?;
                        let mut seen = lock(&state.throttled);
                        let count = seen.entry(last_user_text.clone()).or_insert(0);
                        *count += 1;
                        u64::from(*count) <= limit
                    }
                };
                if throttle && plan.fault.is_ok() {
                    plan.fault = Err(ApiError::throttling());
                }
            }
            "error" => {
                let error = ApiError::from_code(arg.ok_or_else(bad)?.trim()).ok_or_else(bad)?;
                if plan.fault.is_ok() {
                    plan.fault = Err(error);
                }
            }
            "too-long" => {
                let always = match arg {
                    None => false,
                    Some("always") => true,
                    Some(_) => return Err(bad()),
                };
                if (always || messages.len() > 2) && plan.fault.is_ok() {
                    plan.fault = Err(ApiError::validation(
                        "Input is too long for requested model.",
                    ));
                }
            }
            "break" => plan.mid_stream = Some(MidStream::Break(number()? as usize)),
            "guardrail" => {
                intervention =
                    Some(guardrail::Directive::parse(arg.ok_or_else(bad)?).ok_or_else(bad)?);
            }
            "stream-error" => {
                let arg = arg.ok_or_else(bad)?;
                let (after, kind) = match arg.split_once(':') {
                    Some((after, kind)) => (after, ExceptionKind::parse(kind).ok_or_else(bad)?),
                    None => (arg, ExceptionKind::ModelStream),
                };
                let after = after.trim().parse::<usize>().map_err(|_| bad())?;
                plan.mid_stream = Some(MidStream::Exception(after, kind));
            }
            _ => return Err(bad()),
        }
    }

    plan.chunks = match (chunk_count, reply) {
        (Some(count), _) => (1..=count)
            .map(|i| {
                if i == count {
                    format!("t{i}")
                } else {
                    format!("t{i} ")
                }
            })
            .collect(),
        (None, Some(reply)) => word_chunks(&reply),
        (None, None) => word_chunks(&format!("Fake model reply to: {clean_text}")),
    };
    if let Some(max_tokens) = body
        .pointer("/inferenceConfig/maxTokens")
        .and_then(Value::as_u64)
        && plan.chunks.len() as u64 > max_tokens
    {
        plan.chunks.truncate(max_tokens as usize);
        plan.stop_reason = "max_tokens";
    }
    if let (Some(active), Some(directive)) = (guardrail, intervention)
        && let Some(answer) = guardrail::intervene(active, directive, &clean_text, &plan.chunks)
    {
        plan.chunks = answer.chunks;
        plan.input_tokens = answer.input_tokens.unwrap_or(plan.input_tokens);
        plan.output_tokens = Some(answer.output_tokens);
        plan.stop_reason = "guardrail_intervened";
        plan.trace = answer.trace;
    }
    Ok(plan)
}

/// The `text` of each block in a content (or system) array, `guardContent` blocks included.
fn texts(blocks: Option<&Value>) -> impl Iterator<Item = &str> {
    blocks
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| {
            block
                .get("text")
                .or_else(|| block.pointer("/guardContent/text/text"))
                .and_then(Value::as_str)
        })
}

/// Removes `[[name]]` / `[[name:arg]]` directives with a known name; returns the remaining text
/// (trimmed) and the directives in order.
fn split_directives(text: &str) -> (String, Vec<(String, Option<String>)>) {
    let mut clean = String::with_capacity(text.len());
    let mut directives = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("]]") else {
            break;
        };
        let inner = &after[..end];
        let (name, arg) = match inner.split_once(':') {
            Some((name, arg)) => (name, Some(arg.to_owned())),
            None => (inner, None),
        };
        let name = name.trim();
        if DIRECTIVES.contains(&name) {
            clean.push_str(&rest[..start]);
            directives.push((name.to_owned(), arg));
        } else {
            clean.push_str(&rest[..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    clean.push_str(rest);
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    (clean, directives)
}

/// Splits text into chunks of one word each, whitespace kept with the word before it, so the
/// chunks concatenate back to the text.
fn word_chunks(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space && current.chars().any(|c| !c.is_whitespace()) {
            chunks.push(std::mem::take(&mut current));
            in_space = false;
        } else {
            in_space = false;
        }
        current.push(c);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// A response body: a whole JSON document, or event-stream frames made one by one.
#[derive(Debug)]
enum Body {
    Full(Option<Bytes>),
    Stream(Box<EventStream>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Body::Stream(stream) => stream
                .poll_next(cx)
                .map(|frame| frame.map(|frame| frame.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(bytes) => bytes.is_none(),
            Body::Stream(stream) => stream.phase == Phase::Done && stream.broken.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_chunks_concatenate_back_to_the_text() {
        let text = "  Fake model\nreply  to: hi ";
        let chunks = word_chunks(text);
        assert_eq!(chunks, ["  Fake ", "model\n", "reply  ", "to: ", "hi "]);
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn directives_are_removed_and_unknown_brackets_kept() {
        let (clean, directives) = split_directives("hello [[slow:5]] [[x]] world [[throttle]]");
        assert_eq!(clean, "hello [[x]] world");
        assert_eq!(
            directives,
            [
                ("slow".to_owned(), Some("5".to_owned())),
                ("throttle".to_owned(), None)
            ]
        );
    }

    #[test]
    fn model_ids_are_percent_decoded() {
        assert_eq!(
            route("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"),
            Some((
                "anthropic.claude-3-haiku-20240307-v1:0".to_owned(),
                Operation::ConverseStream
            ))
        );
        assert_eq!(
            route("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse"),
            Some((
                "arn:aws:bedrock:us-east-1:1:inference-profile/x".to_owned(),
                Operation::Converse
            ))
        );
        assert_eq!(route("/model/x/invoke"), None);
    }
}
