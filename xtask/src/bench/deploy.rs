//! The deploy benchmark: a deploy with nothing to change, `cargo xtask deploy` against
//! `sam deploy` of the same template, both against the same local `moto_server`. The template
//! is [`stand_in_template`], the deploy rehearsal's, since moto cannot deploy the real one.
//! xtask skips preflight: moto answers Bedrock's and Lambda's account calls with errors the SDK
//! retries, and `sam deploy` makes no such checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use testkit::moto::{Mode, MotoOptions, MotoServer};

use super::artifact;
use super::report::{Limit, Row};
use crate::digest::sha256_hex;
use crate::{bundle, tools};

/// Median wall times of no-op deploys.
#[derive(Debug, Clone)]
pub struct NoopDeploy {
    pub runs: usize,
    pub xtask: Duration,
    pub sam: Duration,
}

impl NoopDeploy {
    /// How many times faster `cargo xtask deploy` is.
    pub fn ratio(&self) -> f64 {
        self.sam.as_secs_f64() / self.xtask.as_secs_f64().max(1e-9)
    }
}

/// Starts a `moto_server`, deploys `env`'s stack once with a stand-in bundle (moto never runs
/// it) and [`stand_in_template`], then times `runs` deploys with nothing changed by `xtask` (the
/// binary at `xtask_bin`) and by `sam deploy` of the same template to a second stack. Needs moto and SAM
/// (installed into `target/tools/` when missing).
pub fn noop_deploy(xtask_bin: &Path, env_name: &str, runs: usize) -> anyhow::Result<NoopDeploy> {
    let root = tools::project_root();
    let env = crate::env::load(&root, env_name)?;
    let template = stand_in_template("256");
    let work = root.join("target").join("bench").join("deploy");
    std::fs::create_dir_all(&work)?;
    let bundle = work.join("bootstrap.zip");
    std::fs::write(
        &bundle,
        bundle::deterministic_zip(&[("bootstrap", b"#!/bin/sh\n", 0o755)])?,
    )?;
    let template_path = work.join(format!("{env_name}.yaml"));
    std::fs::write(&template_path, &template)?;

    let moto = MotoServer::start_with(MotoOptions {
        binary: tools::ensure(&tools::MOTO_SERVER)?,
        mode: Mode::Threaded,
        log: None,
    })?;
    let moto_endpoint = moto.endpoint();
    let aws_env = |command: &mut Command| {
        command
            .env("AWS_ENDPOINT_URL", &moto_endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", &env.region)
            .env("AWS_REGION", &env.region)
            .env("NO_COLOR", "1")
            .env("SAM_CLI_TELEMETRY", "0")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
    };
    let xtask = || -> anyhow::Result<Duration> {
        let mut command = Command::new(xtask_bin);
        command
            .args([
                "deploy",
                "--env",
                env_name,
                "--yes",
                "--skip-preflight",
                "--artifact",
            ])
            .arg(&bundle)
            .arg("--template")
            .arg(&template_path);
        aws_env(&mut command);
        timed(&mut command)
    };
    xtask().context("the first deploy")?;

    let sam_bin = tools::ensure(&tools::SAM)?;
    let bucket = crate::aws::artifacts::bucket_name("123456789012", &env.region);
    let key = crate::aws::artifacts::bundle_key(&sha256_hex(&std::fs::read(&bundle)?));
    let sam = || -> anyhow::Result<Duration> {
        let mut command = Command::new(&sam_bin);
        command
            .args(["deploy", "--template-file"])
            .arg(&template_path)
            .args(["--stack-name", &format!("{}-sam", env.stack_name)])
            .args(["--s3-bucket", &bucket, "--region", &env.region])
            .args([
                "--capabilities",
                "CAPABILITY_IAM",
                "CAPABILITY_NAMED_IAM",
                "CAPABILITY_AUTO_EXPAND",
            ])
            .args([
                "--parameter-overrides",
                &format!("CodeBucket={bucket}"),
                &format!("CodeKey={key}"),
            ])
            .args([
                "--no-confirm-changeset",
                "--no-fail-on-empty-changeset",
                "--no-progressbar",
            ]);
        aws_env(&mut command);
        timed(&mut command)
    };
    sam().context("the first `sam deploy`")?;

    let mut xtask_times = Vec::new();
    let mut sam_times = Vec::new();
    for _ in 0..runs.max(1) {
        xtask_times.push(xtask()?);
        sam_times.push(sam()?);
    }
    drop(moto);
    Ok(NoopDeploy {
        runs: runs.max(1),
        xtask: median(xtask_times),
        sam: median(sam_times),
    })
}

fn timed(command: &mut Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    let took = started.elapsed();
    if !output.status.success() {
        anyhow::bail!(
            "{command:?} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(took)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A stack of the same shape as the chatbot's, in resources moto executes: the `CodeBucket` and
/// `CodeKey` parameters, a site bucket, a table, a topic, and the outputs deploy reads. moto's
/// API Gateway refuses to deploy the real REST API (its methods come from the OpenAPI body),
/// so the deploy rehearsal and the no-op deploy benchmark use this instead; `memory` changes
/// one property, for an update.
pub fn stand_in_template(memory: &str) -> String {
    format!(
        "AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  CodeBucket:
    Type: String
  CodeKey:
    Type: String
Resources:
  SiteBucket:
    Type: AWS::S3::Bucket
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
  AlarmTopic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: chatbot MemorySize {memory}
Outputs:
  SiteBucketName:
    Value:
      Ref: SiteBucket
  TableName:
    Value:
      Ref: Table
"
    )
}

/// `synth --all` as a user runs it after a build: the xtask binary itself, and through cargo.
pub(super) fn synth_rows(root: &Path, exe: &Path) -> Vec<Row> {
    const GROUP: &str = "deploy";
    let time = |command: &mut Command| -> anyhow::Result<Vec<f64>> {
        let mut samples = Vec::new();
        for round in 0..11 {
            let started = Instant::now();
            let output = command.output().context("could not run synth")?;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            if !output.status.success() {
                bail!(
                    "synth --all --check failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            if round > 0 {
                samples.push(elapsed);
            }
        }
        Ok(samples)
    };
    let mut rows = Vec::new();
    let mut direct = Command::new(exe);
    direct.current_dir(root).args(["synth", "--all", "--check"]);
    rows.push(match time(&mut direct) {
        Ok(samples) => Row::new(
            "deploy.synth",
            GROUP,
            "synth --all --check (xtask binary)",
            "ms",
        )
        .stats(&samples)
        .target("≤ 100 ms", Limit::AtMost(100.0))
        .note("renders every environment and compares it with templates/, writing nothing"),
        Err(err) => Row::not_measured("deploy.synth", GROUP, "synth --all", format!("{err:#}")),
    });
    let mut via_cargo = Command::new(artifact::cargo());
    via_cargo
        .current_dir(root)
        .args(["xtask", "synth", "--all", "--check"]);
    rows.push(match time(&mut via_cargo) {
        Ok(samples) => Row::new(
            "deploy.synth_cargo",
            GROUP,
            "cargo xtask synth --all --check (with cargo's freshness check)",
            "ms",
        )
        .stats(&samples),
        Err(err) => Row::not_measured(
            "deploy.synth_cargo",
            GROUP,
            "cargo xtask synth --all",
            format!("{err:#}"),
        ),
    });
    rows
}

/// A link to the running xtask binary under target/bench, so a rebuild of target/debug/xtask
/// during the run (the folder is shared) cannot pull it away.
pub(super) fn xtask_snapshot(root: &Path) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("the xtask binary's path is unknown")?;
    let exe = match exe.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(_) => bail!("the xtask binary was replaced while this run was going; run it again"),
        None => exe,
    };
    let dir = root.join("target").join("bench").join("bin");
    std::fs::create_dir_all(&dir)?;
    let snapshot = dir.join("xtask");
    let _ = std::fs::remove_file(&snapshot);
    if std::fs::hard_link(&exe, &snapshot).is_err() {
        std::fs::copy(&exe, &snapshot)
            .with_context(|| format!("could not copy {}", exe.display()))?;
    }
    Ok(snapshot)
}

/// A deploy with nothing to change against `sam deploy` of the same template, both against
/// one moto_server (see `deploy.rs`).
pub(super) fn deploy_row(exe: &Path, runs: usize) -> Row {
    let id = "deploy.noop";
    let figure = "no-op cargo xtask deploy vs sam deploy, same stand-in template, same moto";
    match noop_deploy(exe, super::ENVIRONMENT, runs) {
        Ok(times) => Row::new(id, "deploy", figure, "s")
            .value(times.xtask.as_secs_f64())
            .baseline("sam deploy", Some(times.sam.as_secs_f64()))
            .ratio_target("≥ 4×", 4.0)
            .note(format!(
                "medians of {} runs each, after one deploy of each to set the stacks up; \
                 xtask with --skip-preflight (moto has no Bedrock control plane, and sam checks \
                 nothing either)",
                times.runs
            )),
        Err(err) => Row::not_measured(id, "deploy", figure, format!("{err:#}")),
    }
}
