//! A chat service on a loopback port with any store and model, and requests to it from any
//! loopback address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use chatbot::metrics::Metrics;
use chatbot::model::Model;
use chatbot::store::Store;
use chatbot::{AppState, Config, Tuning};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::Reply;

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
