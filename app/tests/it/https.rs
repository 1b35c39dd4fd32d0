//! The HTTPS client the SDK clients share: which roots it trusts, that it really talks TLS to
//! an endpoint signed by a private CA named the standard way, and the connections opened
//! during INIT.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_sdk_bedrockruntime as sdk;
use chatbot::https::{Https, RootSources, RootsError, TrustedRoots};
use chatbot::model::bedrock_config;
use chatbot::warm;
use testkit::bedrock::FakeBedrock;
use testkit::tls::{PrivateCa, Protocols, TlsProxy};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/roots")
        .join(name)
}

/// A file of the test's own, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("chatbot-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// What `load` made of `sources`: the file read and its certificate counts, `native`, or the
/// error's text.
fn check(sources: RootSources, expect: &str) {
    let got = match TrustedRoots::load(&sources) {
        Ok(TrustedRoots::Bundle {
            path,
            certificates,
            skipped,
            ..
        }) => format!(
            "{} certificates={certificates} skipped={skipped}",
            path.file_name().unwrap().to_string_lossy()
        ),
        Ok(TrustedRoots::Native) => "native".to_owned(),
        Err(err) => format!("error: {err}"),
    };
    assert_eq!(got, expect);
}

fn cert_file(path: &Path) -> RootSources {
    RootSources {
        cert_file: Some(path.to_path_buf()),
        ..RootSources::default()
    }
}

#[test]
fn ssl_cert_file_names_the_bundle() {
    let both = TempFile::new("both.pem", &(pem("one.pem") + &pem("two.pem")));
    check(cert_file(&both.0), "both.pem certificates=2 skipped=0");
}

#[test]
fn ssl_cert_file_wins_over_the_system_bundles() {
    let sources = RootSources {
        system_bundles: vec![fixture("two.pem")],
        ..cert_file(&fixture("one.pem"))
    };
    check(sources, "one.pem certificates=1 skipped=0");
}

#[test]
fn entries_that_are_not_usable_certificates_are_skipped_and_counted() {
    let broken =
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    let text = format!(
        "# comment\n{}{broken}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        pem("one.pem")
    );
    let mixed = TempFile::new("mixed.pem", &text);
    check(cert_file(&mixed.0), "mixed.pem certificates=1 skipped=1");
}

#[test]
fn a_block_without_its_end_line_is_skipped_and_counted() {
    let begin = "-----BEGIN CERTIFICATE-----\n";
    let cut = &pem("two.pem")[..pem("two.pem").len() / 2];
    assert!(cut.starts_with(begin), "the fixture is a PEM certificate");
    let text = format!("{begin}AAAA\n{}{cut}", pem("one.pem"));
    let open = TempFile::new("open.pem", &text);
    check(cert_file(&open.0), "open.pem certificates=1 skipped=2");
}

#[test]
fn windows_line_endings_and_indented_lines_read_the_same() {
    let text = (pem("one.pem") + &pem("two.pem"))
        .lines()
        .map(|line| format!("  {line}\r\n"))
        .collect::<String>();
    let crlf = TempFile::new("crlf.pem", &text);
    check(cert_file(&crlf.0), "crlf.pem certificates=2 skipped=0");
}

#[test]
fn an_unreadable_ssl_cert_file_is_an_error_naming_it() {
    let missing = std::env::temp_dir().join("chatbot-roots-missing/none.pem");
    let err = TrustedRoots::load(&cert_file(&missing)).unwrap_err();
    assert!(
        matches!(&err, RootsError::Unreadable { path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().starts_with(&format!(
        "SSL_CERT_FILE names {}, which cannot be read: ",
        missing.display()
    )));
}

#[test]
fn an_ssl_cert_file_without_certificates_is_an_error() {
    let empty = TempFile::new("empty.pem", "no certificates here\n");
    check(
        cert_file(&empty.0),
        &format!(
            "error: SSL_CERT_FILE names {}, which holds no certificate a TLS client can trust",
            empty.0.display()
        ),
    );
}

#[test]
fn without_ssl_cert_file_the_first_system_bundle_with_certificates_is_read() {
    let empty = TempFile::new("system-empty.pem", "");
    check(
        RootSources {
            system_bundles: vec![
                PathBuf::from("/nonexistent/ca-bundle.crt"),
                empty.0.clone(),
                fixture("two.pem"),
                fixture("one.pem"),
            ],
            ..RootSources::default()
        },
        "two.pem certificates=1 skipped=0",
    );
}

#[test]
fn a_certificate_folder_or_no_bundle_at_all_leaves_it_to_rustls_native_certs() {
    check(
        RootSources {
            cert_dir: Some(PathBuf::from("/etc/ssl/certs")),
            ..cert_file(&fixture("one.pem"))
        },
        "native",
    );
    check(
        RootSources {
            system_bundles: vec![PathBuf::from("/nonexistent/ca-bundle.crt")],
            ..RootSources::default()
        },
        "native",
    );
}

#[test]
fn the_start_up_line_says_where_the_roots_came_from() {
    let roots = TrustedRoots::load(&cert_file(&fixture("one.pem"))).unwrap();
    assert_eq!(
        roots.describe(),
        format!("1 certificate from {}", fixture("one.pem").display())
    );
    assert_eq!(
        TrustedRoots::Native.describe(),
        "the system's certificates, found by rustls-native-certs"
    );
}

/// The fake Bedrock behind TLS signed by a fresh private CA, whose root is written to a file.
struct TlsBedrock {
    fake: FakeBedrock,
    proxy: TlsProxy,
    root: TempFile,
}

/// The TLS stand-in, offering `protocols` by ALPN.
async fn tls_bedrock(protocols: Protocols) -> TlsBedrock {
    let ca = PrivateCa::generate().unwrap();
    let fake = FakeBedrock::start().await.unwrap();
    let proxy = TlsProxy::start(&ca, fake.addr(), protocols).await.unwrap();
    let root = TempFile::new(&format!("root-{}.pem", proxy.addr().port()), ca.root_pem());
    TlsBedrock { fake, proxy, root }
}

fn bedrock_over(https: &Https, endpoint: &str) -> sdk::Client {
    let builder = sdk::Config::builder()
        .behavior_version(sdk::config::BehaviorVersion::latest())
        .region(sdk::config::Region::new("us-east-1"))
        .credentials_provider(sdk::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .http_client(https.http_client());
    sdk::Client::from_conf(bedrock_config(builder).build())
}

async fn converse(client: &sdk::Client) -> Result<String, String> {
    let message = sdk::types::Message::builder()
        .role(sdk::types::ConversationRole::User)
        .content(sdk::types::ContentBlock::Text("hello over TLS".into()))
        .build()
        .unwrap();
    client
        .converse()
        .model_id("amazon.nova-lite-v1:0")
        .messages(message)
        .send()
        .await
        .map(|output| format!("{:?}", output.output()))
        .map_err(|err| {
            format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(err)
            )
        })
}

#[tokio::test]
async fn the_sdk_talks_tls_to_an_endpoint_whose_private_root_is_the_trusted_bundle() {
    let stand_in = tls_bedrock(Protocols::Http2AndHttp1).await;
    let trusted = Https::new(&TrustedRoots::load(&cert_file(&stand_in.root.0)).unwrap());
    let answer = converse(&bedrock_over(&trusted, &stand_in.proxy.endpoint())).await;
    assert!(
        answer.as_ref().is_ok_and(|a| a.contains("hello over TLS")),
        "{answer:?}"
    );
    assert_eq!(stand_in.fake.calls().len(), 1);
    assert_eq!(
        stand_in.proxy.negotiated(),
        ["h2"],
        "the SDK speaks HTTP/2 to an endpoint offering it, as Bedrock Runtime does"
    );

    // Roots that do not include the private CA: the handshake fails, nothing reaches the fake.
    let strangers = Https::new(&TrustedRoots::load(&cert_file(&fixture("one.pem"))).unwrap());
    let refused = converse(&bedrock_over(&strangers, &stand_in.proxy.endpoint())).await;
    let err = refused.unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(stand_in.fake.calls().len(), 1);
}

/// The protocols of the proxy's handshakes once it has finished `count` of them (the client
/// finishes its side of a handshake before the server does).
async fn handshakes(proxy: &TlsProxy, count: usize) -> Vec<String> {
    for _ in 0..500 {
        if proxy.negotiated().len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    proxy.negotiated()
}

#[tokio::test]
async fn the_first_requests_take_the_connections_opened_early_and_nothing_is_sent_on_them() {
    // HTTP/2, as Bedrock Runtime speaks: one early connection carries the first request.
    let stand_in = tls_bedrock(Protocols::Http2AndHttp1).await;
    let https = Https::new(&TrustedRoots::load(&cert_file(&stand_in.root.0)).unwrap());
    let opening = https.open_early(&stand_in.proxy.endpoint(), 1).unwrap();
    assert_eq!(opening.wait().await, Ok(1));
    assert_eq!(
        handshakes(&stand_in.proxy, 1).await,
        ["h2"],
        "one handshake, early"
    );
    assert!(stand_in.fake.calls().is_empty(), "no request was sent");
    let client = bedrock_over(&https, &stand_in.proxy.endpoint());
    let answer = converse(&client).await;
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(stand_in.fake.calls().len(), 1);
    assert_eq!(stand_in.proxy.negotiated(), ["h2"], "no other connection");

    // HTTP/1.1 only, as DynamoDB speaks: requests out together each take one.
    let TlsBedrock { fake, proxy, root } = tls_bedrock(Protocols::Http1).await;
    let https = Https::new(&TrustedRoots::load(&cert_file(&root.0)).unwrap());
    let opening = https.open_early(&proxy.endpoint(), 2).unwrap();
    let client = bedrock_over(&https, &proxy.endpoint());
    // Sent while the early connections may still be opening: they wait for them.
    let (first, second) = tokio::join!(converse(&client), converse(&client));
    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    assert_eq!(opening.wait().await, Ok(2));
    assert_eq!(proxy.negotiated(), ["http/1.1", "http/1.1"]);
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn an_early_connection_that_cannot_open_says_why_and_the_request_opens_its_own() {
    // Nobody listens: the failure is reported, well within the connect timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("https://localhost:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let https = Https::new(&TrustedRoots::Native);
    let started = std::time::Instant::now();
    let failed = https.open_early(&nowhere, 1).unwrap().wait().await;
    assert!(failed.is_err(), "{failed:?}");
    assert!(started.elapsed() < chatbot::https::CONNECT_TIMEOUT);
    assert!(https.open_early("not a url", 1).is_err());

    // Roots that do not include the stand-in's CA: the early handshake fails; so does the
    // request's own, with the certificate named, and no request reaches the model.
    let stand_in = tls_bedrock(Protocols::Http2AndHttp1).await;
    let strangers = Https::new(&TrustedRoots::load(&cert_file(&fixture("one.pem"))).unwrap());
    let refused = strangers
        .open_early(&stand_in.proxy.endpoint(), 1)
        .unwrap()
        .wait()
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let err = converse(&bedrock_over(&strangers, &stand_in.proxy.endpoint()))
        .await
        .unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(stand_in.fake.calls().is_empty());
}

#[tokio::test]
async fn an_early_connection_the_server_closed_is_not_handed_out() {
    // A front end that closes the first connection it accepts, and relays the next ones to
    // the model's stand-in.
    let fake = FakeBedrock::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (first_closed, closed) = tokio::sync::oneshot::channel();
    let upstream = fake.addr();
    tokio::spawn(async move {
        let (first, _) = listener.accept().await.unwrap();
        drop(first);
        let _ = first_closed.send(());
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    let https = Https::new(&TrustedRoots::Native);
    let opening = https.open_early(&endpoint, 1).unwrap();
    assert_eq!(opening.wait().await, Ok(1));
    closed.await.unwrap();
    // Give the peer's close time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // No retries: a request sent on the closed connection would fail.
    let client = sdk::Client::from_conf(
        bedrock_config(
            sdk::Config::builder()
                .behavior_version(sdk::config::BehaviorVersion::latest())
                .region(sdk::config::Region::new("us-east-1"))
                .credentials_provider(sdk::config::Credentials::new(
                    "AKIDTEST", "secret", None, None, "test",
                ))
                .endpoint_url(&endpoint)
                .http_client(https.http_client()),
        )
        .retry_config(sdk::config::retry::RetryConfig::disabled())
        .build(),
    );
    let answer = converse(&client).await;
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(fake.calls().len(), 1);
}

/// A forward proxy that serves `CONNECT` only, as corporate proxies do for HTTPS, recording
/// each tunnel's target.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let targets = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&targets);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let Some(target) = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split_whitespace().next())
                else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                seen.lock().unwrap().push(target.to_owned());
                let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (url, targets)
}

#[tokio::test]
async fn https_goes_through_the_proxys_tunnel_and_early_connections_do_too() {
    let stand_in = tls_bedrock(Protocols::Http2AndHttp1).await;
    let (proxy, tunnels) = connect_proxy().await;
    let roots = TrustedRoots::load(&cert_file(&stand_in.root.0)).unwrap();
    let https = Https::through_proxy(&roots, &proxy);
    let opening = https.open_early(&stand_in.proxy.endpoint(), 1).unwrap();
    assert_eq!(opening.wait().await, Ok(1));
    let answer = converse(&bedrock_over(&https, &stand_in.proxy.endpoint())).await;
    assert!(answer.is_ok(), "{answer:?}");
    let target = format!("localhost:{}", stand_in.proxy.addr().port());
    assert_eq!(
        *tunnels.lock().unwrap(),
        [target],
        "one tunnel, opened early"
    );
    assert_eq!(
        handshakes(&stand_in.proxy, 1).await,
        ["h2"],
        "TLS with the endpoint itself, inside the tunnel, ALPN included"
    );
    assert_eq!(stand_in.fake.calls().len(), 1);
}

#[tokio::test]
async fn the_endpoints_are_the_ones_the_sdk_resolves() {
    let region =
        |name: &'static str| aws_config::SdkConfig::builder().region(aws_config::Region::new(name));
    let cases = [
        (
            region("us-west-2").build(),
            "https://dynamodb.us-west-2.amazonaws.com",
            "https://bedrock-runtime.us-west-2.amazonaws.com",
        ),
        (
            region("us-east-1").use_fips(true).build(),
            "https://dynamodb-fips.us-east-1.amazonaws.com",
            "https://bedrock-runtime-fips.us-east-1.amazonaws.com",
        ),
        (
            region("eu-west-1")
                .endpoint_url("https://localhost:4443")
                .build(),
            "https://localhost:4443",
            "https://localhost:4443",
        ),
    ];
    for (sdk, store, model) in cases {
        let endpoints = warm::Endpoints::resolve(&sdk).await;
        assert_eq!(endpoints.store.as_deref(), Ok(store));
        assert_eq!(endpoints.model.as_deref(), Ok(model));
    }
    // Loaded the way the service loads its configuration.
    let loaded = Https::new(&TrustedRoots::Native)
        .sdk_config_loader()
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url("https://shared.example:1")
        .load()
        .await;
    let endpoints = warm::Endpoints::resolve(&loaded).await;
    assert_eq!(endpoints.store.as_deref(), Ok("https://shared.example:1"));
    assert_eq!(endpoints.model.as_deref(), Ok("https://shared.example:1"));
    let nowhere = warm::Endpoints::resolve(&aws_config::SdkConfig::builder().build()).await;
    assert!(
        nowhere.store.is_err() && nowhere.model.is_err(),
        "no region, no endpoint: {nowhere:?}"
    );
}

/// The connect and read timeouts a client's requests carry, which pick its connector.
fn connector_key(timeouts: Option<&aws_smithy_types::timeout::TimeoutConfig>) -> String {
    let timeouts = timeouts.expect("the client has timeouts");
    format!(
        "connect {:?}, read {:?}",
        timeouts.connect_timeout(),
        timeouts.read_timeout()
    )
}

#[tokio::test]
async fn the_store_and_the_model_clients_share_one_connector() {
    let https = Https::new(&TrustedRoots::Native);
    let sdk = https
        .sdk_config_loader()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(sdk::config::Credentials::new(
            "AKID", "SECRET", None, None, "test",
        ))
        .load()
        .await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let bedrock = sdk::Client::from_conf(bedrock_config((&sdk).into()).build());
    let store = connector_key(dynamo.config().timeout_config());
    assert_eq!(store, connector_key(bedrock.config().timeout_config()));
    assert_eq!(
        store,
        connector_key(Some(&chatbot::https::shared_timeouts()))
    );
    assert!(store.starts_with("connect Some("), "{store}");
}
