//! What the browser tests and the Markdown benchmark drive pages with: Debian's Chromium
//! ([`super::CHROMIUM`], the tests launch this binary, never a downloaded browser build) and
//! the npm packages of `frontend/tests/` (`npm ci`).

use std::path::PathBuf;

use super::npm::ensure_node_modules;
use super::{CHROMIUM, ensure_debian, project_root};

/// Chromium and the npm packages of `frontend/tests/`, installed when missing; returns that
/// folder. The Markdown benchmark needs them too.
pub fn prepare_chromium_and_npm() -> anyhow::Result<PathBuf> {
    let tests = project_root().join("frontend").join("tests");
    ensure_debian(&CHROMIUM)?;
    ensure_node_modules(&tests, "the browser tests' npm packages")?;
    Ok(tests)
}
