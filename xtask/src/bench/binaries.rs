//! The release programs the benchmarks run, and building the harness's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use super::artifact;

/// The release programs the benchmarks run.
pub(super) struct Binaries {
    pub(super) bootstrap: PathBuf,
    pub(super) chatbot_local: PathBuf,
    pub(super) fake_bedrock: PathBuf,
    pub(super) loadgen: PathBuf,
}

impl Binaries {
    pub(super) fn in_folder(dir: &Path) -> Binaries {
        Binaries {
            bootstrap: dir.join("bootstrap"),
            chatbot_local: dir.join("chatbot-local"),
            fake_bedrock: dir.join("fake-bedrock"),
            loadgen: dir.join("loadgen"),
        }
    }

    pub(super) fn check(&self) -> anyhow::Result<()> {
        for bin in [
            &self.bootstrap,
            &self.chatbot_local,
            &self.fake_bedrock,
            &self.loadgen,
        ] {
            if !bin.exists() {
                bail!(
                    "{} is missing: run `cargo xtask bench` without --no-build",
                    bin.display()
                );
            }
        }
        Ok(())
    }
}

/// Host release builds of the harness programs: `chatbot-local` alone (so its features are
/// the service's), the fake Bedrock, the load generator. `bootstrap` comes from the bundles.
pub(super) fn build(root: &Path) -> anyhow::Result<()> {
    let steps: [&[&str]; 3] = [
        &[
            "build",
            "--release",
            "-p",
            "chatbot",
            "--bin",
            "chatbot-local",
        ],
        &[
            "build",
            "--release",
            "-p",
            "testkit",
            "--bin",
            "fake-bedrock",
        ],
        &["build", "--release", "-p", "loadgen"],
    ];
    for step in steps {
        eprintln!("bench: cargo {}", step.join(" "));
        let started = Instant::now();
        let status = Command::new(artifact::cargo())
            .current_dir(root)
            .args(step)
            .status()
            .context("could not run cargo")?;
        if !status.success() {
            bail!("cargo {} failed with {status}", step.join(" "));
        }
        eprintln!("bench: built in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}
