//! The Lambda artifact: `bootstrap` and its deterministic `bootstrap.zip`, what the release
//! profile does to their size and to cold start, and which crates the trimmed features keep out.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use super::cold_start;
use super::process::Launch;
use super::report::{Limit, Row};

pub const GROUP: &str = "artifact";
const PROFILES_GROUP: &str = "release profile (opt-in: --profiles)";

/// `bootstrap` zipped the way `cargo xtask build` zips it for a deploy.
pub fn zip_bootstrap(binary: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes =
        std::fs::read(binary).with_context(|| format!("could not read {}", binary.display()))?;
    crate::bundle::deterministic_zip(&[("bootstrap", &bytes, 0o755)])
}

/// Sizes of a `bootstrap` given with `--bin-dir` and of its zip, made here as `cargo xtask
/// build` zips it. Not the deployed bundle (see `shipped`), so no target.
pub fn size_rows(binary: &Path) -> Vec<Row> {
    let id = "artifact.given_zip";
    let figure = "bootstrap from --bin-dir, zipped here";
    let size = match std::fs::metadata(binary) {
        Ok(meta) => meta.len(),
        Err(err) => {
            return vec![Row::not_measured(
                id,
                GROUP,
                figure,
                format!("{} is missing: {err}", binary.display()),
            )];
        }
    };
    match zip_bootstrap(binary) {
        Ok(zipped) => vec![
            Row::new("artifact.given_binary", GROUP, "bootstrap from --bin-dir", "MB")
                .value(mb(size)),
            Row::new(id, GROUP, figure, "MB")
                .value(mb(zipped.len() as u64))
                .note("zopfli's deflate, one entry; the deployed bundles come from `cargo xtask build`"),
        ],
        Err(err) => vec![Row::not_measured(id, GROUP, figure, format!("{err:#}"))],
    }
}

/// What the trimmed features keep out of `bootstrap`, read from `cargo tree`.
pub fn feature_rows(root: &Path) -> Vec<Row> {
    let tree = |invert: Option<&str>| -> anyhow::Result<String> {
        let mut command = Command::new(cargo());
        command
            .current_dir(root)
            .args(["tree", "-p", "chatbot", "-e", "normal", "--prefix", "none"]);
        if let Some(package) = invert {
            command.args(["-i", package]);
        }
        let output = command.output().context("could not run cargo tree")?;
        if !output.status.success() {
            bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let mut rows = Vec::new();
    match tree(None) {
        Ok(text) => {
            let mut crates: Vec<&str> = text
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .collect();
            crates.sort_unstable();
            crates.dedup();
            rows.push(
                Row::new(
                    "artifact.crates",
                    GROUP,
                    "crates linked into bootstrap",
                    "crates",
                )
                .value(crates.len() as f64),
            );
            let present = |name: &str| {
                text.lines()
                    .any(|l| l.split_whitespace().next() == Some(name))
            };
            let second_stack: Vec<&str> = ["hyper 0.14", "rustls 0.21", "openssl", "native-tls"]
                .into_iter()
                .filter(|spec| {
                    let mut parts = spec.split(' ');
                    let name = parts.next().unwrap_or_default();
                    let version = parts.next();
                    text.lines().any(|l| {
                        let mut words = l.split_whitespace();
                        words.next() == Some(name)
                            && version.is_none_or(|v| {
                                words
                                    .next()
                                    .is_some_and(|w| w.trim_start_matches('v').starts_with(v))
                            })
                    })
                })
                .collect();
            rows.push(
                Row::new(
                    "artifact.second_tls_stack",
                    GROUP,
                    "crates of a second TLS/HTTP stack (hyper 0.14, rustls 0.21, openssl, native-tls)",
                    "crates",
                )
                .value(second_stack.len() as f64)
                .target("0", Limit::AtMost(0.0))
                .note_if(!second_stack.is_empty(), format!("present: {}", second_stack.join(", "))),
            );
            // Each came in once through a feature bootstrap does not use; see Cargo.toml.
            let tables: Vec<&str> = UNUSED_TABLES.into_iter().filter(|c| present(c)).collect();
            rows.push(
                Row::new(
                    "artifact.unused_tables",
                    GROUP,
                    "crates of Unicode or regex tables bootstrap does not use (regex-automata, regex-syntax, icu_normalizer_data, icu_properties_data)",
                    "crates",
                )
                .value(tables.len() as f64)
                .target("0", Limit::AtMost(0.0))
                .note_if(!tables.is_empty(), format!("present: {}", tables.join(", "))),
            );
            let sources: Vec<&str> = ["aws_lambda_events"]
                .into_iter()
                .filter(|c| present(c))
                .collect();
            if !sources.is_empty() {
                rows.push(
                    Row::new(
                        "artifact.lambda_http_features",
                        GROUP,
                        "lambda_http event sources compiled in",
                        "",
                    )
                    .note(lambda_http_features(root)),
                );
            }
        }
        Err(err) => rows.push(Row::not_measured(
            "artifact.crates",
            GROUP,
            "crates linked into bootstrap",
            format!("{err:#}"),
        )),
    }
    rows
}

/// A regex engine (tracing-subscriber's env-filter, through `lambda_http`'s `tracing`
/// feature) and ICU's normalisation and property data (`url`'s IDNA, unless Cargo.lock pins
/// `idna_adapter` to 1.0, which accepts ASCII host names only: every endpoint bootstrap
/// talks to is one).
const UNUSED_TABLES: [&str; 4] = [
    "regex-automata",
    "regex-syntax",
    "icu_normalizer_data",
    "icu_properties_data",
];

fn lambda_http_features(root: &Path) -> String {
    let output = Command::new(cargo())
        .current_dir(root)
        .args([
            "tree",
            "-p",
            "chatbot",
            "-e",
            "features",
            "-i",
            "lambda_http",
            "--prefix",
            "none",
        ])
        .output();
    let Ok(output) = output else {
        return "cargo tree could not list lambda_http's features".into();
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut features: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("lambda_http feature \""))
        .filter_map(|l| l.split('"').next())
        .filter(|f| *f != "default")
        .collect();
    features.sort_unstable();
    features.dedup();
    format!("lambda_http features: {}", features.join(", "))
}

/// One release-profile variant, given as `--config` overrides of `[profile.release]`.
struct Variant {
    id: &'static str,
    label: &'static str,
    overrides: &'static [&'static str],
}

const VARIANTS: [Variant; 8] = [
    Variant {
        id: "configured",
        label: "as configured (strip, fat LTO, 1 CGU, opt s)",
        overrides: &[],
    },
    Variant {
        id: "no_strip",
        label: "strip = false",
        overrides: &["profile.release.strip=false"],
    },
    Variant {
        id: "thin_lto",
        label: "lto = \"thin\"",
        overrides: &["profile.release.lto=\"thin\""],
    },
    Variant {
        id: "no_lto",
        label: "lto = false",
        overrides: &["profile.release.lto=false"],
    },
    Variant {
        id: "cgu16",
        label: "codegen-units = 16",
        overrides: &["profile.release.codegen-units=16"],
    },
    Variant {
        id: "opt3",
        label: "opt-level = 3",
        overrides: &["profile.release.opt-level=3"],
    },
    Variant {
        id: "optz",
        label: "opt-level = \"z\"",
        overrides: &["profile.release.opt-level=\"z\""],
    },
    Variant {
        id: "panic_abort",
        label: "panic = \"abort\"",
        overrides: &["profile.release.panic=\"abort\""],
    },
];

/// Builds `bootstrap` under each variant in its own target folder and measures size, zip
/// size and cold start with `launch` (whose program is replaced by each variant's binary).
pub async fn profile_rows(root: &Path, launch: &Launch, event: &[u8], runs: usize) -> Vec<Row> {
    let target_dir = root.join("target").join("bench-profiles");
    let logs = super::load::logs_dir(root);
    let mut rows = Vec::new();
    for variant in &VARIANTS {
        let id = |what: &str| format!("profile.{}.{what}", variant.id);
        eprintln!("bench: building bootstrap with {}", variant.label);
        let started = Instant::now();
        let binary = match build_variant(root, &target_dir, variant) {
            Ok(binary) => binary,
            Err(err) => {
                rows.push(Row::not_measured(
                    id("zip"),
                    PROFILES_GROUP,
                    variant.label,
                    format!("{err:#}"),
                ));
                continue;
            }
        };
        let build_seconds = started.elapsed().as_secs_f64();
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let zipped = zip_bootstrap(&binary).map(|z| z.len() as u64).unwrap_or(0);
        rows.push(
            Row::new(
                id("binary"),
                PROFILES_GROUP,
                format!("{}: bootstrap", variant.label),
                "MB",
            )
            .value(mb(size)),
        );
        rows.push(
            Row::new(
                id("zip"),
                PROFILES_GROUP,
                format!("{}: bootstrap.zip", variant.label),
                "MB",
            )
            .value(mb(zipped)),
        );
        let mut launch = launch.clone();
        launch.program = binary;
        let mut first_byte = Vec::new();
        let mut rss = Vec::new();
        let log = logs.join(format!("profile-{}.log", variant.id));
        let mut failure = None;
        for _ in 0..runs + 1 {
            match cold_start::once(&launch, event, &log).await {
                Ok(sample) => {
                    first_byte.push(sample.first_byte_ms);
                    rss.push(sample.peak_rss_mib);
                }
                Err(err) => {
                    failure = Some(format!("{err:#}"));
                    break;
                }
            }
        }
        // The first run warms the page cache and is not counted.
        if !first_byte.is_empty() {
            first_byte.remove(0);
            rss.remove(0);
        }
        let cold = Row::new(
            id("cold_start"),
            PROFILES_GROUP,
            format!("{}: cold start to first byte", variant.label),
            "ms",
        )
        .stats(&first_byte);
        rows.push(match failure {
            Some(err) => cold.note(format!("not measured: {err}")),
            None => cold.note(format!(
                "build took {build_seconds:.0} s (incremental where earlier variants share crates)"
            )),
        });
        rows.push(
            Row::new(
                id("rss"),
                PROFILES_GROUP,
                format!("{}: peak RSS", variant.label),
                "MiB",
            )
            .stats(&rss),
        );
    }
    rows
}

/// Builds in one shared target folder (crates built with the same settings are reused
/// between variants) and copies the binary out, since the next variant overwrites it.
fn build_variant(root: &Path, target_dir: &Path, variant: &Variant) -> anyhow::Result<PathBuf> {
    let mut command = Command::new(cargo());
    command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "chatbot",
            "--bin",
            "bootstrap",
            "--target-dir",
        ])
        .arg(target_dir);
    for value in variant.overrides {
        command.args(["--config", value]);
    }
    let status = command.status().context("could not run cargo build")?;
    if !status.success() {
        bail!("cargo build failed with {status}");
    }
    let kept = target_dir.join("variants").join(variant.id);
    std::fs::create_dir_all(&kept)?;
    let binary = kept.join("bootstrap");
    std::fs::copy(target_dir.join("release").join("bootstrap"), &binary)
        .with_context(|| format!("could not copy the {} build", variant.id))?;
    Ok(binary)
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_is_the_same_bytes_for_the_same_binary_and_holds_an_executable_bootstrap() {
        let dir = std::env::temp_dir().join(format!("bench-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("bootstrap");
        std::fs::write(&binary, b"\x7fELF pretend binary").unwrap();
        let first = zip_bootstrap(&binary).unwrap();
        let second = zip_bootstrap(&binary).unwrap();
        assert_eq!(first, second);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(first)).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
