//! The HTTPS front end of the stand-ins: a client trusting only the private root talks to a
//! plain-HTTP/1.1 server through it, over HTTP/1.1 or HTTP/2, and keeps its connection while
//! the server closes its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use testkit::tls::{PrivateCa, Protocols, TlsProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that answers every request with `Connection: close` and closes, as moto's does;
/// counts the connections it accepted.
async fn closing_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buf[..read]),
                    }
                }
                let body = format!("answer {n}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, accepted)
}

async fn tls_client(
    root_pem: &str,
    proxy: &TlsProxy,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let tls = tls_stream(root_pem, proxy, &[b"http/1.1"]).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|err| err.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// A TLS connection to the proxy trusting `root_pem`, offering `alpn`.
async fn tls_stream(
    root_pem: &str,
    proxy: &TlsProxy,
    alpn: &[&[u8]],
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(root_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(proxy.addr()).await.unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|err| err.to_string())
}

#[tokio::test]
async fn one_tls_connection_carries_many_requests_to_a_server_that_closes_after_each() {
    let (upstream, accepted) = closing_server().await;
    let ca = PrivateCa::generate().unwrap();
    let proxy = TlsProxy::start(&ca, upstream, Protocols::Http1)
        .await
        .unwrap();
    assert!(proxy.endpoint().starts_with("https://localhost:"));
    let mut client = tls_client(ca.root_pem(), &proxy).await.unwrap();
    for n in 1..=3 {
        client
            .ready()
            .await
            .expect("the TLS connection is still open");
        let request = Request::post("/")
            .header("host", "localhost")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let response = client.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("answer {n}"));
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "one upstream connection per request"
    );
    assert_eq!(proxy.negotiated(), ["http/1.1"]);
}

#[tokio::test]
async fn a_client_offering_http2_speaks_it_to_a_front_end_that_offers_it() {
    let (upstream, accepted) = closing_server().await;
    let ca = PrivateCa::generate().unwrap();
    let proxy = TlsProxy::start(&ca, upstream, Protocols::Http2AndHttp1)
        .await
        .unwrap();
    let tls = tls_stream(ca.root_pem(), &proxy, &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    let (mut client, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = || {
        Request::post(format!("https://localhost:{}/", proxy.addr().port()))
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap()
    };
    // Two streams at once on one connection, each forwarded on its own upstream connection.
    let mut other = client.clone();
    let (first, second) = tokio::join!(
        client.send_request(request()),
        other.send_request(request())
    );
    let mut bodies = Vec::new();
    for response in [first, second] {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        bodies.push(response.into_body().collect().await.unwrap().to_bytes());
    }
    bodies.sort();
    assert_eq!(bodies, ["answer 1", "answer 2"]);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert_eq!(proxy.negotiated(), ["h2"]);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_private_root_is_refused() {
    let (upstream, accepted) = closing_server().await;
    let ca = PrivateCa::generate().unwrap();
    let other = PrivateCa::generate().unwrap();
    let proxy = TlsProxy::start(&ca, upstream, Protocols::Http1)
        .await
        .unwrap();
    let refused = tls_client(other.root_pem(), &proxy).await;
    let err = refused.expect_err("the handshake fails");
    assert!(err.contains("certificate"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}
