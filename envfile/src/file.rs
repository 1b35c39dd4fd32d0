//! The shape of `envs/<name>.toml` as serde reads it. Only syntax and types are checked here;
//! each section's module turns its part of an [`EnvFile`] into checked settings.

use std::collections::BTreeMap;

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
    pub guardrail: Option<Guardrail>,
    #[serde(default)]
    pub auth: Auth,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Models {
    pub default: String,
    pub allowed: Vec<Model>,
    /// Model id to its price; every allowed model needs one.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
}

/// `[models.prices."<id>"]`: US dollars per million tokens, and the date they were taken.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
    pub as_of: toml::value::Datetime,
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
    pub rate_limit: Option<u32>,
    /// The old name of `rate_limit`, still read.
    pub rate_limit_requests: Option<u32>,
    pub rate_window_seconds: Option<u32>,
    /// The old name of `rate_window_seconds`, still read.
    pub rate_limit_window_seconds: Option<u32>,
    #[serde(default = "default_ipv6_prefix_length")]
    pub ipv6_prefix_length: u32,
    pub daily_token_budget: u64,
    /// US dollars of model spend per UTC day; none when absent.
    pub daily_cost_budget_usd: Option<f64>,
    pub history_days: u32,
}

/// The prefix length the service counts one client by when it is given none.
fn default_ipv6_prefix_length() -> u32 {
    chatbot_contract::DEFAULT_IPV6_PREFIX_LENGTH.into()
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
    pub topic_arn: Option<String>,
    pub require_destination: Option<bool>,
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
    pub api_4xx_errors: u32,
    pub api_throttled: u32,
    pub direct_calls_refused: u32,
    pub origin_refused: u32,
    pub store_errors: u32,
    pub budget_exhausted: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub point_in_time_recovery: bool,
    pub deletion_protection: bool,
    /// Items the day's budget is spread over; derived from `api.throttle_rate` when absent.
    #[serde(default)]
    pub budget_shards: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub versioning: bool,
    #[serde(default)]
    pub starter_prompts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub name: String,
    pub certificate_arn: String,
}

/// `[guardrail]`: an Amazon Bedrock guardrail on every model call.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    pub blocked_input_message: String,
    pub blocked_output_message: String,
    #[serde(default)]
    pub stream_processing: StreamProcessing,
    #[serde(default)]
    pub content_filters: ContentFilters,
    #[serde(default)]
    pub denied_topics: Vec<DeniedTopic>,
    #[serde(default)]
    pub pii: Pii,
    #[serde(default)]
    pub profanity_filter: bool,
    #[serde(default)]
    pub blocked_words: Vec<String>,
}

#[derive(Deserialize, Default)]
pub enum StreamProcessing {
    #[default]
    #[serde(rename = "sync")]
    Sync,
    #[serde(rename = "async")]
    Async,
}

/// One strength per category, for prompts and answers alike (prompt attacks: prompts only).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ContentFilters {
    pub hate: Option<Strength>,
    pub insults: Option<Strength>,
    pub sexual: Option<Strength>,
    pub violence: Option<Strength>,
    pub misconduct: Option<Strength>,
    pub prompt_attack: Option<Strength>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    None,
    Low,
    Medium,
    High,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeniedTopic {
    pub name: String,
    pub definition: String,
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Pii {
    #[serde(default)]
    pub block: Vec<String>,
    #[serde(default)]
    pub mask: Vec<String>,
}

/// `[auth]`: who may use the chatbot. Every key but `mode` is read only in `"users"` mode.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    #[serde(default)]
    pub mode: AuthMode,
    pub self_sign_up: Option<bool>,
    pub allowed_email_domains: Option<Vec<String>>,
    pub domain_prefix: Option<String>,
    pub rate_limit: Option<u32>,
    pub rate_window_seconds: Option<u32>,
    pub daily_tokens_per_user: Option<u64>,
    pub federation: Option<Federation>,
}

#[derive(Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    Public,
    Users,
}

/// `[auth.federation]`: one identity provider; which keys apply depends on `type`, so they are
/// all read and the check says which belong to the other type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Federation {
    #[serde(rename = "type")]
    pub kind: FederationType,
    pub name: String,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_arn: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub metadata_url: Option<String>,
    pub email_attribute: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FederationType {
    Oidc,
    Saml,
}
