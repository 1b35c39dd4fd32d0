//! The reliability steps of `cargo xtask test`: the evidence the reliability tests wrote
//! (`testkit::evidence`), added up into one table that must show no 5xx on bad input, no lost
//! user message and no over-admission.

use anyhow::bail;

use crate::tools::project_root;

/// The folder the tests write their facts to: `target/reliability/`.
pub fn evidence_dir() -> std::path::PathBuf {
    project_root().join("target").join("reliability")
}

/// Empties the evidence folder, so only this run's tests count.
pub fn clear_evidence() -> anyhow::Result<()> {
    let dir = evidence_dir();
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(anyhow::Error::new(err).context(format!("emptying {}", dir.display()))),
    }
}

/// Prints the table of what the tests showed; fails when a count that must be zero is not, or
/// when there is no evidence at all.
pub fn summary() -> anyhow::Result<String> {
    let facts = testkit::evidence::read_all(&evidence_dir())?;
    let summary = testkit::evidence::Summary::of(&facts);
    eprint!("{}", summary.table());
    let problems = summary.problems();
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(format!(
        "{} faults, {} bad inputs, {} fuzz runs: 0 5xx on bad input, 0 lost user messages, 0 over-admissions",
        summary.faults_injected, summary.bad_inputs, summary.fuzz_runs
    ))
}
