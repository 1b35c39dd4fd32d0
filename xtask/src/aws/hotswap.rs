//! Pushing code straight to the stack's function: UpdateFunctionCode from the artifacts
//! bucket, wait for the update, publish a version, move the alias API Gateway invokes.

use std::time::{Duration, Instant};

use aws_sdk_lambda::types::LastUpdateStatus;

use super::cfn::{Backoff, StackResource};
use super::{Clients, api_error};
use crate::deployments::FunctionVersion;
use crate::hotswap::CodeTarget;

/// How long Lambda may take to take new code (usually a few seconds).
const UPDATE_LIMIT: Duration = Duration::from_secs(300);

/// The deployed function of `target`, by the stack's resources; `None` when the stack has no
/// such Lambda function (a local server that skips SAM functions).
pub fn physical_name(resources: &[StackResource], target: &CodeTarget) -> Option<String> {
    resources
        .iter()
        .find(|r| {
            r.logical_id == target.logical_id
                && r.resource_type == "AWS::Lambda::Function"
                && !r.physical_id.is_empty()
        })
        .map(|r| r.physical_id.clone())
}

/// Refuses an alias that is shifting traffic between two versions (a gradual rollout still
/// running, or stopped half-way): moving it would cut the rollout short.
pub async fn check_alias(clients: &Clients, function: &str, alias: &str) -> anyhow::Result<()> {
    let found = clients
        .lambda
        .get_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await
        .map_err(|e| api_error(&format!("reading alias {alias} of {function}"), e))?;
    if let Some(weights) = found
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .filter(|w| !w.is_empty())
    {
        anyhow::bail!(
            "alias {alias} of {function} splits traffic with version(s) {}: a rollout is under \
             way or was stopped half-way; let it finish or deploy without --hotswap",
            weights.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Gives `function` the code at `bucket/key`, waits until Lambda has it, and when there is an
/// alias publishes a version and points the alias at it.
pub async fn push(
    clients: &Clients,
    function: &str,
    alias: Option<&str>,
    bucket: &str,
    key: &str,
    description: &str,
) -> anyhow::Result<FunctionVersion> {
    let updated = clients
        .lambda
        .update_function_code()
        .function_name(function)
        .s3_bucket(bucket)
        .s3_key(key)
        .send()
        .await
        .map_err(|e| api_error(&format!("updating the code of {function}"), e))?;
    let code_sha256 = updated.code_sha256().map(str::to_owned);
    wait_updated(clients, function).await?;
    let Some(alias) = alias else {
        return Ok(FunctionVersion {
            function_name: function.to_owned(),
            version: None,
            alias: None,
        });
    };
    let published = clients
        .lambda
        .publish_version()
        .function_name(function)
        .set_code_sha256(code_sha256)
        .description(description)
        .send()
        .await
        .map_err(|e| api_error(&format!("publishing a version of {function}"), e))?;
    let version = published
        .version()
        .ok_or_else(|| anyhow::anyhow!("Lambda named no version after publishing {function}"))?
        .to_owned();
    clients
        .lambda
        .update_alias()
        .function_name(function)
        .name(alias)
        .function_version(&version)
        .send()
        .await
        .map_err(|e| {
            api_error(
                &format!("pointing alias {alias} of {function} at version {version}"),
                e,
            )
        })?;
    Ok(FunctionVersion {
        function_name: function.to_owned(),
        version: Some(version),
        alias: Some(alias.to_owned()),
    })
}

/// Waits for `LastUpdateStatus` to leave `InProgress`; `Failed` is an error with Lambda's
/// reason.
async fn wait_updated(clients: &Clients, function: &str) -> anyhow::Result<()> {
    let began = Instant::now();
    let mut backoff = Backoff::new();
    loop {
        let configuration = clients
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| api_error(&format!("reading the state of {function}"), e))?;
        match configuration.last_update_status() {
            Some(LastUpdateStatus::InProgress) if began.elapsed() < UPDATE_LIMIT => {
                backoff.sleep().await
            }
            Some(LastUpdateStatus::InProgress) => anyhow::bail!(
                "Lambda was still updating the code of {function} after {} s",
                UPDATE_LIMIT.as_secs()
            ),
            Some(LastUpdateStatus::Failed) => anyhow::bail!(
                "Lambda could not update the code of {function}: {}",
                configuration
                    .last_update_status_reason()
                    .unwrap_or("it gave no reason")
                    .trim_end_matches('.')
            ),
            _ => return Ok(()),
        }
    }
}
