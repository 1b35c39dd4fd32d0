//! `AWS::CloudWatch::*`: alarms and the dashboard.

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

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

impl ResourceType for Alarm {
    const TYPE: &'static str = "AWS::CloudWatch::Alarm";
    const ATTRIBUTES: &'static [&'static str] = &["Arn"];
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

impl ResourceType for Dashboard {
    const TYPE: &'static str = "AWS::CloudWatch::Dashboard";
}
