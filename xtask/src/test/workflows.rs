//! The CI workflows' audit: zizmor, offline.

use std::path::Path;
use std::process::Command;

use super::check;
use crate::tools;

/// The CI workflows hold roles that deploy to AWS: no finding of medium or high severity is
/// allowed. Offline, so no GitHub token is needed or used (the online audits, which look up
/// advisories and tags on GitHub, are skipped).
pub(super) fn zizmor() -> anyhow::Result<String> {
    let bin = tools::ensure(&tools::ZIZMOR)?;
    let workflows = Path::new(".github").join("workflows");
    check(
        Command::new(bin)
            .args(["--offline", "--min-severity", "medium", "--no-progress"])
            .arg(&workflows)
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .env_remove("ZIZMOR_GITHUB_TOKEN"),
    )?;
    Ok(format!(
        "{}: no medium or high findings",
        workflows.display()
    ))
}
