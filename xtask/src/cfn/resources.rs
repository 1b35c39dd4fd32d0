//! Typed properties of the resource types the stack uses, named as CloudFormation names them.
//! Only the properties we set are modelled; a field that is `None` or empty is left out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Expr;
pub use super::bedrock::*;
use super::serverless;

/// A resource's type and properties.
#[derive(Debug, Clone, PartialEq)]
pub enum Properties {
    Bucket(Bucket),
    BucketPolicy(BucketPolicy),
    Role(Role),
    ServerlessFunction(serverless::Function),
    Permission(Permission),
    LogGroup(LogGroup),
    Table(Table),
    Topic(Topic),
    Alarm(Alarm),
    Dashboard(Dashboard),
    RestApi(RestApi),
    Deployment(Deployment),
    Stage(Stage),
    OriginAccessControl(OriginAccessControl),
    ResponseHeadersPolicy(ResponseHeadersPolicy),
    OriginRequestPolicy(OriginRequestPolicy),
    Distribution(Distribution),
    Secret(Secret),
    ApiKey(ApiKey),
    UsagePlan(UsagePlan),
    UsagePlanKey(UsagePlanKey),
    MetricFilter(MetricFilter),
    Guardrail(Guardrail),
    GuardrailVersion(GuardrailVersion),
}

impl Properties {
    /// The CloudFormation resource type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Properties::Bucket(_) => "AWS::S3::Bucket",
            Properties::BucketPolicy(_) => "AWS::S3::BucketPolicy",
            Properties::Role(_) => "AWS::IAM::Role",
            Properties::ServerlessFunction(_) => "AWS::Serverless::Function",
            Properties::Permission(_) => "AWS::Lambda::Permission",
            Properties::LogGroup(_) => "AWS::Logs::LogGroup",
            Properties::Table(_) => "AWS::DynamoDB::Table",
            Properties::Topic(_) => "AWS::SNS::Topic",
            Properties::Alarm(_) => "AWS::CloudWatch::Alarm",
            Properties::Dashboard(_) => "AWS::CloudWatch::Dashboard",
            Properties::RestApi(_) => "AWS::ApiGateway::RestApi",
            Properties::Deployment(_) => "AWS::ApiGateway::Deployment",
            Properties::Stage(_) => "AWS::ApiGateway::Stage",
            Properties::OriginAccessControl(_) => "AWS::CloudFront::OriginAccessControl",
            Properties::ResponseHeadersPolicy(_) => "AWS::CloudFront::ResponseHeadersPolicy",
            Properties::OriginRequestPolicy(_) => "AWS::CloudFront::OriginRequestPolicy",
            Properties::Distribution(_) => "AWS::CloudFront::Distribution",
            Properties::Secret(_) => "AWS::SecretsManager::Secret",
            Properties::ApiKey(_) => "AWS::ApiGateway::ApiKey",
            Properties::UsagePlan(_) => "AWS::ApiGateway::UsagePlan",
            Properties::UsagePlanKey(_) => "AWS::ApiGateway::UsagePlanKey",
            Properties::MetricFilter(_) => "AWS::Logs::MetricFilter",
            Properties::Guardrail(_) => "AWS::Bedrock::Guardrail",
            Properties::GuardrailVersion(_) => "AWS::Bedrock::GuardrailVersion",
        }
    }

    /// The attributes `Fn::GetAtt` may read from this type (the ones the stack needs).
    pub fn attributes(&self) -> &'static [&'static str] {
        match self {
            Properties::Bucket(_) => &["Arn", "DomainName", "RegionalDomainName"],
            Properties::Role(_) => &["Arn", "RoleId"],
            Properties::ServerlessFunction(_) => &["Arn"],
            Properties::LogGroup(_) => &["Arn"],
            Properties::Table(_) => &["Arn"],
            Properties::Topic(_) => &["TopicArn", "TopicName"],
            Properties::Alarm(_) => &["Arn"],
            Properties::RestApi(_) => &["RestApiId", "RootResourceId"],
            Properties::Deployment(_) => &["DeploymentId"],
            Properties::OriginAccessControl(_) => &["Id"],
            Properties::ResponseHeadersPolicy(_) => &["Id"],
            Properties::OriginRequestPolicy(_) => &["Id"],
            Properties::Distribution(_) => &["DomainName", "Id"],
            Properties::Secret(_) => &["Id"],
            Properties::Guardrail(_) | Properties::GuardrailVersion(_) => {
                &["GuardrailArn", "GuardrailId", "Version"]
            }
            Properties::ApiKey(_) => &["APIKeyId"],
            Properties::UsagePlan(_) | Properties::UsagePlanKey(_) => &["Id"],
            Properties::MetricFilter(_)
            | Properties::BucketPolicy(_)
            | Properties::Permission(_)
            | Properties::Dashboard(_)
            | Properties::Stage(_) => &[],
        }
    }

    /// What SAM lets other resources reference besides attributes (`Ref: Function.Alias`,
    /// `${Function.Alias}`), which the transform replaces with the generated resource.
    pub fn sam_references(&self) -> &'static [&'static str] {
        match self {
            Properties::ServerlessFunction(f) if f.auto_publish_alias.is_some() => {
                &serverless::FUNCTION_REFERENCES
            }
            _ => &[],
        }
    }
}

impl Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Properties::Bucket(p) => p.serialize(serializer),
            Properties::BucketPolicy(p) => p.serialize(serializer),
            Properties::Role(p) => p.serialize(serializer),
            Properties::ServerlessFunction(p) => p.serialize(serializer),
            Properties::Permission(p) => p.serialize(serializer),
            Properties::LogGroup(p) => p.serialize(serializer),
            Properties::Table(p) => p.serialize(serializer),
            Properties::Topic(p) => p.serialize(serializer),
            Properties::Alarm(p) => p.serialize(serializer),
            Properties::Dashboard(p) => p.serialize(serializer),
            Properties::RestApi(p) => p.serialize(serializer),
            Properties::Deployment(p) => p.serialize(serializer),
            Properties::Stage(p) => p.serialize(serializer),
            Properties::OriginAccessControl(p) => p.serialize(serializer),
            Properties::ResponseHeadersPolicy(p) => p.serialize(serializer),
            Properties::OriginRequestPolicy(p) => p.serialize(serializer),
            Properties::Distribution(p) => p.serialize(serializer),
            Properties::Secret(p) => p.serialize(serializer),
            Properties::ApiKey(p) => p.serialize(serializer),
            Properties::UsagePlan(p) => p.serialize(serializer),
            Properties::UsagePlanKey(p) => p.serialize(serializer),
            Properties::MetricFilter(p) => p.serialize(serializer),
            Properties::Guardrail(p) => p.serialize(serializer),
            Properties::GuardrailVersion(p) => p.serialize(serializer),
        }
    }
}

// ---- S3 ----

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub bucket_encryption: BucketEncryption,
    pub public_access_block_configuration: PublicAccessBlockConfiguration,
    pub ownership_controls: OwnershipControls,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning_configuration: Option<VersioningConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketEncryption {
    pub server_side_encryption_configuration: Vec<ServerSideEncryptionRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerSideEncryptionRule {
    pub server_side_encryption_by_default: ServerSideEncryptionByDefault,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerSideEncryptionByDefault {
    #[serde(rename = "SSEAlgorithm")]
    pub sse_algorithm: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlockConfiguration {
    pub block_public_acls: bool,
    pub block_public_policy: bool,
    pub ignore_public_acls: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockConfiguration {
    pub const ALL_BLOCKED: PublicAccessBlockConfiguration = PublicAccessBlockConfiguration {
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
    };
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipControls {
    pub rules: Vec<OwnershipRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnershipRule {
    pub object_ownership: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersioningConfiguration {
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub bucket: Expr,
    pub policy_document: PolicyDocument,
}

// ---- IAM ----

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

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

// ---- Lambda ----

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

// ---- Logs ----

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: Expr,
    pub retention_in_days: u32,
}

// ---- DynamoDB ----

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Table {
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub time_to_live_specification: TimeToLiveSpecification,
    #[serde(rename = "SSESpecification")]
    pub sse_specification: SseSpecification,
    pub point_in_time_recovery_specification: PointInTimeRecoverySpecification,
    pub deletion_protection_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveSpecification {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SseSpecification {
    #[serde(rename = "SSEEnabled")]
    pub sse_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PointInTimeRecoverySpecification {
    pub point_in_time_recovery_enabled: bool,
}

/// Counts the log events of a group that match a pattern as a CloudWatch metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricFilter {
    pub log_group_name: Expr,
    pub filter_pattern: String,
    pub metric_transformations: Vec<MetricTransformation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricTransformation {
    pub metric_namespace: String,
    pub metric_name: String,
    pub metric_value: String,
    pub unit: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<MetricFilterDimension>,
}

/// A dimension of a metric filter's metric, its value read from each log event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricFilterDimension {
    pub key: String,
    /// The JSON field of the log event that gives the value, such as `$.apiId`.
    pub value: String,
}

// ---- SNS ----

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    pub display_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscription: Vec<Subscription>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    pub endpoint: String,
    pub protocol: String,
}

// ---- CloudWatch ----

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    pub period: u32,
    pub evaluation_periods: u32,
    pub threshold: i64,
    pub comparison_operator: String,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<Expr>,
    #[serde(rename = "OKActions")]
    pub ok_actions: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dashboard {
    pub dashboard_name: Expr,
    pub dashboard_body: Expr,
}

// ---- API Gateway ----

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

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stage {
    pub stage_name: String,
    pub rest_api_id: Expr,
    pub deployment_id: Expr,
    pub tracing_enabled: bool,
    pub method_settings: Vec<MethodSetting>,
    pub access_log_setting: AccessLogSetting,
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

/// Which stages the keys of the plan open; `Ref` gives its id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsagePlan {
    pub usage_plan_name: Expr,
    pub description: String,
    pub api_stages: Vec<ApiStage>,
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

// ---- CloudFront ----

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginAccessControl {
    pub origin_access_control_config: OriginAccessControlConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginAccessControlConfig {
    pub name: Expr,
    pub description: String,
    pub origin_access_control_origin_type: String,
    pub signing_behavior: String,
    pub signing_protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseHeadersPolicy {
    pub response_headers_policy_config: ResponseHeadersPolicyConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseHeadersPolicyConfig {
    pub name: Expr,
    pub comment: String,
    pub security_headers_config: SecurityHeadersConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityHeadersConfig {
    pub content_security_policy: ContentSecurityPolicy,
    pub content_type_options: OverrideOnly,
    pub frame_options: FrameOptions,
    pub referrer_policy: ReferrerPolicy,
    pub strict_transport_security: StrictTransportSecurity,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContentSecurityPolicy {
    pub content_security_policy: String,
    pub r#override: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OverrideOnly {
    pub r#override: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FrameOptions {
    pub frame_option: String,
    pub r#override: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReferrerPolicy {
    pub referrer_policy: String,
    pub r#override: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StrictTransportSecurity {
    pub access_control_max_age_sec: u32,
    pub include_subdomains: bool,
    pub preload: bool,
    pub r#override: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginRequestPolicy {
    pub origin_request_policy_config: OriginRequestPolicyConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginRequestPolicyConfig {
    pub name: Expr,
    pub comment: String,
    pub cookies_config: CookiesConfig,
    pub headers_config: HeadersConfig,
    pub query_strings_config: QueryStringsConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CookiesConfig {
    pub cookie_behavior: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeadersConfig {
    pub header_behavior: String,
    pub headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStringsConfig {
    pub query_string_behavior: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Distribution {
    pub distribution_config: DistributionConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DistributionConfig {
    pub comment: Expr,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub default_root_object: String,
    pub http_version: String,
    #[serde(rename = "IPV6Enabled")]
    pub ipv6_enabled: bool,
    pub price_class: String,
    pub origins: Vec<Origin>,
    pub default_cache_behavior: CacheBehavior,
    pub cache_behaviors: Vec<CacheBehavior>,
    pub viewer_certificate: ViewerCertificate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Origin {
    pub id: String,
    pub domain_name: Expr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_access_control_id: Option<Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_origin_config: Option<S3OriginConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_origin_config: Option<CustomOriginConfig>,
    /// Headers CloudFront adds to every request it sends to this origin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub origin_custom_headers: Vec<OriginCustomHeader>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginCustomHeader {
    pub header_name: String,
    pub header_value: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3OriginConfig {
    /// Empty: the origin uses Origin Access Control, not a legacy access identity.
    pub origin_access_identity: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomOriginConfig {
    pub origin_protocol_policy: String,
    #[serde(rename = "OriginSSLProtocols")]
    pub origin_ssl_protocols: Vec<String>,
    pub origin_read_timeout: u32,
    pub origin_keepalive_timeout: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CacheBehavior {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_pattern: Option<String>,
    pub target_origin_id: String,
    pub viewer_protocol_policy: String,
    pub allowed_methods: Vec<String>,
    pub cached_methods: Vec<String>,
    pub cache_policy_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_request_policy_id: Option<Expr>,
    pub response_headers_policy_id: Expr,
    pub compress: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ViewerCertificate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acm_certificate_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_front_default_certificate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_protocol_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_support_method: Option<String>,
}

// ---- Secrets Manager ----

/// A secret whose value Secrets Manager generates; `Ref` gives its ARN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    pub description: String,
    pub generate_secret_string: GenerateSecretString,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateSecretString {
    pub password_length: u32,
    pub exclude_punctuation: bool,
}
