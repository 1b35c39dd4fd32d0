//! The smoke checks' HTTP(S) client: one request, its status, headers and body, each step
//! bounded in time, the body read as it arrives.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Clone)]
pub struct Client {
    inner: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// An answer whose body is still to be read.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
}

impl Client {
    /// HTTP and HTTPS with the system's root certificates.
    pub fn new() -> anyhow::Result<Client> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|err| anyhow::anyhow!("could not load the system's root certificates: {err}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Client {
            inner: HyperClient::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends `request` and waits up to `wait` for the status line and headers.
    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
        wait: Duration,
    ) -> Result<Answer, String> {
        let authority = request
            .uri()
            .authority()
            .map(ToString::to_string)
            .unwrap_or_default();
        match tokio::time::timeout(wait, self.inner.request(request)).await {
            Err(_) => Err(format!(
                "{authority} did not answer within {} s",
                wait.as_secs()
            )),
            Ok(Err(err)) => Err(format!("could not reach {authority}: {}", innermost(&err))),
            Ok(Ok(response)) => {
                let (parts, body) = response.into_parts();
                Ok(Answer {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                })
            }
        }
    }
}

impl Answer {
    /// The next piece of the body: `Ok(None)` at its end, an error when it breaks off or stays
    /// silent for `idle`.
    pub async fn next_chunk(&mut self, idle: Duration) -> Result<Option<Bytes>, String> {
        loop {
            match tokio::time::timeout(idle, self.body.frame()).await {
                Err(_) => return Err(format!("nothing arrived for {} s", idle.as_secs())),
                Ok(None) => return Ok(None),
                Ok(Some(Err(err))) => {
                    return Err(format!("the body broke off: {}", innermost(&err)));
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole body as text, within `wait`.
    pub async fn text(mut self, wait: Duration) -> Result<String, String> {
        let mut bytes = Vec::new();
        while let Some(chunk) = self.next_chunk(wait).await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The deepest cause of an error: `Connection refused (os error 111)` rather than
/// `client error (Connect)`.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
