//! `cargo xtask build`: the Lambda bundle for an environment's architecture ([`crate::bundle`]).

use std::process::ExitCode;

use crate::args::EnvArgs;
use crate::bundle;
use crate::digest::sha256_hex;

#[derive(clap::Args, Debug)]
#[command(mut_arg("env", |env| env.default_value("dev")))]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env = args.env.load()?;
    let path = bundle::build(env.function.architecture)?;
    let bytes = std::fs::read(&path)?;
    println!(
        "{} ({:.2} MB, sha256 {})",
        path.display(),
        bytes.len() as f64 / 1e6,
        sha256_hex(&bytes)
    );
    Ok(ExitCode::SUCCESS)
}
