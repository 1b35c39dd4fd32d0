//! What a deploy ships: the bundles `cargo xtask build` makes with cargo-lambda, one per
//! architecture. The cold starts run the `bootstrap` inside this machine's architecture's
//! bundle, and the size rows show both zips against the target.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::report::{Limit, Row};
use crate::env::Architecture;

const GROUP: &str = "artifact";
const ARCHITECTURES: [Architecture; 2] = [Architecture::Arm64, Architecture::X86_64];

/// Each architecture's bundle, or why there is none.
pub struct Bundles {
    pub outcomes: Vec<(Architecture, Result<PathBuf, String>)>,
}

impl Bundles {
    /// Builds both bundles as `cargo xtask build` does, the host's last. A failed build (for
    /// one, a machine that cannot add the other architecture's Rust target) is kept as its
    /// message: the other bundle is still measured.
    pub fn build() -> Bundles {
        let mut order = ARCHITECTURES.to_vec();
        order.sort_by_key(|arch| Some(*arch) == host_architecture());
        let mut outcomes: Vec<_> = order
            .into_iter()
            .map(|arch| {
                eprintln!("bench: cargo xtask build for {}", arch.as_str());
                let built = crate::bundle::build(arch).map_err(|err| format!("{err:#}"));
                (arch, built)
            })
            .collect();
        outcomes.sort_by_key(|(arch, _)| arch.as_str());
        Bundles { outcomes }
    }

    /// The bundles an earlier `cargo xtask build` left in target/lambda.
    pub fn existing() -> Bundles {
        let outcomes = ARCHITECTURES
            .into_iter()
            .map(|arch| {
                let path = crate::bundle::bundle_path(arch);
                let found = if crate::bundle::looks_like_bundle(&path) {
                    Ok(path)
                } else {
                    Err(format!(
                        "{} is missing: run `cargo xtask build` for {} or `cargo xtask bench` without --no-build",
                        path.display(),
                        arch.as_str()
                    ))
                };
                (arch, found)
            })
            .collect();
        Bundles { outcomes }
    }

    /// Writes the `bootstrap` of this machine's architecture's bundle to `dest`, executable.
    pub fn extract_host_bootstrap(&self, dest: &Path) -> anyhow::Result<()> {
        let host = host_architecture().context(
            "this machine is neither x86_64 nor aarch64: Lambda runs neither bundle here",
        )?;
        let bundle = self
            .outcomes
            .iter()
            .find(|(arch, _)| *arch == host)
            .map(|(_, outcome)| outcome.clone())
            .unwrap_or_else(|| Err("not built".into()))
            .map_err(|err| anyhow::anyhow!("no {} bundle to run: {err}", host.as_str()))?;
        let file = std::fs::File::open(&bundle)
            .with_context(|| format!("could not open {}", bundle.display()))?;
        let mut archive = zip::ZipArchive::new(file)
            .with_context(|| format!("{} is not a zip", bundle.display()))?;
        let mut entry = archive
            .by_name("bootstrap")
            .with_context(|| format!("{} holds no bootstrap", bundle.display()))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let _ = std::fs::remove_file(dest);
        std::fs::write(dest, bytes)
            .with_context(|| format!("could not write {}", dest.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(())
    }

    /// The size of each bundle against the target, and of the `bootstrap` inside the host's.
    pub fn rows(&self, host_bootstrap: Option<&Path>) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .outcomes
            .iter()
            .map(|(arch, outcome)| {
                let id = format!("artifact.bundle_{}", arch.as_str());
                let figure = format!("bootstrap-{}.zip (cargo xtask build)", arch.as_str());
                match outcome.as_ref().map(std::fs::metadata) {
                    Ok(Ok(meta)) => Row::new(id, GROUP, figure, "MB")
                        .value(meta.len() as f64 / 1e6)
                        .target("≤ 3 MB", Limit::AtMost(3.0))
                        .note("cargo-lambda with zig, release profile, zopfli's deflate: the zip a deploy uploads"),
                    Ok(Err(err)) => Row::not_measured(id, GROUP, figure, err),
                    Err(err) => Row::not_measured(id, GROUP, figure, err),
                }
            })
            .collect();
        if let Some(binary) = host_bootstrap
            && let Ok(meta) = std::fs::metadata(binary)
        {
            rows.push(
                Row::new(
                    "artifact.binary",
                    GROUP,
                    format!(
                        "bootstrap inside the {} bundle, unzipped",
                        host_architecture()
                            .map(Architecture::as_str)
                            .unwrap_or("host")
                    ),
                    "MB",
                )
                .value(meta.len() as f64 / 1e6),
            );
        }
        rows
    }
}

/// The Lambda architecture this machine can run, if any.
pub fn host_architecture() -> Option<Architecture> {
    match std::env::consts::ARCH {
        "x86_64" => Some(Architecture::X86_64),
        "aarch64" => Some(Architecture::Arm64),
        _ => None,
    }
}

/// Where the bench keeps the `bootstrap` it runs.
pub fn bootstrap_path(root: &Path) -> PathBuf {
    root.join("target")
        .join("bench")
        .join("bin")
        .join("bootstrap")
}
