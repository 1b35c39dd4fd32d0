//! The stack model's resources as a graph: which exist with the template's parameters at their
//! defaults, and which refers to which. `cargo xtask cost` prices it and `cargo xtask diagram`
//! draws it; both walk the same typed model the template is rendered from, so neither can
//! drift from the template. Any resource type is walked: one a walker does not know is still a
//! node with its references.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use crate::cfn::{Expr, Resource, Template};

/// One resource of the template.
pub struct Node<'a> {
    pub id: &'a str,
    pub resource: &'a Resource,
    /// The CloudFormation type, `AWS::Lambda::Function`.
    pub type_name: &'static str,
}

/// The resources that exist with the parameters at their defaults, and their references.
pub struct Graph<'a> {
    pub nodes: Vec<Node<'a>>,
    /// `(from, to)`: `from`'s properties (or `DependsOn`) name `to`. Both are nodes.
    pub edges: BTreeSet<(String, String)>,
    /// Resources whose condition is false with the parameters at their defaults (the second
    /// origin secret outside a rotation), left out of `nodes`.
    pub absent: Vec<&'a str>,
}

impl<'a> Graph<'a> {
    pub fn of(template: &'a Template) -> Graph<'a> {
        let defaults: BTreeMap<&str, &str> = template
            .parameters
            .iter()
            .filter_map(|(name, p)| p.default.as_deref().map(|d| (name.as_str(), d)))
            .collect();
        let conditions: BTreeMap<&str, &Expr> = template
            .conditions
            .iter()
            .map(|(name, expr)| (name.as_str(), expr))
            .collect();
        let evaluator = Conditions {
            defaults: &defaults,
            conditions: &conditions,
        };
        let mut nodes = Vec::new();
        let mut absent = Vec::new();
        for (id, resource) in &template.resources {
            let present = resource
                .condition
                .as_deref()
                .is_none_or(|c| evaluator.holds(c, 0));
            if present {
                nodes.push(Node {
                    id,
                    resource,
                    type_name: resource.properties.type_name(),
                });
            } else {
                absent.push(id.as_str());
            }
        }
        let ids: BTreeSet<&str> = nodes.iter().map(|n| n.id).collect();
        let mut edges = BTreeSet::new();
        for node in &nodes {
            let mut found = BTreeSet::new();
            if let Ok(value) = serde_yaml::to_value(&node.resource.properties) {
                references(&value, &mut found);
            }
            found.extend(node.resource.depends_on.iter().cloned());
            for to in found {
                if to != node.id && ids.contains(to.as_str()) {
                    edges.insert((node.id.to_owned(), to));
                }
            }
        }
        Graph {
            nodes,
            edges,
            absent,
        }
    }

    /// The nodes of a resource type.
    pub fn of_type(&self, type_name: &str) -> impl Iterator<Item = &Node<'a>> {
        self.nodes.iter().filter(move |n| n.type_name == type_name)
    }

    /// The ids `id` refers to.
    pub fn targets(&self, id: &str) -> impl Iterator<Item = &str> {
        self.edges
            .iter()
            .filter(move |(from, _)| from == id)
            .map(|(_, to)| to.as_str())
    }
}

/// Evaluates `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `Condition` over parameter
/// defaults. Anything else (a parameter without a default, an intrinsic it does not know)
/// counts as true: a resource is drawn and priced rather than hidden.
struct Conditions<'a> {
    defaults: &'a BTreeMap<&'a str, &'a str>,
    conditions: &'a BTreeMap<&'a str, &'a Expr>,
}

impl Conditions<'_> {
    fn holds(&self, name: &str, depth: usize) -> bool {
        match self.conditions.get(name) {
            Some(expr) if depth < 32 => self.eval(expr, depth + 1).unwrap_or(true),
            _ => true,
        }
    }

    fn eval(&self, expr: &Expr, depth: usize) -> Option<bool> {
        let Expr::Map(map) = expr else { return None };
        let (function, argument) = map.iter().next().filter(|_| map.len() == 1)?;
        let list = |arg: &Expr| match arg {
            Expr::List(items) => Some(items.clone()),
            _ => None,
        };
        match function.as_str() {
            "Fn::Equals" => {
                let items = list(argument)?;
                let [a, b] = items.as_slice() else {
                    return None;
                };
                Some(self.value(a)? == self.value(b)?)
            }
            "Fn::Not" => {
                let items = list(argument)?;
                let [inner] = items.as_slice() else {
                    return None;
                };
                self.eval(inner, depth).map(|b| !b)
            }
            "Fn::And" => list(argument)?
                .iter()
                .map(|c| self.eval(c, depth))
                .try_fold(true, |all, b| Some(all && b?)),
            "Fn::Or" => list(argument)?
                .iter()
                .map(|c| self.eval(c, depth))
                .try_fold(false, |any, b| Some(any || b?)),
            "Condition" => match argument {
                Expr::Str(name) => Some(self.holds(name, depth)),
                _ => None,
            },
            _ => None,
        }
    }

    fn value<'e>(&'e self, expr: &'e Expr) -> Option<&'e str> {
        match expr {
            Expr::Str(s) => Some(s),
            Expr::Ref(name) => self.defaults.get(name.as_str()).copied(),
            _ => None,
        }
    }
}

/// The logical IDs a rendered value names: `Ref`, `Fn::GetAtt` and `Fn::Sub` placeholders.
/// Parameters and pseudo parameters are named too; the caller keeps resources only.
fn references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Mapping(map) => {
            if map.len() == 1
                && let Some((key, inner)) = map.iter().next()
            {
                match (key.as_str(), inner) {
                    // SAM's `Ref: Function.Alias` names the alias the function's transform
                    // makes: a reference to the function.
                    (Some("Ref"), Value::String(id)) => {
                        out.insert(
                            id.split_once('.')
                                .map_or(id.as_str(), |(id, _)| id)
                                .to_owned(),
                        );
                    }
                    (Some("Fn::GetAtt"), Value::Sequence(parts)) => {
                        if let Some(Value::String(id)) = parts.first() {
                            out.insert(id.clone());
                        }
                    }
                    (Some("Fn::Sub"), Value::String(text)) => placeholders(text, out),
                    (Some("Fn::Sub"), Value::Sequence(parts)) => {
                        if let Some(Value::String(text)) = parts.first() {
                            placeholders(text, out);
                        }
                    }
                    _ => {}
                }
            }
            for inner in map.values() {
                references(inner, out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| references(v, out)),
        Value::Tagged(tagged) => references(&tagged.value, out),
        _ => {}
    }
}

/// `${Name}` and `${Name.Attribute}` in a `Fn::Sub` string; `${!Literal}` is literal.
fn placeholders(text: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        rest = &after[end + 1..];
        if !name.starts_with('!') {
            let id = name.split_once('.').map_or(name, |(id, _)| id);
            out.insert(id.to_owned());
        }
    }
}
