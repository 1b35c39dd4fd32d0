//! The local Lambda Runtime API, driven by a real runtime process (the Python runtime loop of
//! `bench/python/bootstrap.py` with small handlers) and by a hand-written streaming client.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use testkit::runtime_api::{Invocation, Outcome, RuntimeApi, RuntimeApiError};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Bound on every wait, so a broken runtime fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(60);

const HELLO: &str = r#"
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"statusCode": 200, "body": "hello " + event["name"], "id": context.aws_request_id}
"#;

#[tokio::test]
async fn a_runtime_process_gets_events_and_posts_answers() {
    let api = RuntimeApi::start().await.unwrap();
    let first = api.enqueue(r#"{"name": "one"}"#);
    let second = api.enqueue(r#"{"name": "two"}"#);
    let _runtime = python_runtime(&api, "hello", HELLO);

    let first_id = first.request_id.clone();
    let one = wait(first.outcome()).await.unwrap();
    let two = wait(second.outcome()).await.unwrap();

    assert_eq!(one.outcome, Outcome::Response);
    assert!(!one.streaming);
    assert_eq!(
        json_body(&one),
        json!({"statusCode": 200, "body": "hello one", "id": first_id})
    );
    assert_eq!(one.status_code(), Some(200));
    assert_eq!(json_body(&two)["body"], "hello two");
    assert_ne!(one.request_id, two.request_id);
    assert_in_order(&one);
    assert_eq!(one.first_payload_at, Some(one.first_byte_at));
}

#[tokio::test]
async fn a_handler_exception_arrives_as_an_invocation_error() {
    let api = RuntimeApi::start().await.unwrap();
    let failing = api.enqueue(r#"{"name": "x", "fail": true}"#);
    let after = api.enqueue(r#"{"name": "after"}"#);
    let _runtime = python_runtime(&api, "hello", HELLO);

    let failed = wait(failing.outcome()).await.unwrap();
    assert_eq!(
        failed.outcome,
        Outcome::Error {
            error_type: "Unhandled".into()
        }
    );
    let error = json_body(&failed);
    assert_eq!(error["errorType"], "ValueError");
    assert_eq!(error["errorMessage"], "asked to fail");
    // The runtime keeps serving after a failed invocation.
    assert_eq!(
        json_body(&wait(after.outcome()).await.unwrap())["body"],
        "hello after"
    );
}

#[tokio::test]
async fn an_import_failure_is_an_init_error_for_every_waiting_event() {
    let api = RuntimeApi::start().await.unwrap();
    let pending = api.enqueue("{}");
    let _runtime = python_runtime(&api, "broken", "raise RuntimeError('no config')\n");

    let err = wait(pending.outcome()).await.unwrap_err();
    let RuntimeApiError::InitError { error_type, body } = &err else {
        panic!("expected an init error, got {err:?}");
    };
    assert_eq!(error_type, "Runtime.ImportModuleError");
    assert!(body.contains("no config"), "{body}");
    assert_eq!(api.init_error(), Some(err.clone()));
    // Events queued after the runtime failed to start fail at once.
    assert_eq!(wait(api.enqueue("{}").outcome()).await.unwrap_err(), err);
}

#[tokio::test]
async fn next_carries_the_headers_lambda_runtime_requires() {
    let api = RuntimeApi::start().await.unwrap();
    let pending = api.enqueue(r#"{"k": 1}"#);
    let mut client = connect(&api).await;

    let next = client
        .send_request(get("/2018-06-01/runtime/invocation/next"))
        .await
        .unwrap();
    assert_eq!(next.status(), StatusCode::OK);
    let header = |name: &str| {
        next.headers()
            .get(name)
            .unwrap_or_else(|| panic!("missing {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("Lambda-Runtime-Aws-Request-Id"), pending.request_id);
    assert!(header("Lambda-Runtime-Deadline-Ms").parse::<u64>().unwrap() > 0);
    assert!(header("Lambda-Runtime-Invoked-Function-Arn").starts_with("arn:aws:lambda:"));
    assert!(header("Lambda-Runtime-Trace-Id").starts_with("Root="));
    let event = next.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&event[..], br#"{"k": 1}"#);
}

#[tokio::test]
async fn a_streamed_answer_is_split_into_prelude_and_body_with_its_times() {
    let api = RuntimeApi::start().await.unwrap();
    let pending = api.enqueue("{}");
    let id = pending.request_id.clone();
    let mut client = connect(&api).await;
    let next = client
        .send_request(get("/2018-06-01/runtime/invocation/next"))
        .await
        .unwrap();
    next.into_body().collect().await.unwrap();

    let (chunks, body) = ChunkBody::new();
    let request = Request::post(format!("/2018-06-01/runtime/invocation/{id}/response"))
        .header("host", api.address())
        .header("Lambda-Runtime-Function-Response-Mode", "streaming")
        .header("Transfer-Encoding", "chunked")
        .body(body)
        .unwrap();
    let mut stream_client = connect_with::<ChunkBody>(&api).await;
    let posted = tokio::spawn(async move { stream_client.send_request(request).await });
    for chunk in [
        &br#"{"statusCode":200,"headers":{"content-type":"text/event-stream"}}"#[..],
        &[0u8; 8][..],
        b"event: delta\ndata: {\"text\":\"hi\"}\n\n",
        b"event: done\ndata: {}\n\n",
    ] {
        chunks.send(Bytes::copy_from_slice(chunk)).await.unwrap();
        tokio::task::yield_now().await;
    }
    drop(chunks);

    let answer = wait(pending.outcome()).await.unwrap();
    assert_eq!(
        wait(posted).await.unwrap().unwrap().status(),
        StatusCode::ACCEPTED
    );
    assert!(answer.streaming);
    let streamed = answer.streamed().expect("a prelude and a body");
    assert_eq!(streamed.status_code(), Some(200));
    assert_eq!(
        streamed.prelude["headers"]["content-type"],
        "text/event-stream"
    );
    assert_eq!(
        &streamed.body[..],
        b"event: delta\ndata: {\"text\":\"hi\"}\n\nevent: done\ndata: {}\n\n"
    );
    assert_eq!(answer.status_code(), Some(200));
    assert_in_order(&answer);
    let payload_at = answer.first_payload_at.expect("the body started");
    assert!(answer.first_byte_at <= payload_at && payload_at <= answer.end_at);
}

#[tokio::test]
async fn answers_for_unknown_request_ids_are_refused() {
    let api = RuntimeApi::start().await.unwrap();
    let mut client = connect_with::<Full<Bytes>>(&api).await;
    let response = client
        .send_request(
            Request::post("/2018-06-01/runtime/invocation/nobody/response")
                .header("host", api.address())
                .body(Full::new(Bytes::from_static(b"{}")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

fn assert_in_order(invocation: &Invocation) {
    assert!(invocation.delivered_at <= invocation.first_byte_at);
    assert!(invocation.first_byte_at <= invocation.end_at);
}

fn json_body(invocation: &Invocation) -> Value {
    serde_json::from_slice(&invocation.body).unwrap()
}

async fn wait<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("the runtime answered in time")
}

/// A Python runtime process serving `module.handler`, killed when dropped.
struct Runtime {
    child: Child,
    dir: PathBuf,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const STREAMING: &str = r#"
import time

def handler(event, context):
    def chunks():
        for word in ["one ", "two ", "three"]:
            yield word.encode()
            time.sleep(0.05)
    prelude = {"statusCode": 200, "headers": {"content-type": "text/plain"}}
    return {"prelude": prelude, "chunks": chunks()}
"#;

#[tokio::test]
async fn a_python_handler_streams_its_answer_piece_by_piece() {
    let api = RuntimeApi::start().await.unwrap();
    let pending = api.enqueue(r#"{}"#);
    let _runtime = python_runtime(&api, "streaming", STREAMING);
    let answer = wait(pending.outcome()).await.unwrap();
    assert!(answer.streaming);
    let streamed = answer.streamed().expect("a prelude and a body");
    assert_eq!(streamed.status_code(), Some(200));
    assert_eq!(&streamed.body[..], b"one two three");
    let first = answer.arrival_of(b"one").unwrap();
    let last = answer.arrival_of(b"three").unwrap();
    assert!(
        last > first,
        "the pieces arrived one by one, not at the end"
    );
    assert_eq!(answer.arrival_of(b"four"), None);
}

fn python_runtime(api: &RuntimeApi, module: &str, source: &str) -> Runtime {
    let dir = std::env::temp_dir().join(format!(
        "runtime-api-test-{}-{module}-{}",
        std::process::id(),
        api.address().replace(':', "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{module}.py")), source).unwrap();
    let bootstrap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/python/bootstrap.py");
    let child = Command::new("python3")
        .arg(bootstrap)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("_HANDLER", format!("{module}.handler"))
        .env("LAMBDA_TASK_ROOT", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 is installed");
    Runtime { child, dir }
}

fn get(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path).body(Empty::new()).unwrap()
}

async fn connect(api: &RuntimeApi) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    connect_with(api).await
}

async fn connect_with<B>(api: &RuntimeApi) -> hyper::client::conn::http1::SendRequest<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(api.address()).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// A request body written chunk by chunk, so it goes out with chunked transfer encoding.
struct ChunkBody(mpsc::Receiver<Bytes>);

impl ChunkBody {
    fn new() -> (mpsc::Sender<Bytes>, ChunkBody) {
        let (tx, rx) = mpsc::channel(1);
        (tx, ChunkBody(rx))
    }
}

impl Body for ChunkBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}
