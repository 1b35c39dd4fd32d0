//! The documented JSON shapes of CloudFormation's answers (DescribeChangeSet,
//! DescribeStackEvents, error responses), as the AWS CLI prints them, and their conversion into
//! the review's own types. `crate::aws` fills the same shapes from the SDK, so both paths share
//! one conversion.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::change_set::{Action, PropertyChange, Recreation, Replacement, ResourceChange};
use super::events::StackEvent;
use super::rollout::RolloutEnd;
use super::status::StackStatus;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeChangeSet {
    pub change_set_id: Option<String>,
    pub stack_name: Option<String>,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub execution_status: Option<String>,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    pub parameter_key: String,
    pub parameter_value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub resource_change: Option<WireResourceChange>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireResourceChange {
    /// What happens to the physical resource: `Retain` keeps a removed one.
    pub policy_action: Option<String>,
    pub action: Option<String>,
    pub logical_resource_id: Option<String>,
    pub physical_resource_id: Option<String>,
    pub resource_type: Option<String>,
    pub replacement: Option<String>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub details: Vec<Detail>,
    pub before_context: Option<String>,
    pub after_context: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Detail {
    pub target: Option<Target>,
    pub evaluation: Option<String>,
    pub change_source: Option<String>,
    pub causing_entity: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub attribute: Option<String>,
    pub name: Option<String>,
    pub requires_recreation: Option<String>,
    pub path: Option<String>,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
    pub attribute_change_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStackEvents {
    #[serde(default)]
    pub stack_events: Vec<WireStackEvent>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireStackEvent {
    pub event_id: String,
    pub stack_name: Option<String>,
    pub logical_resource_id: Option<String>,
    pub physical_resource_id: Option<String>,
    pub resource_type: Option<String>,
    pub timestamp: String,
    pub resource_status: Option<String>,
    pub resource_status_reason: Option<String>,
}

/// `{"Error": {"Type", "Code", "Message"}, "RequestId"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorResponse {
    pub error: ErrorBody,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub code: String,
    pub message: String,
}

impl DescribeChangeSet {
    /// The resource changes, each with its details merged per property.
    pub fn resource_changes(&self) -> Vec<ResourceChange> {
        self.changes
            .iter()
            .filter_map(|change| change.resource_change.as_ref())
            .map(WireResourceChange::to_review)
            .collect()
    }

    /// Parameter values as `name → value`.
    pub fn parameter_values(&self) -> BTreeMap<String, String> {
        self.parameters
            .iter()
            .map(|p| {
                (
                    p.parameter_key.clone(),
                    p.parameter_value.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Whether CloudFormation is still making the change set (`CREATE_PENDING`,
    /// `CREATE_IN_PROGRESS`, and the same while deleting it).
    pub fn is_pending(&self) -> bool {
        let status = self.status.as_deref().unwrap_or("");
        status.ends_with("_PENDING") || status.ends_with("_IN_PROGRESS")
    }

    /// Whether CloudFormation refused the change set only because nothing changes.
    pub fn is_empty_change_set(&self) -> bool {
        self.status.as_deref() == Some("FAILED")
            && self.status_reason.as_deref().is_some_and(|reason| {
                reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
            })
    }
}

impl WireResourceChange {
    fn to_review(&self) -> ResourceChange {
        let action = match self.action.as_deref() {
            Some("Add") => Action::Add,
            Some("Remove") => Action::Remove,
            Some("Import") => Action::Import,
            Some("Dynamic") => Action::Dynamic,
            _ => Action::Modify,
        };
        let replacement = match self.replacement.as_deref() {
            Some("True") => Some(Replacement::True),
            Some("Conditional") => Some(Replacement::Conditional),
            Some("False") => Some(Replacement::False),
            _ => None,
        };
        ResourceChange {
            action,
            logical_id: self.logical_resource_id.clone().unwrap_or_default(),
            physical_id: self.physical_resource_id.clone().filter(|p| !p.is_empty()),
            resource_type: self.resource_type.clone().unwrap_or_default(),
            replacement: if matches!(action, Action::Modify | Action::Dynamic) {
                replacement
            } else {
                None
            },
            details: merge_details(&self.details),
            from_transform: false,
            retained: action == Action::Remove && self.policy_action.as_deref() == Some("Retain"),
        }
    }
}

/// CloudFormation lists a property once per cause (a direct edit, a parameter, another
/// resource) and once per evaluation; a person wants it once.
fn merge_details(details: &[Detail]) -> Vec<PropertyChange> {
    let mut merged: Vec<PropertyChange> = Vec::new();
    let mut static_seen: Vec<bool> = Vec::new();
    for detail in details {
        let Some(target) = &detail.target else {
            continue;
        };
        let attribute = target.attribute.clone().unwrap_or_default();
        let path = match &target.path {
            Some(path) => readable_path(path),
            None => target.name.clone().unwrap_or_default(),
        };
        let recreation = match target.requires_recreation.as_deref() {
            Some("Always") => Some(Recreation::Always),
            Some("Conditionally") => Some(Recreation::Conditionally),
            Some("Never") => Some(Recreation::Never),
            _ => None,
        };
        let cause = match (&detail.change_source, &detail.causing_entity) {
            (Some(source), Some(entity)) if !entity.is_empty() => format!("{source} {entity}"),
            (Some(source), _) => source.clone(),
            (None, _) => String::new(),
        };
        let is_static = detail.evaluation.as_deref() != Some("Dynamic");
        let index = match merged
            .iter()
            .position(|p| p.attribute == attribute && p.path == path)
        {
            Some(index) => index,
            None => {
                merged.push(PropertyChange {
                    attribute,
                    path,
                    change_type: None,
                    before: None,
                    after: None,
                    recreation: None,
                    causes: Vec::new(),
                    dynamic: false,
                });
                static_seen.push(false);
                merged.len() - 1
            }
        };
        let entry = &mut merged[index];
        static_seen[index] |= is_static;
        entry.dynamic = !static_seen[index];
        if entry.change_type.is_none() {
            entry.change_type = target.attribute_change_type.clone();
        }
        if entry.before.is_none() {
            entry.before = target.before_value.clone();
        }
        if entry.after.is_none() {
            entry.after = target.after_value.clone();
        }
        entry.recreation = stronger(entry.recreation, recreation);
        if !cause.is_empty() && !entry.causes.contains(&cause) {
            entry.causes.push(cause);
        }
    }
    merged
}

fn stronger(a: Option<Recreation>, b: Option<Recreation>) -> Option<Recreation> {
    let rank = |r: Option<Recreation>| match r {
        None => 0,
        Some(Recreation::Never) => 1,
        Some(Recreation::Conditionally) => 2,
        Some(Recreation::Always) => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// `/Properties/Environment/Variables/MODEL` → `Environment.Variables.MODEL`,
/// `/Properties/Policies/0/PolicyName` → `Policies[0].PolicyName`.
fn readable_path(path: &str) -> String {
    let mut out = String::new();
    let rest = path.strip_prefix("/Properties").unwrap_or(path);
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        if segment.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}

impl DescribeStackEvents {
    /// The events oldest first (the API answers newest first).
    pub fn oldest_first(&self) -> Vec<StackEvent> {
        self.stack_events
            .iter()
            .rev()
            .map(WireStackEvent::to_review)
            .collect()
    }
}

impl WireStackEvent {
    pub fn to_review(&self) -> StackEvent {
        StackEvent {
            event_id: self.event_id.clone(),
            timestamp: self.timestamp.clone(),
            logical_id: self.logical_resource_id.clone().unwrap_or_default(),
            physical_id: self.physical_resource_id.clone().filter(|p| !p.is_empty()),
            resource_type: self.resource_type.clone().unwrap_or_default(),
            status: StackStatus::parse(self.resource_status.as_deref().unwrap_or_default()),
            reason: self.resource_status_reason.clone(),
        }
    }
}

/// CodeDeploy's GetDeployment answer (JSON, camelCase), the parts a rollout's end is told by.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeployment {
    pub deployment_info: DeploymentInfo,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInfo {
    pub deployment_id: Option<String>,
    pub status: Option<String>,
    pub creator: Option<String>,
    pub error_information: Option<ErrorInformation>,
    pub rollback_info: Option<RollbackInfo>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInformation {
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInfo {
    pub rollback_deployment_id: Option<String>,
    pub rollback_triggering_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
}

impl DeploymentInfo {
    pub fn to_review(&self) -> RolloutEnd {
        let error = self.error_information.clone().unwrap_or_default();
        let rollback = self.rollback_info.clone().unwrap_or_default();
        RolloutEnd {
            deployment_id: self.deployment_id.clone().unwrap_or_default(),
            status: self.status.clone().unwrap_or_default(),
            error_code: error.code.filter(|c| !c.is_empty()),
            error_message: error.message.filter(|m| !m.is_empty()),
            rollback_deployment_id: rollback.rollback_deployment_id,
            rollback_message: rollback.rollback_message,
        }
    }
}
