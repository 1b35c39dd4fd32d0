//! A change set as a review: resources, property changes, parameters, IAM statements and the
//! template diff, rendered like `terraform plan`.

use serde::Serialize;

use super::iam::{StatementChange, render_iam};
use super::spend::{SpendReview, render_spend};
use super::table::Table;
use super::{Palette, shorten};

/// Everything `diff` shows and `deploy` asks a person to confirm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub stack_name: String,
    pub kind: ChangeKind,
    pub summary: Summary,
    pub changes: Vec<ResourceChange>,
    pub parameters: Vec<ParameterChange>,
    pub iam: Vec<StatementChange>,
    /// Settings that bound spend and changed, and the worst-case model spend per day before and
    /// after; absent where the review is not of a chatbot template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<SpendReview>,
    /// Unified diff of the deployed template against the new one; empty when equal.
    pub template_diff: String,
}

impl Review {
    /// Builds a review; the summary is counted from `changes`.
    pub fn new(
        stack_name: &str,
        kind: ChangeKind,
        changes: Vec<ResourceChange>,
        parameters: Vec<ParameterChange>,
        iam: Vec<StatementChange>,
        template_diff: String,
    ) -> Review {
        Review {
            stack_name: stack_name.to_owned(),
            kind,
            summary: Summary::of(&changes),
            changes,
            parameters,
            iam,
            spend: None,
            template_diff,
        }
    }

    /// The review with its spend section.
    pub fn with_spend(mut self, spend: Option<SpendReview>) -> Review {
        self.spend = spend;
        self
    }

    /// Whether deploying would change anything at all.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
            || !self.parameters.is_empty()
            || !self.iam.is_empty()
            || !self.template_diff.is_empty()
    }
}

/// Whether the change set creates the stack or updates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeKind {
    Create,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
}

/// Whether CloudFormation replaces the resource, as the change set says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Replacement {
    True,
    Conditional,
    False,
}

/// Whether changing one property recreates the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Recreation {
    Never,
    Conditionally,
    Always,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceChange {
    pub action: Action,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    /// Only for `Modify`.
    pub replacement: Option<Replacement>,
    pub details: Vec<PropertyChange>,
    /// Made by the SAM transform (a function's version, its alias, CodeDeploy's resources):
    /// in the change set, not in the template's text.
    pub from_transform: bool,
    /// Removed from the stack but kept in the account (`DeletionPolicy: Retain`), as SAM keeps
    /// a function's earlier versions.
    pub retained: bool,
}

/// Marks the changes of resources that neither template names: the transform made them.
pub fn mark_transform_resources(changes: &mut [ResourceChange], templates: &[&str]) {
    let named: Vec<std::collections::BTreeSet<String>> =
        templates.iter().map(|t| resource_ids(t)).collect();
    for change in changes {
        change.from_transform = !named.iter().any(|ids| ids.contains(&change.logical_id));
    }
}

/// The logical IDs a template's `Resources` names; none when it does not parse.
fn resource_ids(template: &str) -> std::collections::BTreeSet<String> {
    serde_yaml::from_str::<serde_yaml::Value>(template)
        .ok()
        .and_then(|doc| {
            doc.get("Resources")?.as_mapping().map(|resources| {
                resources
                    .keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// One changed attribute of a resource, from the change set's `Details`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyChange {
    /// `Properties`, `Metadata`, `Tags`, …
    pub attribute: String,
    /// Where in the resource, e.g. `MemorySize` or `Environment.Variables.MODEL`.
    pub path: String,
    /// `Add`, `Remove` or `Modify` when the change set was made with property values.
    pub change_type: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub recreation: Option<Recreation>,
    /// What causes it: `DirectModification`, `ParameterReference CodeKey`, …
    pub causes: Vec<String>,
    /// CloudFormation can only tell at execution time (`Evaluation: Dynamic`).
    pub dynamic: bool,
}

/// A stack parameter whose value changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterChange {
    pub name: String,
    pub before: Option<String>,
    pub after: String,
}

/// The parameters whose values differ between the deployed stack and the new deploy, by name.
pub fn parameter_changes(
    deployed: &std::collections::BTreeMap<String, String>,
    new: &std::collections::BTreeMap<String, String>,
) -> Vec<ParameterChange> {
    new.iter()
        .filter(|(name, value)| deployed.get(*name) != Some(value))
        .map(|(name, value)| ParameterChange {
            name: name.clone(),
            before: deployed.get(name).cloned(),
            after: value.clone(),
        })
        .collect()
}

/// The counts of the plan line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    /// Modified resources that are replaced for certain.
    pub replace: usize,
    /// Modified resources that may be replaced, depending on values known only at execution.
    pub conditional_replace: usize,
}

impl Summary {
    fn of(changes: &[ResourceChange]) -> Summary {
        let mut summary = Summary::default();
        for change in changes {
            match change.action {
                Action::Add | Action::Import => summary.add += 1,
                Action::Modify | Action::Dynamic => summary.change += 1,
                Action::Remove => summary.remove += 1,
            }
            match change.replacement {
                Some(Replacement::True) => summary.replace += 1,
                Some(Replacement::Conditional) => summary.conditional_replace += 1,
                _ => {}
            }
        }
        summary
    }

    /// `Plan: 3 to add, 1 to change, 0 to remove, 1 replacement`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "Plan: {} to add, {} to change, {} to remove, {} {}",
            self.add,
            self.change,
            self.remove,
            self.replace,
            plural(self.replace, "replacement", "replacements"),
        );
        if self.conditional_replace > 0 {
            line.push_str(&format!(" ({} more conditional)", self.conditional_replace));
        }
        line
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The review as a person reads it.
pub fn render_review(review: &Review, palette: Palette) -> String {
    let mut out = String::new();
    let verb = match review.kind {
        ChangeKind::Create => "create",
        ChangeKind::Update => "update",
    };
    out.push_str(&palette.bold(&format!("Stack {} ({verb})", review.stack_name)));
    out.push('\n');
    if !review.has_changes() {
        out.push_str(
            "\nNo changes. The deployed stack matches the template, parameters and code\n",
        );
        return out;
    }

    if !review.changes.is_empty() {
        out.push_str("\nResources\n");
        out.push_str(&render_resources(&review.changes, palette));
    }
    if !review.parameters.is_empty() {
        out.push_str("\nParameters\n");
        for parameter in &review.parameters {
            let line = match &parameter.before {
                Some(before) => format!(
                    "  {} {}: {} → {}\n",
                    palette.yellow("~"),
                    parameter.name,
                    shorten(before, 70),
                    shorten(&parameter.after, 70)
                ),
                None => format!(
                    "  {} {}: {}\n",
                    palette.green("+"),
                    parameter.name,
                    shorten(&parameter.after, 70)
                ),
            };
            out.push_str(&line);
        }
    }
    if !review.iam.is_empty() {
        out.push_str("\nIAM statement changes\n");
        out.push_str(&render_iam(&review.iam, palette));
    }
    if let Some(spend) = &review.spend {
        out.push_str("\nSpend\n");
        out.push_str(&render_spend(spend, palette));
    }
    if !review.template_diff.is_empty() {
        out.push_str("\nTemplate\n");
        for line in review.template_diff.lines() {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                palette.bold(line)
            } else if line.starts_with('+') {
                palette.green(line)
            } else if line.starts_with('-') {
                palette.red(line)
            } else if line.starts_with("@@") {
                palette.cyan(line)
            } else {
                line.to_owned()
            };
            out.push_str("  ");
            out.push_str(&styled);
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(&palette.bold(&review.summary.line()));
    out.push('\n');
    out
}

fn render_resources(changes: &[ResourceChange], palette: Palette) -> String {
    let mut table = Table::new(vec!["", "Logical ID", "Type", "Replacement"]);
    for change in changes {
        let (symbol, paint): (&str, fn(Palette, &str) -> String) = match change.action {
            Action::Add | Action::Import => ("+", Palette::green),
            Action::Remove => ("-", Palette::red),
            Action::Modify | Action::Dynamic => match change.replacement {
                Some(Replacement::True) => ("-/+", Palette::red),
                _ => ("~", Palette::yellow),
            },
        };
        let replacement = match (change.action, change.replacement) {
            (Action::Modify | Action::Dynamic, Some(r)) => format!("{r:?}"),
            _ => String::new(),
        };
        let resource_type = if change.from_transform {
            format!("{} (SAM)", change.resource_type)
        } else {
            change.resource_type.clone()
        };
        let mut below: Vec<String> = change
            .details
            .iter()
            .map(|detail| render_detail(detail, palette))
            .collect();
        if change.retained {
            below.push(
                "kept in the account (DeletionPolicy: Retain), only left out of the stack"
                    .to_owned(),
            );
        }
        table.row(
            vec![
                vec![symbol.to_owned()],
                vec![change.logical_id.clone()],
                vec![resource_type],
                vec![replacement],
            ],
            Some(paint),
            below,
        );
    }
    let mut out = table.render("  ", palette);
    if changes.iter().any(|c| c.from_transform) {
        out.push_str(&format!(
            "  {}\n",
            palette.dim(
                "(SAM): made by the SAM transform from the template's AWS::Serverless resources"
            )
        ));
    }
    out
}

fn render_detail(detail: &PropertyChange, palette: Palette) -> String {
    let (symbol, paint): (&str, fn(Palette, &str) -> String) = match detail.change_type.as_deref() {
        Some("Add") => ("+", Palette::green),
        Some("Remove") => ("-", Palette::red),
        _ => ("~", Palette::yellow),
    };
    let name = if detail.attribute == "Properties" || detail.attribute.is_empty() {
        detail.path.clone()
    } else if detail.path.is_empty() {
        detail.attribute.clone()
    } else {
        format!("{} {}", detail.attribute, detail.path)
    };
    let mut line = format!("{} {name}", paint(palette, symbol));
    match (&detail.before, &detail.after) {
        (Some(before), Some(after)) => line.push_str(&format!(
            ": {} → {}",
            shorten(before, 60),
            shorten(after, 60)
        )),
        (None, Some(after)) => line.push_str(&format!(": {}", shorten(after, 60))),
        (Some(before), None) => line.push_str(&format!(": {} → (removed)", shorten(before, 60))),
        (None, None) => {}
    }
    let mut notes = Vec::new();
    match detail.recreation {
        Some(Recreation::Always) => notes.push(palette.red("replaces the resource")),
        Some(Recreation::Conditionally) => notes.push(palette.yellow("may replace the resource")),
        _ => {}
    }
    if detail.dynamic {
        notes.push("known at execution".to_owned());
    }
    for cause in &detail.causes {
        if cause != "DirectModification" {
            notes.push(format!("via {cause}"));
        }
    }
    if !notes.is_empty() {
        line.push_str(&format!("  ({})", notes.join(", ")));
    }
    line
}

/// The review as JSON: the same data as [`render_review`], for scripts and CI.
pub fn review_json(review: &Review) -> serde_json::Value {
    let mut value = serde_json::to_value(review).unwrap_or(serde_json::Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "has_changes".to_owned(),
            serde_json::Value::Bool(review.has_changes()),
        );
        object.insert(
            "plan".to_owned(),
            serde_json::Value::String(review.summary.line()),
        );
    }
    value
}
