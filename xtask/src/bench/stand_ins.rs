//! The AWS stand-ins the cold starts talk to, over HTTPS as the real endpoints are: the fake
//! Bedrock and moto's DynamoDB, each behind a `testkit::tls` proxy whose certificates come from
//! a private CA made for this run. Runtimes trust it the standard way: `SSL_CERT_FILE` (the
//! service) and `AWS_CA_BUNDLE` (botocore) name one bundle, this machine's CA bundle with the
//! private root appended, so loading it costs what loading the system's roots costs.
//!
//! Between moto and its TLS proxy a `testkit::faulty_dynamo` proxy, with no faults set, records
//! when each DynamoDB request arrived and when its answer was ready, so the bench counts the
//! store's round trips from what the store received ([`StandIns::store_exchanges`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use testkit::faulty_dynamo::{Exchange, FaultyDynamo};
use testkit::moto::{Mode, MotoOptions, MotoServer};
use testkit::tls::{PrivateCa, Protocols, TlsProxy};

use super::process::{Launch, stop, url_in};
use super::service::TABLE;
use crate::tools;

/// Where a Linux system keeps its CA bundle: Debian and Ubuntu, then Amazon Linux, Fedora and
/// RHEL, then others (the list OpenSSL's probes use).
const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// moto, the proxy recording its exchanges, and the TLS proxy in front of both.
struct Moto {
    // Held for its lifetime: moto stops when dropped.
    _server: MotoServer,
    recorder: FaultyDynamo,
    tls: TlsProxy,
}

pub struct StandIns {
    fake: tokio::process::Child,
    bedrock: TlsProxy,
    moto: Option<Moto>,
    /// Why moto is missing, when it is.
    pub moto_error: Option<String>,
    /// The system's CA bundle with the private root appended.
    pub bundle: PathBuf,
}

impl StandIns {
    /// Starts the fake Bedrock (answering at once) and moto with the service's table, and a
    /// TLS proxy in front of each. Without moto, DynamoDB's endpoint refuses connections.
    pub async fn start(fake_bedrock: &Path, logs: &Path) -> anyhow::Result<StandIns> {
        let ca = PrivateCa::generate()?;
        let bundle = logs.join("tls").join("ca-bundle.pem");
        let system = SYSTEM_BUNDLES
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        std::fs::create_dir_all(bundle.parent().expect("the bundle has a folder"))?;
        std::fs::write(&bundle, format!("{system}\n{}", ca.root_pem()))
            .with_context(|| format!("could not write {}", bundle.display()))?;

        let (fake, line) = Launch::new(fake_bedrock)
            .arg("--port")
            .arg("0")
            .start_server(
                &logs.join("fake-bedrock-cold.log"),
                "fake-bedrock listening on",
            )
            .await?;
        let fake_url = url_in(&line).context("fake-bedrock did not print its address")?;
        let bedrock = TlsProxy::start(&ca, address(&fake_url)?, Protocols::Http2AndHttp1).await?;
        let (moto, moto_error) = match start_moto(logs).await {
            Ok((server, url)) => {
                let recorder = FaultyDynamo::start(&url).await?;
                let tls =
                    TlsProxy::start(&ca, address(&recorder.endpoint())?, Protocols::Http1).await?;
                (
                    Some(Moto {
                        _server: server,
                        recorder,
                        tls,
                    }),
                    None,
                )
            }
            Err(err) => (None, Some(format!("{err:#}"))),
        };
        Ok(StandIns {
            fake,
            bedrock,
            moto,
            moto_error,
            bundle,
        })
    }

    /// The endpoint and trust variables a runtime needs to reach the stand-ins.
    pub fn env(&self) -> Vec<(String, String)> {
        let dynamo = match &self.moto {
            Some(moto) => moto.tls.endpoint(),
            // Nothing listens on the discard port: calls fail at once.
            None => "https://localhost:9".to_owned(),
        };
        let bundle = self.bundle.display().to_string();
        vec![
            (
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(),
                self.bedrock.endpoint(),
            ),
            ("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamo),
            ("SSL_CERT_FILE".into(), bundle.clone()),
            ("AWS_CA_BUNDLE".into(), bundle),
        ]
    }

    /// Every DynamoDB request received so far, oldest first; none without moto.
    pub fn store_exchanges(&self) -> Vec<Exchange> {
        self.moto
            .as_ref()
            .map(|moto| moto.recorder.exchanges())
            .unwrap_or_default()
    }

    pub async fn stop(self) {
        stop(self.fake).await;
        // moto stops when dropped.
        drop(self.moto);
    }
}

fn address(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    url.trim_start_matches("http://")
        .parse()
        .with_context(|| format!("{url} is not an address with a port"))
}

/// moto_server on a free port of 127.0.0.1 with the service's table created in it.
async fn start_moto(logs: &Path) -> anyhow::Result<(MotoServer, String)> {
    let bin = tools::ensure(&tools::MOTO_SERVER)?;
    let options = MotoOptions {
        binary: bin.clone(),
        mode: Mode::Threaded,
        log: Some(logs.join("moto.log")),
    };
    // Waiting for moto to listen blocks.
    let moto = tokio::task::spawn_blocking(move || MotoServer::start_with(options))
        .await
        .context("starting moto_server")??;
    let url = format!("http://{}", moto.address());
    // moto's venv has boto3: create the table the way any client would.
    let python = bin.with_file_name("python");
    let script = format!(
        "import boto3\n\
         c = boto3.client('dynamodb', endpoint_url='{url}', region_name='us-east-1',\n\
             aws_access_key_id='bench', aws_secret_access_key='bench')\n\
         c.create_table(TableName='{TABLE}', BillingMode='PAY_PER_REQUEST',\n\
             AttributeDefinitions=[{{'AttributeName': 'pk', 'AttributeType': 'S'}},\n\
                                   {{'AttributeName': 'sk', 'AttributeType': 'S'}}],\n\
             KeySchema=[{{'AttributeName': 'pk', 'KeyType': 'HASH'}},\n\
                        {{'AttributeName': 'sk', 'KeyType': 'RANGE'}}])\n"
    );
    let output = tokio::process::Command::new(&python)
        .args(["-c", &script])
        .output()
        .await
        .context("could not run moto's Python")?;
    if !output.status.success() {
        bail!(
            "could not create the table in moto: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok((moto, url))
}
