//! `AWS::CloudFront::*`: the distribution and its policies.

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OriginAccessControl {
    pub origin_access_control_config: OriginAccessControlConfig,
}

impl ResourceType for OriginAccessControl {
    const TYPE: &'static str = "AWS::CloudFront::OriginAccessControl";
    const ATTRIBUTES: &'static [&'static str] = &["Id"];
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

impl ResourceType for ResponseHeadersPolicy {
    const TYPE: &'static str = "AWS::CloudFront::ResponseHeadersPolicy";
    const ATTRIBUTES: &'static [&'static str] = &["Id"];
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
    pub content_security_policy: Expr,
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

impl ResourceType for OriginRequestPolicy {
    const TYPE: &'static str = "AWS::CloudFront::OriginRequestPolicy";
    const ATTRIBUTES: &'static [&'static str] = &["Id"];
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

impl ResourceType for Distribution {
    const TYPE: &'static str = "AWS::CloudFront::Distribution";
    const ATTRIBUTES: &'static [&'static str] = &["DomainName", "Id"];
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
    pub cache_policy_id: Expr,
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

/// What CloudFront keys its cache on, and so also sends to the origin. The only way to pass a
/// viewer's `Authorization` header on: an origin request policy may not name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CachePolicy {
    pub cache_policy_config: CachePolicyConfig,
}

impl ResourceType for CachePolicy {
    const TYPE: &'static str = "AWS::CloudFront::CachePolicy";
    const ATTRIBUTES: &'static [&'static str] = &["Id"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CachePolicyConfig {
    pub name: Expr,
    pub comment: String,
    #[serde(rename = "MinTTL")]
    pub min_ttl: u32,
    #[serde(rename = "DefaultTTL")]
    pub default_ttl: u32,
    #[serde(rename = "MaxTTL")]
    pub max_ttl: u32,
    pub parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CacheKeyParameters {
    pub enable_accept_encoding_gzip: bool,
    pub enable_accept_encoding_brotli: bool,
    pub cookies_config: CookiesConfig,
    pub headers_config: HeadersConfig,
    pub query_strings_config: QueryStringsConfig,
}
