//! A response read whole, and what the tests read from it.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

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

    /// Whether the answer is a stream of server-sent events.
    pub fn is_stream(&self) -> bool {
        self.headers
            .get("content-type")
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("text/event-stream")))
    }

    /// Server-sent events as `(name, data)`, heartbeat comments as `(":", null)`.
    pub fn events(&self) -> Vec<(String, Value)> {
        parse_sse(&String::from_utf8_lossy(&self.body))
    }

    /// The `session_id` of a JSON answer or of a stream's `meta` event.
    pub fn session(&self) -> Option<String> {
        if self.is_stream() {
            return self
                .events()
                .into_iter()
                .find(|(name, _)| name != ":")
                .and_then(|(_, data)| data["session_id"].as_str().map(str::to_owned));
        }
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|body| body["session_id"].as_str().map(str::to_owned))
    }

    /// The name and `code` of a stream's last event.
    pub fn last_event(&self) -> (String, String) {
        let events = self.events();
        let (name, data) = events
            .iter()
            .rev()
            .find(|(name, _)| name != ":")
            .cloned()
            .unwrap_or_default();
        (name, data["code"].as_str().unwrap_or_default().to_owned())
    }
}

/// Server-sent events as `(name, data)`, heartbeat comments as `(":", null)`; data that is
/// not JSON as a string.
pub fn parse_sse(text: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        if block.starts_with(':') {
            events.push((":".to_owned(), Value::Null));
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
        let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
        events.push((name, data));
    }
    events
}

/// The text of the `delta` events, joined.
pub fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, data)| data["text"].as_str().unwrap_or_default())
        .collect()
}
