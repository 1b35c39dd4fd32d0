//! Property values: literals and CloudFormation's intrinsic functions as typed values.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A property value. Intrinsics render in their long form (`Fn::GetAtt`, never `!GetAtt`).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Expr>),
    Map(BTreeMap<String, Expr>),
    /// `Ref`: a parameter, a resource or a pseudo parameter such as `AWS::Region`.
    Ref(String),
    /// `Fn::GetAtt: [resource, attribute]`.
    GetAtt(String, String),
    /// `Fn::Sub` with a template string whose `${Name}`, `${Name.Attr}` and `${AWS::...}`
    /// placeholders name template entities; `${!Literal}` stays literal.
    Sub(String),
    /// `Fn::Sub: [string, {var: value}]`.
    SubWith(String, BTreeMap<String, Expr>),
    /// `Fn::Join: [separator, [values]]`.
    Join(String, Vec<Expr>),
    /// `Fn::If: [condition, then, else]`.
    If(String, Box<Expr>, Box<Expr>),
}

/// The pseudo parameters CloudFormation defines; a `Ref` to one of them is never dangling.
pub const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

impl Expr {
    pub fn str(s: impl Into<String>) -> Expr {
        Expr::Str(s.into())
    }

    pub fn sub(s: impl Into<String>) -> Expr {
        Expr::Sub(s.into())
    }

    pub fn join(separator: &str, parts: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Join(separator.to_owned(), parts.into_iter().collect())
    }

    /// `Ref: AWS::Region` and friends.
    pub fn pseudo(name: &'static str) -> Expr {
        debug_assert!(PSEUDO_PARAMETERS.contains(&name));
        Expr::Ref(name.to_owned())
    }
}

/// The `${...}` placeholders of a `Fn::Sub` string that name template entities.
pub fn sub_references(
    template: &str,
    vars: &BTreeMap<String, Expr>,
) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        rest = &after[end + 1..];
        if name.starts_with('!') || vars.contains_key(name) {
            continue;
        }
        if PSEUDO_PARAMETERS.contains(&name) {
            continue;
        }
        match name.split_once('.') {
            Some((resource, attribute)) => {
                found.push((resource.to_owned(), Some(attribute.to_owned())));
            }
            None => found.push((name.to_owned(), None)),
        }
    }
    found
}

impl From<&str> for Expr {
    fn from(s: &str) -> Expr {
        Expr::Str(s.to_owned())
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Expr {
        Expr::Str(s)
    }
}

impl From<&String> for Expr {
    fn from(s: &String) -> Expr {
        Expr::Str(s.clone())
    }
}

impl From<bool> for Expr {
    fn from(b: bool) -> Expr {
        Expr::Bool(b)
    }
}

impl From<u32> for Expr {
    fn from(n: u32) -> Expr {
        Expr::Int(n.into())
    }
}

impl From<i64> for Expr {
    fn from(n: i64) -> Expr {
        Expr::Int(n)
    }
}

impl<T: Into<Expr>> From<Vec<T>> for Expr {
    fn from(items: Vec<T>) -> Expr {
        Expr::List(items.into_iter().map(Into::into).collect())
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn single<S: Serializer, V: Serialize + ?Sized>(
            serializer: S,
            key: &str,
            value: &V,
        ) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(key, value)?;
            map.end()
        }
        match self {
            Expr::Str(s) => serializer.serialize_str(s),
            Expr::Int(n) => serializer.serialize_i64(*n),
            Expr::Bool(b) => serializer.serialize_bool(*b),
            Expr::List(items) => items.serialize(serializer),
            Expr::Map(map) => map.serialize(serializer),
            Expr::Ref(name) => single(serializer, "Ref", name),
            Expr::GetAtt(name, attribute) => single(serializer, "Fn::GetAtt", &[name, attribute]),
            Expr::Sub(template) => single(serializer, "Fn::Sub", template),
            Expr::SubWith(template, vars) => {
                single(serializer, "Fn::Sub", &(template.as_str(), vars))
            }
            Expr::Join(separator, items) => {
                single(serializer, "Fn::Join", &(separator.as_str(), items))
            }
            Expr::If(condition, a, b) => single(serializer, "Fn::If", &(condition.as_str(), a, b)),
        }
    }
}
