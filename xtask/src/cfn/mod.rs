//! A typed model of a CloudFormation template, free of I/O.
//!
//! A [`Template`] holds parameters, resources with typed properties, conditions and outputs;
//! property values are [`Expr`]s, so intrinsic functions are values, not strings. [`render`]
//! checks the whole template (valid and unique logical IDs, no reference to anything that does
//! not exist) and writes deterministic YAML: keys in a fixed order, long-form intrinsics.
//! SAM resources ([`serverless`]) make it a SAM template: it then declares the transform, and
//! the references SAM resolves (`Ref: Function.Alias`) are checked like any other.

mod expr;
pub mod resources;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_yaml::{Mapping, Value};

use resources::serverless;

pub use expr::{Expr, PSEUDO_PARAMETERS};
pub use resources::Properties;

/// A whole template. Entries keep the order they were added in until [`render`] sorts them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    /// `AWS::Serverless-2016-10-31` when the template has SAM resources.
    pub transform: Option<String>,
    pub description: String,
    pub parameters: Vec<(String, Parameter)>,
    /// Condition name to its expression (`Fn::Equals` and friends as an [`Expr::Map`]).
    pub conditions: Vec<(String, Expr)>,
    pub resources: Vec<(String, Resource)>,
    pub outputs: Vec<(String, Output)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub kind: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// The value when a deploy passes none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
}

impl Parameter {
    /// A `String` parameter with only a description; the other fields say what else it needs.
    pub fn string(description: impl Into<String>) -> Parameter {
        Parameter {
            kind: "String".into(),
            description: description.into(),
            allowed_pattern: None,
            min_length: None,
            default: None,
            allowed_values: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub properties: Properties,
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    pub deletion_policy: Option<Policy>,
    pub update_replace_policy: Option<Policy>,
    /// checkov checks that do not apply to this resource, each with the reason.
    pub checkov_skips: Vec<Skip>,
}

impl Resource {
    pub fn new(properties: Properties) -> Resource {
        Resource {
            properties,
            depends_on: Vec::new(),
            condition: None,
            deletion_policy: None,
            update_replace_policy: None,
            checkov_skips: Vec::new(),
        }
    }

    /// Sets both `DeletionPolicy` and `UpdateReplacePolicy`.
    pub fn keep(mut self, policy: Policy) -> Resource {
        self.deletion_policy = Some(policy);
        self.update_replace_policy = Some(policy);
        self
    }

    /// Creates the resource only while `condition` holds.
    pub fn when(mut self, condition: &str) -> Resource {
        self.condition = Some(condition.to_owned());
        self
    }

    pub fn depends_on(mut self, id: &str) -> Resource {
        self.depends_on.push(id.to_owned());
        self
    }

    pub fn skip_check(mut self, id: &'static str, comment: impl Into<String>) -> Resource {
        self.checkov_skips.push(Skip {
            id,
            comment: comment.into(),
        });
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Policy {
    Delete,
    Retain,
}

/// A checkov check skipped for one resource, rendered into its `Metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub id: &'static str,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    pub value: Expr,
}

/// Why a template cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// Not `^[A-Za-z0-9]{1,255}$`.
    InvalidId {
        what: &'static str,
        id: String,
    },
    Duplicate {
        what: &'static str,
        id: String,
    },
    /// A `Ref`, `Fn::GetAtt`, `Fn::Sub` placeholder or `DependsOn` names nothing.
    Dangling {
        from: String,
        to: String,
    },
    /// `Fn::GetAtt` of an attribute the resource type does not have.
    UnknownAttribute {
        from: String,
        resource: String,
        type_name: &'static str,
        attribute: String,
    },
    /// A SAM resource in a template that does not declare the SAM transform.
    NeedsTransform {
        resource: String,
        type_name: &'static str,
    },
    /// `Fn::If` or `Condition` names a condition the template does not define.
    UnknownCondition {
        from: String,
        condition: String,
    },
    Yaml(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::InvalidId { what, id } => write!(
                f,
                "{what} id {id:?} is not valid: logical IDs are 1 to 255 letters and digits"
            ),
            RenderError::Duplicate { what, id } => write!(f, "{what} id {id:?} is used twice"),
            RenderError::Dangling { from, to } => {
                write!(f, "{from} refers to {to:?}, which is not in the template")
            }
            RenderError::UnknownAttribute {
                from,
                resource,
                type_name,
                attribute,
            } => write!(
                f,
                "{from} reads attribute {attribute:?} of {resource:?}, which a {type_name} does not have"
            ),
            RenderError::NeedsTransform {
                resource,
                type_name,
            } => write!(
                f,
                "resource {resource} is an {type_name}, which needs `Transform: {}`",
                serverless::TRANSFORM
            ),
            RenderError::UnknownCondition { from, condition } => {
                write!(
                    f,
                    "{from} uses condition {condition:?}, which is not defined"
                )
            }
            RenderError::Yaml(message) => write!(f, "cannot write YAML: {message}"),
        }
    }
}

impl std::error::Error for RenderError {}

/// Checks `template` and writes it as YAML, the same bytes for the same template.
pub fn render(template: &Template) -> Result<String, RenderError> {
    let value = to_value(template)?;
    serde_yaml::to_string(&value).map_err(|e| RenderError::Yaml(e.to_string()))
}

/// Checks `template` and builds its YAML tree.
pub fn to_value(template: &Template) -> Result<Value, RenderError> {
    let parameters = unique("parameter", &template.parameters)?;
    let conditions = unique("condition", &template.conditions)?;
    let resources = unique("resource", &template.resources)?;
    let outputs = unique("output", &template.outputs)?;
    if template.transform.as_deref() != Some(serverless::TRANSFORM)
        && let Some((id, resource)) = resources
            .iter()
            .find(|(_, r)| r.properties.type_name().starts_with("AWS::Serverless::"))
    {
        return Err(RenderError::NeedsTransform {
            resource: (*id).to_owned(),
            type_name: resource.properties.type_name(),
        });
    }
    for id in parameters.keys() {
        if resources.contains_key(id) {
            return Err(RenderError::Duplicate {
                what: "resource",
                id: (*id).to_owned(),
            });
        }
    }

    let mut root = Mapping::new();
    root.insert(
        "AWSTemplateFormatVersion".into(),
        "2010-09-09".to_owned().into(),
    );
    if let Some(transform) = &template.transform {
        root.insert("Transform".into(), transform.clone().into());
    }
    root.insert("Description".into(), template.description.clone().into());

    if !parameters.is_empty() {
        let mut map = Mapping::new();
        for (id, parameter) in &parameters {
            map.insert((*id).into(), yaml(parameter)?);
        }
        root.insert("Parameters".into(), Value::Mapping(map));
    }

    let checker = Checker {
        parameters: &parameters.keys().copied().collect(),
        conditions: &conditions.keys().copied().collect(),
        resources: &resources,
    };

    if !conditions.is_empty() {
        let mut map = Mapping::new();
        for (id, condition) in &conditions {
            let value = yaml(condition)?;
            checker.check(&format!("condition {id}"), &value)?;
            map.insert((*id).into(), value);
        }
        root.insert("Conditions".into(), Value::Mapping(map));
    }

    let mut map = Mapping::new();
    for (id, resource) in &resources {
        let from = format!("resource {id}");
        let mut entry = Mapping::new();
        entry.insert("Type".into(), resource.properties.type_name().into());
        if let Some(condition) = &resource.condition {
            checker.condition(&from, condition)?;
            entry.insert("Condition".into(), condition.clone().into());
        }
        if !resource.depends_on.is_empty() {
            for target in &resource.depends_on {
                if !resources.contains_key(target.as_str()) {
                    return Err(RenderError::Dangling {
                        from,
                        to: target.clone(),
                    });
                }
            }
            let mut sorted = resource.depends_on.clone();
            sorted.sort();
            sorted.dedup();
            entry.insert("DependsOn".into(), yaml(&sorted)?);
        }
        if let Some(policy) = resource.deletion_policy {
            entry.insert("DeletionPolicy".into(), yaml(&policy)?);
        }
        if let Some(policy) = resource.update_replace_policy {
            entry.insert("UpdateReplacePolicy".into(), yaml(&policy)?);
        }
        if !resource.checkov_skips.is_empty() {
            let mut skips = resource.checkov_skips.clone();
            skips.sort_by_key(|s| s.id);
            let mut checkov = Mapping::new();
            checkov.insert("skip".into(), yaml(&skips)?);
            let mut metadata = Mapping::new();
            metadata.insert("checkov".into(), Value::Mapping(checkov));
            entry.insert("Metadata".into(), Value::Mapping(metadata));
        }
        let properties = yaml(&resource.properties)?;
        checker.check(&from, &properties)?;
        entry.insert("Properties".into(), properties);
        map.insert((*id).into(), Value::Mapping(entry));
    }
    root.insert("Resources".into(), Value::Mapping(map));

    if !outputs.is_empty() {
        let mut map = Mapping::new();
        for (id, output) in &outputs {
            let value = yaml(output)?;
            checker.check(&format!("output {id}"), &value)?;
            map.insert((*id).into(), value);
        }
        root.insert("Outputs".into(), Value::Mapping(map));
    }
    Ok(Value::Mapping(root))
}

/// Whether `id` is a valid logical ID: 1 to 255 ASCII letters and digits.
pub fn is_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn unique<'a, T>(
    what: &'static str,
    entries: &'a [(String, T)],
) -> Result<BTreeMap<&'a str, &'a T>, RenderError> {
    let mut map = BTreeMap::new();
    for (id, entry) in entries {
        if !is_logical_id(id) {
            return Err(RenderError::InvalidId {
                what,
                id: id.clone(),
            });
        }
        if map.insert(id.as_str(), entry).is_some() {
            return Err(RenderError::Duplicate {
                what,
                id: id.clone(),
            });
        }
    }
    Ok(map)
}

fn yaml<T: Serialize + ?Sized>(value: &T) -> Result<Value, RenderError> {
    serde_yaml::to_value(value).map_err(|e| RenderError::Yaml(e.to_string()))
}

/// Finds the references inside a rendered value and checks each names something.
struct Checker<'a> {
    parameters: &'a BTreeSet<&'a str>,
    conditions: &'a BTreeSet<&'a str>,
    resources: &'a BTreeMap<&'a str, &'a Resource>,
}

impl Checker<'_> {
    fn check(&self, from: &str, value: &Value) -> Result<(), RenderError> {
        match value {
            Value::Sequence(items) => items.iter().try_for_each(|v| self.check(from, v)),
            Value::Mapping(map) => {
                if map.len() == 1 {
                    let (key, inner) = map.iter().next().expect("one entry");
                    if let Some(key) = key.as_str() {
                        self.intrinsic(from, key, inner)?;
                    }
                }
                map.values().try_for_each(|v| self.check(from, v))
            }
            Value::Tagged(tagged) => self.check(from, &tagged.value),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => Ok(()),
        }
    }

    fn intrinsic(&self, from: &str, key: &str, value: &Value) -> Result<(), RenderError> {
        match key {
            "Ref" => {
                if let Some(name) = value.as_str() {
                    match name.split_once('.') {
                        // `Ref: Function.Alias`: a reference SAM resolves, never an attribute.
                        Some((resource, what)) if !name.starts_with("AWS::") => {
                            self.sam_reference(from, resource, what)?;
                        }
                        _ => self.reference(from, name, None)?,
                    }
                }
            }
            "Fn::GetAtt" => {
                if let Some([resource, attribute]) = value.as_sequence().map(Vec::as_slice)
                    && let (Some(resource), Some(attribute)) =
                        (resource.as_str(), attribute.as_str())
                {
                    self.reference(from, resource, Some(attribute))?;
                }
            }
            "Fn::Sub" => {
                let (template, vars) = match value {
                    Value::String(s) => (s.as_str(), None),
                    Value::Sequence(items) => (
                        items.first().and_then(Value::as_str).unwrap_or_default(),
                        items.get(1).and_then(Value::as_mapping),
                    ),
                    _ => ("", None),
                };
                let vars: BTreeMap<String, Expr> = vars
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .filter_map(|k| k.as_str())
                    .map(|k| (k.to_owned(), Expr::Bool(true)))
                    .collect();
                for (name, attribute) in expr::sub_references(template, &vars) {
                    match attribute.as_deref() {
                        Some(what) if self.is_sam_reference(&name, what) => {}
                        attribute => self.reference(from, &name, attribute)?,
                    }
                }
            }
            "Fn::If" => {
                if let Some(condition) = value
                    .as_sequence()
                    .and_then(|items| items.first())
                    .and_then(Value::as_str)
                {
                    self.condition(from, condition)?;
                }
            }
            "Condition" => {
                if let Some(condition) = value.as_str() {
                    self.condition(from, condition)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn reference(
        &self,
        from: &str,
        name: &str,
        attribute: Option<&str>,
    ) -> Result<(), RenderError> {
        if PSEUDO_PARAMETERS.contains(&name) {
            return Ok(());
        }
        if attribute.is_none() && self.parameters.contains(name) {
            return Ok(());
        }
        let Some(resource) = self.resources.get(name) else {
            return Err(RenderError::Dangling {
                from: from.to_owned(),
                to: name.to_owned(),
            });
        };
        if let Some(attribute) = attribute
            && !resource.properties.attributes().contains(&attribute)
        {
            return Err(RenderError::UnknownAttribute {
                from: from.to_owned(),
                resource: name.to_owned(),
                type_name: resource.properties.type_name(),
                attribute: attribute.to_owned(),
            });
        }
        Ok(())
    }

    /// `Ref: <resource>.<what>`, which only SAM resolves (`Function.Alias`).
    fn sam_reference(&self, from: &str, resource: &str, what: &str) -> Result<(), RenderError> {
        let Some(found) = self.resources.get(resource) else {
            return Err(RenderError::Dangling {
                from: from.to_owned(),
                to: resource.to_owned(),
            });
        };
        if self.is_sam_reference(resource, what) {
            Ok(())
        } else {
            Err(RenderError::UnknownAttribute {
                from: from.to_owned(),
                resource: resource.to_owned(),
                type_name: found.properties.type_name(),
                attribute: what.to_owned(),
            })
        }
    }

    fn is_sam_reference(&self, resource: &str, what: &str) -> bool {
        self.resources
            .get(resource)
            .is_some_and(|r| r.properties.sam_references().contains(&what))
    }

    fn condition(&self, from: &str, condition: &str) -> Result<(), RenderError> {
        if self.conditions.contains(condition) {
            Ok(())
        } else {
            Err(RenderError::UnknownCondition {
                from: from.to_owned(),
                condition: condition.to_owned(),
            })
        }
    }
}
