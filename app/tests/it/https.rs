//! The HTTPS client the SDK clients share: which roots it trusts, that it really talks TLS to
//! an endpoint signed by a private CA named the standard way, and the connections opened
//! during INIT.

use crate::support;
use std::path::{Path, PathBuf};

use aws_sdk_bedrockruntime as sdk;
use chatbot::https::{Https, RootSources, RootsError, TrustedRoots};
use chatbot::model::bedrock_config;
use chatbot::warm::{self, ModelEndpoint, Scope};
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
    let Ok(TrustedRoots::Bundle { pem: kept, .. }) = TrustedRoots::load(&cert_file(&mixed.0))
    else {
        panic!("a bundle");
    };
    assert_eq!(
        kept.trim(),
        pem("one.pem").trim(),
        "only the usable certificate is kept"
    );
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

async fn tls_bedrock() -> TlsBedrock {
    let ca = PrivateCa::generate().unwrap();
    let fake = FakeBedrock::start().await.unwrap();
    let proxy = TlsProxy::start(&ca, fake.addr(), Protocols::Http2AndHttp1)
        .await
        .unwrap();
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
    let stand_in = tls_bedrock().await;
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

#[tokio::test]
async fn init_opens_the_model_connection_without_calling_the_model() {
    let stand_in = tls_bedrock().await;
    let https = Https::new(&TrustedRoots::load(&cert_file(&stand_in.root.0)).unwrap());
    let client = bedrock_over(&https, &stand_in.proxy.endpoint());
    let model = ModelEndpoint {
        url: stand_in.proxy.endpoint(),
        timeouts: client.config().timeout_config().cloned(),
    };
    let store = support::memory_store();
    let warm_up =
        warm::open_connections(Scope::StoreAndModel, &store, &https, Ok(model.clone())).await;
    assert_eq!(warm_up.store, Some(Ok(())));
    assert!(warm_up.model.is_ok(), "{:?}", warm_up.model);
    assert!(stand_in.fake.calls().is_empty(), "no model was invoked");

    // Beside a first request that opens the store's connections itself.
    let model_only = warm::open_connections(Scope::Model, &store, &https, Ok(model)).await;
    assert_eq!(model_only.store, None);
    assert!(model_only.model.is_ok(), "{:?}", model_only.model);

    // An endpoint nobody listens on: the warm-up says so, and does not hang.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = ModelEndpoint {
        url: format!("https://localhost:{}", closed.local_addr().unwrap().port()),
        timeouts: None,
    };
    drop(closed);
    let failed = warm::open_connections(Scope::StoreAndModel, &store, &https, Ok(nowhere)).await;
    assert!(failed.model.is_err(), "{:?}", failed.model);
    assert!(failed.elapsed < warm::LIMIT + std::time::Duration::from_secs(1));
}

/// The URL `bedrock_endpoint` resolves for an SDK configuration.
async fn check_endpoint(sdk: aws_config::SdkConfig, expect: &str) {
    assert_eq!(warm::bedrock_endpoint(&sdk).await.as_deref(), Ok(expect));
}

#[tokio::test]
async fn the_model_endpoint_is_the_one_the_sdk_resolves() {
    let region =
        |name: &'static str| aws_config::SdkConfig::builder().region(aws_config::Region::new(name));
    check_endpoint(
        region("us-west-2").build(),
        "https://bedrock-runtime.us-west-2.amazonaws.com",
    )
    .await;
    check_endpoint(
        region("us-east-1").use_fips(true).build(),
        "https://bedrock-runtime-fips.us-east-1.amazonaws.com",
    )
    .await;
    check_endpoint(
        region("eu-west-1")
            .endpoint_url("https://localhost:4443")
            .build(),
        "https://localhost:4443",
    )
    .await;
    assert!(
        warm::bedrock_endpoint(&aws_config::SdkConfig::builder().build())
            .await
            .is_err(),
        "no region, no endpoint"
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
