//! `cargo xtask logs`: the real binary against moto's CloudWatch Logs, seeded with the lines the
//! service really writes (`fixtures/logs/function.jsonl`, written by the service's logger in
//! `app/tests/logs.rs`) and API Gateway access lines in the stage's own format.
//!
//! moto implements only part of CloudWatch's filter pattern syntax: a quoted term matches as a
//! substring, a JSON pattern (`{ $.level = "ERROR" }`) matches every event. So what `--errors`
//! shows here is decided by the CLI's own test of each line, which it applies against AWS too;
//! `--request-id` is both a quoted term (which moto applies) and the same test.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_s3::config::{Credentials, Region};
use testkit::moto::MotoServer;

use crate::support::{self, Run};

const FUNCTION_GROUP: &str = "/chatbot/chatbot-dev/function";
const API_GROUP: &str = "/chatbot/chatbot-dev/api-access";

/// The stack's two log groups, as the stack model names them.
const STACK: &str = r#"{
  "Resources": {
    "FunctionLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/chatbot/chatbot-dev/function"}},
    "ApiAccessLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/chatbot/chatbot-dev/api-access"}}
  }
}"#;

fn fixture() -> Vec<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/logs/function.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The request id of the fixture's request that ended in `status`.
fn request_with_status(status: u64) -> String {
    fixture()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["message"] == "request answered" && l["status"] == status)
        .map(|l| l["span"]["request_id"].as_str().unwrap().to_owned())
        .unwrap()
}

/// An access log line as API Gateway writes it with the stage's format.
fn access_line(request_id: &str, status: &str, error_type: &str) -> String {
    let mut line = xtask::stack::ACCESS_LOG_FORMAT.to_owned();
    for (variable, value) in [
        ("$context.requestId", request_id),
        ("$context.identity.sourceIp", "130.176.1.1"),
        ("$context.requestTimeEpoch", "1796306400000"),
        ("$context.httpMethod", "POST"),
        ("$context.resourcePath", "/api/chat"),
        ("$context.status", status),
        ("$context.responseLength", "118"),
        ("$context.responseLatency", "31"),
        ("$context.integrationLatency", "29"),
        ("$context.error.messageString", "-"),
        (
            "$context.error.message",
            if error_type == "-" { "-" } else { "Forbidden" },
        ),
        ("$context.error.responseType", error_type),
        ("$context.integrationErrorMessage", "-"),
        ("$context.apiId", "abc123"),
    ] {
        line = line.replace(variable, value);
    }
    assert!(!line.contains("$context"), "{line}");
    line
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

struct Logged {
    moto: MotoServer,
    root: PathBuf,
    runtime: tokio::runtime::Runtime,
    logs: aws_sdk_cloudwatchlogs::Client,
    cfn: aws_sdk_cloudformation::Client,
}

impl Logged {
    /// moto with envs/dev.toml's stack holding its two log groups, when `stack`.
    fn new(stack: bool) -> Logged {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("xtask-logs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("envs")).unwrap();
        std::fs::copy(
            xtask::tools::project_root().join("envs/dev.toml"),
            root.join("envs/dev.toml"),
        )
        .unwrap();
        let moto = MotoServer::start().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(moto.endpoint())
                .credentials_provider(Credentials::new("test", "test", None, None, "logs"))
                .load(),
        );
        let logged = Logged {
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cfn: aws_sdk_cloudformation::Client::new(&config),
            moto,
            root,
            runtime,
        };
        if stack {
            logged.runtime.block_on(async {
                logged
                    .cfn
                    .create_stack()
                    .stack_name("chatbot-dev")
                    .template_body(STACK)
                    .send()
                    .await
                    .unwrap();
            });
        }
        logged
    }

    /// Puts `lines` into `group`, the first at `first_ms`, one millisecond apart.
    fn seed(&self, group: &str, stream: &str, first_ms: i64, lines: &[String]) {
        self.runtime.block_on(async {
            let _ = self
                .logs
                .create_log_stream()
                .log_group_name(group)
                .log_stream_name(stream)
                .send()
                .await;
            let events = lines
                .iter()
                .enumerate()
                .map(|(i, line)| {
                    InputLogEvent::builder()
                        .timestamp(first_ms + i as i64)
                        .message(line)
                        .build()
                        .unwrap()
                })
                .collect();
            self.logs
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(events))
                .send()
                .await
                .unwrap();
        });
    }

    /// The fixture five minutes ago, and one line three hours ago.
    fn seeded(stack: bool) -> Logged {
        let logged = Logged::new(stack);
        let now = now_ms();
        logged.seed(
            FUNCTION_GROUP,
            "2026/12/03/[$LATEST]old",
            now - 3 * 3_600_000,
            &[r#"{"timestamp":"2026-12-03T11:00:00.000000Z","level":"INFO","message":"an old line","span":{"method":"GET","request_id":"old-request","route":"/api/health","name":"request"}}"#.to_owned()],
        );
        logged.seed(
            FUNCTION_GROUP,
            "2026/12/03/[$LATEST]recent",
            now - 300_000,
            &fixture(),
        );
        logged
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut all = vec!["logs", "--env", "dev"];
        all.extend_from_slice(args);
        support::xtask(&all, &self.root, &self.moto.endpoint())
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args))
    }
}

#[test]
fn logs_show_the_functions_lines_readably_from_the_last_ten_minutes() {
    let logged = Logged::seeded(true);
    let failed = request_with_status(502);
    let run = logged.run(&[]);
    run.expect(0, "logs")
        .shows(&format!("ERROR  {failed}  model call failed  route=POST /api/chat"))
        .shows("attempts=3  error=\"The server encountered an internal error while processing the request.\"  kind=ServerError")
        .shows(&format!(
            "INFO   {failed}  request answered  route=POST /api/chat  elapsed_ms="
        ))
        .shows("status=502")
        .shows("chat turn finished")
        .shows("chat request refused  route=POST /api/chat  code=invalid_request  reason=\"the message is empty\"")
        .hides("an old line")
        .hides("\u{1b}[");
    assert_eq!(run.stdout.lines().count(), fixture().len(), "{run}");
}

#[test]
fn logs_since_reaches_as_far_back_as_asked() {
    let logged = Logged::seeded(true);
    logged
        .run(&["--since", "4h"])
        .expect(0, "--since 4h")
        .shows("old-request  an old line");
    let hour_ago = aws_smithy_types::DateTime::from_millis(now_ms() - 3_600_000)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    logged
        .run(&["--since", &hour_ago])
        .expect(0, "--since an RFC 3339 time")
        .hides("an old line")
        .shows("request answered");
    logged
        .run(&["--since", "2m"])
        .expect(0, "--since 2m: nothing that recent")
        .shows("No log events in /chatbot/chatbot-dev/function since");
    let refused = logged.run(&["--since", "yesterday"]);
    refused
        .expect(2, "a --since that is no time")
        .shows("is not a time");
}

#[test]
fn logs_of_one_request_are_its_lines_only() {
    let logged = Logged::seeded(true);
    let failed = request_with_status(502);
    let expected = fixture().iter().filter(|l| l.contains(&failed)).count();
    let run = logged.run(&["--request-id", &failed]);
    run.expect(0, "--request-id");
    assert_eq!(run.stdout.lines().count(), expected, "{run}");
    assert!(run.stdout.lines().all(|l| l.contains(&failed)), "{run}");
    run.shows("model call failed, retrying").shows("status=502");

    logged
        .run(&["--request-id", "not an id"])
        .expect(2, "a request id with spaces")
        .shows("is not a request id");
}

#[test]
fn logs_errors_are_warnings_errors_and_5xx_answers() {
    let logged = Logged::seeded(true);
    let run = logged.run(&["--errors"]);
    run.expect(0, "--errors")
        .shows("model call failed, retrying")
        .shows("model stream failed")
        .shows("status=502")
        .hides("status=200")
        .hides("status=400")
        .hides("chat turn finished");
    assert!(
        run.stdout
            .lines()
            .all(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("status=502")),
        "{run}"
    );
}

#[test]
fn logs_json_prints_the_raw_events_one_a_line() {
    let logged = Logged::seeded(true);
    let run = logged.run(&["--json"]);
    run.expect(0, "--json");
    let messages: Vec<String> = run
        .stdout
        .lines()
        .map(|l| {
            let event: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(
                event["eventId"].is_string() && event["timestamp"].is_i64(),
                "{l}"
            );
            event["message"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(messages, fixture());
}

#[test]
fn logs_api_reads_the_access_log() {
    let logged = Logged::seeded(true);
    logged.seed(
        API_GROUP,
        "abc123_live",
        now_ms() - 60_000,
        &[
            access_line("5b1f0c2e-6a1d-4a57-9e0e-1d2c3b4a5f60", "200", "-"),
            access_line(
                "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b",
                "403",
                "INVALID_API_KEY",
            ),
            access_line("1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "502", "-"),
        ],
    );
    let run = logged.run(&["--api"]);
    run.expect(0, "--api")
        .shows("INFO   5b1f0c2e-6a1d-4a57-9e0e-1d2c3b4a5f60  POST /api/chat 200  latency_ms=31")
        .shows("WARN   0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b  POST /api/chat 403")
        .shows("error_type=INVALID_API_KEY")
        .hides("request answered");
    logged
        .run(&["--api", "--errors"])
        .expect(0, "--api --errors")
        .shows("POST /api/chat 502")
        .shows("POST /api/chat 403")
        .hides("POST /api/chat 200");
}

#[test]
fn logs_follow_shows_new_events_once_and_ends_on_ctrl_c() {
    let logged = Logged::seeded(true);
    let mut child = logged
        .command(&["--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut seen = Vec::new();
    let wait_for = |text: &str, seen: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !seen.iter().any(|l: &String| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("{text:?} never came; saw:\n{}", seen.join("\n")),
            }
        }
    };
    wait_for("chat turn finished", &mut seen);
    let late = r#"{"timestamp":"2026-12-03T15:00:00.000000Z","level":"WARN","message":"a line written while following","span":{"method":"POST","request_id":"live-request","route":"/api/chat","name":"request"}}"#;
    logged.seed(
        FUNCTION_GROUP,
        "2026/12/03/[$LATEST]live",
        now_ms(),
        &[late.to_owned()],
    );
    wait_for("a line written while following", &mut seen);
    // Two more polls: the new line stays shown once.
    std::thread::sleep(Duration::from_secs(5));
    seen.extend(lines.try_iter());
    assert_eq!(
        seen.iter()
            .filter(|l| l.contains("a line written while following"))
            .count(),
        1,
        "{}",
        seen.join("\n")
    );
    assert_eq!(seen.len(), fixture().len() + 1, "{}", seen.join("\n"));

    let interrupted = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
}

#[test]
fn logs_explain_a_missing_stack_and_a_missing_log_group() {
    let logged = Logged::new(false);
    let run = logged.run(&[]);
    run.expect(1, "no stack");
    assert!(
        run.one_error_line()
            .contains("stack chatbot-dev does not exist in us-east-1, so it has no logs"),
        "{run}"
    );

    let logged = Logged::new(true);
    logged.runtime.block_on(async {
        logged
            .logs
            .delete_log_group()
            .log_group_name(FUNCTION_GROUP)
            .send()
            .await
            .unwrap();
    });
    let run = logged.run(&[]);
    run.expect(1, "no log group");
    assert!(
        run.one_error_line()
            .contains("log group /chatbot/chatbot-dev/function does not exist"),
        "{run}"
    );
    // A log group that exists but holds nothing yet: said, and not a failure.
    logged
        .run(&["--api"])
        .expect(0, "an empty log group")
        .shows("No log events in /chatbot/chatbot-dev/api-access since");
}
