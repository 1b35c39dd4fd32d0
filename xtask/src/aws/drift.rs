//! CloudFormation's drift detection: start it, wait for it, read what it found per resource.

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackDriftDetectionStatus;

use super::cfn::Backoff;
use super::errors::describe;
use crate::review::{
    DescribeStackResourceDrifts, DriftCheck, StackResourceDrift, WirePropertyDifference,
};

/// How long detection may take before the check gives up (it usually takes seconds; a stack
/// of a few hundred resources, minutes).
const DETECTION_LIMIT: Duration = Duration::from_secs(300);

/// Runs drift detection on `stack` and reads its results. Never an error: what stops the
/// check (a refused or missing API, a busy stack, a timeout) is the reason it was not checked.
pub async fn check(cfn: &Client, stack: &str) -> DriftCheck {
    match detect(cfn, stack).await {
        Ok(check) => check,
        Err(reason) => DriftCheck::NotChecked { reason },
    }
}

async fn detect(cfn: &Client, stack: &str) -> Result<DriftCheck, String> {
    let started = cfn
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| format!("DetectStackDrift failed: {}", describe(&e)))?;
    let id = started
        .stack_drift_detection_id()
        .ok_or("DetectStackDrift returned no detection id")?
        .to_owned();
    let began = Instant::now();
    let mut backoff = Backoff::new();
    let incomplete = loop {
        let status = cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| format!("DescribeStackDriftDetectionStatus failed: {}", describe(&e)))?;
        match status.detection_status() {
            Some(StackDriftDetectionStatus::DetectionComplete) => break None,
            // Some resources could not be checked; the others' results are there.
            Some(StackDriftDetectionStatus::DetectionFailed) => {
                break Some(
                    status
                        .detection_status_reason()
                        .unwrap_or("CloudFormation gave no reason")
                        .trim()
                        .trim_end_matches('.')
                        .to_owned(),
                );
            }
            _ if began.elapsed() > DETECTION_LIMIT => {
                return Err(format!(
                    "drift detection {id} did not finish within {} minutes",
                    DETECTION_LIMIT.as_secs() / 60
                ));
            }
            _ => backoff.sleep().await,
        }
    };
    let mut answer = DescribeStackResourceDrifts::default();
    let mut token: Option<String> = None;
    loop {
        let page = cfn
            .describe_stack_resource_drifts()
            .stack_name(stack)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| format!("DescribeStackResourceDrifts failed: {}", describe(&e)))?;
        for drift in page.stack_resource_drifts() {
            answer.stack_resource_drifts.push(StackResourceDrift {
                logical_resource_id: drift.logical_resource_id().map(str::to_owned),
                physical_resource_id: drift.physical_resource_id().map(str::to_owned),
                resource_type: drift.resource_type().map(str::to_owned),
                stack_resource_drift_status: drift
                    .stack_resource_drift_status()
                    .map(|s| s.as_str().to_owned()),
                property_differences: drift
                    .property_differences()
                    .iter()
                    .map(|d| WirePropertyDifference {
                        property_path: d.property_path().map(str::to_owned),
                        expected_value: d.expected_value().map(str::to_owned),
                        actual_value: d.actual_value().map(str::to_owned),
                        difference_type: d.difference_type().map(|t| t.as_str().to_owned()),
                    })
                    .collect(),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(DriftCheck::Checked(answer.report(incomplete)))
}
