//! npm packages of a folder of the repository (`package.json` and `package-lock.json`),
//! installed with `npm ci` on first use and again whenever the lock file changes.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// `npm ci` in `dir` when its `node_modules` is missing or was installed from another lock
/// file; `what` names the packages in the message.
pub fn ensure_node_modules(dir: &Path, what: &str) -> anyhow::Result<()> {
    let lock_file = dir.join("package-lock.json");
    let lock =
        std::fs::read(&lock_file).with_context(|| format!("reading {}", lock_file.display()))?;
    let stamp = dir.join("node_modules").join(".installed-from-lock");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    eprintln!("installing {what} (npm ci in {})", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .context("could not start `npm`: install Node.js 20 or newer with npm")?;
    if !status.success() {
        bail!("`npm ci` in {} failed with {status}", dir.display());
    }
    std::fs::write(&stamp, lock).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(())
}
