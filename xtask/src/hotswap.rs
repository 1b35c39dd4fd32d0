//! `deploy --hotswap`: whether a deploy can skip the change set because only the function's
//! code changed, and which function and alias take the new code. The code is pushed by
//! `crate::aws::hotswap`.
//!
//! Unlike a hotswap that compares templates only, the comparison here is with the stack's
//! template and parameters *and* with the code the function really runs (the newest
//! deployment record), so pushing the code the stack already names after a hotswap is not
//! mistaken for "no changes", and the next full deploy puts the stack's own code back.
//!
//! **Pure**: templates and parameters in, a decision out.

use std::collections::BTreeMap;

use crate::review::DeployedStack;
use crate::stack::PARAM_CODE_KEY;

/// What `deploy --hotswap` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Only the code differs: push it to these functions.
    Hotswap(Vec<CodeTarget>),
    /// The function already runs this code, and nothing else changed.
    NothingToDo,
    /// Something else changed (or cannot be hotswapped): deploy through a change set, for this
    /// reason.
    FullDeploy(String),
}

/// A function whose code comes from the `CodeKey` parameter, and the alias that is invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTarget {
    pub logical_id: String,
    /// SAM's `AutoPublishAlias`, or an `AWS::Lambda::Alias` of the function: a new version is
    /// published and this alias moved to it. `None`: `$LATEST` is what is invoked.
    pub alias: Option<String>,
}

/// What the deploy would deploy, against what is deployed.
pub struct Comparison<'a> {
    pub stack: Option<&'a DeployedStack>,
    pub deployed_template: &'a str,
    pub template: &'a str,
    /// The parameters the deploy would pass.
    pub parameters: &'a BTreeMap<String, String>,
    /// The code key the function runs now: a live hotswap's, or the stack's `CodeKey`.
    pub live_code_key: Option<&'a str>,
}

pub fn decide(comparison: &Comparison<'_>) -> Decision {
    let Some(stack) = comparison.stack.filter(|s| !s.is_under_review()) else {
        return Decision::FullDeploy("the stack does not exist yet".to_owned());
    };
    if !stack.is_updatable() {
        return Decision::FullDeploy(format!("the stack is {}", stack.status));
    }
    if comparison.deployed_template != comparison.template {
        return Decision::FullDeploy("the template changed".to_owned());
    }
    let names: std::collections::BTreeSet<&String> = stack
        .parameters
        .keys()
        .chain(comparison.parameters.keys())
        .collect();
    let changed: Vec<&str> = names
        .into_iter()
        .filter(|name| name.as_str() != PARAM_CODE_KEY)
        .filter(|name| stack.parameters.get(*name) != comparison.parameters.get(*name))
        .map(String::as_str)
        .collect();
    if !changed.is_empty() {
        return Decision::FullDeploy(format!(
            "parameter{} {} changed",
            if changed.len() == 1 { "" } else { "s" },
            changed.join(", ")
        ));
    }
    let new_key = comparison
        .parameters
        .get(PARAM_CODE_KEY)
        .map(String::as_str);
    if new_key == comparison.live_code_key {
        return Decision::NothingToDo;
    }
    let targets = code_targets(comparison.template);
    if targets.is_empty() {
        return Decision::FullDeploy(format!(
            "the template has no function whose code comes from the {PARAM_CODE_KEY} parameter"
        ));
    }
    Decision::Hotswap(targets)
}

/// The functions of `template` whose code is `Ref: CodeKey` (SAM's `CodeUri` or Lambda's
/// `Code`), each with its alias.
pub fn code_targets(template: &str) -> Vec<CodeTarget> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(template) else {
        return Vec::new();
    };
    let Some(resources) = doc.get("Resources").and_then(|r| r.as_mapping()) else {
        return Vec::new();
    };
    let mut targets = Vec::new();
    for (name, resource) in resources {
        let Some(logical_id) = name.as_str() else {
            continue;
        };
        let kind = resource.get("Type").and_then(|t| t.as_str()).unwrap_or("");
        if !matches!(kind, "AWS::Serverless::Function" | "AWS::Lambda::Function") {
            continue;
        }
        let Some(properties) = resource.get("Properties") else {
            continue;
        };
        let code = properties.get("CodeUri").or_else(|| properties.get("Code"));
        if !code.is_some_and(|c| refers_to(c, PARAM_CODE_KEY)) {
            continue;
        }
        let alias = properties
            .get("AutoPublishAlias")
            .and_then(|a| a.as_str())
            .map(str::to_owned)
            .or_else(|| alias_of(resources, logical_id));
        targets.push(CodeTarget {
            logical_id: logical_id.to_owned(),
            alias,
        });
    }
    targets
}

/// The name of an `AWS::Lambda::Alias` whose `FunctionName` refers to `function`.
fn alias_of(resources: &serde_yaml::Mapping, function: &str) -> Option<String> {
    resources.values().find_map(|resource| {
        let properties = resource.get("Properties")?;
        (resource.get("Type")?.as_str()? == "AWS::Lambda::Alias"
            && refers_to(properties.get("FunctionName")?, function))
        .then(|| properties.get("Name")?.as_str().map(str::to_owned))
        .flatten()
    })
}

/// `value` holds `Ref: name` (either spelling) somewhere.
fn refers_to(value: &serde_yaml::Value, name: &str) -> bool {
    use serde_yaml::Value;
    match value {
        Value::Mapping(map) => map.iter().any(|(key, inner)| {
            (key.as_str() == Some("Ref") && inner.as_str() == Some(name)) || refers_to(inner, name)
        }),
        Value::Sequence(items) => items.iter().any(|item| refers_to(item, name)),
        Value::Tagged(tagged) => {
            (tagged.tag == "Ref" && tagged.value.as_str() == Some(name))
                || refers_to(&tagged.value, name)
        }
        _ => false,
    }
}
