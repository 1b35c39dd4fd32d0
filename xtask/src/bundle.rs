//! The Lambda bundle: `bootstrap` cross-compiled by `cargo lambda build --release` (with zig)
//! and zipped deterministically (fixed timestamp, fixed order, fixed permissions), so the same
//! code gives the same bytes and its SHA-256 can name the S3 key.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::aws::artifacts;
use crate::digest::sha256_hex;
use crate::env::Architecture;
use crate::tools;

/// A Lambda bundle (zip) and its SHA-256.
pub(crate) struct Bundle {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

impl Bundle {
    pub(crate) fn read(path: &Path) -> anyhow::Result<Bundle> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the Lambda bundle {}", path.display()))?;
        Ok(Bundle {
            sha256: sha256_hex(&bytes),
            bytes,
        })
    }

    /// Its content-addressed key in the artifacts bucket.
    pub(crate) fn key(&self) -> String {
        artifacts::bundle_key(&self.sha256)
    }
}

/// Where the bundle for `architecture` is written.
pub fn bundle_path(architecture: Architecture) -> PathBuf {
    tools::project_root()
        .join("target")
        .join("lambda")
        .join(format!("bootstrap-{}.zip", architecture.as_str()))
}

fn rust_target(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

/// Builds `bootstrap` for `architecture` and writes its deterministic zip; returns its path.
pub fn build(architecture: Architecture) -> anyhow::Result<PathBuf> {
    ensure_target(architecture)?;
    let cargo_lambda = tools::ensure(&tools::CARGO_LAMBDA)?;
    let venv_bin = cargo_lambda
        .parent()
        .context("cargo-lambda lives in a venv's bin/")?;
    // zig comes with the venv (PyPI `ziglang`): its bin/ must be on PATH.
    let path = std::env::join_paths(std::iter::once(venv_bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    let root = tools::project_root();
    let mut command = Command::new(&cargo_lambda);
    command
        .args([
            "lambda",
            "build",
            "--release",
            "--package",
            "chatbot",
            "--bin",
            "bootstrap",
        ])
        .arg(match architecture {
            Architecture::X86_64 => "--x86-64",
            Architecture::Arm64 => "--arm64",
        })
        .env("PATH", path)
        .current_dir(&root);
    eprintln!(
        "Building bootstrap for {} with cargo lambda (release, LTO: minutes the first time)",
        architecture.as_str()
    );
    let status = command
        .status()
        .with_context(|| format!("running {}", cargo_lambda.display()))?;
    if !status.success() {
        anyhow::bail!("`cargo lambda build --release` failed with {status}");
    }
    let binary = tools::cargo_target_dir().join("lambda/bootstrap/bootstrap");
    let bytes = std::fs::read(&binary)
        .with_context(|| format!("reading the built binary {}", binary.display()))?;
    let zip = deterministic_zip(&[("bootstrap", &bytes, 0o755)])?;
    let out = bundle_path(architecture);
    std::fs::create_dir_all(out.parent().expect("bundle path has a folder"))?;
    std::fs::write(&out, zip).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// Makes sure rustup can build for `architecture`, or says how to fix it.
fn ensure_target(architecture: Architecture) -> anyhow::Result<()> {
    let target = rust_target(architecture);
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let Ok(installed) = installed else {
        // Without rustup the toolchain is what it is; cargo lambda reports what is missing.
        return Ok(());
    };
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        return Ok(());
    }
    eprintln!("Adding the Rust target {target}");
    let added = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .with_context(|| format!("running rustup target add {target}"))?;
    if !added.success() {
        let other = match architecture {
            Architecture::Arm64 => "x86_64",
            Architecture::X86_64 => "arm64",
        };
        anyhow::bail!(
            "this machine cannot build for {} (rustup could not add {target}): run `rustup \
             target add {target}` where the network allows it, or set architecture = \"{other}\" \
             under [function] in the env file",
            architecture.as_str()
        );
    }
    Ok(())
}

/// zopfli's passes over the data: one writes the x86_64 `bootstrap` about 54 kB (2%) smaller
/// than zlib's level 9, in about 15 s; more passes gain little for their time.
const ZOPFLI_ITERATIONS: i64 = 1;

/// The zip crate's levels above zlib's best select zopfli, with one pass per level above it.
const ZLIB_BEST: i64 = 9;

/// A zip of `files` (name, bytes, unix mode) whose bytes depend only on them: entries in the
/// given order, every timestamp 1980-01-01 00:00:00, deflate written by zopfli with
/// [`ZOPFLI_ITERATIONS`].
pub fn deterministic_zip(files: &[(&str, &[u8], u32)]) -> anyhow::Result<Vec<u8>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, mode) in files {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(ZLIB_BEST + ZOPFLI_ITERATIONS))
            .last_modified_time(DateTime::DEFAULT)
            .unix_permissions(*mode);
        writer.start_file(*name, options)?;
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// Whether `path` is a zip holding an executable `bootstrap` at its root.
pub fn looks_like_bundle(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    zip::ZipArchive::new(file)
        .map(|mut archive| archive.by_name("bootstrap").is_ok())
        .unwrap_or(false)
}
