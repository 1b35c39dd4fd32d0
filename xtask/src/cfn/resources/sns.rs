//! `AWS::SNS::Topic`: where alarms go.

use serde::Serialize;

use super::ResourceType;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    pub display_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscription: Vec<Subscription>,
}

impl ResourceType for Topic {
    const TYPE: &'static str = "AWS::SNS::Topic";
    const ATTRIBUTES: &'static [&'static str] = &["TopicArn", "TopicName"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    pub endpoint: String,
    pub protocol: String,
}
