//! `AWS::S3::*`: the site bucket and its policy.

use serde::Serialize;

use super::{PolicyDocument, ResourceType};
use crate::cfn::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub bucket_encryption: BucketEncryption,
    pub public_access_block_configuration: PublicAccessBlockConfiguration,
    pub ownership_controls: OwnershipControls,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning_configuration: Option<VersioningConfiguration>,
}

impl ResourceType for Bucket {
    const TYPE: &'static str = "AWS::S3::Bucket";
    const ATTRIBUTES: &'static [&'static str] = &["Arn", "DomainName", "RegionalDomainName"];
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

impl ResourceType for BucketPolicy {
    const TYPE: &'static str = "AWS::S3::BucketPolicy";
}
