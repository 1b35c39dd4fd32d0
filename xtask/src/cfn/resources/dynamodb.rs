//! `AWS::DynamoDB::Table`: history, rate windows and the daily budget.

use serde::Serialize;

use super::ResourceType;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Table {
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub time_to_live_specification: TimeToLiveSpecification,
    #[serde(rename = "SSESpecification")]
    pub sse_specification: SseSpecification,
    pub point_in_time_recovery_specification: PointInTimeRecoverySpecification,
    pub deletion_protection_enabled: bool,
}

impl ResourceType for Table {
    const TYPE: &'static str = "AWS::DynamoDB::Table";
    const ATTRIBUTES: &'static [&'static str] = &["Arn"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: String,
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
