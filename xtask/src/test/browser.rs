//! The browser tests of the chat page (`frontend/tests/`): real headless Chromium, driven by
//! `playwright-core` from npm, against `cargo xtask dev` and the fake Bedrock. A step of
//! `cargo xtask test`; it installs what it needs on first use.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};

use anyhow::{Context, bail};

use crate::tools::browser::prepare_chromium_and_npm;
use crate::tools::npm::ensure_node_modules;
use crate::tools::{self, CHROMIUM, project_root};

/// The test files of `frontend/tests/`: the page, its conversations, its accessibility (axe and
/// screenshots), the Markdown renderer, and sign-in against the local OpenID provider.
const TEST_FILES: [&str; 5] = [
    "browser.test.mjs",
    "conversation.test.mjs",
    "accessibility.test.mjs",
    "markdown.test.mjs",
    "signin.test.mjs",
];

/// Installs Chromium and the npm packages when missing, builds the servers the tests start,
/// runs the tests with node's test runner and returns their pass count.
pub fn run_browser_tests() -> anyhow::Result<String> {
    let root = project_root();
    let tests = prepare_chromium_and_npm()?;
    // The sign-in tests start several `xtask dev --env staging` at once: each would install
    // the provider's packages and moto on first use, so they are installed here first.
    ensure_node_modules(&root.join("dev").join("oidc"), "the local OpenID provider")?;
    tools::ensure(&tools::MOTO_SERVER)?;
    build_servers(&root)?;
    let artifacts = Path::new("target").join("browser-artifacts");
    // Each run's screenshots, findings and server logs only.
    let _ = std::fs::remove_dir_all(root.join(&artifacts));
    std::fs::create_dir_all(root.join(&artifacts))
        .with_context(|| format!("creating {}", artifacts.display()))?;

    let mut child = Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .args(TEST_FILES)
        .current_dir(&tests)
        .env("CHROMIUM_PATH", CHROMIUM.bin)
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start `node`: install Node.js 20 or newer")?;
    let counts = child.stdout.take().map(echo_and_count).unwrap_or_default();
    let status = child.wait().context("waiting for node failed")?;
    match (status.success(), counts.pass, counts.fail) {
        (true, Some(pass), Some(0)) if pass > 0 => Ok(format!(
            "{pass} passed, 0 failed in Chromium (screenshots in {})",
            artifacts.display()
        )),
        (_, Some(pass), Some(fail)) if fail > 0 => bail!(
            "{fail} browser tests failed, {pass} passed (screenshots and server logs in {})",
            artifacts.display()
        ),
        _ => bail!(
            "the browser tests did not finish ({status}); see the output above and {}",
            artifacts.display()
        ),
    }
}

/// Copies node's output to ours, reading the closing counts as they pass.
fn echo_and_count(output: ChildStdout) -> Counts {
    let mut counts = Counts::default();
    let mut echo = std::io::stdout().lock();
    for line in BufReader::new(output).lines().map_while(Result::ok) {
        counts.read(&line);
        let _ = writeln!(echo, "{line}");
    }
    counts
}

/// The closing counts of node's test runner (`ℹ pass 3` from the spec reporter, `# pass 3`
/// from TAP).
#[derive(Default)]
struct Counts {
    pass: Option<u32>,
    fail: Option<u32>,
}

impl Counts {
    fn read(&mut self, line: &str) {
        let mut words = line.trim_start_matches(['ℹ', '#', ' ']).split_whitespace();
        let (Some(name), Some(number), None) = (words.next(), words.next(), words.next()) else {
            return;
        };
        let Ok(number) = number.parse() else { return };
        match name {
            "pass" => self.pass = Some(number),
            "fail" => self.fail = Some(number),
            _ => {}
        }
    }
}

/// The binaries the tests start: `xtask` (for `xtask dev`), the service it runs, and the fake
/// Bedrock.
fn build_servers(root: &Path) -> anyhow::Result<()> {
    let cargo: PathBuf = std::env::var_os("CARGO")
        .unwrap_or_else(|| "cargo".into())
        .into();
    let status = Command::new(cargo)
        .args([
            "build",
            "--package",
            "xtask",
            "--package",
            "chatbot",
            "--package",
            "testkit",
            "--bin",
            "xtask",
            "--bin",
            "chatbot-local",
            "--bin",
            "fake-bedrock",
        ])
        .current_dir(root)
        .status()
        .context("could not run cargo build")?;
    if !status.success() {
        bail!("building the servers for the browser tests failed with {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn reads_the_closing_counts_of_both_reporters() {
        let mut counts = Counts::default();
        for line in [
            "ℹ tests 14",
            "ℹ pass 13",
            "ℹ fail 1",
            "  ok 1 - pass the salt",
        ] {
            counts.read(line);
        }
        assert_eq!((counts.pass, counts.fail), (Some(13), Some(1)));

        let mut counts = Counts::default();
        for line in ["# pass 2", "# fail 0", "# Subtest: fail 3 times"] {
            counts.read(line);
        }
        assert_eq!((counts.pass, counts.fail), (Some(2), Some(0)));
    }
}
