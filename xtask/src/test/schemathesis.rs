//! The schemathesis step of `cargo xtask test`: generated requests sent to `chatbot-local`
//! from the API's own OpenAPI document; what it ran goes to the reliability evidence.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use chatbot_contract::env_vars;
use serde_json::{Value, json};

use crate::tools::{self, project_root};

/// What schemathesis reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemathesisCounts {
    /// Test cases generated and sent, over all operations and phases.
    pub cases: u64,
    /// Failed checks (a 5xx, a response unlike the document says).
    pub failures: u64,
    pub operations: u64,
}

/// Runs schemathesis against `chatbot-local` (demo model, memory store, 127.0.0.1, a rate
/// limit no run reaches) with the document the server itself serves at `/api/openapi.json`.
/// Fails on any server error or a response the document does not allow.
pub fn run_schemathesis(examples: u32) -> anyhow::Result<String> {
    let root = project_root();
    let schemathesis = tools::ensure(&tools::SCHEMATHESIS)?;
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--quiet",
            "-p",
            "chatbot",
            "--bin",
            "chatbot-local",
        ])
        .current_dir(&root)
        .status()
        .context("building chatbot-local")?;
    if !status.success() {
        bail!("building chatbot-local exited with {status}");
    }
    let server = LocalServer::start(&root.join("target/debug/chatbot-local"))?;
    let report_dir = root.join("target").join("schemathesis");
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("creating {}", report_dir.display()))?;
    let ndjson = report_dir.join("events.ndjson");
    let _ = std::fs::remove_file(&ndjson);
    let child = Command::new(&schemathesis)
        .arg("run")
        .arg(format!("{}/api/openapi.json", server.base_url))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--report",
            "ndjson",
            "--report-ndjson-path",
        ])
        .arg(&ndjson)
        .arg(format!("--max-examples={}", examples))
        // schemathesis keeps a `.schemathesis/` cache in its working folder.
        .current_dir(&report_dir)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env("NO_COLOR", "1")
        .spawn()
        .with_context(|| format!("running {}", schemathesis.display()))?;
    let status = wait_at_most(child, SCHEMATHESIS_DEADLINE)?;
    drop(server);
    let events = std::fs::read_to_string(&ndjson)
        .with_context(|| format!("reading the schemathesis report {}", ndjson.display()))?;
    let counts = schemathesis_counts(&events)?;
    let failures = if status.success() {
        counts.failures
    } else {
        counts.failures.max(1)
    };
    testkit::evidence::record(
        "schemathesis",
        json!({"kind": "schemathesis", "cases": counts.cases, "failures": failures}),
    );
    if !status.success() {
        bail!(
            "schemathesis failed ({} cases over {} operations, {} failed checks); its events are in {}",
            counts.cases,
            counts.operations,
            counts.failures,
            ndjson.display()
        );
    }
    if counts.cases == 0 {
        bail!("schemathesis ran no test case");
    }
    Ok(format!(
        "{} cases over {} operations: 0 server errors, responses as the document says",
        counts.cases, counts.operations
    ))
}

/// The longest a schemathesis run may take before it counts as failed.
const SCHEMATHESIS_DEADLINE: Duration = Duration::from_secs(240);

/// Waits for `child`, killing it and failing once `deadline` has passed.
fn wait_at_most(mut child: Child, deadline: Duration) -> anyhow::Result<std::process::ExitStatus> {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("waiting for schemathesis")? {
            return Ok(status);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "schemathesis did not finish within {} s",
                deadline.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Adds up schemathesis's NDJSON events: each finished scenario (an operation in one phase)
/// names its operation and lists the cases it ran and the checks that failed.
pub fn schemathesis_counts(ndjson: &str) -> anyhow::Result<SchemathesisCounts> {
    let mut counts = SchemathesisCounts::default();
    let mut operations = std::collections::BTreeSet::new();
    for (number, line) in ndjson.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Value = serde_json::from_str(line)
            .with_context(|| format!("schemathesis event {} is not JSON", number + 1))?;
        let Some(finished) = event.get("ScenarioFinished") else {
            continue;
        };
        if let Some(label) = finished.pointer("/recorder/label").and_then(Value::as_str) {
            operations.insert(label.to_owned());
        }
        let cases = finished
            .pointer("/recorder/cases")
            .and_then(Value::as_object);
        counts.cases += cases.map_or(0, |cases| cases.len() as u64);
        let checks = finished
            .pointer("/recorder/checks")
            .and_then(Value::as_object);
        for checks in checks.into_iter().flat_map(|c| c.values()) {
            for check in checks.as_array().into_iter().flatten() {
                if check
                    .get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("failure"))
                {
                    counts.failures += 1;
                }
            }
        }
    }
    counts.operations = operations.len() as u64;
    Ok(counts)
}

/// `chatbot-local` on a free port of 127.0.0.1; stopped when dropped.
struct LocalServer {
    child: Child,
    base_url: String,
}

impl LocalServer {
    fn start(binary: &Path) -> anyhow::Result<LocalServer> {
        let models = json!([{"id": "demo-model", "name": "Demo"}]).to_string();
        let mut child = Command::new(binary)
            .args(["--demo", "--port", "0"])
            .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
            .env(env_vars::ENVIRONMENT, "schemathesis")
            .env(env_vars::MODELS, models)
            .env(env_vars::DEFAULT_MODEL, "demo-model")
            .env(env_vars::SYSTEM_PROMPT, "Be brief.")
            .env(env_vars::MAX_OUTPUT_TOKENS, "100")
            .env(env_vars::RATE_LIMIT, "1000000")
            .env(env_vars::RATE_WINDOW_SECONDS, "60")
            .env(env_vars::DAILY_TOKEN_BUDGET, "1000000000000")
            .env(env_vars::HISTORY_DAYS, "1")
            .env_remove(env_vars::ORIGIN_SECRET)
            .env_remove(env_vars::TABLE_NAME)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("chatbot-local has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // "chatbot (ENV) on http://127.0.0.1:PORT/  API at ..."
        let base_url = lines.next().and_then(Result::ok).and_then(|line| {
            let start = line.find("http://")?;
            let url = line[start..].split_whitespace().next()?;
            Some(url.trim_end_matches('/').to_owned())
        });
        let Some(base_url) = base_url else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("chatbot-local did not say where it listens");
        };
        // Keep reading its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        std::thread::sleep(Duration::from_millis(100));
        Ok(LocalServer { child, base_url })
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn adds_up_schemathesis_events() {
        let events = [
            json!({"Initialize": {"seed": 1}}),
            json!({"ScenarioFinished": {"recorder": {
                "label": "POST /api/chat",
                "cases": {"a": {}, "b": {}, "c": {}},
                "checks": {"a": [{"name": "not_a_server_error", "status": "success"}],
                           "b": [{"name": "not_a_server_error", "status": "failure"},
                                 {"name": "response_schema_conformance", "status": "failure"}]}
            }}}),
            json!({"ScenarioFinished": {"recorder": {"label": "GET /api/health", "cases": {"d": {}}, "checks": {}}}}),
            json!({"ScenarioFinished": {"recorder": {"label": "POST /api/chat", "cases": {"e": {}}, "checks": {}}}}),
        ];
        let text: String = events.iter().map(|e| format!("{e}\n")).collect();
        assert_eq!(
            schemathesis_counts(&text).unwrap(),
            SchemathesisCounts {
                cases: 5,
                failures: 2,
                operations: 2
            }
        );
        let err = schemathesis_counts("{}\nnot json\n").unwrap_err();
        assert!(format!("{err:#}").contains("event 2"), "{err:#}");
    }
}
