//! The HTTPS client the SDK clients share, built deliberately rather than by default.
//!
//! The SDK's default client (`default-https-client` in the aws-smithy-runtime this workspace
//! uses) leaves `TCP_NODELAY` off, loads the trusted roots through rustls-native-certs (the
//! system's bundle file and every file of its certificate folder) once per SDK client at
//! construction and again per connector at the first request, and gives each SDK client its
//! own connection pool. This one:
//!
//! - speaks TLS with rustls on aws-lc-rs, with the SDK's own protocol versions and cipher
//!   suites, HTTP/1.1 or HTTP/2 as ALPN settles;
//! - sets `TCP_NODELAY`, so a small request is never held back waiting for an ACK;
//! - trusts the roots of one PEM bundle file, read and parsed once: [`TrustedRoots::from_env`];
//! - keeps one connector, and so one connection pool, per pair of connect and read timeouts,
//!   shared by every SDK client given [`Https::http_client`]. The service's clients all
//!   connect within [`CONNECT_TIMEOUT`] and set no read timeout, so they share one;
//! - opens connections before the first request asks for them, with no request sent on them:
//!   [`Https::open_early`] (see [`crate::warm`]);
//! - reads proxy settings (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper or lower case) from
//!   the environment as the SDK's default client does, and reaches HTTPS endpoints through
//!   the proxy's `CONNECT` tunnel.
//!
//! The connector is its own ([`pool`]) because the SDK's cannot be handed a connection opened
//! ahead of a request.

mod pool;
mod roots;

pub use pool::EARLY_MAX_AGE;
pub use roots::{RootSources, RootsError, SYSTEM_BUNDLES, TrustedRoots};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::timeout::TimeoutConfig;
use http_body_util::BodyExt;
use hyper_util::client::proxy::matcher::Matcher;
use tokio::sync::oneshot;

use pool::{Connect, Dialer, Pooled};

/// How long any of the service's clients may take to connect, TLS included: the SDK's
/// default, given to every client (DynamoDB, Bedrock, the sign-in keys) so that they share one
/// connector.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The HTTPS client; clones share its connectors and their connection pools.
#[derive(Clone, Debug)]
pub struct Https {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dialer: Arc<Dialer>,
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

/// A connector's connect and read timeouts, which the SDK passes with every request.
type Timeouts = (Option<Duration>, Option<Duration>);

impl Https {
    /// The client trusting `roots`, with the proxy settings of the environment.
    pub fn new(roots: &TrustedRoots) -> Https {
        Https::with_proxy(roots, Matcher::from_env())
    }

    /// The client trusting `roots`, reaching HTTPS endpoints through the proxy at `proxy` (an
    /// `http://` or `https://` URL, with `user:password@` for basic authentication).
    pub fn through_proxy(roots: &TrustedRoots, proxy: &str) -> Https {
        Https::with_proxy(roots, Matcher::builder().https(proxy).build())
    }

    fn with_proxy(roots: &TrustedRoots, proxy: Matcher) -> Https {
        Https {
            inner: Arc::new(Inner {
                dialer: Arc::new(Dialer::new(client_config(roots), proxy)),
                connectors: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// What to give an SDK config's `http_client`.
    pub fn http_client(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }

    /// The SDK configuration's loader (the usual chain for region and credentials) on this
    /// client, with the service's timeouts ([`shared_timeouts`]).
    pub fn sdk_config_loader(&self) -> aws_config::ConfigLoader {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(self.http_client())
            .timeout_config(shared_timeouts())
    }

    /// Starts opening `count` connections to `endpoint` now (DNS, TCP and TLS, within
    /// [`CONNECT_TIMEOUT`]), with no request sent on them. The next requests any SDK client of
    /// this HTTPS client sends to `endpoint` take them, ready or still opening, instead of
    /// opening their own; one not taken within [`EARLY_MAX_AGE`] is closed unused. The answer
    /// says when each is open, or why it could not be opened.
    pub fn open_early(&self, endpoint: &str, count: usize) -> Result<Opening, String> {
        let uri: http::Uri = endpoint
            .parse()
            .map_err(|err| format!("{endpoint} is not a URL: {err}"))?;
        if uri.host().is_none() {
            return Err(format!("{endpoint} is not a URL: it has no host"));
        }
        let early = &self.inner.dialer.early;
        let connect = Connect::new(Arc::clone(&self.inner.dialer), Some(CONNECT_TIMEOUT));
        let mut reports = Vec::with_capacity(count);
        for _ in 0..count {
            let (give, stream) = oneshot::channel();
            early.keep(&uri, stream);
            let (report, reported) = oneshot::channel();
            let (connect, uri) = (connect.clone(), uri.clone());
            tokio::spawn(async move {
                let opened = match connect.open(uri).await {
                    Ok(opened) => {
                        // A request that took it may have given up waiting: nothing to do.
                        let _ = give.send(opened);
                        Ok(())
                    }
                    Err(err) => Err(err.to_string()),
                };
                let _ = report.send(opened);
            });
            reports.push(reported);
        }
        Ok(Opening(reports))
    }

    /// Sends `GET url` through the pooled connector the SDK clients use (connecting within
    /// [`CONNECT_TIMEOUT`]) and reads the answer's status and body, refusing a body longer
    /// than `limit` bytes. For small documents the service reads besides the SDK's calls (the
    /// sign-in keys).
    pub async fn get(&self, url: &str, limit: usize) -> Result<(u16, bytes::Bytes), String> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(SdkBody::empty())
            .map_err(|err| format!("{url} is not a URL: {err}"))?;
        let request =
            HttpRequest::try_from(request).map_err(|err| format!("bad request: {err}"))?;
        let response = self
            .connector(&connector_settings(Some(&shared_timeouts())))
            .call(request)
            .await
            .map_err(|err| format!("GET {url}: {err}"))?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|err| format!("reading the answer of {url}: {err}"))?
            .to_bytes();
        Ok((status, body))
    }

    fn connector(&self, settings: &HttpConnectorSettings) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .inner
            .connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors
            .entry(key)
            .or_insert_with(|| self.build_connector(settings))
            .clone()
    }

    fn build_connector(&self, settings: &HttpConnectorSettings) -> SharedHttpConnector {
        SharedHttpConnector::new(Pooled::new(
            Connect::new(Arc::clone(&self.inner.dialer), settings.connect_timeout()),
            settings.read_timeout(),
        ))
    }
}

impl HttpClient for Https {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector(settings)
    }
}

/// The timeouts of every client of the service: [`CONNECT_TIMEOUT`] and no read timeout.
pub fn shared_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

/// The settings the SDK derives from a client's timeouts for each request.
fn connector_settings(timeouts: Option<&TimeoutConfig>) -> HttpConnectorSettings {
    let mut builder = HttpConnectorSettings::builder();
    if let Some(timeouts) = timeouts {
        builder.set_connect_timeout(timeouts.connect_timeout());
        builder.set_read_timeout(timeouts.read_timeout());
    }
    builder.build()
}

/// Connections [`Https::open_early`] is opening.
#[derive(Debug)]
pub struct Opening(Vec<oneshot::Receiver<Result<(), String>>>);

impl Opening {
    /// Waits until every connection is open or failed, and says how many opened, or the first
    /// failure.
    pub async fn wait(self) -> Result<usize, String> {
        let mut opened = 0;
        for report in self.0 {
            report
                .await
                .unwrap_or_else(|_| Err("the connection's task ended".to_owned()))?;
            opened += 1;
        }
        Ok(opened)
    }
}

/// The TLS client's settings: `roots`, and the protocol versions and cipher suites of the
/// SDK's own connector (TLS 1.3 and 1.2, AES-GCM, and ChaCha20-Poly1305 for TLS 1.2).
fn client_config(roots: &TrustedRoots) -> rustls::ClientConfig {
    let base = rustls::crypto::aws_lc_rs::default_provider();
    let suites = [
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let cipher_suites = suites
        .iter()
        .filter_map(|suite| {
            base.cipher_suites
                .iter()
                .find(|s| s.suite() == *suite)
                .copied()
        })
        .collect();
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites,
        ..base
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .with_root_certificates(roots.root_store())
        .with_no_client_auth()
}
