//! `AWS::Lambda::*`: the permission API Gateway invokes the alias with, the parts of a function
//! SAM passes on, and a small function whose code is inline in the template.

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

/// A function whose whole code is in the template (`Code.ZipFile`), for a few lines a reviewer
/// reads in the template itself; `GetAtt Arn` gives its ARN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlineFunction {
    pub description: String,
    pub runtime: String,
    pub handler: String,
    pub code: InlineCode,
    pub role: Expr,
    pub architectures: Vec<String>,
    pub memory_size: u32,
    pub timeout: u32,
    pub reserved_concurrent_executions: u32,
    pub environment: FunctionEnvironment,
    pub logging_config: LoggingConfig,
}

impl ResourceType for InlineFunction {
    const TYPE: &'static str = "AWS::Lambda::Function";
    const ATTRIBUTES: &'static [&'static str] = &["Arn"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlineCode {
    pub zip_file: String,
}
