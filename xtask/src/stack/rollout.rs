//! How a new version of the function takes the traffic: at once, or shifted by CodeDeploy
//! with the function's error and throttle alarms as rollback triggers.
//!
//! "all-at-once" renders no deployment preference at all: CloudFormation moves the alias to the
//! new version itself. CodeDeploy's `AllAtOnce` would add an application, a deployment group, a
//! role and a minute per deploy to watch alarms for an instant in which the new version has
//! served nothing.

use super::{add, allow, get_att, ids, trust};
use crate::cfn::resources::serverless::{DeploymentPreference, DeploymentType};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Resource, Template};
use crate::env::{Environment, Rollout};

/// The CodeDeploy configuration of a gradual rollout; `None` for all-at-once.
pub fn deployment_type(rollout: Rollout) -> Option<DeploymentType> {
    match rollout {
        Rollout::AllAtOnce => None,
        Rollout::Canary10Percent5Minutes => Some(DeploymentType::Canary10Percent5Minutes),
        Rollout::Linear10PercentEvery1Minute => Some(DeploymentType::Linear10PercentEvery1Minute),
    }
}

/// The alarms that stop a shift and move the traffic back.
pub const ROLLBACK_ALARMS: [&str; 2] = [ids::FUNCTION_ERRORS_ALARM, ids::FUNCTION_THROTTLES_ALARM];

/// The function's deployment preference.
pub(super) fn deployment_preference(env: &Environment) -> Option<DeploymentPreference> {
    Some(DeploymentPreference {
        kind: deployment_type(env.function.rollout)?,
        alarms: ROLLBACK_ALARMS
            .iter()
            .map(|id| Expr::Ref((*id).to_owned()))
            .collect(),
        role: get_att(ids::CODE_DEPLOY_ROLE, "Arn"),
    })
}

/// CodeDeploy's role for a gradual rollout: move this function's alias and read the two
/// rollback alarms, nothing else (SAM's own role would carry `AWSCodeDeployRoleForLambda`,
/// with every alias, alarm and S3 object of the account).
pub(super) fn add_to(env: &Environment, t: &mut Template) {
    if deployment_type(env.function.rollout).is_none() {
        return;
    }
    let function_arn = get_att(ids::FUNCTION, "Arn");
    let versions_and_aliases = Expr::sub(format!("${{{}.Arn}}:*", ids::FUNCTION));
    add(
        t,
        ids::CODE_DEPLOY_ROLE,
        Resource::new(Properties::Role(Role {
            assume_role_policy_document: trust("codedeploy.amazonaws.com"),
            managed_policy_arns: Vec::new(),
            policies: vec![InlinePolicy {
                policy_name: "shift-traffic".into(),
                policy_document: PolicyDocument::new(vec![
                    allow(
                        "MoveTheLiveAlias",
                        &[
                            "lambda:GetAlias",
                            "lambda:GetProvisionedConcurrencyConfig",
                            "lambda:UpdateAlias",
                        ],
                        vec![function_arn, versions_and_aliases],
                    ),
                    allow(
                        "ReadRollbackAlarms",
                        &["cloudwatch:DescribeAlarms"],
                        ROLLBACK_ALARMS
                            .iter()
                            .map(|id| get_att(id, "Arn"))
                            .collect(),
                    ),
                ]),
            }],
        })),
    );
}
