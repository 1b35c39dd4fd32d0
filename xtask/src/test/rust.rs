//! The Rust steps: formatting, lints, dependencies nothing uses, and the workspace's tests.

use super::{cargo, check, reliability};
use crate::tools;

pub(super) fn rustfmt() -> anyhow::Result<String> {
    check(cargo().args(["fmt", "--all", "--check"]))?;
    Ok("formatted".into())
}

pub(super) fn clippy() -> anyhow::Result<String> {
    check(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    Ok("no warnings".into())
}

pub(super) fn cargo_test() -> anyhow::Result<String> {
    // The reliability summary counts only what this run's tests write down.
    reliability::clear_evidence()?;
    let moto = tools::ensure(&tools::MOTO_SERVER)?;
    check(
        cargo()
            .args(["test", "--workspace"])
            .env("CHATBOT_MOTO_SERVER", moto),
    )?;
    Ok("all tests passed".into())
}

/// The crates whose dependencies the unused-dependencies step checks: every crate of the
/// workspace, and the fuzz crate.
const DEPENDENCIES_CHECKED: [&str; 7] = [
    "app", "xtask", "envfile", "contract", "testkit", "bench", "fuzz",
];

/// Dependencies a `Cargo.toml` declares and no code of its crate uses, found by cargo-machete
/// (which reads the sources, so it needs no build), in [`DEPENDENCIES_CHECKED`]; the fuzz
/// crate, a workspace of its own, among them.
pub(super) fn unused_dependencies() -> anyhow::Result<String> {
    let machete = tools::ensure_cargo(&tools::CARGO_MACHETE)?;
    check(
        std::process::Command::new(machete)
            .arg("--with-metadata")
            .args(DEPENDENCIES_CHECKED),
    )?;
    Ok(format!(
        "every dependency of {} is used",
        DEPENDENCIES_CHECKED.join(", ")
    ))
}
