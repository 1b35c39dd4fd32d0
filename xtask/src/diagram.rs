//! `cargo xtask diagram`: writes each environment's architecture diagram under
//! `docs/diagrams/` (`<env>.dot`, `<env>.mmd`, `<env>.svg`) from the stack model, or with
//! `--check` fails when one is stale. What is drawn and how: [`crate::drawing`].

use std::process::ExitCode;

use anyhow::bail;

use crate::args::GeneratedArgs;
use crate::drawing::{DIR, stale_files, stale_message, write};
use crate::tools::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// The environments, and whether to only check their diagrams (a source that differs, or an
    /// SVG not rendered from its DOT)
    #[command(flatten)]
    pub envs: GeneratedArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let names = args.envs.names(&root, "draw")?;
    if args.envs.check {
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
