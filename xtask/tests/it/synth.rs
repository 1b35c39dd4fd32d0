//! `cargo xtask synth`: the checked-in templates are what the environments render (they are
//! the snapshots of the stack), and a stale one fails with a readable diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::synth::{self, Mode, Outcome};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A scratch copy of `envs/` (no templates) under the system's temp folder.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-synth-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("envs")).unwrap();
        for entry in std::fs::read_dir(root().join("envs")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join("envs").join(path.file_name().unwrap())).unwrap();
        }
        Scratch(dir)
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.0.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    fn names(&self) -> Vec<String> {
        xtask::env::names(&self.0).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn checked_in_templates_are_up_to_date() {
    if let Err(err) = synth::check_all(&root()) {
        panic!("{err:#}");
    }
}

#[test]
fn write_then_check_passes_and_a_second_write_changes_nothing() {
    let scratch = Scratch::new("write");
    let names = scratch.names();
    let written = synth::synth(&scratch.0, &names, Mode::Write).unwrap();
    assert!(written.iter().all(|(_, o)| *o == Outcome::Written));
    synth::check_all(&scratch.0).unwrap();
    let again = synth::synth(&scratch.0, &names, Mode::Write).unwrap();
    assert!(again.iter().all(|(_, o)| *o == Outcome::Unchanged));
    // Same bytes as the checked-in templates: rendering depends on nothing but the envs file.
    for name in &names {
        let file = synth::template_path(name);
        let fresh = std::fs::read_to_string(scratch.0.join(&file)).unwrap();
        let checked_in = std::fs::read_to_string(root().join(&file)).unwrap();
        assert!(fresh == checked_in, "{file} differs from a fresh rendering");
    }
}

#[test]
fn an_envs_change_not_rendered_fails_with_a_diff() {
    let scratch = Scratch::new("stale");
    synth::synth(&scratch.0, &scratch.names(), Mode::Write).unwrap();
    scratch.edit("envs/dev.toml", "memory_mb = 256", "memory_mb = 512");
    let err = synth::check_all(&scratch.0).unwrap_err().to_string();
    let mut lines = err.lines();
    assert_eq!(
        lines.next().unwrap(),
        "templates/dev.yaml was not up to date, run `cargo xtask synth --all` and commit"
    );
    assert_eq!(lines.next().unwrap(), "--- a/templates/dev.yaml");
    assert_eq!(lines.next().unwrap(), "+++ b/templates/dev.yaml");
    assert!(
        err.contains("\n-      MemorySize: 256\n+      MemorySize: 512\n"),
        "{err}"
    );
    // Only dev changed.
    assert!(!err.contains("staging.yaml") && !err.contains("prod.yaml"));
}

#[test]
fn a_hand_edited_template_fails_with_a_diff() {
    let scratch = Scratch::new("edited");
    synth::synth(&scratch.0, &scratch.names(), Mode::Write).unwrap();
    scratch.edit(
        "templates/prod.yaml",
        "RetentionInDays: 90",
        "RetentionInDays: 1",
    );
    let err = synth::check_all(&scratch.0).unwrap_err().to_string();
    assert!(err.starts_with(
        "templates/prod.yaml was not up to date, run `cargo xtask synth --all` and commit\n"
    ));
    assert!(
        err.contains("\n-      RetentionInDays: 1\n+      RetentionInDays: 90\n"),
        "{err}"
    );
}

#[test]
fn a_missing_or_orphan_template_fails() {
    let scratch = Scratch::new("orphan");
    synth::synth(&scratch.0, &scratch.names(), Mode::Write).unwrap();
    std::fs::remove_file(scratch.0.join("templates/staging.yaml")).unwrap();
    std::fs::write(scratch.0.join("templates/qa.yaml"), "old").unwrap();
    let err = synth::check_all(&scratch.0).unwrap_err().to_string();
    let first: Vec<&str> = err.lines().take(2).collect();
    assert_eq!(
        first,
        [
            "templates/staging.yaml was not up to date, run `cargo xtask synth --all` and commit",
            "templates/qa.yaml was not up to date, run `cargo xtask synth --all` and commit",
        ]
    );
}

#[test]
fn a_bad_envs_file_stops_synth_with_its_message() {
    let scratch = Scratch::new("bad");
    scratch.edit(
        "envs/staging.toml",
        "retention_days = 30",
        "retention_days = 0",
    );
    let err = synth::synth(&scratch.0, &scratch.names(), Mode::Write).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "envs/staging.toml: logs.retention_days: 0 is not a retention CloudWatch Logs offers"
        ),
        "{err}"
    );
}

fn xtask(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn cli_check_passes_on_the_checked_in_templates() {
    let (ok, stdout, stderr) = xtask(&["synth", "--all", "--check"]);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "templates/dev.yaml: up to date\ntemplates/prod.yaml: up to date\ntemplates/staging.yaml: up to date\n"
    );
}

#[test]
fn cli_needs_an_environment() {
    let (ok, _, stderr) = xtask(&["synth", "--check"]);
    assert!(!ok);
    assert_eq!(
        stderr,
        "error: say which environment to render: --env ENV or --all\n"
    );
    let (ok, _, stderr) = xtask(&["synth", "--env", "qa", "--check"]);
    assert!(!ok);
    assert_eq!(
        stderr,
        "error: no environment `qa`: envs/qa.toml does not exist (environments: dev, prod, staging)\n"
    );
}
