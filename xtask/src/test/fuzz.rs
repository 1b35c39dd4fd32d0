//! The fuzzing steps of `cargo xtask test`: the libFuzzer targets in `fuzz/` run for a few
//! seconds each, and schemathesis sends generated requests to `chatbot-local` from the API's
//! own OpenAPI document. Both write what they ran to the reliability evidence.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::tools::{self, project_root};

/// How long each fuzz target runs, and how many cases schemathesis tries per operation.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub fuzz_seconds: u32,
    pub schemathesis_examples: u32,
}

/// One fuzz target's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRun {
    pub target: String,
    pub runs: u64,
    /// Inputs that crashed it, saved under `target/fuzz-artifacts/<target>/`.
    pub crashes: Vec<PathBuf>,
}

/// Builds every target in `fuzz/fuzz_targets/` with cargo-fuzz and runs each for
/// `budget.fuzz_seconds`, from its checked-in seeds in `fuzz/corpus/<target>/`. Fails on any
/// crash, leaving the crashing input in `target/fuzz-artifacts/<target>/`.
pub fn run_fuzz_targets(budget: Budget) -> anyhow::Result<String> {
    let root = project_root();
    let cargo_fuzz = tools::ensure_cargo(&tools::CARGO_FUZZ)?;
    let host = host_triple()?;
    let target_dir = root.join("target").join("fuzz");
    // Stable rustc takes the coverage flags cargo-fuzz passes only with RUSTC_BOOTSTRAP.
    // Unoptimised and without AddressSanitizer (the project's code has no `unsafe`), the
    // SDK-sized dependency tree builds in about 5 minutes instead of 13 on two cores, for a
    // fuzzer about 2.5 times slower per input; `cargo fuzz run` by hand builds the optimised,
    // sanitized one.
    let status = Command::new(&cargo_fuzz)
        .args(["build", "--dev", "--sanitizer", "none", "--target"])
        .arg(&host)
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .status()
        .with_context(|| format!("running {}", cargo_fuzz.display()))?;
    if !status.success() {
        bail!("cargo fuzz build exited with {status}");
    }

    let mut results = Vec::new();
    for target in targets(&root)? {
        let binary = target_dir.join(&host).join("debug").join(&target);
        let result = run_target(&root, &binary, &target, budget.fuzz_seconds)?;
        testkit::evidence::record(
            "fuzz",
            json!({"kind": "fuzz", "target": result.target, "runs": result.runs}),
        );
        eprintln!("  {:<14} {:>10} runs", result.target, result.runs);
        results.push(result);
    }

    let total: u64 = results.iter().map(|r| r.runs).sum();
    let per_target = results
        .iter()
        .map(|r| format!("{} {}", r.target, r.runs))
        .collect::<Vec<_>>()
        .join(", ");
    let crashed: Vec<String> = results
        .iter()
        .flat_map(|r| r.crashes.iter().map(|c| c.display().to_string()))
        .collect();
    if !crashed.is_empty() {
        bail!(
            "libFuzzer found crashes ({per_target} runs); inputs saved: {}",
            crashed.join(", ")
        );
    }
    if total == 0 {
        bail!("no fuzz target ran");
    }
    Ok(format!(
        "libFuzzer, {}s per target: {total} runs ({per_target}), 0 crashes",
        budget.fuzz_seconds
    ))
}

/// The fuzz targets: the files of `fuzz/fuzz_targets/`, sorted.
fn targets(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join("fuzz").join("fuzz_targets");
    let mut targets: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect();
    targets.sort();
    if targets.is_empty() {
        bail!("no fuzz targets in {}", dir.display());
    }
    Ok(targets)
}

fn run_target(root: &Path, binary: &Path, target: &str, seconds: u32) -> anyhow::Result<TargetRun> {
    // New inputs go to a scratch corpus under target/, so the checked-in seeds stay as they are.
    let scratch = root.join("target").join("fuzz-corpus").join(target);
    let artifacts = root.join("target").join("fuzz-artifacts").join(target);
    let seeds = root.join("fuzz").join("corpus").join(target);
    for dir in [&scratch, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let before = files(&artifacts)?;
    let output = Command::new(binary)
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg("-timeout=10")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(&scratch)
        .arg(&seeds)
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let runs = executed_units(&log).unwrap_or(0);
    let crashes: Vec<PathBuf> = files(&artifacts)?
        .into_iter()
        .filter(|file| !before.contains(file))
        .collect();
    if !output.status.success() && crashes.is_empty() {
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "fuzz target {target} exited with {} and saved no input:\n{}",
            output.status,
            tail.join("\n")
        );
    }
    if !crashes.is_empty() {
        eprintln!("{log}");
    }
    Ok(TargetRun {
        target: target.to_owned(),
        runs,
        crashes,
    })
}

/// libFuzzer's `stat::number_of_executed_units` (printed with `-print_final_stats=1`), or its
/// closing `Done N runs` line.
pub fn executed_units(log: &str) -> Option<u64> {
    let stat = log.lines().find_map(|line| {
        line.trim()
            .strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    stat.or_else(|| {
        log.lines().find_map(|line| {
            line.trim()
                .strip_prefix("Done ")
                .and_then(|rest| rest.split_once(" runs"))
                .and_then(|(n, _)| n.parse().ok())
        })
    })
}

fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn host_triple() -> anyhow::Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

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
pub fn run_schemathesis(budget: Budget) -> anyhow::Result<String> {
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
        .arg(format!("--max-examples={}", budget.schemathesis_examples))
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
            .env("CHATBOT_ENVIRONMENT", "schemathesis")
            .env("CHATBOT_MODELS", models)
            .env("CHATBOT_DEFAULT_MODEL", "demo-model")
            .env("CHATBOT_SYSTEM_PROMPT", "Be brief.")
            .env("CHATBOT_MAX_OUTPUT_TOKENS", "100")
            .env("CHATBOT_RATE_LIMIT", "1000000")
            .env("CHATBOT_RATE_WINDOW_SECONDS", "60")
            .env("CHATBOT_DAILY_TOKEN_BUDGET", "1000000000000")
            .env("CHATBOT_HISTORY_DAYS", "1")
            .env_remove("CHATBOT_ORIGIN_SECRET")
            .env_remove("CHATBOT_TABLE_NAME")
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
    use super::*;

    #[test]
    fn reads_the_executed_units_from_libfuzzer_output() {
        let log = "INFO: Seed: 1\n#1024\tpulse  cov: 10\nDone 52345 runs in 20 second(s)\nstat::number_of_executed_units: 52346\nstat::average_exec_per_sec:     2617\n";
        assert_eq!(executed_units(log), Some(52346));
        assert_eq!(executed_units("Done 77 runs in 1 second(s)\n"), Some(77));
        assert_eq!(
            executed_units("==1== ERROR: libFuzzer: deadly signal\n"),
            None
        );
    }

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
