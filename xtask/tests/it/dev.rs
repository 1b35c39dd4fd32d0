//! `cargo xtask dev` on a machine with no AWS credentials: it builds and starts the service,
//! serves the page and the API, answers a chat with the offline demo model (saying so), applies
//! a rate limit set in the caller's environment, and stops cleanly on an interrupt. With an
//! environment that asks for sign-in it also runs the local OpenID provider and the DynamoDB
//! store, and the API asks for a token.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Variables through which the SDK could find credentials, a region or an endpoint.
const AWS_VARIABLES: [&str; 14] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
];

struct Server {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Server {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends Ctrl-C's signal and checks the server exits successfully.
    fn interrupt(&mut self) {
        let interrupted = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(interrupted.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}:\n{}", self.output());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Server {
    // No --env: `cargo xtask dev` as the README gives it runs envs/dev.toml.
    start_with(
        "plain",
        &[],
        &[
            ("CHATBOT_RATE_LIMIT", "2"),
            // One window a day, so the three chats below never straddle two windows.
            ("CHATBOT_RATE_WINDOW_SECONDS", "86400"),
        ],
    )
}

fn start_with(name: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let scratch =
        std::env::temp_dir().join(format!("xtask-dev-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let log = scratch.join("output.log");
    let out = std::fs::File::create(&log).unwrap();
    let port = free_port();
    // `cargo xtask dev` is `cargo run --package xtask -- dev` (the alias in .cargo/config.toml).
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["run", "--quiet", "--package", "xtask", "--", "dev"])
        .args(args)
        .args(["--port", &port.to_string()])
        .env("AWS_CONFIG_FILE", scratch.join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    for name in AWS_VARIABLES {
        command.env_remove(name);
    }
    let child = command.spawn().expect("cargo xtask dev starts");
    let mut server = Server { child, log, port };

    // The first run builds the service; wait for it to listen, or for it to give up.
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!(
                "cargo xtask dev exited with {status} before serving:\n{}",
                server.output()
            );
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "cargo xtask dev did not start listening:\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One HTTP/1.1 exchange; returns the status and the raw body (chunked framing left in).
fn http(port: u16, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

const JSON: &str = "Content-Type: application/json";

#[test]
fn dev_serves_the_page_and_a_demo_chat_without_aws_and_stops_on_interrupt() {
    let mut server = start();
    let port = server.port;

    let (status, page) = http(port, "GET", "/", &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.to_ascii_lowercase().contains("<html"), "{page}");

    let (status, models) = http(port, "GET", "/api/models", &[], "");
    assert_eq!(status, 200);
    assert!(models.contains(r#""demo":true"#), "{models}");

    let (status, stream) = http(
        port,
        "POST",
        "/api/chat",
        &[JSON, "Accept: text/event-stream"],
        r#"{"message":"hello"}"#,
    );
    assert_eq!(status, 200, "{stream}");
    assert!(stream.contains("event: meta"), "{stream}");
    assert!(stream.contains("event: done"), "{stream}");
    let output = server.output();
    assert!(output.contains("NOT a real model"), "{output}");
    assert!(output.contains("with envs/dev.toml"), "{output}");

    // CHATBOT_RATE_LIMIT=2 from the caller's environment: the second chat is the last one.
    let (status, reply) = http(port, "POST", "/api/chat", &[JSON], r#"{"message":"again"}"#);
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("not a real model"), "{reply}");
    let (status, refused) = http(port, "POST", "/api/chat", &[JSON], r#"{"message":"more"}"#);
    assert_eq!(status, 429, "{refused}");
    assert!(refused.contains("rate_limited"), "{refused}");

    server.interrupt();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after the interrupt"
    );
    assert!(server.output().contains("stopped"), "{}", server.output());
}

/// The `"name":"value"` string field of a flat JSON text.
fn json_field<'a>(json: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":\"");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        + key.len();
    &json[start..start + json[start..].find('"').unwrap()]
}

/// `http://127.0.0.1:PORT` of a URL.
fn port_of(url: &str) -> u16 {
    url.trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{url} is not on 127.0.0.1"))
}

#[test]
fn dev_with_sign_in_runs_the_provider_and_the_store_and_asks_for_a_token() {
    let mut server = start_with("staging", &["--env", "staging"], &[]);
    let port = server.port;
    let output = server.output();
    assert!(output.contains("user alice"), "{output}");
    assert!(output.contains("password bob-dev-password"), "{output}");
    assert!(output.contains("history in DynamoDB"), "{output}");

    let (status, models) = http(port, "GET", "/api/models", &[], "");
    assert_eq!(status, 200, "{models}");
    assert!(models.contains(r#""mode":"users""#), "{models}");
    assert_eq!(json_field(&models, "client_id"), "chatbot-local");
    let issuer = json_field(&models, "issuer").to_owned();
    let provider = port_of(&issuer);
    // The page's sign-in endpoints are the running provider's own.
    let (status, discovery) = http(
        provider,
        "GET",
        "/.well-known/openid-configuration",
        &[],
        "",
    );
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(json_field(&discovery, "issuer"), issuer);
    for (page, provider) in [
        ("authorize_url", "authorization_endpoint"),
        ("token_url", "token_endpoint"),
        ("logout_url", "end_session_endpoint"),
    ] {
        assert_eq!(
            json_field(&models, page),
            json_field(&discovery, provider),
            "{page}"
        );
    }
    assert!(
        discovery.contains(r#""code_challenge_methods_supported":["S256"]"#),
        "{discovery}"
    );

    // No token, no chat list, no chat.
    let (status, refused) = http(port, "GET", "/api/sessions", &[], "");
    assert_eq!(status, 401, "{refused}");
    let (status, refused) = http(port, "POST", "/api/chat", &[JSON], r#"{"message":"hi"}"#);
    assert_eq!(status, 401, "{refused}");
    assert!(refused.contains("unauthorized"), "{refused}");

    server.interrupt();
    assert!(
        TcpStream::connect(("127.0.0.1", provider)).is_err(),
        "the provider still listens after the interrupt"
    );
}
