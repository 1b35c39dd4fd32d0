//! Following a gradual rollout while CloudFormation waits on the alias update: CodeDeploy's
//! deployment, the live alias's traffic split (Lambda's GetAlias) and the rollback alarms
//! (CloudWatch); when the traffic went back, CodeDeploy's reason and the alarm that fired.
//!
//! Watching is a courtesy on top of following the stack: when CodeDeploy, Lambda or CloudWatch
//! cannot be read (a role without those rights), one line says so and the stack's events still
//! tell how the deploy ends.

use std::time::{Duration, SystemTime};

use aws_sdk_codedeploy::types::{DeploymentCreator, TimeRange};
use aws_smithy_types::DateTime;

use super::{Clients, api_error, cfn};
use crate::review::wire::{DeploymentInfo, ErrorInformation, RollbackInfo};
use crate::review::{
    self, AlarmState, Palette, RolloutEnd, RolloutState, StackEvent, StackStatus, render_rollback,
    render_rollout_state,
};
use crate::stack::{ALIAS_NAME, ids};

/// A rollout of one stack update, watched from the moment CloudFormation starts moving the
/// alias.
pub struct RolloutWatch {
    clients: Clients,
    stack: String,
    /// When the deploy started: deployments created before it belong to earlier deploys.
    since: SystemTime,
    /// The configuration as people read it (`canary: 10 % for 5 minutes, then all`).
    config: String,
    palette: Palette,
    stage: Stage,
    last: Option<RolloutState>,
    end: Option<RolloutEnd>,
}

enum Stage {
    /// The alias update has not started.
    Waiting,
    Watching(Targets),
    /// Nothing more to read: finished, or the services could not be read.
    Off,
}

/// The physical names of what a rollout involves, from the stack's resources.
struct Targets {
    function: String,
    application: String,
    group: String,
    /// `(logical ID, alarm name)` of the rollback alarms.
    alarms: Vec<(String, String)>,
    deployment: Option<String>,
}

impl RolloutWatch {
    /// Watches the rollout of `stack` (an id or name) with CodeDeploy configuration
    /// `deployment_type` (`Canary10Percent5Minutes`).
    pub fn new(
        clients: &Clients,
        stack: &str,
        deployment_type: &str,
        since: SystemTime,
        palette: Palette,
    ) -> RolloutWatch {
        RolloutWatch {
            clients: clients.clone(),
            stack: stack.to_owned(),
            since,
            config: review::describe_config(deployment_type),
            palette,
            stage: Stage::Waiting,
            last: None,
            end: None,
        }
    }

    /// Looks at the rollout once `events` show the alias being updated; the lines to print
    /// (one when the split, the status or an alarm changed).
    pub async fn poll(&mut self, events: &[StackEvent]) -> Vec<String> {
        match self.look(events).await {
            Ok(lines) => lines,
            Err(err) => {
                self.stage = Stage::Off;
                vec![format!(
                    "Cannot follow the rollout any more ({err:#}); CloudFormation's events \
                     still tell how it ends"
                )]
            }
        }
    }

    /// After the stack settled: when CodeDeploy moved the traffic back, why (the alarm that
    /// fired, CodeDeploy's error and rollback), as lines to print.
    pub async fn rollback_report(&mut self) -> Option<String> {
        if self.end.is_none() && matches!(self.stage, Stage::Watching(_)) {
            // The stack may have settled between two looks.
            self.poll(&[]).await;
        }
        let end = self.end.as_ref()?;
        if end.succeeded() {
            return None;
        }
        Some(render_rollback(end, self.last.as_ref(), self.palette))
    }

    async fn look(&mut self, events: &[StackEvent]) -> anyhow::Result<Vec<String>> {
        if matches!(self.stage, Stage::Waiting) {
            let moving = events.iter().any(|e| {
                e.logical_id == ids::generated::FUNCTION_ALIAS
                    && e.status == StackStatus::UpdateInProgress
            });
            if !moving {
                return Ok(Vec::new());
            }
            self.stage = Stage::Watching(self.targets().await?);
        }
        let Stage::Watching(targets) = &mut self.stage else {
            return Ok(Vec::new());
        };
        if targets.deployment.is_none() {
            targets.deployment = newest_deployment(&self.clients, targets, self.since).await?;
        }
        let Some(deployment) = targets.deployment.clone() else {
            // CloudFormation has not started it yet.
            return Ok(Vec::new());
        };
        let info = deployment_info(&self.clients, &deployment).await?;
        let (alias_version, weights) = alias_split(&self.clients, &targets.function).await?;
        let alarms = alarm_states(&self.clients, &targets.alarms).await?;
        let (new_version, percent_new) = weights
            .into_iter()
            .next()
            .map(|(version, weight)| (Some(version), weight * 100.0))
            .unwrap_or((None, 0.0));
        let state = RolloutState {
            deployment_id: deployment,
            status: info.status.clone().unwrap_or_default(),
            alias_version,
            new_version,
            percent_new,
            alarms,
        };
        let mut lines = Vec::new();
        if self.last.as_ref() != Some(&state) {
            lines.push(render_rollout_state(&state, &self.config, self.palette));
        }
        if state.is_finished() {
            self.end = Some(info.to_review());
            self.stage = Stage::Off;
        }
        self.last = Some(state);
        Ok(lines)
    }

    async fn targets(&self) -> anyhow::Result<Targets> {
        let resources = cfn::stack_resources(&self.clients.cfn, &self.stack).await?;
        let physical = |logical: &str| {
            resources
                .iter()
                .find(|r| r.logical_id == logical && !r.physical_id.is_empty())
                .map(|r| r.physical_id.clone())
                .ok_or_else(|| anyhow::anyhow!("the stack has no {logical} yet"))
        };
        Ok(Targets {
            function: physical(ids::FUNCTION)?,
            application: physical(ids::generated::DEPLOYMENT_APPLICATION)?,
            group: physical(ids::generated::DEPLOYMENT_GROUP)?,
            alarms: crate::stack::ROLLBACK_ALARMS
                .iter()
                .map(|id| Ok(((*id).to_owned(), physical(id)?)))
                .collect::<anyhow::Result<_>>()?,
            deployment: None,
        })
    }
}

/// The newest deployment of the group made since this deploy started, other than CodeDeploy's
/// own rollbacks.
async fn newest_deployment(
    clients: &Clients,
    targets: &Targets,
    since: SystemTime,
) -> anyhow::Result<Option<String>> {
    // A little before, for the clock difference between here and AWS.
    let start = since.checked_sub(Duration::from_secs(120)).unwrap_or(since);
    let listed = clients
        .codedeploy
        .list_deployments()
        .application_name(&targets.application)
        .deployment_group_name(&targets.group)
        .create_time_range(TimeRange::builder().start(DateTime::from(start)).build())
        .send()
        .await
        .map_err(|e| api_error("listing CodeDeploy's deployments", e))?;
    let mut newest: Option<(DateTime, String)> = None;
    for id in listed.deployments() {
        let answer = clients
            .codedeploy
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .map_err(|e| api_error(&format!("reading deployment {id}"), e))?;
        let Some(info) = answer.deployment_info() else {
            continue;
        };
        if info.creator() == Some(&DeploymentCreator::CodeDeployRollback) {
            continue;
        }
        let created = info
            .create_time()
            .copied()
            .unwrap_or(DateTime::from_secs(0));
        if newest.as_ref().is_none_or(|(time, _)| created > *time) {
            newest = Some((created, id.clone()));
        }
    }
    Ok(newest.map(|(_, id)| id))
}

async fn deployment_info(clients: &Clients, id: &str) -> anyhow::Result<DeploymentInfo> {
    let answer = clients
        .codedeploy
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| api_error(&format!("reading deployment {id}"), e))?;
    let info = answer.deployment_info();
    Ok(DeploymentInfo {
        deployment_id: Some(id.to_owned()),
        status: info.and_then(|i| i.status()).map(|s| s.as_str().to_owned()),
        creator: info
            .and_then(|i| i.creator())
            .map(|c| c.as_str().to_owned()),
        error_information: info
            .and_then(|i| i.error_information())
            .map(|e| ErrorInformation {
                code: e.code().map(|c| c.as_str().to_owned()),
                message: e.message().map(str::to_owned),
            }),
        rollback_info: info.and_then(|i| i.rollback_info()).map(|r| RollbackInfo {
            rollback_deployment_id: r.rollback_deployment_id().map(str::to_owned),
            rollback_triggering_deployment_id: r
                .rollback_triggering_deployment_id()
                .map(str::to_owned),
            rollback_message: r.rollback_message().map(str::to_owned),
        }),
    })
}

/// The version the live alias points at, and the other versions' shares (0 to 1).
async fn alias_split(
    clients: &Clients,
    function: &str,
) -> anyhow::Result<(Option<String>, Vec<(String, f64)>)> {
    let alias = clients
        .lambda
        .get_alias()
        .function_name(function)
        .name(ALIAS_NAME)
        .send()
        .await
        .map_err(|e| api_error(&format!("reading the {ALIAS_NAME} alias"), e))?;
    let mut weights: Vec<(String, f64)> = alias
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(v, w)| (v.clone(), *w)).collect())
        .unwrap_or_default();
    weights.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((alias.function_version().map(str::to_owned), weights))
}

async fn alarm_states(
    clients: &Clients,
    alarms: &[(String, String)],
) -> anyhow::Result<Vec<AlarmState>> {
    let answer = clients
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(alarms.iter().map(|(_, name)| name.clone()).collect()))
        .send()
        .await
        .map_err(|e| api_error("reading the rollback alarms", e))?;
    Ok(alarms
        .iter()
        .map(|(logical_id, name)| {
            let found = answer
                .metric_alarms()
                .iter()
                .find(|a| a.alarm_name() == Some(name.as_str()));
            AlarmState {
                logical_id: logical_id.clone(),
                name: name.clone(),
                state: found
                    .and_then(|a| a.state_value())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "unknown".to_owned()),
                reason: found.and_then(|a| a.state_reason()).map(str::to_owned),
            }
        })
        .collect())
}
