//! `AWS::IAM::*`: roles, and the policy documents every service's policies use.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: String,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: "2012-10-17".into(),
            statement,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// Whom a statement of a resource or trust policy is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An AWS service, such as `cloudfront.amazonaws.com`: `{"Service": "..."}`.
    Service(String),
    /// Anyone at all: `"*"`. Only for statements that deny.
    Anyone,
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Service(service) => {
                BTreeMap::from([("Service", service)]).serialize(serializer)
            }
            Principal::Anyone => serializer.serialize_str("*"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub assume_role_policy_document: PolicyDocument,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Expr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
}

impl ResourceType for Role {
    const TYPE: &'static str = "AWS::IAM::Role";
    const ATTRIBUTES: &'static [&'static str] = &["Arn", "RoleId"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}
