//! Session ids in paths: whatever follows `/api/sessions/`, the router answers 400 (not a
//! session id), 404 (no such session or path) or 405 (wrong method) with the JSON error body,
//! never a 5xx; and a path segment is a session id exactly when it is a UUID in canonical form.

#![no_main]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use axum::body::Body;
use chatbot::metrics::Metrics;
use chatbot::model::{Demo, Model};
use chatbot::store::{MemoryStore, SessionId, Store};
use chatbot::{AppState, Config, Tuning};
use http::{Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    /// With `/messages` after the segment (the history route) or without (the delete route).
    messages: bool,
    /// Sent as is when it makes a valid URI, percent-encoded otherwise.
    segment: String,
}

fn router() -> axum::Router {
    let vars = HashMap::from([
        ("CHATBOT_ENVIRONMENT", "fuzz".to_owned()),
        (
            "CHATBOT_MODELS",
            json!([{"id": "m1", "name": "One"}]).to_string(),
        ),
        ("CHATBOT_DEFAULT_MODEL", "m1".to_owned()),
        ("CHATBOT_SYSTEM_PROMPT", "Be brief.".to_owned()),
        ("CHATBOT_MAX_OUTPUT_TOKENS", "100".to_owned()),
        ("CHATBOT_RATE_LIMIT", "1000000".to_owned()),
        ("CHATBOT_RATE_WINDOW_SECONDS", "3600".to_owned()),
        ("CHATBOT_DAILY_TOKEN_BUDGET", "1000000000".to_owned()),
        ("CHATBOT_HISTORY_DAYS", "1".to_owned()),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned())
        .expect("the fuzz configuration is valid");
    let state = AppState {
        metrics: Metrics::discard(&config.environment),
        config,
        tuning: Tuning::default(),
        store: Store::Memory(MemoryStore::default()),
        model: Model::Demo(Demo {
            word_delay: Duration::ZERO,
        }),
    };
    chatbot::router(Arc::new(state))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The segment as the router hands it to the handler: percent-decoded, `None` when that is not
/// UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fuzz_target!(|input: Input| {
    thread_local!(static SERVICE: (tokio::runtime::Runtime, axum::Router) = (
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime"),
        router(),
    ));

    // The session id parser alone: canonical UUIDs only, printed back in lower case.
    if let Some(id) = SessionId::parse(&input.segment) {
        assert_eq!(id.to_string(), input.segment.to_ascii_lowercase());
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
    }

    let method = [Method::GET, Method::DELETE, Method::POST, Method::PUT]
        [usize::from(input.method % 4)]
    .clone();
    let suffix = if input.messages { "/messages" } else { "" };
    let mut segment = input.segment.clone();
    let mut path = format!("/api/sessions/{segment}{suffix}");
    if http::Uri::try_from(path.as_str()).is_err() {
        segment = percent_encode(&input.segment);
        path = format!("/api/sessions/{segment}{suffix}");
    }
    let request = Request::builder()
        .method(method.clone())
        .uri(&path)
        .body(Body::empty())
        .expect("a valid request");
    let (status, body) = SERVICE.with(|(runtime, router)| {
        runtime.block_on(async {
            let response = router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("the error body is small");
            (status, body)
        })
    });

    assert!(
        matches!(status.as_u16(), 400 | 404 | 405),
        "{method} {path}: {status}"
    );
    let error: Value = serde_json::from_slice(&body).expect("the error body is JSON");
    assert!(
        error["error"]["code"].is_string(),
        "{method} {path}: {error}"
    );

    // A plain segment reaches the route: GET with `/messages` or DELETE without it.
    let plain = !segment.is_empty()
        && !segment.contains(['/', '?', '#'])
        && segment != "."
        && segment != "..";
    let routed =
        (method == Method::GET && input.messages) || (method == Method::DELETE && !input.messages);
    if plain && routed {
        let is_id = percent_decode(&segment)
            .as_deref()
            .and_then(SessionId::parse)
            .is_some();
        // The store is empty: a real id names no session.
        let expected = if is_id {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{method} {path}: {error}");
    }
});
