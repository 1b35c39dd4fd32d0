//! `[alarms]`: where alarms go and when they fire.

use std::fmt;

use crate::check::{Checker, is_domain};
use crate::{EnvError, file};

/// Where alarms go and when they fire. Counts are per 5-minute period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSettings {
    /// Subscribed to the alarm topic when set.
    pub email: Option<String>,
    /// An SNS topic that already exists (in the environment's region), notified by every alarm
    /// besides the stack's own topic.
    pub topic_arn: Option<String>,
    /// Deploying refuses an environment whose alarms would reach no one (no `email`, no
    /// `topic_arn`); when false it only warns. True unless the env file says otherwise.
    pub require_destination: bool,
    pub function_errors: u32,
    pub function_throttles: u32,
    /// The duration alarm fires when the slowest invocation passes this share of the timeout.
    pub duration_percent_of_timeout: u32,
    pub api_5xx_errors: u32,
    pub api_latency_p99_ms: u32,
    pub table_throttles: u32,
    pub model_errors: u32,
    pub model_throttles: u32,
    pub rate_limited: u32,
    pub budget_used_percent: u32,
    /// API answers with a 4XX status: refusals, rate limits, bad requests.
    pub api_4xx_errors: u32,
    /// Requests API Gateway throttled at the stage's limit.
    pub api_throttled: u32,
    /// Calls to the `execute-api` address without CloudFront's API key, refused by API Gateway.
    pub direct_calls_refused: u32,
    /// Requests that reached the function without the origin header (API Gateway should have
    /// refused them all).
    pub origin_refused: u32,
    /// Store (DynamoDB) operations that failed.
    pub store_errors: u32,
    /// Chat requests refused because the day's token budget is spent.
    pub budget_exhausted: u32,
}

impl AlarmSettings {
    /// Where the alarms are delivered beyond the stack's own topic: the email address
    /// subscribed to it, the existing topic notified too.
    pub fn destinations(&self) -> Vec<AlarmDestination> {
        let email = self.email.iter().cloned().map(AlarmDestination::Email);
        let topic = self.topic_arn.iter().cloned().map(AlarmDestination::Topic);
        email.chain(topic).collect()
    }
}

/// Someone an alarm reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmDestination {
    /// Subscribed to the stack's alarm topic (once the address confirms it).
    Email(String),
    /// An SNS topic that already exists, notified by every alarm.
    Topic(String),
}

impl fmt::Display for AlarmDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlarmDestination::Email(address) => write!(f, "email {address}"),
            AlarmDestination::Topic(arn) => write!(f, "SNS topic {arn}"),
        }
    }
}

/// Checks `[alarms]`; a topic must be in `region`, the latency threshold within the function's
/// timeout.
pub(crate) fn check(
    c: &Checker,
    alarms: file::Alarms,
    region: &str,
    function_timeout: u32,
) -> Result<AlarmSettings, EnvError> {
    if let Some(email) = &alarms.email {
        c.check(
            "alarms.email",
            is_email(email),
            email,
            "an email address such as ops@example.com",
        )?;
    }
    if let Some(arn) = &alarms.topic_arn {
        c.check(
            "alarms.topic_arn",
            is_topic_arn_in(arn, region),
            arn,
            &format!(
                "the ARN of an SNS topic in the environment's region, arn:aws:sns:{}:<account>:<name> (alarms notify topics of their own region only)",
                region
            ),
        )?;
    }
    for (key, value) in [
        ("alarms.function_errors", alarms.function_errors),
        ("alarms.function_throttles", alarms.function_throttles),
        ("alarms.api_5xx_errors", alarms.api_5xx_errors),
        ("alarms.table_throttles", alarms.table_throttles),
        ("alarms.model_errors", alarms.model_errors),
        ("alarms.model_throttles", alarms.model_throttles),
        ("alarms.rate_limited", alarms.rate_limited),
        ("alarms.api_4xx_errors", alarms.api_4xx_errors),
        ("alarms.api_throttled", alarms.api_throttled),
        ("alarms.direct_calls_refused", alarms.direct_calls_refused),
        ("alarms.origin_refused", alarms.origin_refused),
        ("alarms.store_errors", alarms.store_errors),
        ("alarms.budget_exhausted", alarms.budget_exhausted),
    ] {
        c.range(key, value.into(), 1, 1_000_000, " per 5 minutes")?;
    }
    c.range(
        "alarms.duration_percent_of_timeout",
        alarms.duration_percent_of_timeout.into(),
        1,
        100,
        " percent",
    )?;
    c.range(
        "alarms.budget_used_percent",
        alarms.budget_used_percent.into(),
        1,
        100,
        " percent",
    )?;
    c.range(
        "alarms.api_latency_p99_ms",
        alarms.api_latency_p99_ms.into(),
        1,
        u64::from(function_timeout) * 1_000,
        " ms (the function's timeout)",
    )?;

    Ok(AlarmSettings {
        email: alarms.email,
        topic_arn: alarms.topic_arn,
        require_destination: alarms.require_destination.unwrap_or(true),
        function_errors: alarms.function_errors,
        function_throttles: alarms.function_throttles,
        duration_percent_of_timeout: alarms.duration_percent_of_timeout,
        api_5xx_errors: alarms.api_5xx_errors,
        api_latency_p99_ms: alarms.api_latency_p99_ms,
        table_throttles: alarms.table_throttles,
        model_errors: alarms.model_errors,
        model_throttles: alarms.model_throttles,
        rate_limited: alarms.rate_limited,
        budget_used_percent: alarms.budget_used_percent,
        api_4xx_errors: alarms.api_4xx_errors,
        api_throttled: alarms.api_throttled,
        direct_calls_refused: alarms.direct_calls_refused,
        origin_refused: alarms.origin_refused,
        store_errors: alarms.store_errors,
        budget_exhausted: alarms.budget_exhausted,
    })
}

fn is_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && is_domain(host) && !s.contains(char::is_whitespace)
    })
}

/// `arn:<partition>:sns:<region>:<12 digits>:<topic name>`, in `region`.
fn is_topic_arn_in(s: &str, region: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "sns", topic_region, account, name]
            if partition.starts_with("aws")
                && *topic_region == region
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && name.len() <= 256
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    )
}
