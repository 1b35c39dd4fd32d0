//! IAM statement changes between two templates, the way `cdk diff` shows security changes:
//! every statement of every policy in the template, added or removed, and whether the change
//! broadens access.
//!
//! Read from the templates rather than from the change set, so the same table appears for a
//! stack that does not exist yet and against servers that return no property values.

use serde::Serialize;
use serde_yaml::Value;

use super::Palette;
use super::table::Table;

/// One permission grant, normalised so that equal grants compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Where it lives: `ChatFunctionRole`, `ChatFunctionRole/chat`, `SiteBucketPolicy`.
    pub source: String,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// Sorted. `NotAction` entries start with `not `.
    pub actions: Vec<String>,
    /// Sorted; intrinsics shown compactly (`GetAtt Table.Arn`).
    pub resources: Vec<String>,
    pub principal: Option<String>,
    pub condition: Option<String>,
}

impl Statement {
    /// Whether an action or a resource is a wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.actions
            .iter()
            .any(|a| a == "*" || a.ends_with(":*") || a.starts_with("not "))
            || self.resources.iter().any(|r| r == "*")
            || self.principal.as_deref() == Some("*")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementChange {
    pub added: bool,
    pub statement: Statement,
    /// An `Allow` added or a `Deny` removed.
    pub broadens: bool,
}

/// Every statement in a template: role policies, trust policies, managed policy attachments,
/// resource policies (`PolicyDocument`), SAM function `Policies` and Lambda permissions.
/// A template that does not parse has none.
pub fn statements(template: &str) -> Vec<Statement> {
    let Ok(doc) = serde_yaml::from_str::<Value>(template) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return out;
    };
    for (id, resource) in resources {
        let id = scalar(id);
        let kind = resource.get("Type").map(scalar).unwrap_or_default();
        let Some(props) = resource.get("Properties") else {
            continue;
        };
        if let Some(doc) = props.get("PolicyDocument") {
            document(&id, doc, &mut out);
        }
        if let Some(doc) = props.get("AssumeRolePolicyDocument") {
            document(&format!("{id} trust"), doc, &mut out);
        }
        if let Some(Value::Sequence(arns)) = props.get("ManagedPolicyArns") {
            for arn in arns {
                out.push(attachment(&id, compact(arn)));
            }
        }
        match props.get("Policies") {
            Some(Value::Sequence(policies)) => {
                for policy in policies {
                    sam_or_inline_policy(&id, policy, &mut out);
                }
            }
            Some(single @ (Value::String(_) | Value::Mapping(_))) => {
                sam_or_inline_policy(&id, single, &mut out);
            }
            _ => {}
        }
        if kind == "AWS::Lambda::Permission" {
            out.push(Statement {
                source: id.clone(),
                effect: "Allow".to_owned(),
                actions: props.get("Action").map(compact).into_iter().collect(),
                resources: props.get("FunctionName").map(compact).into_iter().collect(),
                principal: props.get("Principal").map(compact),
                condition: props
                    .get("SourceArn")
                    .map(|arn| format!("SourceArn {}", compact(arn))),
            });
        }
    }
    out
}

fn sam_or_inline_policy(id: &str, policy: &Value, out: &mut Vec<Statement>) {
    match policy {
        // IAM role inline policy.
        Value::Mapping(map) if map.contains_key("PolicyDocument") => {
            let name = policy.get("PolicyName").map(compact).unwrap_or_default();
            document(&format!("{id}/{name}"), &policy["PolicyDocument"], out);
        }
        // SAM inline policy document.
        Value::Mapping(map) if map.contains_key("Statement") => document(id, policy, out),
        // SAM policy template, e.g. `DynamoDBCrudPolicy: {TableName: ...}`.
        Value::Mapping(map) => {
            for (name, args) in map {
                out.push(Statement {
                    source: id.to_owned(),
                    effect: "Allow".to_owned(),
                    actions: vec![format!("SAM policy template {}", scalar(name))],
                    resources: vec![compact(args)],
                    principal: None,
                    condition: None,
                });
            }
        }
        // Managed policy name or ARN.
        other => out.push(attachment(id, compact(other))),
    }
}

fn attachment(id: &str, arn: String) -> Statement {
    Statement {
        source: id.to_owned(),
        effect: "Allow".to_owned(),
        actions: vec!["managed policy".to_owned()],
        resources: vec![arn],
        principal: None,
        condition: None,
    }
}

fn document(source: &str, doc: &Value, out: &mut Vec<Statement>) {
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Sequence(list)) => list.iter().collect(),
        Some(single) => vec![single],
        None => return,
    };
    for statement in statements {
        let mut actions = list(statement.get("Action"));
        actions.extend(
            list(statement.get("NotAction"))
                .into_iter()
                .map(|a| format!("not {a}")),
        );
        actions.sort();
        let mut resources = list(statement.get("Resource"));
        resources.extend(
            list(statement.get("NotResource"))
                .into_iter()
                .map(|r| format!("not {r}")),
        );
        resources.sort();
        out.push(Statement {
            source: source.to_owned(),
            effect: statement.get("Effect").map(scalar).unwrap_or_default(),
            actions,
            resources,
            principal: statement.get("Principal").map(compact),
            condition: statement.get("Condition").map(compact),
        });
    }
}

fn list(value: Option<&Value>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::Sequence(items)) => items.iter().map(compact).collect(),
        Some(other) => vec![compact(other)],
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => compact(other),
    }
}

/// A value on one line: scalars as they are, intrinsics short (`Ref Table`,
/// `GetAtt Table.Arn`, the `Sub` string), anything else as compact JSON.
fn compact(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null => scalar(value),
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            format!("{tag} {}", compact(&tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().expect("one entry");
            let key = scalar(key);
            match (key.as_str(), inner) {
                ("Ref", _) => format!("Ref {}", compact(inner)),
                ("Fn::GetAtt", Value::Sequence(parts)) => format!(
                    "GetAtt {}",
                    parts.iter().map(compact).collect::<Vec<_>>().join(".")
                ),
                ("Fn::GetAtt", _) => format!("GetAtt {}", compact(inner)),
                ("Fn::Sub", Value::String(s)) => s.clone(),
                ("Fn::Sub", Value::Sequence(parts)) if !parts.is_empty() => compact(&parts[0]),
                _ => json(value),
            }
        }
        _ => json(value),
    }
}

fn json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Statements in `after` and not in `before` (added) and the other way round (removed),
/// removed first, each group in template order.
pub fn diff_statements(before: &[Statement], after: &[Statement]) -> Vec<StatementChange> {
    let mut unmatched_after: Vec<Option<&Statement>> = after.iter().map(Some).collect();
    let mut removed = Vec::new();
    for old in before {
        match unmatched_after.iter_mut().find(|s| *s == &Some(old)) {
            Some(slot) => *slot = None,
            None => removed.push(StatementChange {
                added: false,
                broadens: old.effect == "Deny",
                statement: old.clone(),
            }),
        }
    }
    let added = unmatched_after
        .into_iter()
        .flatten()
        .map(|new| StatementChange {
            added: true,
            broadens: new.effect != "Deny",
            statement: new.clone(),
        });
    removed.into_iter().chain(added).collect()
}

/// The IAM table: one row per statement added or removed, saying whether it broadens access.
pub fn render_iam(changes: &[StatementChange], palette: Palette) -> String {
    let mut table = Table::new(vec!["", "Source", "Effect", "Access", "Action", "Resource"]);
    for change in changes {
        let statement = &change.statement;
        let mut access = if change.broadens {
            "broadens"
        } else {
            "narrows"
        }
        .to_owned();
        if change.added && statement.has_wildcard() {
            access.push_str(", wildcard");
        }
        let mut resources = statement.resources.clone();
        if let Some(principal) = &statement.principal {
            resources.push(format!("principal {principal}"));
        }
        if let Some(condition) = &statement.condition {
            resources.push(format!("if {condition}"));
        }
        let paint: fn(Palette, &str) -> String = if change.added {
            Palette::green
        } else {
            Palette::red
        };
        table.row(
            vec![
                vec![if change.added { "+" } else { "-" }.to_owned()],
                vec![statement.source.clone()],
                vec![statement.effect.clone()],
                vec![access],
                statement.actions.clone(),
                resources,
            ],
            Some(paint),
            Vec::new(),
        );
    }
    let mut out = table.render("  ", palette);
    let broadening = changes.iter().filter(|c| c.broadens).count();
    if broadening > 0 {
        out.push_str(&format!(
            "  {}\n",
            palette.yellow(&format!(
                "Broadening access: {broadening} of {} statement {}; review them before deploying",
                changes.len(),
                if changes.len() == 1 {
                    "change"
                } else {
                    "changes"
                }
            ))
        ));
    }
    out
}
