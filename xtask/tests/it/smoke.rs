//! `cargo xtask smoke`: the real binary against `cargo xtask dev` answering with the Bedrock
//! stand-in (every check passes), and against broken targets, each failure named: no server, a
//! 500 on health, a page without its security headers, a stream that breaks mid-answer; and a
//! sign-in environment, where a chat without signing in must be refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Run;

/// `xtask smoke ARGS` with no colours and no AWS settings of the caller's.
fn smoke(args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .arg("smoke")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null());
    Run::of(command)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How a stand-in chatbot misbehaves.
#[derive(Clone, Copy, Default)]
struct Faults {
    page_without_headers: bool,
    health_500: bool,
    stream_breaks: bool,
    /// `/api/models` says sign-in is required; `chat_answers` says whether a chat without
    /// signing in is answered anyway.
    sign_in: bool,
    chat_answers_without_sign_in: bool,
}

/// A chatbot stand-in on 127.0.0.1 answering as the real one does, but for its `faults`.
struct StandIn {
    port: u16,
}

impl StandIn {
    fn start(faults: Faults) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || serve(stream, faults));
            }
        });
        StandIn { port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

const SECURITY_HEADERS: &str = "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\nx-content-type-options: nosniff\r\nx-frame-options: DENY\r\nreferrer-policy: strict-origin-when-cross-origin\r\nstrict-transport-security: max-age=63072000; includeSubDomains\r\n";

fn serve(stream: TcpStream, faults: Faults) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut out = stream;
    let parts: Vec<&str> = request_line.split_whitespace().collect();
    let reply = |out: &mut TcpStream, status: &str, headers: &str, body: &str| {
        let _ = write!(
            out,
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    match (parts[0], parts[1]) {
        ("GET", "/") => {
            let headers = if faults.page_without_headers {
                "content-type: text/html; charset=utf-8\r\n".to_owned()
            } else {
                format!("content-type: text/html; charset=utf-8\r\n{SECURITY_HEADERS}")
            };
            reply(
                &mut out,
                "200 OK",
                &headers,
                "<!doctype html><html><title>Chat</title></html>",
            );
        }
        ("GET", "/api/health") if faults.health_500 => reply(
            &mut out,
            "500 Internal Server Error",
            "content-type: application/json\r\n",
            r#"{"error":{"code":"internal_error","message":"the service failed"}}"#,
        ),
        ("GET", "/api/health") => reply(
            &mut out,
            "200 OK",
            "content-type: application/json\r\n",
            r#"{"status":"ok","version":"0.1.0","environment":"dev","demo":false}"#,
        ),
        ("GET", "/api/models") => {
            let auth = if faults.sign_in {
                r#","auth":{"mode":"users"}"#
            } else {
                ""
            };
            reply(
                &mut out,
                "200 OK",
                "content-type: application/json\r\n",
                &format!(
                    r#"{{"default":"amazon.nova-lite-v1:0","models":[{{"id":"amazon.nova-lite-v1:0","name":"Nova Lite"}}],"demo":false{auth}}}"#
                ),
            );
        }
        ("POST", "/api/chat") if faults.sign_in && !faults.chat_answers_without_sign_in => reply(
            &mut out,
            "401 Unauthorized",
            "content-type: application/json\r\n",
            r#"{"error":{"code":"unauthorized","message":"sign in first"}}"#,
        ),
        ("POST", "/api/chat") => {
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: 9f1c2d3e-stand-in\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            );
            let chunk = |out: &mut TcpStream, text: &str| {
                let _ = write!(out, "{:x}\r\n{text}\r\n", text.len());
                let _ = out.flush();
            };
            chunk(
                &mut out,
                "event: meta\ndata: {\"session_id\":\"0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10\",\"model\":\"amazon.nova-lite-v1:0\"}\n\n",
            );
            chunk(&mut out, "event: delta\ndata: {\"text\":\"O\"}\n\n");
            std::thread::sleep(Duration::from_millis(50));
            chunk(&mut out, "event: delta\ndata: {\"text\":\"K\"}\n\n");
            if faults.stream_breaks {
                // The connection drops without ending the chunked body.
                return;
            }
            chunk(
                &mut out,
                "event: done\ndata: {\"usage\":{\"input_tokens\":9,\"output_tokens\":2},\"stop_reason\":\"end_turn\"}\n\n",
            );
            let _ = write!(out, "0\r\n\r\n");
        }
        ("DELETE", _) => reply(&mut out, "204 No Content", "", ""),
        _ => reply(
            &mut out,
            "404 Not Found",
            "content-type: application/json\r\n",
            r#"{"error":{"code":"not_found","message":"there is nothing at this path"}}"#,
        ),
    }
}

/// Smoke against a stand-in with `faults`: exit code 1, the failed checks named in the summary
/// line, and every text of `expect` in the output.
fn check_broken(faults: Faults, failed: &str, expect: &[&str]) {
    let stand_in = StandIn::start(faults);
    let run = smoke(&["--url", &stand_in.url()]);
    run.expect(1, failed).shows(failed);
    for text in expect {
        run.shows(text);
    }
}

#[test]
fn smoke_names_a_500_on_health() {
    check_broken(
        Faults {
            health_500: true,
            ..Faults::default()
        },
        "1 of 4 checks failed: health",
        &[
            "FAIL  health",
            "got 500 (internal_error: the service failed)",
        ],
    );
}

#[test]
fn smoke_names_a_page_without_its_security_headers() {
    check_broken(
        Faults {
            page_without_headers: true,
            ..Faults::default()
        },
        "1 of 4 checks failed: page",
        &[
            "FAIL  page",
            "security headers: content-security-policy missing; x-content-type-options missing",
            "strict-transport-security missing",
        ],
    );
}

#[test]
fn smoke_names_a_stream_that_breaks_mid_answer() {
    check_broken(
        Faults {
            stream_breaks: true,
            ..Faults::default()
        },
        "1 of 4 checks failed: chat",
        &[
            "FAIL  chat",
            "after meta and 2 deltas (2 characters) (request id 9f1c2d3e-stand-in)",
        ],
    );
}

#[test]
fn smoke_names_every_check_when_no_server_answers() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let run = smoke(&["--url", &url]);
    run.expect(1, "no server")
        .shows("4 of 4 checks failed: page, health, models, chat")
        .shows("could not reach 127.0.0.1:");
    let json = smoke(&["--url", &url, "--json"]);
    json.expect(1, "no server, --json");
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(
        report["failed"],
        serde_json::json!(["page", "health", "models", "chat"])
    );
    assert!(
        report["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("Connection refused")
    );
}

#[test]
fn smoke_in_a_sign_in_environment_wants_a_401_for_a_chat_without_signing_in() {
    let refused = StandIn::start(Faults {
        sign_in: true,
        ..Faults::default()
    });
    smoke(&["--url", &refused.url()])
        .expect(0, "sign-in environment refusing")
        .shows("sign-in environment: a chat without signing in is refused with 401")
        .shows("All 4 checks passed");
    check_broken(
        Faults {
            sign_in: true,
            chat_answers_without_sign_in: true,
            ..Faults::default()
        },
        "1 of 4 checks failed: chat",
        &["a chat without signing in must get 401, got 200"],
    );
}

#[test]
fn smoke_usage_errors_exit_2() {
    smoke(&[]).expect(2, "no target").shows("--env");
    smoke(&["--url", "ftp://example.com"])
        .expect(2, "not http")
        .shows("is not an http:// or https:// URL");
}

/// `cargo xtask dev` answering with the Bedrock stand-in, stopped on drop.
struct Dev {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn smoke_passes_against_cargo_xtask_dev_with_the_bedrock_stand_in() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bedrock = runtime
        .block_on(testkit::bedrock::FakeBedrock::start())
        .unwrap();
    let scratch = std::env::temp_dir().join(format!("xtask-smoke-dev-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let log = scratch.join("dev.log");
    let out = std::fs::File::create(&log).unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["run", "--quiet", "--package", "xtask", "--", "dev"])
        .args(["--port", &port.to_string()])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.endpoint())
        .env("AWS_CONFIG_FILE", scratch.join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let mut dev = Dev { child, log, port };
    let deadline = Instant::now() + Duration::from_secs(900);
    while TcpStream::connect(("127.0.0.1", dev.port)).is_err() {
        if let Some(status) = dev.child.try_wait().unwrap() {
            panic!(
                "cargo xtask dev exited with {status}:\n{}",
                std::fs::read_to_string(&dev.log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "cargo xtask dev did not listen");
        std::thread::sleep(Duration::from_millis(200));
    }

    let url = format!("http://127.0.0.1:{port}");
    let run = smoke(&["--url", &url]);
    run.expect(0, "smoke against cargo xtask dev")
        .shows("All 4 checks passed")
        .shows("5 security headers as CloudFront sets them")
        .shows("default us.anthropic.claude-haiku-4-5-20251001-v1:0")
        .shows("us.anthropic.claude-haiku-4-5-20251001-v1:0 answered")
        .hides("offline demo model");
    // The chat went through the Bedrock stand-in, with the environment's default model.
    let calls = bedrock.calls();
    assert!(
        calls.iter().any(
            |c| c.model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
                && c.operation == testkit::bedrock::Operation::ConverseStream
        ),
        "{calls:?}"
    );
    let json = smoke(&["--url", &url, "--json"]);
    json.expect(0, "--json");
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["checks"].as_array().unwrap().len(), 4);
    drop(dev);
}
