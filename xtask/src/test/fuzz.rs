//! The fuzz step of `cargo xtask test`: the libFuzzer targets in `fuzz/` run for a few seconds
//! each; what they ran goes to the reliability evidence.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::json;

use crate::tools::{self, project_root};

/// One fuzz target's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRun {
    pub target: String,
    pub runs: u64,
    /// Inputs that crashed it, saved under `target/fuzz-artifacts/<target>/`.
    pub crashes: Vec<PathBuf>,
}

/// Builds every target in `fuzz/fuzz_targets/` with cargo-fuzz and runs each for
/// `seconds`, from its checked-in seeds in `fuzz/corpus/<target>/`. Fails on any
/// crash, leaving the crashing input in `target/fuzz-artifacts/<target>/`.
pub fn run_fuzz_targets(seconds: u32) -> anyhow::Result<String> {
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
        let result = run_target(&root, &binary, &target, seconds)?;
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
        seconds
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
}
