//! `cargo xtask diagram`: writes each environment's architecture diagram under
//! `docs/diagrams/` (`<env>.dot`, `<env>.mmd`, `<env>.svg`) from the stack model, or with
//! `--check` fails when one is stale. What is drawn and how: [`crate::drawing`].

use std::process::ExitCode;

use anyhow::bail;

use crate::drawing::{DIR, stale_files, stale_message, write};
use crate::env;
use crate::tools::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// The environment to draw (envs/ENV.toml)
    #[arg(long = "env", value_name = "ENV", conflicts_with = "all")]
    pub env: Option<String>,
    /// Draw every environment in envs/
    #[arg(long)]
    pub all: bool,
    /// Write nothing; fail when a source is stale or an SVG was not rendered from its DOT
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let names = match (&args.env, args.all) {
        (Some(name), false) => vec![name.clone()],
        (None, true) => env::names(&root)?,
        _ => bail!("say which environment to draw: --env ENV or --all"),
    };
    if args.check {
        let stale: Vec<String> = names
            .iter()
            .map(|name| stale_files(&root, name))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if !stale.is_empty() {
            bail!("{}", stale_message(&stale));
        }
        for name in &names {
            eprintln!("{DIR}/{name}.{{dot,mmd,svg}}: up to date");
        }
        return Ok(ExitCode::SUCCESS);
    }
    for name in &names {
        let written = write(&root, name)?;
        for file in written {
            eprintln!("{}: written", file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
