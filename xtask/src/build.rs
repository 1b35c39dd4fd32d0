//! `cargo xtask build`: the Lambda bundle for an environment's architecture ([`crate::bundle`]).

use std::process::ExitCode;

use crate::args::EnvArgs;
use crate::bundle;
use crate::digest::sha256_hex;

#[derive(clap::Args, Debug)]
#[command(mut_arg("env", |env| env.default_value("dev").required(false)))]
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

#[cfg(test)]
mod tests {
    use super::Args;
    use clap::{Args as _, FromArgMatches};

    fn env_of(argv: &[&str]) -> String {
        let matches = Args::augment_args(clap::Command::new("build"))
            .try_get_matches_from(argv)
            .expect("the flags parse");
        Args::from_arg_matches(&matches)
            .expect("the flags make Args")
            .env
            .env
    }

    #[test]
    fn builds_for_the_dev_environment_unless_told_otherwise() {
        assert_eq!(env_of(&["build"]), "dev");
        assert_eq!(env_of(&["build", "--env", "prod"]), "prod");
    }
}
