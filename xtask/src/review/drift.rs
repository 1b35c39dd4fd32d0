//! Drift: resources changed outside CloudFormation, as CloudFormation's drift detection finds
//! them (DetectStackDrift, then DescribeStackResourceDrifts), with the properties that differ.
//! A drift check that could not run says why; it never passes for "in sync".

use serde::{Deserialize, Serialize};

use super::{Palette, shorten};

/// What drift detection found, or why it did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftCheck {
    Checked(DriftReport),
    /// The API refused or is missing (a local server), the stack is busy, detection timed out.
    NotChecked {
        reason: String,
    },
    /// `--no-drift`, or no stack to check.
    Skipped {
        reason: String,
    },
}

/// The stack's resources as drift detection saw them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DriftReport {
    pub resources: Vec<ResourceDrift>,
    /// Detection ended in DETECTION_FAILED: some resources could not be checked, and why.
    pub incomplete: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub status: DriftStatus,
    pub differences: Vec<PropertyDifference>,
}

/// `StackResourceDriftStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftStatus {
    InSync,
    Modified,
    Deleted,
    /// CloudFormation does not check this resource type (or did not get to it).
    NotChecked,
    /// A status this version does not know, as AWS wrote it.
    Other(String),
}

/// One property whose live value is not the template's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDifference {
    /// A JSON pointer into the resource's properties: `/MemorySize`, `/Tags/0/Value`.
    pub path: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// `ADD` (only live), `REMOVE` (only in the template), `NOT_EQUAL`.
    pub kind: String,
}

impl DriftStatus {
    pub fn parse(text: &str) -> DriftStatus {
        match text {
            "IN_SYNC" => DriftStatus::InSync,
            "MODIFIED" => DriftStatus::Modified,
            "DELETED" => DriftStatus::Deleted,
            "NOT_CHECKED" => DriftStatus::NotChecked,
            other => DriftStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            DriftStatus::InSync => "IN_SYNC",
            DriftStatus::Modified => "MODIFIED",
            DriftStatus::Deleted => "DELETED",
            DriftStatus::NotChecked => "NOT_CHECKED",
            DriftStatus::Other(text) => text,
        }
    }

    /// Changed or removed outside CloudFormation.
    pub fn is_drift(&self) -> bool {
        matches!(self, DriftStatus::Modified | DriftStatus::Deleted)
    }
}

impl DriftCheck {
    /// Some resource was changed or deleted outside CloudFormation.
    pub fn has_drift(&self) -> bool {
        match self {
            DriftCheck::Checked(report) => report.drifted().next().is_some(),
            _ => false,
        }
    }
}

impl DriftReport {
    pub fn drifted(&self) -> impl Iterator<Item = &ResourceDrift> {
        self.resources.iter().filter(|r| r.status.is_drift())
    }

    fn unchecked(&self) -> impl Iterator<Item = &ResourceDrift> {
        self.resources
            .iter()
            .filter(|r| matches!(r.status, DriftStatus::NotChecked | DriftStatus::Other(_)))
    }
}

/// The longest value shown on one line; `--json` has them whole.
const VALUE_WIDTH: usize = 160;

/// The drift section of `diff` and `status`.
pub fn render_drift(check: &DriftCheck, palette: Palette) -> String {
    let report = match check {
        DriftCheck::Skipped { reason } => return format!("Drift: not checked ({reason})\n"),
        DriftCheck::NotChecked { reason } => {
            return format!("{} {reason}\n", palette.yellow("Drift: not checked:"));
        }
        DriftCheck::Checked(report) => report,
    };
    let mut out = String::new();
    let drifted: Vec<&ResourceDrift> = report.drifted().collect();
    let in_sync = report
        .resources
        .iter()
        .filter(|r| r.status == DriftStatus::InSync)
        .count();
    if drifted.is_empty() {
        out.push_str(&format!(
            "Drift: none found; {in_sync} resource{} checked match{} the template\n",
            plural(in_sync),
            if in_sync == 1 { "es" } else { "" }
        ));
    } else {
        out.push_str(&format!(
            "{} {} resource{} changed outside CloudFormation ({in_sync} in sync)\n",
            palette.red("Drift:"),
            drifted.len(),
            plural(drifted.len())
        ));
    }
    for resource in &drifted {
        let mark = match resource.status {
            DriftStatus::Deleted => palette.red("-"),
            _ => palette.yellow("~"),
        };
        out.push_str(&format!(
            "  {mark} {} ({}) {}",
            resource.logical_id,
            resource.resource_type,
            resource.status.as_str()
        ));
        if !resource.physical_id.is_empty() {
            out.push_str(&format!(" [{}]", resource.physical_id));
        }
        out.push('\n');
        if resource.status == DriftStatus::Deleted {
            out.push_str(
                "      deleted outside CloudFormation: an update that changes it fails until it is \
                 put back or the template no longer has it\n",
            );
        }
        for difference in &resource.differences {
            out.push_str(&format!(
                "      {}: {} → {}{}\n",
                difference.path,
                shown(difference.expected.as_deref()),
                shown(difference.actual.as_deref()),
                match difference.kind.as_str() {
                    "ADD" => " (added outside the template)",
                    "REMOVE" => " (removed outside the template)",
                    _ => "",
                }
            ));
        }
    }
    let unchecked: Vec<String> = report
        .unchecked()
        .map(|r| format!("{} ({})", r.logical_id, r.resource_type))
        .collect();
    if !unchecked.is_empty() {
        out.push_str(&format!(
            "  Not checked (drift detection does not support them): {}\n",
            unchecked.join(", ")
        ));
    }
    if let Some(reason) = &report.incomplete {
        out.push_str(&format!(
            "  {} {reason}\n",
            palette.yellow("Detection incomplete:")
        ));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), |text| shorten(text, VALUE_WIDTH))
}

/// The drift section of `--json`: `checked`, `drifted`, and every resource with its
/// differences (values whole), or the reason it was not checked.
pub fn drift_json(check: &DriftCheck) -> serde_json::Value {
    match check {
        DriftCheck::Skipped { reason } => {
            serde_json::json!({"checked": false, "drifted": false, "skipped": true, "reason": reason})
        }
        DriftCheck::NotChecked { reason } => {
            serde_json::json!({"checked": false, "drifted": false, "skipped": false, "reason": reason})
        }
        DriftCheck::Checked(report) => serde_json::json!({
            "checked": true,
            "drifted": check.has_drift(),
            "incomplete": report.incomplete,
            "resources": report.resources.iter().map(|r| serde_json::json!({
                "logical_id": r.logical_id,
                "physical_id": r.physical_id,
                "type": r.resource_type,
                "status": r.status.as_str(),
                "differences": r.differences.iter().map(|d| serde_json::json!({
                    "path": d.path,
                    "expected": d.expected,
                    "actual": d.actual,
                    "kind": d.kind,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    }
}

/// DescribeStackResourceDrifts' answer as documented (and as the AWS CLI prints it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStackResourceDrifts {
    #[serde(default)]
    pub stack_resource_drifts: Vec<StackResourceDrift>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResourceDrift {
    pub logical_resource_id: Option<String>,
    pub physical_resource_id: Option<String>,
    pub resource_type: Option<String>,
    pub stack_resource_drift_status: Option<String>,
    #[serde(default)]
    pub property_differences: Vec<WirePropertyDifference>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WirePropertyDifference {
    pub property_path: Option<String>,
    pub expected_value: Option<String>,
    pub actual_value: Option<String>,
    pub difference_type: Option<String>,
}

impl DescribeStackResourceDrifts {
    /// The report, ordered: drifted first (deleted, then modified), then by logical id.
    /// `incomplete` is DescribeStackDriftDetectionStatus' reason when detection failed.
    pub fn report(&self, incomplete: Option<String>) -> DriftReport {
        let mut resources: Vec<ResourceDrift> = self
            .stack_resource_drifts
            .iter()
            .map(|wire| ResourceDrift {
                logical_id: wire.logical_resource_id.clone().unwrap_or_default(),
                physical_id: wire.physical_resource_id.clone().unwrap_or_default(),
                resource_type: wire.resource_type.clone().unwrap_or_default(),
                status: DriftStatus::parse(
                    wire.stack_resource_drift_status.as_deref().unwrap_or(""),
                ),
                differences: wire
                    .property_differences
                    .iter()
                    .map(|d| PropertyDifference {
                        path: d.property_path.clone().unwrap_or_default(),
                        expected: d.expected_value.clone(),
                        actual: d.actual_value.clone(),
                        kind: d.difference_type.clone().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        resources.sort_by_key(|r| {
            let rank = match r.status {
                DriftStatus::Deleted => 0,
                DriftStatus::Modified => 1,
                _ => 2,
            };
            (rank, r.logical_id.clone())
        });
        DriftReport {
            resources,
            incomplete,
        }
    }
}
