//! `cargo xtask synth`: render `templates/<env>.yaml` from `envs/<env>.toml`.
//!
//! The templates are checked in; `--check` (and a `cargo test` test) fails with a diff when one
//! is stale, so a change to an envs file or to the stack model cannot land without its template.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::args::{GeneratedArgs, load_with_warnings};
use crate::tools::project_root;
use crate::{env, stack};

#[derive(clap::Args)]
pub struct Args {
    /// The environments, and whether to only check their templates (printing a diff)
    #[command(flatten)]
    pub envs: GeneratedArgs,
}

/// Write the templates, or only compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// What happened to one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Written,
    /// Check mode: the file differs from what the environment renders; a unified diff from the
    /// file to the rendering.
    Stale {
        diff: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let names = args.envs.names(&root, "render")?;
    let mode = if args.envs.check {
        Mode::Check
    } else {
        Mode::Write
    };
    let results = synth(&root, &names, mode)?;
    let mut stale = Vec::new();
    for (name, outcome) in &results {
        let file = template_path(name);
        match outcome {
            Outcome::Unchanged => eprintln!("{file}: up to date"),
            Outcome::Written => eprintln!("{file}: written"),
            Outcome::Stale { diff } => {
                print!("{diff}");
                stale.push(file);
            }
        }
    }
    if args.envs.all && mode == Mode::Check {
        for orphan in orphans(&root, &names)? {
            stale.push(orphan.clone());
            eprintln!("{orphan}: no envs file renders it; delete it");
        }
    }
    if !stale.is_empty() {
        bail!("{}", stale_message(&stale));
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders each environment in `names` and writes or compares `root/templates/<name>.yaml`.
pub fn synth(root: &Path, names: &[String], mode: Mode) -> anyhow::Result<Vec<(String, Outcome)>> {
    let mut results = Vec::new();
    for name in names {
        let environment = load_with_warnings(root, name)?;
        let rendered = stack::render(&environment)?;
        let file = template_path(name);
        let path = root.join(&file);
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(err).with_context(|| format!("reading {file}")),
        };
        let outcome = if current.as_deref() == Some(rendered.as_str()) {
            Outcome::Unchanged
        } else {
            match mode {
                Mode::Write => {
                    std::fs::create_dir_all(root.join("templates"))
                        .context("creating templates/")?;
                    std::fs::write(&path, &rendered).with_context(|| format!("writing {file}"))?;
                    Outcome::Written
                }
                Mode::Check => Outcome::Stale {
                    diff: unified_diff(&file, current.as_deref().unwrap_or(""), &rendered),
                },
            }
        };
        results.push((name.clone(), outcome));
    }
    Ok(results)
}

/// Checks every environment's template under `root`: `Ok` when all are up to date, else an
/// error with the diffs and what to run.
pub fn check_all(root: &Path) -> anyhow::Result<()> {
    let names = env::names(root)?;
    let mut stale = Vec::new();
    let mut diffs = String::new();
    for (name, outcome) in synth(root, &names, Mode::Check)? {
        if let Outcome::Stale { diff } = outcome {
            diffs.push_str(&diff);
            stale.push(template_path(&name));
        }
    }
    stale.extend(orphans(root, &names)?);
    if stale.is_empty() {
        Ok(())
    } else {
        bail!("{}\n{diffs}", stale_message(&stale))
    }
}

/// `templates/<name>.yaml`, relative to the root.
pub fn template_path(name: &str) -> String {
    format!("templates/{name}.yaml")
}

fn stale_message(files: &[String]) -> String {
    files
        .iter()
        .map(|file| format!("{file} was not up to date, run `cargo xtask synth --all` and commit"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Templates without an envs file.
fn orphans(root: &Path, names: &[String]) -> anyhow::Result<Vec<String>> {
    let dir = root.join("templates");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "yaml")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            && !names.iter().any(|n| n == stem)
        {
            found.push(template_path(stem));
        }
    }
    found.sort();
    Ok(found)
}

fn unified_diff(file: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string()
}
