//! The fake's HTTP face, on testkit's shared server loop: a request read whole into the
//! [`Request`] the services answer, and their answer written back.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use super::*;

/// Answers one request under the state's lock.
pub(super) async fn handle(
    state: Arc<Mutex<State>>,
    request: hyper::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // A body cut short is answered as what arrived, as the hand-read one was.
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).trim().to_owned(),
            )
        })
        .collect();
    let aws_chunked = headers
        .iter()
        .any(|(name, _)| name == "x-amz-decoded-content-length");
    let body = if aws_chunked {
        aws_chunked_payload(&body)
    } else {
        body
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let request = Request {
        method: parts.method.as_str().to_owned(),
        path: decode(path),
        query: query.to_owned(),
        headers,
        body,
    };
    let (status, headers, body) = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        answer(&mut state, &request)
    };
    let length = body.len();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let out = response.headers_mut();
    for (name, value) in &headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.append(name, value);
        }
    }
    if !out.contains_key(CONTENT_LENGTH) {
        out.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    out.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("00000000-1111-2222-3333-444444444444"),
    );
    Ok(response)
}

pub struct Request {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `X-Amz-Target`, which JSON-protocol services (CodeDeploy) name the action in.
    pub(super) fn target(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name == "x-amz-target")
            .map(|(_, value)| value.as_str())
    }

    /// The service the request is signed for: `Credential=<key>/<date>/<region>/<service>/…`.
    pub(super) fn service(&self) -> String {
        self.scope(3)
    }

    /// The region the request is signed for.
    pub(super) fn region(&self) -> String {
        self.scope(2)
    }

    pub(super) fn scope(&self, part: usize) -> String {
        self.header("authorization")
            .and_then(|auth| auth.split("Credential=").nth(1))
            .and_then(|scope| scope.split('/').nth(part))
            .unwrap_or_default()
            .to_owned()
    }
}

/// The payload of an `aws-chunked` body (`size[;chunk-signature=…]\r\ndata\r\n…0\r\n` and
/// trailers), which the SDK sends for uploads with a trailing checksum.
pub(super) fn aws_chunked_payload(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let header = String::from_utf8_lossy(&rest[..end]);
        let Ok(size) = usize::from_str_radix(header.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        if size == 0 || rest.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&rest[end + 2..end + 2 + size]);
        rest = &rest[(end + 4 + size).min(rest.len())..];
    }
    out
}

/// Percent-decoding, with `+` as a space (form encoding).
pub(super) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (b'+', None) => out.push(b' '),
            (byte, None) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
