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
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod directives;
mod errors;
mod event_stream;
pub mod guardrail;

use directives::*;
use errors::*;
use event_stream::*;

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
        let handler = {
            let state = Arc::clone(&state);
            move |request| handle(Arc::clone(&state), request)
        };
        let server = tokio::spawn(crate::server::serve(listener, handler, || false));
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
