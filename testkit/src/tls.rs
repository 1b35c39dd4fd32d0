//! HTTPS in front of the loopback stand-ins, as clients meet the real AWS endpoints.
//!
//! [`PrivateCa`] makes a certificate authority at run time, shaped like the chains AWS endpoints
//! present: a root, an intermediate, and a leaf with an RSA-2048 key for `localhost` and
//! `127.0.0.1`. Clients are told to trust the root the standard way, by a PEM file
//! ([`PrivateCa::write_root`]) named in `SSL_CERT_FILE` (OpenSSL, rustls-native-certs, the
//! service) or `AWS_CA_BUNDLE` (botocore).
//!
//! [`TlsProxy`] is the front end: it terminates TLS and HTTP/1.1 on 127.0.0.1 with that leaf,
//! as the load balancers in front of AWS endpoints do, and forwards each request to a stand-in
//! (the fake Bedrock, moto) on another loopback port, streaming the answer back frame by frame.
//! A client's connection stays open from one request to the next, as DynamoDB's and Bedrock's
//! do, whatever the stand-in behind does: moto's server closes its connection after every
//! answer, which would otherwise cost a TLS handshake per DynamoDB call. The connection to the
//! stand-in is plain TCP on loopback, kept while the stand-in keeps it open. [`Protocols`]
//! says what ALPN offers: HTTP/1.1 only, as DynamoDB does, or HTTP/2 first, as Bedrock Runtime
//! does (the SDK's client then speaks HTTP/2 to it, headers and body in separate frames).
//!
//! Every socket has `TCP_NODELAY` set, so the proxy adds no Nagle delay of its own.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, RsaKeySize, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A certificate authority made for one run, and the server certificate it issued.
pub struct PrivateCa {
    root_pem: String,
    /// Leaf first, then the intermediate, as a server sends them.
    chain: Vec<CertificateDer<'static>>,
    leaf_key: Vec<u8>,
}

impl PrivateCa {
    /// A new root, intermediate and leaf; the leaf names `localhost` and `127.0.0.1`.
    pub fn generate() -> anyhow::Result<PrivateCa> {
        let root = CertifiedIssuer::self_signed(
            ca_params("testkit private root CA", None)?,
            KeyPair::generate().context("could not make the root key")?,
        )
        .context("could not sign the root certificate")?;
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("testkit private intermediate CA", Some(0))?,
            KeyPair::generate().context("could not make the intermediate key")?,
            &root,
        )
        .context("could not sign the intermediate certificate")?;

        let mut leaf = CertificateParams::new(vec!["localhost".to_owned()])?;
        leaf.subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
            .context("could not make the server's RSA key")?;
        let leaf_cert = leaf
            .signed_by(&leaf_key, &intermediate)
            .context("could not sign the server certificate")?;

        Ok(PrivateCa {
            root_pem: root.pem(),
            chain: vec![leaf_cert.der().clone(), intermediate.der().clone()],
            leaf_key: leaf_key.serialize_der(),
        })
    }

    /// The root certificate, PEM-encoded: the only certificate a client needs to trust.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// Writes the root certificate to `path`, for `SSL_CERT_FILE` or `AWS_CA_BUNDLE`.
    pub fn write_root(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, &self.root_pem)
            .with_context(|| format!("could not write {}", path.display()))
    }

    /// A rustls server configuration presenting the leaf and the intermediate, with ALPN
    /// offering `protocols`.
    pub fn server_config(&self, protocols: Protocols) -> anyhow::Result<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .context("the server certificate does not match its key")?;
        config.alpn_protocols = match protocols {
            Protocols::Http1 => vec![b"http/1.1".to_vec()],
            Protocols::Http2AndHttp1 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        Ok(config)
    }
}

fn ca_params(name: &str, path_length: Option<u8>) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(match path_length {
        Some(length) => BasicConstraints::Constrained(length),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

/// What the front end offers in ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocols {
    /// `http/1.1` only, as DynamoDB.
    Http1,
    /// `h2`, then `http/1.1`, as Bedrock Runtime.
    Http2AndHttp1,
}

/// The HTTPS front end of a stand-in on a port of 127.0.0.1; stops when dropped.
pub struct TlsProxy {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    negotiated: Arc<std::sync::Mutex<Vec<String>>>,
}

impl TlsProxy {
    /// Listens on an ephemeral port of 127.0.0.1 with `ca`'s server certificate, in front of
    /// the plain-HTTP/1.1 server at `upstream`.
    pub async fn start(
        ca: &PrivateCa,
        upstream: SocketAddr,
        protocols: Protocols,
    ) -> anyhow::Result<TlsProxy> {
        let acceptor = TlsAcceptor::from(Arc::new(ca.server_config(protocols)?));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let negotiated = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = negotiated.clone();
        let server = tokio::spawn(async move {
            // Dropped with the accept loop, so stopping the proxy closes its connections too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        let acceptor = acceptor.clone();
                        let seen = seen.clone();
                        connections.spawn(async move {
                            let _ = relay(acceptor, client, upstream, &seen).await;
                        });
                    }
                    Some(_) = connections.join_next() => {}
                }
            }
        });
        Ok(TlsProxy {
            addr,
            server,
            negotiated,
        })
    }

    /// `https://localhost:PORT`, for `AWS_ENDPOINT_URL_*`.
    pub fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The protocol ALPN settled on for each connection so far (`h2`, `http/1.1`, or empty
    /// when the client offered none), in the order the handshakes finished.
    pub fn negotiated(&self) -> Vec<String> {
        self.negotiated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves one client connection: TLS, then its requests (one after another in HTTP/1.1, at
/// once in HTTP/2).
async fn relay(
    acceptor: TlsAcceptor,
    client: TcpStream,
    upstream: SocketAddr,
    negotiated: &std::sync::Mutex<Vec<String>>,
) -> anyhow::Result<()> {
    client.set_nodelay(true)?;
    let tls = acceptor.accept(client).await?;
    let protocol = tls.get_ref().1.alpn_protocol().unwrap_or_default();
    negotiated
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(String::from_utf8_lossy(protocol).into_owned());
    let idle = Arc::new(std::sync::Mutex::new(Vec::new()));
    let service = hyper::service::service_fn(move |request| {
        let idle = idle.clone();
        async move { forward(request, upstream, &idle).await }
    });
    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(())
}

type Sender = SendRequest<Incoming>;

/// Sends `request` to the stand-in on an idle connection kept from an earlier request, or on
/// a new one.
async fn forward(
    request: Request<Incoming>,
    upstream: SocketAddr,
    idle: &std::sync::Mutex<Vec<Sender>>,
) -> Result<Response<BoxBody<Bytes, hyper::Error>>, std::convert::Infallible> {
    let request = to_origin_form(request);
    let kept = {
        let mut idle = idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|sender| !sender.is_closed());
        let ready = idle.iter().position(SendRequest::is_ready);
        ready.map(|at| idle.swap_remove(at))
    };
    let sender = match kept {
        Some(sender) => Some(sender),
        None => connect(upstream).await.ok(),
    };
    let Some(mut sender) = sender else {
        return Ok(bad_gateway(
            "the stand-in behind the TLS proxy refused the connection",
        ));
    };
    match sender.send_request(request).await {
        Ok(mut response) => {
            // Ready again once this answer's body is read.
            idle.lock().unwrap_or_else(|p| p.into_inner()).push(sender);
            // Hop-by-hop: the stand-in closing its connection says nothing about the client's.
            response.headers_mut().remove(hyper::header::CONNECTION);
            response.headers_mut().remove("keep-alive");
            Ok(response.map(BodyExt::boxed))
        }
        Err(err) => Ok(bad_gateway(&format!(
            "the stand-in behind the TLS proxy failed: {err}"
        ))),
    }
}

/// An HTTP/1.1 request line for the stand-in: the path alone, the authority as `host`.
fn to_origin_form(mut request: Request<Incoming>) -> Request<Incoming> {
    request.headers_mut().remove(hyper::header::CONNECTION);
    let uri = request.uri().clone();
    if let Some(authority) = uri.authority()
        && !request.headers().contains_key(hyper::header::HOST)
        && let Ok(host) = hyper::header::HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(hyper::header::HOST, host);
    }
    if let Some(path) = uri.path_and_query()
        && let Ok(origin) = hyper::Uri::try_from(path.as_str())
    {
        *request.uri_mut() = origin;
    }
    *request.version_mut() = hyper::Version::HTTP_11;
    request
}

async fn connect(upstream: SocketAddr) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(upstream).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

fn bad_gateway(message: &str) -> Response<BoxBody<Bytes, hyper::Error>> {
    let body = Full::new(Bytes::from(message.to_owned()))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}
