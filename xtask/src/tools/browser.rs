//! What the browser tests and the Markdown benchmark drive pages with: Debian's Chromium
//! (installed with apt when missing) and the npm packages of `frontend/tests/` (`npm ci`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::project_root;

/// Debian's Chromium; the tests launch this binary, never a downloaded browser build.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium and the npm packages of `frontend/tests/`, installed when missing; returns that
/// folder. The Markdown benchmark needs them too.
pub fn prepare_chromium_and_npm() -> anyhow::Result<PathBuf> {
    let tests = project_root().join("frontend").join("tests");
    ensure_chromium()?;
    ensure_node_modules(&tests)?;
    Ok(tests)
}

/// Chromium at [`CHROMIUM`], installed with apt when missing (CI runs as root).
fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "Chromium is not installed at {CHROMIUM}, and installing it needs root: run `sudo apt-get install chromium`"
        );
    }
    eprintln!("installing Chromium with apt-get");
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "chromium"][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("could not run apt-get to install Chromium")?;
        if !status.success() {
            bail!("`apt-get {}` failed with {status}", args.join(" "));
        }
    }
    if !Path::new(CHROMIUM).exists() {
        bail!("installing the chromium package did not provide {CHROMIUM}");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}

/// `npm ci` when `node_modules` is missing or was installed from another lock file.
fn ensure_node_modules(tests: &Path) -> anyhow::Result<()> {
    let lock_file = tests.join("package-lock.json");
    let lock =
        std::fs::read(&lock_file).with_context(|| format!("reading {}", lock_file.display()))?;
    let stamp = tests.join("node_modules").join(".installed-from-lock");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    eprintln!("installing the browser tests' npm packages (npm ci)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(tests)
        .status()
        .context("could not start `npm`: install Node.js 20 or newer with npm")?;
    if !status.success() {
        bail!("`npm ci` in {} failed with {status}", tests.display());
    }
    std::fs::write(&stamp, lock).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(())
}

