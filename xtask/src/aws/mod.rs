//! Everything that talks to AWS: the clients, the artifacts bucket, change sets, stack events,
//! gradual rollouts and publishing the site. Clients are built once, by [`connect`], in the
//! tasks' entry points and handed down. Only calls and their conversions into our types live
//! here: what the answers mean is decided in `crate::review`, `crate::preflight` and the
//! tasks.
//!
//! Endpoints follow the SDK's standard chain (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`),
//! which is how tests point the tasks at a local `moto_server`.

pub mod artifacts;
mod call_log;
pub(crate) mod cfn;
pub(crate) mod deployments;
pub(crate) mod drift;
pub mod errors;
pub(crate) mod hotswap;
pub(crate) mod preflight;
pub mod publish;
pub(crate) mod rollout;
pub(crate) mod site;

use aws_config::{BehaviorVersion, Region};

pub use errors::{api_error, is_error};

/// The SDK clients one task uses, all for the environment's region (ACM's for us-east-1, where
/// CloudFront's certificates live).
#[derive(Clone)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub bedrock: aws_sdk_bedrock::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub acm: aws_sdk_acm::Client,
    /// A gradual rollout: CodeDeploy's deployment, the alias's split, the rollback alarms.
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub region: String,
    /// Set when an endpoint URL overrides AWS's (a local server): S3 then uses path-style
    /// addresses, and template URLs point there.
    pub s3_endpoint: Option<String>,
}

/// The region of every certificate CloudFront serves.
pub const CERTIFICATE_REGION: &str = "us-east-1";

/// Builds one service's client from the shared config, with the call log when it is on.
macro_rules! client {
    ($service:ident, $config:expr, $log:expr) => {
        client!($service, $config, $log, |builder| builder)
    };
    ($service:ident, $config:expr, $log:expr, $adjust:expr) => {{
        let mut builder = $service::config::Builder::from($config);
        if let Some(log) = $log {
            builder = builder.interceptor(log.clone());
        }
        $service::Client::from_conf(($adjust)(builder).build())
    }};
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
    let log = call_log::CallLog::from_env();
    let log = log.as_ref();
    let path_style = s3_endpoint.is_some();
    Clients {
        cfn: client!(aws_sdk_cloudformation, &config, log),
        s3: client!(
            aws_sdk_s3,
            &config,
            log,
            |b: aws_sdk_s3::config::Builder| b.force_path_style(path_style)
        ),
        sts: client!(aws_sdk_sts, &config, log),
        cloudfront: client!(aws_sdk_cloudfront, &config, log),
        bedrock: client!(aws_sdk_bedrock, &config, log),
        lambda: client!(aws_sdk_lambda, &config, log),
        acm: client!(
            aws_sdk_acm,
            &config,
            log,
            |b: aws_sdk_acm::config::Builder| b.region(Region::new(CERTIFICATE_REGION))
        ),
        codedeploy: client!(aws_sdk_codedeploy, &config, log),
        cloudwatch: client!(aws_sdk_cloudwatch, &config, log),
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
    Ok(caller(clients).await?.account)
}

/// Who the credentials are: the account and the caller's ARN.
pub struct Caller {
    pub account: String,
    pub arn: String,
}

/// The caller's account and ARN, from STS.
pub async fn caller(clients: &Clients) -> anyhow::Result<Caller> {
    let identity = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| api_error("asking STS who the caller is", e))?;
    Ok(Caller {
        account: identity
            .account
            .ok_or_else(|| anyhow::anyhow!("STS named no account for the caller"))?,
        arn: identity.arn.unwrap_or_default(),
    })
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
