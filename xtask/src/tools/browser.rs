//! What the browser tests and the Markdown benchmark drive pages with: Debian's Chromium
//! ([`super::CHROMIUM`], the tests launch this binary, never a downloaded browser build) and
//! the npm packages of `frontend/tests/` (`npm ci`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::{CHROMIUM, ensure_debian, project_root};

/// Chromium and the npm packages of `frontend/tests/`, installed when missing; returns that
/// folder. The Markdown benchmark needs them too.
pub fn prepare_chromium_and_npm() -> anyhow::Result<PathBuf> {
    let tests = project_root().join("frontend").join("tests");
    ensure_debian(&CHROMIUM)?;
    ensure_node_modules(&tests)?;
    Ok(tests)
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
