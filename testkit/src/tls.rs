//! HTTPS in front of the loopback stand-ins, as clients meet the real AWS endpoints.
//!
//! [`PrivateCa`] makes a certificate authority at run time, shaped like the chains AWS endpoints
//! present: a root, an intermediate, and a leaf with an RSA-2048 key for `localhost` and
//! `127.0.0.1`. Clients are told to trust the root the standard way, by a PEM file
//! ([`PrivateCa::write_root`]) named in `SSL_CERT_FILE` (OpenSSL, rustls-native-certs, the
//! service) or `AWS_CA_BUNDLE` (botocore). [`TlsProxy`] terminates TLS on 127.0.0.1 with that
//! leaf and relays the plain bytes to a stand-in (the fake Bedrock, moto) on another loopback
//! port. It offers HTTP/1.1 only, the protocol both stand-ins speak.
//!
//! Both sides of the relay have `TCP_NODELAY` set, so the proxy adds no Nagle delay of its own
//! to what it carries.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
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
    /// `http/1.1`.
    pub fn server_config(&self) -> anyhow::Result<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .context("the server certificate does not match its key")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
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

/// TLS on a port of 127.0.0.1, relayed as plain bytes to `upstream`; stops when dropped.
pub struct TlsProxy {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    /// Listens on an ephemeral port of 127.0.0.1 with `ca`'s server certificate.
    pub async fn start(ca: &PrivateCa, upstream: SocketAddr) -> anyhow::Result<TlsProxy> {
        let acceptor = TlsAcceptor::from(Arc::new(ca.server_config()?));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            // Dropped with the accept loop, so stopping the proxy closes its connections too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        let acceptor = acceptor.clone();
                        connections.spawn(async move {
                            let _ = relay(acceptor, client, upstream).await;
                        });
                    }
                    Some(_) = connections.join_next() => {}
                }
            }
        });
        Ok(TlsProxy { addr, server })
    }

    /// `https://localhost:PORT`, for `AWS_ENDPOINT_URL_*`.
    pub fn endpoint(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn relay(
    acceptor: TlsAcceptor,
    client: TcpStream,
    upstream: SocketAddr,
) -> anyhow::Result<()> {
    client.set_nodelay(true)?;
    let mut tls = acceptor.accept(client).await?;
    let mut server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut tls, &mut server).await?;
    Ok(())
}
