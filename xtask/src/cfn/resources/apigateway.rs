//! `AWS::ApiGateway::*`: the REST API, its deployment and stage, API keys and the usage plan.

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestApi {
    pub name: Expr,
    pub description: String,
    pub endpoint_configuration: EndpointConfiguration,
    pub fail_on_warnings: bool,
    /// The OpenAPI document defining paths, methods and integrations.
    pub body: Expr,
}

impl ResourceType for RestApi {
    const TYPE: &'static str = "AWS::ApiGateway::RestApi";
    const ATTRIBUTES: &'static [&'static str] = &["RestApiId", "RootResourceId"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfiguration {
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    pub rest_api_id: Expr,
    pub description: String,
}

impl ResourceType for Deployment {
    const TYPE: &'static str = "AWS::ApiGateway::Deployment";
    const ATTRIBUTES: &'static [&'static str] = &["DeploymentId"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stage {
    pub stage_name: String,
    pub rest_api_id: Expr,
    pub deployment_id: Expr,
    pub tracing_enabled: bool,
    pub method_settings: Vec<MethodSetting>,
    pub access_log_setting: AccessLogSetting,
    /// Stage variables, which integration URIs may read (`${stageVariables.name}`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, Expr>,
}

impl ResourceType for Stage {
    const TYPE: &'static str = "AWS::ApiGateway::Stage";
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MethodSetting {
    pub resource_path: String,
    pub http_method: String,
    pub throttling_rate_limit: u32,
    pub throttling_burst_limit: u32,
    pub metrics_enabled: bool,
    pub logging_level: String,
    pub data_trace_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessLogSetting {
    pub destination_arn: Expr,
    pub format: String,
}

/// An API key; `Ref` gives its id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKey {
    pub description: String,
    pub enabled: bool,
    /// Create-only: a new value replaces the key, and no two keys of a region may share one.
    pub value: Expr,
}

impl ResourceType for ApiKey {
    const TYPE: &'static str = "AWS::ApiGateway::ApiKey";
    const ATTRIBUTES: &'static [&'static str] = &["APIKeyId"];
}

/// Which stages the keys of the plan open; `Ref` gives its id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsagePlan {
    pub usage_plan_name: Expr,
    pub description: String,
    pub api_stages: Vec<ApiStage>,
}

impl ResourceType for UsagePlan {
    const TYPE: &'static str = "AWS::ApiGateway::UsagePlan";
    const ATTRIBUTES: &'static [&'static str] = &["Id"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiStage {
    pub api_id: Expr,
    pub stage: Expr,
}

/// An API key's place in a usage plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsagePlanKey {
    pub key_id: Expr,
    pub key_type: String,
    pub usage_plan_id: Expr,
}

impl ResourceType for UsagePlanKey {
    const TYPE: &'static str = "AWS::ApiGateway::UsagePlanKey";
    const ATTRIBUTES: &'static [&'static str] = &["Id"];
}
