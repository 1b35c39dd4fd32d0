//! Everything that talks to AWS: the clients, the artifacts bucket, change sets, stack events,
//! gradual rollouts and publishing the site. Clients are built once, by [`connect`], in the tasks' entry points
//! and handed down; the rendering of what comes back lives in `crate::review`.
//!
//! Endpoints follow the SDK's standard chain (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`),
//! which is how tests point the tasks at a local `moto_server`.

pub mod artifacts;
pub mod bench;
pub mod cfn;
pub mod follow;
pub mod plan;
pub mod publish;
pub mod rollout;

use std::fmt;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::review::explain_api_error;

/// The SDK clients one task uses, all for the environment's region.
#[derive(Clone)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    /// A gradual rollout: CodeDeploy's deployment, the alias's split, the rollback alarms.
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub region: String,
    /// Set when an endpoint URL overrides AWS's (a local server): S3 then uses path-style
    /// addresses, and template URLs point there.
    pub s3_endpoint: Option<String>,
}

/// Builds the clients from the standard credential and endpoint chain, for `region`.
pub async fn connect(region: &str) -> Clients {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .load()
        .await;
    let s3_endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .filter(|url| !url.is_empty())
        .or_else(|| config.endpoint_url().map(str::to_owned));
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(s3_endpoint.is_some())
        .build();
    Clients {
        cfn: aws_sdk_cloudformation::Client::new(&config),
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        sts: aws_sdk_sts::Client::new(&config),
        cloudfront: aws_sdk_cloudfront::Client::new(&config),
        codedeploy: aws_sdk_codedeploy::Client::new(&config),
        lambda: aws_sdk_lambda::Client::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        region: region.to_owned(),
        s3_endpoint,
    }
}

/// A single-threaded runtime for a task's entry point.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The caller's account, from STS.
pub async fn caller_account(clients: &Clients) -> anyhow::Result<String> {
    let identity = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| api_error("asking STS who the caller is", e))?;
    identity
        .account
        .ok_or_else(|| anyhow::anyhow!("STS named no account for the caller"))
}

/// Refuses credentials of another account than the environment's, when it names one.
pub fn check_account(env_name: &str, wanted: Option<&str>, actual: &str) -> anyhow::Result<()> {
    match wanted {
        Some(wanted) if wanted != actual => anyhow::bail!(
            "the AWS credentials are for account {actual}, but envs/{env_name}.toml says \
             account_id = \"{wanted}\": switch profile (AWS_PROFILE) or fix the file"
        ),
        _ => Ok(()),
    }
}

/// An SDK error as one clear sentence: what we were doing, then AWS's code and message with
/// what to do about it.
pub fn api_error<E>(doing: &str, err: E) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some(code) => anyhow::anyhow!(
            "{doing}: {}",
            explain_api_error(code, err.message().unwrap_or(""))
        ),
        None => match credentials_problem(&err) {
            Some(problem) => anyhow::anyhow!("{doing}: {problem}"),
            None => anyhow::anyhow!("{doing}: {}", DisplayErrorContext(&err)),
        },
    }
}

/// When an SDK error comes from the credential chain (no credentials anywhere, an expired SSO
/// session, a failing `credential_process`), one sentence saying so and how to fix it.
///
/// The SDK reports these as a dispatch failure whose sources end in the credential provider's
/// error; its display texts are the stable part of that chain.
fn credentials_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut causes = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    let at = causes.iter().position(|c| {
        c.contains("credential provider was not enabled")
            || c.contains("credentials provider")
            || c.contains("loading credentials")
            || c.contains("credentials error")
    })?;
    let fix = "set AWS_PROFILE (after `aws sso login --profile …` for an SSO profile) or \
               AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and check them with `aws sts \
               get-caller-identity`";
    if causes[at].contains("not enabled") {
        return Some(format!("no AWS credentials found: {fix}"));
    }
    // The innermost cause is the provider's own words (an expired SSO token, a failing
    // process), kept on one line.
    let detail = causes[at + 1..]
        .last()
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| causes[at].clone());
    // A credential process that printed nothing ends its message with an empty `Stderr:`.
    let detail = detail
        .trim_end_matches("Stderr:")
        .trim()
        .trim_end_matches('.');
    Some(format!(
        "the AWS credentials could not be loaded ({detail}): {fix}"
    ))
}

/// Whether an SDK error carries AWS error `code` and, when given, a message containing `text`.
pub fn is_error<E: ProvideErrorMetadata>(err: &E, code: &str, text: Option<&str>) -> bool {
    err.code() == Some(code) && text.is_none_or(|t| err.message().unwrap_or("").contains(t))
}

/// A short duration as people read it: `850 ms`, `4.2 s`, `2 min 5 s`.
pub struct Elapsed(pub std::time::Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms < 1000 {
            write!(f, "{ms} ms")
        } else if ms < 60_000 {
            write!(f, "{:.1} s", self.0.as_secs_f64())
        } else {
            write!(f, "{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
        }
    }
}
