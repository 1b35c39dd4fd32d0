//! Server-sent events: the encoding and a body that writes a comment when nothing else was
//! sent for a while, so proxies and browsers keep the connection open while the model thinks.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tokio::sync::mpsc;

/// The comment written while the model is silent.
pub const HEARTBEAT: &[u8] = b": keep-alive\n\n";

/// One event: `event: NAME` and its JSON data on one line.
pub fn event(name: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// A `text/event-stream` response writing what arrives on `events`, each as `encode` frames
/// it, and a heartbeat comment whenever `heartbeat` passes without one. It ends when every
/// sender is dropped; the receiver is dropped with the response body.
pub fn response<T: Send + 'static>(
    events: mpsc::Receiver<T>,
    heartbeat: Duration,
    encode: fn(T) -> Bytes,
) -> Response {
    let stream = futures_util::stream::unfold(events, move |mut events| async move {
        match tokio::time::timeout(heartbeat, events.recv()).await {
            Ok(Some(item)) => Some((Ok::<_, Infallible>(encode(item)), events)),
            Ok(None) => None,
            Err(_) => Some((Ok(Bytes::from_static(HEARTBEAT)), events)),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
