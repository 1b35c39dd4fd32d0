//! What the reliability tests (`faults.rs`, `abuse.rs`, `properties.rs`) share: a chat
//! service on a loopback port with any store and model, captured JSON logs, and the evidence
//! they write for `cargo xtask test`'s summary (`testkit::evidence`).

#![allow(dead_code)]

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chatbot::metrics::Metrics;
use chatbot::model::Model;
use chatbot::store::Store;
use chatbot::{AppState, Config, Tuning};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// A chat service on `127.0.0.1` with the given store and model, in-memory metrics.
pub struct Harness {
    pub state: Arc<AppState>,
    pub base: String,
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    /// The `code` of an error body, or `""` when the body is not one.
    pub fn error_code(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|body| body["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Server-sent events as `(name, data)`; heartbeat comments are left out.
    pub fn events(&self) -> Vec<(String, Value)> {
        let text = String::from_utf8_lossy(&self.body);
        let mut events = Vec::new();
        for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
            if block.starts_with(':') {
                continue;
            }
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(rest) = line.strip_prefix("event: ") {
                    name = rest.to_owned();
                } else if let Some(rest) = line.strip_prefix("data: ") {
                    data.push_str(rest);
                }
            }
            events.push((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
        }
        events
    }

    /// The `session_id` of a JSON answer or of a stream's `meta` event.
    pub fn session(&self) -> Option<String> {
        if self
            .headers
            .get("content-type")
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("text/event-stream")))
        {
            let events = self.events();
            return events
                .first()
                .and_then(|(_, data)| data["session_id"].as_str().map(str::to_owned));
        }
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|body| body["session_id"].as_str().map(str::to_owned))
    }

    /// The name and `code` of a stream's last event.
    pub fn last_event(&self) -> (String, String) {
        let events = self.events();
        let (name, data) = events.last().cloned().unwrap_or_default();
        (name, data["code"].as_str().unwrap_or_default().to_owned())
    }
}

impl Harness {
    pub async fn start(config: Config, tuning: Tuning, store: Store, model: Model) -> Harness {
        let state = Arc::new(AppState {
            metrics: Metrics::in_memory(&config.environment),
            config,
            tuning,
            store,
            model,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = chatbot::router(state.clone());
        let server = tokio::spawn(async move {
            let _ = chatbot::serve_local(listener, router, std::future::pending()).await;
        });
        Harness {
            state,
            base: format!("http://{addr}"),
            addr,
            server,
        }
    }

    /// One request from `127.0.0.1`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        self.request_from(IpAddr::from([127, 0, 0, 1]), method, path, headers, body)
            .await
    }

    /// One request from the loopback address `from` (any of 127.0.0.0/8), so the service
    /// sees a different TCP peer per address.
    pub async fn request_from(
        &self,
        from: IpAddr,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(from));
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = client
            .request(builder.body(Full::new(body.into())).unwrap())
            .await
            .expect("the service answers");
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .expect("the body is read whole")
            .to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// `POST /api/chat`, as JSON or as a stream.
    pub async fn chat(&self, body: Value, stream: bool) -> Reply {
        let mut headers = vec![("content-type", "application/json")];
        if stream {
            headers.push(("accept", "text/event-stream"));
        }
        self.request(Method::POST, "/api/chat", &headers, body.to_string())
            .await
    }

    /// A session's stored messages as `(role, content, incomplete)`; empty for a 404.
    pub async fn history(&self, session: &str) -> Vec<(String, String, bool)> {
        let reply = self.get(&format!("/api/sessions/{session}/messages")).await;
        if reply.status == StatusCode::NOT_FOUND {
            return Vec::new();
        }
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "reading history: {}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_owned(),
                    m["content"].as_str().unwrap().to_owned(),
                    m["incomplete"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }

    /// Whether the session holds a user message with exactly `text`.
    pub async fn has_user_message(&self, session: &str, text: &str) -> bool {
        self.history(session)
            .await
            .iter()
            .any(|(role, content, _)| role == "user" && content == text)
    }

    pub fn metric(&self, name: &str) -> f64 {
        self.state.metrics.total(name)
    }
}

/// JSON log lines written while the capture is alive, on this thread (a current-thread
/// runtime runs the service's tasks on the test's thread, so their logs land here too).
///
/// One capture at a time per test binary: tracing caches whether a log call is enabled per
/// call site, for every thread, and a capture starting or ending on another thread can make a
/// line written here go missing.
pub struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static CAPTURING: Mutex<()> = Mutex::new(());

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures logs the way `bootstrap` writes them (`chatbot::logging::init_json`).
    pub fn capture() -> Logs {
        let one_at_a_time = CAPTURING.lock().unwrap_or_else(|p| p.into_inner());
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || sink.clone())
            .finish();
        Logs {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
            _one_at_a_time: one_at_a_time,
        }
    }

    /// The lines exactly as written.
    pub fn text(&self) -> String {
        let bytes = self
            .buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn lines(&self) -> Vec<Value> {
        let bytes = self
            .buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The last line whose message is `message`, written since the last [`Logs::clear`].
    pub fn find(&self, message: &str) -> Option<Value> {
        self.lines()
            .into_iter()
            .rev()
            .find(|line| line["message"] == message)
    }

    /// Like [`Logs::find`], failing with every captured line when there is none.
    pub fn expect(&self, message: &str) -> Value {
        self.find(message).unwrap_or_else(|| {
            let lines: Vec<String> = self.lines().iter().map(Value::to_string).collect();
            panic!("no log line {message:?} in:\n{}", lines.join("\n"))
        })
    }

    pub fn clear(&self) {
        self.buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Writes a fault's outcome to the evidence: the status and code the user got, and whether
/// their message was kept. A message is lost when it is not in history and the user was not
/// told so by a refusal before it was accepted, `store_unavailable` or `rate_limited` (which
/// the page answers by keeping the text for a retry).
pub fn record_fault(test: &str, fault: &str, reply: &Reply, saved: bool) -> bool {
    let code = match reply.status {
        StatusCode::OK if is_stream(reply) => reply.last_event().1,
        _ => reply.error_code(),
    };
    let lost = !saved && !matches!(code.as_str(), "store_unavailable" | "rate_limited");
    testkit::evidence::record(
        test,
        json!({
            "kind": "fault",
            "fault": fault,
            "status": reply.status.as_u16(),
            "code": code,
            "user_message_saved": saved,
            "lost": lost,
        }),
    );
    lost
}

/// Writes a bad input's answer to the evidence.
pub fn record_bad_input(test: &str, name: &str, status: StatusCode) {
    testkit::evidence::record(
        test,
        json!({"kind": "bad_input", "name": name, "status": status.as_u16()}),
    );
}

pub fn is_stream(reply: &Reply) -> bool {
    reply
        .headers
        .get("content-type")
        .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("text/event-stream")))
}
