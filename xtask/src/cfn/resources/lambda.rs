//! `AWS::Lambda::*`: the permission API Gateway invokes the alias with, and the parts of a function SAM passes on.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionEnvironment {
    pub variables: BTreeMap<String, Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_format: String,
    pub application_log_level: String,
    pub system_log_level: String,
    pub log_group: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: String,
    pub function_name: Expr,
    pub principal: String,
    pub source_arn: Expr,
}

impl ResourceType for Permission {
    const TYPE: &'static str = "AWS::Lambda::Permission";
}
