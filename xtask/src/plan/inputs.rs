//! What a deploy is made of, resolved before AWS is asked anything: the environment, its
//! template and the Lambda bundle.

use std::path::PathBuf;

use anyhow::Context;

use crate::args::EnvArgs;
use crate::bundle::{self, Bundle};
use crate::env::Environment;

/// What `diff` and `deploy` deploy: an environment, and optionally a prebuilt bundle.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    #[command(flatten)]
    pub env: EnvArgs,
    /// Use this Lambda bundle (a zip) instead of building one
    #[arg(long, value_name = "ZIP", conflicts_with = "no_build")]
    pub artifact: Option<PathBuf>,
    /// Use the bundle the last `cargo xtask build` made instead of building
    #[arg(long)]
    pub no_build: bool,
    /// Deploy this template instead of rendering one from the environment (rehearsals)
    #[arg(long, value_name = "FILE", hide = true)]
    pub template: Option<PathBuf>,
}

/// Everything a deploy is made of.
pub struct Inputs {
    pub env: Environment,
    pub root: PathBuf,
    pub template: String,
    /// How the template is named in the diff header.
    pub template_name: String,
    pub(crate) bundle: Bundle,
}

impl Target {
    /// Renders the template of `env` (the environment `self.env` names, already loaded) and
    /// finds or builds the bundle.
    pub fn resolve(&self, env: Environment) -> anyhow::Result<Inputs> {
        let template = match &self.template {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the template {}", path.display()))?,
            None => crate::stack::render(&env)
                .with_context(|| format!("rendering the template of {}", env.name))?,
        };
        let bundle = match (&self.artifact, self.no_build) {
            (Some(path), _) => {
                if !bundle::looks_like_bundle(path) {
                    anyhow::bail!(
                        "{} is not a Lambda bundle: a zip with `bootstrap` at its root",
                        path.display()
                    );
                }
                Bundle::read(path)?
            }
            (None, true) => {
                let path = bundle::bundle_path(env.function.architecture);
                if !path.is_file() {
                    anyhow::bail!(
                        "--no-build: there is no bundle at {} yet; run `cargo xtask build --env {}` first",
                        path.display(),
                        env.name
                    );
                }
                Bundle::read(&path)?
            }
            (None, false) => Bundle::read(&bundle::build(env.function.architecture)?)?,
        };
        Ok(Inputs {
            template_name: format!("templates/{}.yaml (rendered)", env.name),
            env,
            root: self.env.root(),
            template,
            bundle,
        })
    }
}
