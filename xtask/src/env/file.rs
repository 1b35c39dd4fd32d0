//! The shape of `envs/<name>.toml` as serde reads it. Only syntax and types are checked here;
//! `super::validate` turns a [`EnvFile`] into a checked [`super::Environment`].

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    pub stack_name: String,
    pub region: String,
    pub account_id: Option<String>,
    pub models: Models,
    pub chat: Chat,
    pub function: Function,
    pub api: Api,
    pub logs: Logs,
    pub alarms: Alarms,
    pub table: Table,
    pub site: Site,
    pub domain: Option<Domain>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Models {
    pub default: String,
    pub allowed: Vec<Model>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub id: String,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chat {
    pub system_prompt: String,
    pub max_output_tokens: u32,
    pub rate_limit_requests: u32,
    pub rate_limit_window_seconds: u32,
    pub daily_token_budget: u64,
    pub history_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub reserved_concurrency: u32,
    pub architecture: Architecture,
    pub rollout: Rollout,
}

#[derive(Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

#[derive(Deserialize)]
pub enum Rollout {
    #[serde(rename = "all-at-once")]
    AllAtOnce,
    #[serde(rename = "canary-10-percent-5-minutes")]
    Canary10Percent5Minutes,
    #[serde(rename = "linear-10-percent-every-1-minute")]
    Linear10PercentEvery1Minute,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub throttle_rate: u32,
    pub throttle_burst: u32,
    pub origin_read_timeout_seconds: u32,
    #[serde(default)]
    pub origin_read_timeout_quota_raised: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logs {
    pub retention_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    pub email: Option<String>,
    pub function_errors: u32,
    pub function_throttles: u32,
    pub duration_percent_of_timeout: u32,
    pub api_5xx_errors: u32,
    pub api_latency_p99_ms: u32,
    pub table_throttles: u32,
    pub model_errors: u32,
    pub model_throttles: u32,
    pub rate_limited: u32,
    pub budget_used_percent: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub point_in_time_recovery: bool,
    pub deletion_protection: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub versioning: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub name: String,
    pub certificate_arn: String,
}
