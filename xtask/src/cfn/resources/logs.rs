//! `AWS::Logs::*`: log groups and the metric filters that count their events.

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: Expr,
    pub retention_in_days: u32,
}

impl ResourceType for LogGroup {
    const TYPE: &'static str = "AWS::Logs::LogGroup";
    const ATTRIBUTES: &'static [&'static str] = &["Arn"];
}

/// Counts the log events of a group that match a pattern as a CloudWatch metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricFilter {
    pub log_group_name: Expr,
    pub filter_pattern: String,
    pub metric_transformations: Vec<MetricTransformation>,
}

impl ResourceType for MetricFilter {
    const TYPE: &'static str = "AWS::Logs::MetricFilter";
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
