//! The connector the SDK's clients send through: hyper's connection pool over rustls, on
//! connections that may have been opened before any request asked for them ([`Early`]).
//!
//! It does what the SDK's own connector does (connect timeout with the TLS handshake included,
//! HTTP/1.1 or HTTP/2 as ALPN settles, HTTPS through the proxy the environment names, the same
//! error kinds for the SDK's retries, a failed connection taken out of the pool) and one thing
//! it cannot: a connection opened during INIT, with no request sent on it, is handed to the
//! first request that needs one.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{
    CaptureConnection, Connected, Connection, HttpConnector as TcpConnector, HttpInfo,
    capture_connection,
};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// TCP, then TLS for `https` URLs: to the endpoint, or to a proxy.
type Direct = MaybeHttpsStream<TokioIo<TcpStream>>;

/// A connection to an endpoint. One per connection, moved once into hyper's pool, so the
/// tunnel's larger variant is kept inline.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(super) enum Stream {
    Direct(Direct),
    /// TLS with the endpoint inside a proxy's `CONNECT` tunnel.
    Tunneled(TokioIo<tokio_rustls::client::TlsStream<TokioIo<Direct>>>),
}

impl Stream {
    /// The TCP connection underneath: to the endpoint, or to the proxy.
    fn tcp(&self) -> &TcpStream {
        let direct = match self {
            Stream::Direct(direct) => direct,
            Stream::Tunneled(tls) => tls.inner().get_ref().0.inner(),
        };
        match direct {
            MaybeHttpsStream::Http(io) => io.inner(),
            MaybeHttpsStream::Https(tls) => tls.inner().get_ref().0.inner().inner(),
        }
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self {
            Stream::Direct(direct) => direct.connected(),
            Stream::Tunneled(tls) => {
                let (proxy, session) = tls.inner().get_ref();
                let connected = proxy.inner().connected().proxy(true);
                if session.alpn_protocol() == Some(b"h2") {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Direct(direct) => Pin::new(direct).poll_read(cx, buf),
            Stream::Tunneled(tls) => Pin::new(tls).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Direct(direct) => Pin::new(direct).poll_write(cx, buf),
            Stream::Tunneled(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Direct(direct) => Pin::new(direct).poll_flush(cx),
            Stream::Tunneled(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Direct(direct) => Pin::new(direct).poll_shutdown(cx),
            Stream::Tunneled(tls) => Pin::new(tls).poll_shutdown(cx),
        }
    }
}

/// How long an early connection waits to be taken. Past this it is closed unused and a request
/// opens its own: servers close idle connections after a minute or more. One handed out sooner
/// is first checked for a close by the server.
pub const EARLY_MAX_AGE: Duration = Duration::from_secs(30);

/// Connections opened ahead of the requests that will use them, by scheme and authority.
#[derive(Debug, Default)]
pub(super) struct Early {
    waiting: Mutex<HashMap<String, VecDeque<Kept>>>,
}

#[derive(Debug)]
struct Kept {
    started: Instant,
    stream: oneshot::Receiver<Stream>,
}

impl Early {
    /// Keeps a connection being opened to `uri` for the next request to it.
    pub(super) fn keep(&self, uri: &Uri, stream: oneshot::Receiver<Stream>) {
        let kept = Kept {
            started: Instant::now(),
            stream,
        };
        self.lock().entry(key(uri)).or_default().push_back(kept);
    }

    /// The oldest connection kept for `uri` that is young enough, if any; older ones are closed.
    fn take(&self, uri: &Uri) -> Option<oneshot::Receiver<Stream>> {
        let mut waiting = self.lock();
        let queue = waiting.get_mut(&key(uri))?;
        while let Some(kept) = queue.pop_front() {
            if kept.started.elapsed() < EARLY_MAX_AGE {
                return Some(kept.stream);
            }
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Kept>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where a connection goes: scheme, host and port, the port written out.
fn key(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    format!("{scheme}://{host}:{port}")
}

/// Whether the peer has closed `stream`: a read would see the end of the stream, or fail.
/// Data waiting to be read (a TLS 1.3 session ticket) is left for the connection to read.
fn closed(stream: &Stream) -> bool {
    let tcp = stream.tcp();
    let mut byte = [0u8; 1];
    let mut buf = tokio::io::ReadBuf::new(&mut byte);
    let mut cx = Context::from_waker(Waker::noop());
    matches!(
        tcp.poll_peek(&mut cx, &mut buf),
        Poll::Ready(Ok(0)) | Poll::Ready(Err(_))
    )
}

/// What every connection is opened with: TLS settings, the proxy rules, the early connections.
#[derive(Debug)]
pub(super) struct Dialer {
    https: HttpsConnector<TcpConnector>,
    /// The same TLS settings with ALPN, for handshakes inside a proxy's tunnel.
    tunneled: Arc<rustls::ClientConfig>,
    proxy: Matcher,
    pub(super) early: Early,
}

impl Dialer {
    pub(super) fn new(tls: rustls::ClientConfig, proxy: Matcher) -> Dialer {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let mut tunneled = tls.clone();
        tunneled.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        Dialer {
            https,
            tunneled: Arc::new(tunneled),
            proxy,
            early: Early::default(),
        }
    }

    /// A new connection to `uri`: through the proxy's tunnel when the proxy rules say so
    /// (HTTPS only; a plain-HTTP endpoint, which only local stand-ins are, is reached
    /// directly), else straight to it.
    async fn dial(&self, uri: Uri) -> Result<Stream, BoxError> {
        let mut https = self.https.clone();
        let through = self
            .proxy
            .intercept(&uri)
            .filter(|_| uri.scheme_str() == Some("https"));
        let Some(proxy) = through else {
            return Ok(Stream::Direct(
                tower_service::Service::call(&mut https, uri).await?,
            ));
        };
        let mut tunnel = Tunnel::new(proxy.uri().clone(), https);
        if let Some(auth) = proxy.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        let host = uri.host().ok_or("the URL has no host")?.to_owned();
        let tunneled = tower_service::Service::call(&mut tunnel, uri).await?;
        let name = rustls::pki_types::ServerName::try_from(host)?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tunneled))
            .connect(name, TokioIo::new(tunneled))
            .await?;
        Ok(Stream::Tunneled(TokioIo::new(tls)))
    }
}

/// Opens connections: an early one when [`Early`] holds one for the URL, else a new one, within
/// the connect timeout (TLS included).
#[derive(Clone, Debug)]
pub(super) struct Connect {
    dialer: Arc<Dialer>,
    timeout: Option<Duration>,
}

impl Connect {
    pub(super) fn new(dialer: Arc<Dialer>, timeout: Option<Duration>) -> Connect {
        Connect { dialer, timeout }
    }

    /// A new connection to `uri`, never an early one.
    pub(super) async fn open(&self, uri: Uri) -> Result<Stream, BoxError> {
        let connecting = self.dialer.dial(uri);
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, connecting)
                .await
                .map_err(|_| BoxError::from(ConnectTimedOut(limit)))?,
            None => connecting.await,
        }
    }
}

impl tower_service::Service<Uri> for Connect {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Both layers below are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let early = self.dialer.early.take(&uri);
        let connect = self.clone();
        Box::pin(async move {
            if let Some(early) = early
                && let Ok(stream) = early.await
                && !closed(&stream)
            {
                return Ok(stream);
            }
            connect.open(uri).await
        })
    }
}

/// The connect timeout ran out (TCP and TLS).
#[derive(Debug)]
struct ConnectTimedOut(Duration);

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not connect within {} ms", self.0.as_millis())
    }
}

impl std::error::Error for ConnectTimedOut {}

/// The SDK-facing side: requests through hyper's pool.
#[derive(Clone, Debug)]
pub(super) struct Pooled {
    client: Client<Connect, SdkBody>,
    read_timeout: Option<Duration>,
}

impl Pooled {
    pub(super) fn new(connect: Connect, read_timeout: Option<Duration>) -> Pooled {
        let mut builder = Client::builder(TokioExecutor::new());
        builder.pool_timer(TokioTimer::new());
        Pooled {
            client: builder.build(connect),
            read_timeout,
        }
    }
}

impl HttpConnector for Pooled {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(err) => return HttpConnectorFuture::ready(Err(ConnectorError::user(err.into()))),
        };
        let captured = capture_connection(&mut request);
        if let Some(smithy) = request.extensions().get::<CaptureSmithyConnection>() {
            smithy.set_connection_retriever(move || connection_metadata(&captured));
        }
        let responding = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, responding).await.map_err(|_| {
                    ConnectorError::timeout(
                        format!("no answer within {} ms", limit.as_millis()).into(),
                    )
                })?,
                None => responding.await,
            }
            .map_err(connector_error)?;
            let response = response.map(SdkBody::from_body_1_x);
            aws_smithy_runtime_api::http::Response::try_from(response)
                .map_err(|err| ConnectorError::other(err.into(), None))
        })
    }
}

/// What the SDK knows of the connection a request went out on, and how it takes a failed one
/// out of the pool.
fn connection_metadata(captured: &CaptureConnection) -> Option<ConnectionMetadata> {
    let connected = captured.connection_metadata();
    let connected = connected.as_ref()?;
    let mut extensions = http::Extensions::new();
    connected.get_extras(&mut extensions);
    let info = extensions.get::<HttpInfo>();
    let poison = captured.clone();
    let mut metadata = ConnectionMetadata::builder()
        .proxied(connected.is_proxied())
        .poison_fn(move || {
            if let Some(connected) = poison.connection_metadata().as_ref() {
                connected.poison();
            }
        });
    metadata
        .set_local_addr(info.map(HttpInfo::local_addr))
        .set_remote_addr(info.map(HttpInfo::remote_addr));
    Some(metadata.build())
}

/// The kind of failure the SDK's retry rules look for: a timeout, a connection that failed or
/// closed (retried), a request that could not be sent as built (not retried).
fn connector_error(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let err: BoxError = err.into();
    let kind: fn(BoxError) -> ConnectorError = if find::<ConnectTimedOut>(&*err).is_some() {
        ConnectorError::timeout
    } else if let Some(hyper) = find::<hyper::Error>(&*err) {
        if hyper.is_timeout() {
            ConnectorError::timeout
        } else if hyper.is_user() {
            ConnectorError::user
        } else if hyper.is_closed()
            || hyper.is_canceled()
            || find::<std::io::Error>(hyper).is_some()
            || find::<h2::Error>(hyper).is_some_and(|h2| {
                h2.is_go_away() || h2.reason() == Some(h2::Reason::REFUSED_STREAM)
            })
        {
            ConnectorError::io
        } else if hyper.is_incomplete_message() {
            |err| ConnectorError::other(err, Some(ErrorKind::TransientError))
        } else {
            |err| ConnectorError::other(err, None)
        }
    } else if find::<hyper_util::client::legacy::Error>(&*err)
        .is_some_and(|e| e.is_connect() || find::<std::io::Error>(e).is_some())
    {
        ConnectorError::io
    } else {
        |err| ConnectorError::other(err, None)
    };
    kind(err)
}

fn find<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_connections_are_kept_by_scheme_and_authority() {
        let early = Early::default();
        let (_send, receive) = oneshot::channel();
        early.keep(&Uri::from_static("https://example.com:443/"), receive);
        assert!(
            early
                .take(&Uri::from_static("https://Example.com/x"))
                .is_some(),
            "the default port and the host's case make no difference"
        );
        assert!(
            early
                .take(&Uri::from_static("https://example.com:443/"))
                .is_none(),
            "an early connection is handed out once"
        );
        let (_send, receive) = oneshot::channel();
        early.keep(&Uri::from_static("https://example.com:443/"), receive);
        assert!(
            early
                .take(&Uri::from_static("https://other.example.com:443/"))
                .is_none()
        );
        assert!(
            early
                .take(&Uri::from_static("http://example.com:443/"))
                .is_none()
        );
    }
}
