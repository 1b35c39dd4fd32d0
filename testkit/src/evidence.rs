//! Facts the reliability tests write down as they go, for the summary `cargo xtask test`
//! prints: faults injected, bad inputs tried and how they were answered, admissions against
//! their limits.
//!
//! Each call of [`record`] appends one JSON object as a line to
//! `target/reliability/<test>.jsonl` (or to `$CHATBOT_EVIDENCE_DIR/<test>.jsonl`). The fields
//! the summary reads, by `kind`:
//! - `fault`: `fault` (a name), `status`, `code`, `user_message_saved`, `lost` (the user's
//!   message is neither in history nor refused with an error saying so).
//! - `bad_input`: `name`, `status`.
//! - `admission`: `admitted`, `limit` (an over-admission is `admitted > limit`).
//! - `property`: `name`, `cases`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

/// Environment variable naming the folder facts go to instead of `target/reliability`.
pub const DIR_VAR: &str = "CHATBOT_EVIDENCE_DIR";

/// The folder facts are written to.
pub fn dir() -> PathBuf {
    match std::env::var_os(DIR_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("testkit lives one level below the workspace root")
            .join("target")
            .join("reliability"),
    }
}

/// Appends `fact` (a JSON object with a `kind`) to the file of `test`.
///
/// Panics when the file cannot be written: evidence that silently goes missing would make the
/// summary claim less than the tests showed, or nothing at all.
pub fn record(test: &str, fact: Value) {
    static WRITE: Mutex<()> = Mutex::new(());
    assert!(
        fact.get("kind").and_then(Value::as_str).is_some(),
        "a fact needs a kind: {fact}"
    );
    let dir = dir();
    let path = dir.join(format!("{test}.jsonl"));
    let _guard = WRITE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let result = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(format!("{fact}\n").as_bytes())
    });
    if let Err(err) = result {
        panic!("could not write evidence to {}: {err}", path.display());
    }
}

/// Reads every fact in the folder `dir`, from all its `.jsonl` files; lines that are not JSON
/// objects are reported as errors naming file and line.
pub fn read_all(dir: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    use anyhow::Context as _;
    let mut facts = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(facts),
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fact: Value = serde_json::from_str(line)
                .with_context(|| format!("{} line {} is not JSON", file.display(), number + 1))?;
            if !fact.is_object() {
                anyhow::bail!(
                    "{} line {} is not a JSON object",
                    file.display(),
                    number + 1
                );
            }
            facts.push(fact);
        }
    }
    Ok(facts)
}

/// What the facts add up to: the table `cargo xtask test` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Facts read in all.
    pub facts: u64,
    pub faults_injected: u64,
    pub bad_inputs: u64,
    /// Bad inputs answered with a 5xx status (or not answered at all, `status` 0).
    pub server_errors_on_bad_input: u64,
    pub lost_user_messages: u64,
    pub admission_checks: u64,
    /// Requests admitted beyond their limit, summed over the admission checks.
    pub over_admissions: u64,
    pub property_cases: u64,
    pub fuzz_runs: u64,
    pub schemathesis_cases: u64,
    /// Server errors schemathesis found.
    pub schemathesis_failures: u64,
}

impl Summary {
    pub fn of(facts: &[Value]) -> Summary {
        let mut summary = Summary::default();
        let number = |fact: &Value, key: &str| fact.get(key).and_then(Value::as_u64).unwrap_or(0);
        for fact in facts {
            summary.facts += 1;
            match fact.get("kind").and_then(Value::as_str).unwrap_or_default() {
                "fault" => {
                    summary.faults_injected += 1;
                    if fact.get("lost").and_then(Value::as_bool) != Some(false) {
                        summary.lost_user_messages += 1;
                    }
                }
                "bad_input" => {
                    summary.bad_inputs += 1;
                    let status = number(fact, "status");
                    if status >= 500 || status == 0 {
                        summary.server_errors_on_bad_input += 1;
                    }
                }
                "admission" => {
                    summary.admission_checks += 1;
                    let admitted = number(fact, "admitted");
                    let limit = number(fact, "limit");
                    summary.over_admissions += admitted.saturating_sub(limit);
                }
                "property" => summary.property_cases += number(fact, "cases"),
                "fuzz" => summary.fuzz_runs += number(fact, "runs"),
                "schemathesis" => {
                    summary.schemathesis_cases += number(fact, "cases");
                    summary.schemathesis_failures += number(fact, "failures");
                }
                _ => {}
            }
        }
        summary
    }

    /// What makes the evidence fail: a non-zero count that must be zero, or no evidence.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.faults_injected == 0 && self.bad_inputs == 0 && self.admission_checks == 0 {
            problems.push("no reliability evidence was recorded".to_owned());
        }
        if self.server_errors_on_bad_input > 0 {
            problems.push(format!(
                "{} bad inputs were answered with a server error",
                self.server_errors_on_bad_input
            ));
        }
        if self.lost_user_messages > 0 {
            problems.push(format!(
                "{} user messages were lost",
                self.lost_user_messages
            ));
        }
        if self.over_admissions > 0 {
            problems.push(format!(
                "{} requests were admitted over their limit",
                self.over_admissions
            ));
        }
        if self.schemathesis_failures > 0 {
            problems.push(format!(
                "schemathesis found {} server errors",
                self.schemathesis_failures
            ));
        }
        problems
    }

    /// The table, one `name  value` row a line.
    pub fn table(&self) -> String {
        let rows = [
            ("faults injected", self.faults_injected),
            ("bad inputs tried", self.bad_inputs),
            ("5xx on bad input", self.server_errors_on_bad_input),
            ("lost user messages", self.lost_user_messages),
            ("admission checks", self.admission_checks),
            ("over-admissions", self.over_admissions),
            ("property cases", self.property_cases),
            ("fuzz runs", self.fuzz_runs),
            ("schemathesis cases", self.schemathesis_cases),
        ];
        rows.iter()
            .map(|(name, value)| format!("  {name:<20} {value:>9}\n"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adds_up_facts_and_flags_what_must_be_zero() {
        let facts = [
            json!({"kind": "fault", "fault": "throttle", "status": 429, "lost": false}),
            json!({"kind": "fault", "fault": "cut", "status": 200, "lost": true}),
            json!({"kind": "fault", "fault": "no verdict", "status": 200}),
            json!({"kind": "bad_input", "name": "a", "status": 400}),
            json!({"kind": "bad_input", "name": "b", "status": 502}),
            json!({"kind": "admission", "admitted": 10, "limit": 10}),
            json!({"kind": "admission", "admitted": 12, "limit": 10}),
            json!({"kind": "property", "name": "p", "cases": 64}),
            json!({"kind": "fuzz", "target": "t", "runs": 1000}),
        ];
        let summary = Summary::of(&facts);
        assert_eq!(summary.faults_injected, 3);
        assert_eq!(
            summary.lost_user_messages, 2,
            "a fault without a verdict counts as lost"
        );
        assert_eq!(summary.bad_inputs, 2);
        assert_eq!(summary.server_errors_on_bad_input, 1);
        assert_eq!(summary.over_admissions, 2);
        assert_eq!(summary.property_cases, 64);
        assert_eq!(summary.fuzz_runs, 1000);
        assert_eq!(summary.problems().len(), 3, "{:?}", summary.problems());
        assert!(summary.table().contains("over-admissions"));

        assert_eq!(
            Summary::of(&[]).problems(),
            ["no reliability evidence was recorded"]
        );
        let clean = Summary::of(&facts[..1]);
        assert!(clean.problems().is_empty(), "{:?}", clean.problems());
    }

    #[test]
    fn reads_back_what_was_recorded() {
        let dir = std::env::temp_dir().join(format!("evidence-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.jsonl"),
            "{\"kind\":\"bad_input\",\"status\":400}\n\n",
        )
        .unwrap();
        std::fs::write(dir.join("b.jsonl"), "{\"kind\":\"fault\",\"lost\":false}\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let facts = read_all(&dir).unwrap();
        assert_eq!(facts.len(), 2);
        std::fs::write(dir.join("c.jsonl"), "not json\n").unwrap();
        let err = read_all(&dir).unwrap_err();
        assert!(format!("{err:#}").contains("c.jsonl line 1"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            read_all(&dir).unwrap().is_empty(),
            "a missing folder holds no facts"
        );
    }
}
