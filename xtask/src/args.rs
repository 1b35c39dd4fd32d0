//! Flags that several tasks take, declared once and flattened into each task's `Args`.

use std::path::PathBuf;

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
        let environment = env::load(&self.root(), &self.env)?;
        for deprecation in &environment.deprecations {
            eprintln!("warning: {deprecation}");
        }
        Ok(environment)
    }
}

/// `--skip-preflight`, shared by `diff` and `deploy`.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct PreflightFlag {
    /// Do not check model access, Lambda concurrency, names and the certificate first
    #[arg(long)]
    pub skip_preflight: bool,
}
