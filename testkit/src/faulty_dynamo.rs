//! A DynamoDB endpoint that fails on demand: a loopback HTTP proxy in front of a real one
//! (`moto_server` in tests) that forwards DynamoDB's JSON requests unchanged, and answers some
//! of them itself with the errors DynamoDB sends, so the real SDK client sees real failures.
//!
//! ```text
//! SDK client ──▶ FaultyDynamo (127.0.0.1:PORT) ──▶ moto_server
//!                  └─ fail_next(PutItem, Fault::Throughput, 2): the next two PutItem calls
//!                     get 400 ProvisionedThroughputExceededException instead
//! ```
//!
//! Rules are matched on the operation in the `X-Amz-Target` header
//! (`DynamoDB_20120810.PutItem`) and consumed in the order they were added; each rule applies to
//! its next `n` matching requests. Requests the rules do not catch are forwarded. Every
//! operation received is recorded by name ([`FaultyDynamo::operation_names`]), so a test can see
//! exactly which DynamoDB operations a client calls, and with when it arrived and when its
//! answer was ready ([`FaultyDynamo::exchanges`]), so a benchmark can count a client's round
//! trips.
//!
//! The faults, as DynamoDB answers them (awsJson1_0: a status, `x-amzn-RequestId`, and a body
//! `{"__type": "<namespace>#<name>", "message": "..."}` the SDK reads the error name from):
//! - [`Fault::Throughput`]: 400 `ProvisionedThroughputExceededException`;
//! - [`Fault::Throttling`]: 400 `ThrottlingException`;
//! - [`Fault::ConditionalCheckFailed`]: 400 `ConditionalCheckFailedException`;
//! - [`Fault::InternalServerError`]: 500 `InternalServerError`;
//! - [`Fault::Drop`]: the connection is closed without an answer.
//!
//! [`FaultyDynamo::limit_partitions`] makes it enforce DynamoDB's per-partition throughput:
//! a request that would take one partition key past its reads or writes per second is answered
//! with `ProvisionedThroughputExceededException`, as DynamoDB answers it (see
//! [`crate::partition_meter`]); [`FaultyDynamo::partition_report`] tells what each key was
//! asked for.
//!
//! [`FaultyDynamo::set_down`] makes the whole endpoint unreachable until it is set up again: a
//! new connection is closed as soon as it is accepted, before a byte is read, and an open one
//! at its next request.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::partition_meter::{
    PartitionLimits, PartitionMeter, PartitionReport, touched_partitions,
};

/// A DynamoDB operation, as named in `X-Amz-Target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Matches every operation.
    Any,
    GetItem,
    PutItem,
    UpdateItem,
    DeleteItem,
    Query,
    Scan,
    BatchWriteItem,
    BatchGetItem,
    TransactWriteItems,
    TransactGetItems,
    CreateTable,
    DescribeTable,
    UpdateTimeToLive,
    /// An operation not listed above.
    Other,
}

impl Operation {
    /// The operation of an `X-Amz-Target` value such as `DynamoDB_20120810.PutItem`.
    pub fn from_target(target: &str) -> Operation {
        let name = target.rsplit('.').next().unwrap_or_default();
        match name {
            "GetItem" => Operation::GetItem,
            "PutItem" => Operation::PutItem,
            "UpdateItem" => Operation::UpdateItem,
            "DeleteItem" => Operation::DeleteItem,
            "Query" => Operation::Query,
            "Scan" => Operation::Scan,
            "BatchWriteItem" => Operation::BatchWriteItem,
            "BatchGetItem" => Operation::BatchGetItem,
            "TransactWriteItems" => Operation::TransactWriteItems,
            "TransactGetItems" => Operation::TransactGetItems,
            "CreateTable" => Operation::CreateTable,
            "DescribeTable" => Operation::DescribeTable,
            "UpdateTimeToLive" => Operation::UpdateTimeToLive,
            _ => Operation::Other,
        }
    }

    fn matches(self, other: Operation) -> bool {
        self == Operation::Any || self == other
    }
}

/// An answer given instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 400 `ProvisionedThroughputExceededException`: the table's or partition's throughput.
    Throughput,
    /// 400 `ThrottlingException`: the account's request rate.
    Throttling,
    /// 400 `ConditionalCheckFailedException`: the write's condition was false.
    ConditionalCheckFailed,
    /// 500 `InternalServerError`.
    InternalServerError,
    /// The connection is closed without any answer.
    Drop,
}

impl Fault {
    /// Status, `__type` and message of the error body; `None` for [`Fault::Drop`].
    fn error(self) -> Option<(StatusCode, &'static str, &'static str)> {
        match self {
            Fault::Throughput => Some((
                StatusCode::BAD_REQUEST,
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            )),
            Fault::Throttling => Some((
                StatusCode::BAD_REQUEST,
                "com.amazon.coral.availability#ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            )),
            Fault::ConditionalCheckFailed => Some((
                StatusCode::BAD_REQUEST,
                "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                "The conditional request failed",
            )),
            Fault::InternalServerError => Some((
                StatusCode::INTERNAL_SERVER_ERROR,
                "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "Internal server error",
            )),
            Fault::Drop => None,
        }
    }
}

/// What the proxy did with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled {
    pub operation: Operation,
    /// The fault answered instead, or `None` when the request was forwarded.
    pub fault: Option<Fault>,
}

/// One request and its answer, as the proxy saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The operation, as `X-Amz-Target` named it; `?` without one.
    pub operation: String,
    /// When the request's head arrived.
    pub received: Instant,
    /// When its answer (or its deliberate drop) was ready to send.
    pub answered: Instant,
}

/// A running proxy; it stops serving when dropped.
pub struct FaultyDynamo {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

struct State {
    upstream: String,
    rules: Mutex<VecDeque<Rule>>,
    handled: Mutex<Vec<Handled>>,
    /// The operation name of every request, as `X-Amz-Target` gave it.
    names: Mutex<Vec<String>>,
    exchanges: Mutex<Vec<Exchange>>,
    down: AtomicBool,
    meter: Mutex<Option<PartitionMeter>>,
    request_ids: AtomicU64,
    client: Client<HttpConnector, Full<Bytes>>,
}

struct Rule {
    operation: Operation,
    fault: Fault,
    left: u32,
}

impl FaultyDynamo {
    /// Serves on `127.0.0.1` on a free port, forwarding to `upstream`
    /// (`http://localhost:PORT`).
    pub async fn start(upstream: &str) -> anyhow::Result<FaultyDynamo> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("could not listen on 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("could not read the bound address")?;
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rules: Mutex::new(VecDeque::new()),
            handled: Mutex::new(Vec::new()),
            names: Mutex::new(Vec::new()),
            exchanges: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            meter: Mutex::new(None),
            request_ids: AtomicU64::new(1),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let handler = {
            let state = Arc::clone(&state);
            move |request| timed(Arc::clone(&state), request)
        };
        let down = {
            let state = Arc::clone(&state);
            move || state.down.load(Ordering::SeqCst)
        };
        let server = tokio::spawn(crate::server::serve(listener, handler, down));
        Ok(FaultyDynamo {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`, for the SDK's `endpoint_url` or `AWS_ENDPOINT_URL_DYNAMODB`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests for `operation` get `fault` instead of an answer from upstream.
    pub fn fail_next(&self, operation: Operation, fault: Fault, n: u32) {
        if n > 0 {
            lock(&self.state.rules).push_back(Rule {
                operation,
                fault,
                left: n,
            });
        }
    }

    /// Drops every rule not yet used up.
    pub fn clear_faults(&self) {
        lock(&self.state.rules).clear();
    }

    /// While `down`, new connections are closed as soon as they are accepted, open ones at their
    /// next request.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// From now on, a request that would take one partition key past `limits` is answered with
    /// 400 `ProvisionedThroughputExceededException`; counts start afresh.
    pub fn limit_partitions(&self, limits: PartitionLimits) {
        *lock(&self.state.meter) = Some(PartitionMeter::new(limits));
    }

    /// What the partitions were asked for and served since [`Self::limit_partitions`]; the
    /// default (all zero) without limits.
    pub fn partition_report(&self) -> PartitionReport {
        lock(&self.state.meter)
            .as_ref()
            .map(PartitionMeter::report)
            .unwrap_or_default()
    }

    /// Every request received so far and what was done with it, oldest first.
    pub fn handled(&self) -> Vec<Handled> {
        lock(&self.state.handled).clone()
    }

    /// The operation of every request received so far (`PutItem`, `Query`, ...), oldest first,
    /// including operations [`Operation`] has no variant for; `?` for a request without an
    /// `X-Amz-Target`.
    pub fn operation_names(&self) -> Vec<String> {
        lock(&self.state.names).clone()
    }

    /// Every request received so far with its timing, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.state.exchanges).clone()
    }

    /// How many requests were answered with a fault.
    pub fn faults_served(&self) -> usize {
        self.handled().iter().filter(|h| h.fault.is_some()).count()
    }
}

impl Drop for FaultyDynamo {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An error that makes hyper close the connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

/// [`handle`], recording the exchange.
async fn timed(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let received = Instant::now();
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("?")
        .to_owned();
    let answer = handle(Arc::clone(&state), request).await;
    lock(&state.exchanges).push(Exchange {
        operation,
        received,
        answered: Instant::now(),
    });
    answer
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let operation = target.map_or(Operation::Other, Operation::from_target);
    lock(&state.names).push(
        target
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_owned(),
    );
    // Connections opened before the endpoint went down are cut at their next request.
    if state.down.load(Ordering::SeqCst) {
        return Err(Dropped);
    }
    let name = target.and_then(|t| t.rsplit('.').next()).unwrap_or("?");
    let name = name.to_owned();
    let (parts, body) = request.into_parts();
    // Read the whole request first, as DynamoDB does, whatever the answer.
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let fault =
        take_fault(&state, operation).or_else(|| over_partition_limit(&state, &name, &body));
    lock(&state.handled).push(Handled { operation, fault });

    let request_id = format!(
        "FAULTYDYNAMO{:012}",
        state.request_ids.fetch_add(1, Ordering::Relaxed)
    );
    match fault.map(Fault::error) {
        Some(Some((status, kind, message))) => {
            let body = json!({"__type": kind, "message": message}).to_string();
            return Ok(Response::builder()
                .status(status)
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amzn-requestid", request_id)
                .body(Full::new(Bytes::from(body)))
                .expect("a valid response"));
        }
        Some(None) => return Err(Dropped),
        None => {}
    }

    let uri = format!(
        "{}{}",
        state.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut forward = Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            forward = forward.header(name, value);
        }
    }
    let forward = forward
        .body(Full::new(body))
        .expect("a request built from a valid one");
    match state.client.request(forward).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
            Ok(Response::from_parts(parts, Full::new(body)))
        }
        // The upstream is gone: to the client that is the endpoint failing.
        Err(_) => Err(Dropped),
    }
}

/// [`Fault::Throughput`] when the request would take a partition past its limit.
fn over_partition_limit(state: &State, operation: &str, body: &[u8]) -> Option<Fault> {
    let mut meter = lock(&state.meter);
    let meter = meter.as_mut()?;
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    let units = touched_partitions(operation, &body, meter.limits().key_attribute);
    (!units.is_empty() && !meter.admit(&units, std::time::Instant::now()))
        .then_some(Fault::Throughput)
}

fn take_fault(state: &State, operation: Operation) -> Option<Fault> {
    let mut rules = lock(&state.rules);
    let index = rules
        .iter()
        .position(|rule| rule.operation.matches(operation))?;
    let rule = &mut rules[index];
    let fault = rule.fault;
    rule.left -= 1;
    if rule.left == 0 {
        rules.remove(index);
    }
    Some(fault)
}
