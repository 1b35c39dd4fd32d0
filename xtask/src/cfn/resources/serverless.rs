//! The SAM resource types the stack uses (`AWS::Serverless::*`), expanded by the
//! `AWS::Serverless-2016-10-31` transform when CloudFormation makes a change set.
//!
//! Only what SAM adds something for is modelled here: a function with an alias published on
//! every change and, optionally, a gradual traffic shift through CodeDeploy. What SAM would only
//! rename (the REST API, CloudFront, the table, the alarms) stays plain CloudFormation.

use serde::Serialize;

use super::{FunctionEnvironment, LoggingConfig, ResourceType};
use crate::cfn::Expr;

/// The transform a template with SAM resources declares.
pub const TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// `AWS::Serverless::Function`: a Lambda function, and with [`Function::auto_publish_alias`] a
/// version per change and an alias pointing at it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub description: String,
    pub runtime: String,
    pub handler: String,
    pub code_uri: CodeUri,
    /// An explicit role: SAM then makes none (its own would carry
    /// `AWSLambdaBasicExecutionRole`, which writes to every log group).
    pub role: Expr,
    pub architectures: Vec<String>,
    pub memory_size: u32,
    pub timeout: u32,
    pub reserved_concurrent_executions: u32,
    pub environment: FunctionEnvironment,
    pub logging_config: LoggingConfig,
    /// The alias SAM keeps on the newest version; `Ref: <Function>.Alias` is its ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_publish_alias: Option<String>,
    /// Publish a new version when any property changes, not only code, variables and memory
    /// (a timeout change alone would otherwise never reach the alias).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auto_publish_alias_all_properties: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_preference: Option<DeploymentPreference>,
}

impl ResourceType for Function {
    const TYPE: &'static str = "AWS::Serverless::Function";
    const ATTRIBUTES: &'static [&'static str] = &["Arn"];
}

/// Where the function's zip is: SAM resolves parameter references here, so a new `Key` value
/// publishes a new version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeUri {
    pub bucket: Expr,
    pub key: Expr,
}

/// How CodeDeploy moves the alias to a new version, and what stops it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentPreference {
    #[serde(rename = "Type")]
    pub kind: DeploymentType,
    /// Alarms that stop the shift and move the traffic back when any of them is in ALARM.
    pub alarms: Vec<Expr>,
    /// CodeDeploy's role: SAM then makes none (its own carries the broad
    /// `AWSCodeDeployRoleForLambda`).
    pub role: Expr,
}

/// The predefined CodeDeploy configurations the environments use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeploymentType {
    /// 10 % of the traffic for 5 minutes, then the rest.
    Canary10Percent5Minutes,
    /// 10 % more every minute, 100 % after 10 minutes.
    Linear10PercentEvery1Minute,
}

impl DeploymentType {
    /// The name SAM and CodeDeploy use, e.g. `Canary10Percent5Minutes`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentType::Canary10Percent5Minutes => "Canary10Percent5Minutes",
            DeploymentType::Linear10PercentEvery1Minute => "Linear10PercentEvery1Minute",
        }
    }
}

/// The references SAM resolves on a function with an alias: `Ref: <id>.Alias` (the alias ARN)
/// and `Ref: <id>.Version` (the newest version's ARN), also as `${<id>.Alias}` in `Fn::Sub`.
pub const FUNCTION_REFERENCES: [&str; 2] = ["Alias", "Version"];
