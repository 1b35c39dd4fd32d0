//! What the tests that run the real `xtask` binary share: the binary set up to reach a local
//! endpoint and nothing of the caller's AWS settings, a stand-in Lambda bundle, the bundles among
//! an artifact bucket's keys, and what a run printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `xtask --root ROOT` (arguments go before it) with test credentials, every AWS endpoint at
/// `endpoint`, no AWS configuration of the caller's, the call log under `root`, no colours and
/// no terminal to confirm on.
pub fn xtask(args: &[&str], root: &Path, endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .arg("--root")
        .arg(root)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", root.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            root.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CHATBOT_AWS_CALL_LOG", root.join("aws-calls.log"))
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_ENDPOINT_URL_CLOUDFORMATION")
        .env_remove("AWS_ENDPOINT_URL_STS")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .stdin(Stdio::null());
    command
}

/// A bundle that is a valid zip with `bootstrap` at its root, written to `root/bootstrap.zip`:
/// no emulator runs the function, and the real one takes minutes to build.
pub fn stand_in_bundle(root: &Path) -> PathBuf {
    let bundle = root.join("bootstrap.zip");
    let zip = xtask::bundle::deterministic_zip(&[("bootstrap", b"#!/bin/sh\n", 0o755)]).unwrap();
    std::fs::write(&bundle, zip).unwrap();
    bundle
}

/// The Lambda bundles among `keys` of the artifact bucket: deploy uploads each under
/// `bootstrap/`.
pub fn bundle_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    keys.into_iter()
        .filter(|key| key.starts_with("bootstrap/"))
        .collect()
}

/// What one run of the binary printed, and how it ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(mut command: Command) -> Run {
        let output = command.output().expect("the xtask binary runs");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn expect(&self, code: i32, what: &str) -> &Run {
        assert_eq!(self.code, Some(code), "{what}: exit code\n{self}");
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("stack backtrace"),
            "{what}: no panic\n{self}"
        );
        self
    }

    pub fn shows(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "expected {text:?} in the output\n{self}"
        );
        self
    }

    pub fn hides(&self, text: &str) -> &Run {
        assert!(
            !self.stdout.contains(text) && !self.stderr.contains(text),
            "did not expect {text:?} in the output\n{self}"
        );
        self
    }

    /// The `error: …` line, which must be the only line on stderr.
    pub fn one_error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr\n{self}");
        assert!(lines[0].starts_with("error: "), "an error line\n{self}");
        assert!(!lines[0].ends_with('.'), "no trailing period\n{self}");
        lines[0]
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        )
    }
}
