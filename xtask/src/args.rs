//! Flags that several tasks take, declared once and flattened into each task's `Args`.

use std::path::{Path, PathBuf};

use crate::env::{self, Environment};
use crate::tools;

/// `--env ENV` and the hidden `--root DIR`: the environment a task works on.
#[derive(clap::Args, Debug, Clone)]
pub struct EnvArgs {
    /// Environment: envs/ENV.toml
    #[arg(long = "env", value_name = "ENV")]
    pub env: String,
    /// Project folder holding envs/ and frontend/ (the workspace by default)
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

impl EnvArgs {
    /// The project folder: `--root`, or the workspace.
    pub fn root(&self) -> PathBuf {
        self.root.clone().unwrap_or_else(tools::project_root)
    }

    /// Reads and checks `envs/<ENV>.toml`, saying on stderr what in it is deprecated.
    pub fn load(&self) -> anyhow::Result<Environment> {
        load_with_warnings(&self.root(), &self.env)
    }
}

/// Reads and checks `root/envs/<name>.toml`, saying on stderr what in it is deprecated (a key
/// read by its old name).
pub fn load_with_warnings(root: &Path, name: &str) -> anyhow::Result<Environment> {
    let environment = env::load(root, name)?;
    for deprecation in &environment.deprecations {
        eprintln!("warning: {deprecation}");
    }
    Ok(environment)
}

/// `--skip-preflight`, shared by `diff` and `deploy`.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct PreflightFlag {
    /// Do not check model access, Lambda concurrency, names and the certificate first
    #[arg(long)]
    pub skip_preflight: bool,
}

/// `--env ENV` or `--all`, and `--check`: which environments a task that generates checked-in
/// files from them (`synth`, `diagram`) writes, or only checks.
#[derive(clap::Args, Debug, Clone)]
pub struct GeneratedArgs {
    /// One environment: envs/ENV.toml
    #[arg(long = "env", value_name = "ENV", conflicts_with = "all")]
    pub env: Option<String>,
    /// Every environment in envs/
    #[arg(long)]
    pub all: bool,
    /// Write nothing; fail when a checked-in file is not what the environment gives now
    #[arg(long)]
    pub check: bool,
}

impl GeneratedArgs {
    /// The environments named: `--env`'s, or with `--all` every one in `root/envs/`. `verb` is
    /// what the task does, for the error when neither is given.
    pub fn names(&self, root: &Path, verb: &str) -> anyhow::Result<Vec<String>> {
        match (&self.env, self.all) {
            (Some(name), false) => Ok(vec![name.clone()]),
            (None, true) => env::names(root),
            _ => anyhow::bail!("say which environment to {verb}: --env ENV or --all"),
        }
    }
}
