//! `cargo xtask rollback`: puts an earlier deployment back — its template, its parameters and
//! its code, kept in the artifacts bucket under their content's hash — through a reviewed change
//! set, exactly as `deploy` does (review, confirmation, `--yes`, following, failure report,
//! record). The site's files are left as they are.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::FromArgMatches;

use crate::args::{EnvArgs, PreflightFlag};
use crate::aws::{self, artifacts, deployments as store};
use crate::bundle::Bundle;
use crate::deployments::{self, Artifact, Record};
use crate::digest::sha256_hex;
use crate::plan::Inputs;
use crate::review::{AlarmRouting, Verdict};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
    /// The deployment to put back: an id `cargo xtask status` lists, or its start (the newest
    /// one that differs from the current by default)
    #[arg(long, value_name = "ID")]
    pub to: Option<String>,
    /// Do not ask before executing (for CI)
    #[arg(long)]
    pub yes: bool,
    /// Write the stack's outputs to this file as JSON
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    #[command(flatten)]
    pub preflight: PreflightFlag,
}

/// Records read when looking for the deployment to put back.
const RECORDS_SEARCHED: usize = 100;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env = args.env.load()?;
    let alarms = AlarmRouting::of(&env);
    if alarms.verdict == Verdict::Refuse {
        anyhow::bail!(alarms.message);
    }
    let (target, template, bundle) = aws::runtime()?.block_on(async {
        let clients = aws::connect(&env.region).await;
        let account = aws::caller_account(&clients).await?;
        aws::check_account(&env.name, env.account_id.as_deref(), &account)?;
        let bucket = artifacts::bucket_name(&account, &clients.region);
        let records = store::newest(&clients, &bucket, &env.name, RECORDS_SEARCHED).await?;
        let target = deployments::rollback_target(&env.name, &records, args.to.as_deref())
            .map_err(anyhow::Error::msg)?
            .clone();
        println!("{}", describe(&target, records.first()));
        let template = artifact(&clients, &target, &target.template, "template").await?;
        let bundle = artifact(&clients, &target, &target.code, "code").await?;
        anyhow::Ok((target, template, bundle))
    })?;
    let template = String::from_utf8(template).map_err(|_| {
        anyhow::anyhow!(
            "the template of deployment {} is not text: {} was changed",
            target.id,
            target.template.key
        )
    })?;
    let inputs = Inputs {
        template_name: format!("deployment {}'s template", target.id),
        root: args.env.root(),
        env,
        template,
        bundle: Bundle {
            sha256: sha256_hex(&bundle),
            bytes: bundle,
        },
    };
    let mut deploy_args = deploy_args(&args)?;
    deploy_args.rollback_to = Some(target.id.clone());
    super::run_inputs(&inputs, &deploy_args)
}

/// The line that says what is put back.
fn describe(target: &Record, current: Option<&Record>) -> String {
    format!(
        "Rolling back {} to deployment {} ({} of {}, commit {}, by {}){}",
        target.env,
        target.id,
        target.kind.as_str(),
        target.time,
        target.commit(),
        target.caller_arn,
        current.map_or(String::new(), |c| format!("; the current one is {}", c.id))
    )
}

/// The bytes of one of `record`'s artifacts, checked against the hash it was recorded with.
async fn artifact(
    clients: &aws::Clients,
    record: &Record,
    artifact: &Artifact,
    what: &str,
) -> anyhow::Result<Vec<u8>> {
    let location = format!("s3://{}/{}", artifact.bucket, artifact.key);
    let Some(bytes) = store::get(clients, &artifact.bucket, &artifact.key).await? else {
        anyhow::bail!(
            "the {what} of deployment {} is gone from {location} (deleted, or expired by the \
             artifacts bucket's lifecycle): it cannot be put back; deploy its commit ({}) \
             instead, or roll back to another deployment with --to",
            record.id,
            record.commit()
        );
    };
    if sha256_hex(&bytes) != artifact.sha256 {
        anyhow::bail!(
            "the {what} of deployment {} at {location} is not what was deployed (its SHA-256 \
             differs from the record's): refusing to put it back",
            record.id
        );
    }
    Ok(bytes)
}

/// `deploy`'s flags for this rollback, parsed as `deploy` parses them so each keeps its
/// default.
fn deploy_args(args: &Args) -> anyhow::Result<super::Args> {
    let mut argv: Vec<std::ffi::OsString> =
        vec!["deploy".into(), "--env".into(), args.env.env.clone().into()];
    if let Some(root) = &args.env.root {
        argv.extend(["--root".into(), root.clone().into_os_string()]);
    }
    if args.yes {
        argv.push("--yes".into());
    }
    if args.preflight.skip_preflight {
        argv.push("--skip-preflight".into());
    }
    if let Some(file) = &args.outputs_file {
        argv.extend(["--outputs-file".into(), file.clone().into_os_string()]);
    }
    let command = <super::Args as clap::Args>::augment_args(clap::Command::new("deploy"));
    let matches = command.try_get_matches_from(argv)?;
    Ok(super::Args::from_arg_matches(&matches)?)
}
