//! Sign-in for `cargo xtask dev` when the environment asks for it (`[auth] mode = "users"`): a
//! real OpenID provider on 127.0.0.1 (the certified `oidc-provider` from npm, configured by
//! `dev/oidc/provider.mjs`, with the dev-only users alice and bob) in place of the stack's
//! Cognito user pool, and the DynamoDB store (`moto_server`, one request at a time, with the
//! table the template deploys) in place of the in-memory one, since chats belong to people.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use chatbot_contract::env_vars;
use chatbot_envfile::UserSignIn;
use testkit::moto::MotoServer;

use crate::env::Environment;
use crate::stack;
use crate::tools;

/// The page's client id at the local provider.
pub const CLIENT_ID: &str = "chatbot-local";
/// The table's name in the local store.
pub const TABLE_NAME: &str = "chatbot-local";
/// The local provider's users and their DEV-ONLY passwords, as `dev/oidc/provider.mjs` has them.
pub const USERS: [(&str, &str); 2] = [("alice", "alice-dev-password"), ("bob", "bob-dev-password")];
/// How long the provider waits to listen (its first start installs nothing: that is before).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How the local provider's tokens last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_token_seconds: u32,
    /// One sign-in: the provider's session and its refresh tokens.
    pub sign_in_seconds: u32,
}

/// The provider and the store, stopped when dropped, and the variables that point the service
/// at them.
pub struct LocalSignIn {
    provider: Child,
    _store: Option<MotoServer>,
    pub issuer: String,
    pub vars: BTreeMap<String, String>,
}

impl Drop for LocalSignIn {
    fn drop(&mut self) {
        if self.provider.try_wait().ok().flatten().is_none() {
            let _ = self.provider.kill();
        }
        let _ = self.provider.wait();
    }
}

/// Starts the provider for the page at `page_port` and, unless the caller points the service at
/// a table of their own (`AWS_ENDPOINT_URL_DYNAMODB` set in `lookup`), the store.
pub fn start(
    environment: &Environment,
    users: &UserSignIn,
    page_port: u16,
    lifetimes: Lifetimes,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<LocalSignIn> {
    let root = tools::project_root();
    let folder = root.join("dev").join("oidc");
    tools::npm::ensure_node_modules(&folder, "the local OpenID provider")?;
    let (provider, issuer) = start_provider(&folder, page_port, lifetimes)?;
    let discovery = http_get_json(&format!("{issuer}/.well-known/openid-configuration"))
        .context("reading the local provider's discovery document")?;
    let mut vars = provider_variables(&discovery)?;
    vars.extend(user_limits(users));

    let is_set = |name: &str| lookup(name).is_some_and(|v| !v.is_empty());
    let store = if is_set("AWS_ENDPOINT_URL_DYNAMODB") {
        None
    } else {
        tools::ensure(&tools::MOTO_SERVER)?;
        let store = MotoServer::start().context("starting the local DynamoDB store")?;
        // The region the service will use (dev.rs sets the environment's unless one is set).
        let region = lookup("AWS_REGION")
            .or_else(|| lookup("AWS_DEFAULT_REGION"))
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| environment.region.clone());
        create_table(environment, &store.endpoint(), &region)?;
        vars.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), store.endpoint());
        vars.insert(env_vars::TABLE_NAME.into(), TABLE_NAME.into());
        Some(store)
    };
    vars.retain(|name, _| !is_set(name));
    Ok(LocalSignIn {
        provider,
        _store: store,
        issuer,
        vars,
    })
}

/// The service's sign-in variables from the provider's discovery document.
pub fn provider_variables(
    discovery: &serde_json::Value,
) -> anyhow::Result<BTreeMap<String, String>> {
    let field = |name: &str| {
        discovery[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the provider's discovery document has no {name}"))
    };
    Ok(BTreeMap::from([
        (
            env_vars::AUTH_MODE.into(),
            env_vars::auth_mode::USERS.into(),
        ),
        (env_vars::AUTH_ISSUER.into(), field("issuer")?),
        (env_vars::AUTH_JWKS_URL.into(), field("jwks_uri")?),
        (env_vars::AUTH_CLIENT_ID.into(), CLIENT_ID.into()),
        (
            env_vars::AUTH_AUTHORIZE_URL.into(),
            field("authorization_endpoint")?,
        ),
        (env_vars::AUTH_TOKEN_URL.into(), field("token_endpoint")?),
        (
            env_vars::AUTH_LOGOUT_URL.into(),
            field("end_session_endpoint")?,
        ),
    ]))
}

/// The per-person limits of the env file's `[auth]`.
pub fn user_limits(users: &UserSignIn) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            env_vars::USER_RATE_LIMIT.into(),
            users.rate_limit.to_string(),
        ),
        (
            env_vars::USER_RATE_WINDOW_SECONDS.into(),
            users.rate_window_seconds.to_string(),
        ),
        (
            env_vars::USER_DAILY_TOKEN_QUOTA.into(),
            users.daily_tokens_per_user.to_string(),
        ),
    ])
}

/// `node provider.mjs`, and the issuer it prints once it listens.
fn start_provider(
    folder: &Path,
    page_port: u16,
    lifetimes: Lifetimes,
) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new("node")
        .current_dir(folder)
        .arg("provider.mjs")
        .args(["--page", &format!("http://127.0.0.1:{page_port}")])
        .args(["--page", &format!("http://localhost:{page_port}")])
        .args(["--client-id", CLIENT_ID])
        .args([
            "--access-token-ttl",
            &lifetimes.access_token_seconds.to_string(),
        ])
        .args(["--session-ttl", &lifetimes.sign_in_seconds.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start `node`: install Node.js 20 or newer")?;
    let stdout = child.stdout.take().context("the provider's output")?;
    let (sender, receiver) = mpsc::channel();
    // Its first line says where it listens; the rest is passed on.
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line.strip_prefix("oidc-provider listening on ") {
                Some(issuer) if sender.is_some() => {
                    let _ = sender.take().map(|s| s.send(issuer.to_owned()));
                }
                _ => println!("{line}"),
            }
        }
    });
    match receiver.recv_timeout(START_TIMEOUT) {
        Ok(issuer) => Ok((child, issuer)),
        Err(_) => {
            let status = child.try_wait().ok().flatten();
            let _ = child.kill();
            let _ = child.wait();
            match status {
                Some(status) => {
                    bail!("the local OpenID provider exited with {status} before listening")
                }
                None => bail!("the local OpenID provider did not listen within {START_TIMEOUT:?}"),
            }
        }
    }
}

/// Creates the environment's table in the store at `endpoint` as its template declares it
/// (keys, attributes and indexes), with the boto3 of moto's venv.
fn create_table(environment: &Environment, endpoint: &str, region: &str) -> anyhow::Result<()> {
    let template: serde_json::Value = serde_yaml::from_str(&stack::render(environment)?)
        .context("reading the environment's template")?;
    let properties = &template["Resources"][stack::ids::TABLE]["Properties"];
    let mut table = serde_json::Map::new();
    table.insert("TableName".into(), TABLE_NAME.into());
    for key in [
        "BillingMode",
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
    ] {
        if let Some(value) = properties.get(key) {
            table.insert(key.into(), value.clone());
        }
    }
    let python = tools::ensure(&tools::MOTO_SERVER)?.with_file_name("python");
    let script = "import boto3, json, sys\n\
         c = boto3.client('dynamodb', endpoint_url=sys.argv[1], region_name=sys.argv[2],\n\
             aws_access_key_id='local', aws_secret_access_key='local')\n\
         c.create_table(**json.loads(sys.argv[3]))\n";
    let output = Command::new(&python)
        .args(["-c", script, endpoint, region])
        .arg(serde_json::Value::Object(table).to_string())
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "could not create the table in the local store: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// A GET of a JSON document from a local `http://127.0.0.1:PORT/...` URL.
fn http_get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url} is not a local http URL"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("{url} did not answer HTTP"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("{url} answered {}", head.lines().next().unwrap_or_default());
    }
    serde_json::from_str(body).with_context(|| format!("{url} did not answer JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_variables_come_from_the_discovery_document() {
        let discovery = serde_json::json!({
            "issuer": "http://127.0.0.1:4000",
            "jwks_uri": "http://127.0.0.1:4000/jwks",
            "authorization_endpoint": "http://127.0.0.1:4000/auth",
            "token_endpoint": "http://127.0.0.1:4000/token",
            "end_session_endpoint": "http://127.0.0.1:4000/session/end",
        });
        let vars = provider_variables(&discovery).unwrap();
        for name in env_vars::AUTH_REQUIRED {
            assert!(vars.contains_key(name), "{name}");
        }
        assert_eq!(vars[env_vars::AUTH_MODE], "users");
        assert_eq!(
            vars[env_vars::AUTH_LOGOUT_URL],
            "http://127.0.0.1:4000/session/end"
        );
        assert_eq!(vars[env_vars::AUTH_CLIENT_ID], CLIENT_ID);
    }

    #[test]
    fn a_discovery_document_without_an_endpoint_is_an_error_naming_it() {
        let discovery = serde_json::json!({"issuer": "http://127.0.0.1:4000"});
        let error = provider_variables(&discovery).unwrap_err().to_string();
        assert!(error.contains("jwks_uri"), "{error}");
    }
}
