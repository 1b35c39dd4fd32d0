//! The HTTPS client the SDK clients share, built deliberately rather than by default.
//!
//! The SDK's default client (`default-https-client` in the aws-smithy-runtime this workspace
//! uses) leaves `TCP_NODELAY` off, loads the trusted roots through rustls-native-certs (the
//! system's bundle file and every file of its certificate folder) once per SDK client at
//! construction and again per connector at the first request, and gives each SDK client its
//! own connection pool. This one:
//!
//! - speaks TLS with rustls on aws-lc-rs, with the SDK's own protocol versions and cipher
//!   suites (the same [`Connector`] the SDK builds, only configured here);
//! - sets `TCP_NODELAY`, so a small request is never held back waiting for an ACK;
//! - trusts the roots of one PEM bundle file, read once: [`TrustedRoots::from_env`];
//! - reads proxy settings (`HTTPS_PROXY`, `NO_PROXY`) from the environment as the SDK's
//!   default client does;
//! - keeps one connector, and so one connection pool, per pair of connect and read timeouts,
//!   shared by every SDK client given [`Https::http_client`]. The service's clients all
//!   connect within [`CONNECT_TIMEOUT`] and set no read timeout, so they share one connector:
//!   the trusted roots are parsed into a TLS configuration once, not once per client, at the
//!   first request;
//! - opens a connection ahead of the first request with [`Https::open`].

mod roots;

pub use roots::{RootSources, RootsError, SYSTEM_BUNDLES, TrustedRoots};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{self, TlsContext};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::timeout::TimeoutConfig;
use http_body_util::BodyExt;

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
    tls: TlsContext,
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

/// A connector's connect and read timeouts, which the SDK passes with every request.
type Timeouts = (Option<Duration>, Option<Duration>);

impl Https {
    pub fn new(roots: &TrustedRoots) -> Https {
        Https {
            inner: Arc::new(Inner {
                tls: roots.tls_context(),
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

    /// Sends `GET /` to `endpoint` through the connector an SDK client with `timeouts` uses,
    /// and reads the answer to its end, so the connection (DNS, TCP, TLS) stays open in that
    /// connector's pool for the client's first request. Nothing is signed: the endpoint sees
    /// an anonymous request and answers it with whatever status it gives those.
    pub async fn open(
        &self,
        endpoint: &str,
        timeouts: Option<&TimeoutConfig>,
    ) -> Result<u16, String> {
        let settings = connector_settings(timeouts);
        let request = http::Request::get(endpoint)
            .body(SdkBody::empty())
            .map_err(|err| format!("{endpoint} is not a URL: {err}"))?;
        let request =
            HttpRequest::try_from(request).map_err(|err| format!("bad request: {err}"))?;
        let response = self
            .connector(&settings)
            .call(request)
            .await
            .map_err(|err| format!("{err}"))?;
        let status = response.status().as_u16();
        response
            .into_body()
            .collect()
            .await
            .map_err(|err| format!("reading the answer: {err}"))?;
        Ok(status)
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
            .or_insert_with(|| SharedHttpConnector::new(self.build_connector(settings)))
            .clone()
    }

    fn build_connector(&self, settings: &HttpConnectorSettings) -> Connector {
        Connector::builder()
            .enable_tcp_nodelay(true)
            .connector_settings(settings.clone())
            .proxy_config(ProxyConfig::from_env())
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(self.inner.tls.clone())
            .build()
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
