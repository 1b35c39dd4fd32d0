//! Environments: `envs/<name>.toml` read into a checked [`Environment`].
//!
//! Everything that differs between dev, staging and prod lives in those files. A file with an
//! unknown key, a value of the wrong type or an impossible value is refused with an error that
//! names the file, the key and what is allowed.

mod file;
mod guardrail;
mod price;

pub use guardrail::{
    ContentFilter, DeniedTopic, FilterCategory, GuardrailSettings, PII_ENTITY_TYPES, PiiAction,
    PiiEntity, StreamProcessing, Strength,
};

pub use price::ModelPrice;

use std::fmt;
use std::path::Path;

use anyhow::Context;

/// One environment, checked: every value here is one AWS accepts and the stack can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// File stem of `envs/<name>.toml`: `dev`, `staging`, `prod`.
    pub name: String,
    /// CloudFormation stack name.
    pub stack_name: String,
    pub region: String,
    /// When set, deploying refuses credentials of any other account.
    pub account_id: Option<String>,
    /// The models a request may ask for, in the order the page lists them.
    pub models: Vec<Model>,
    /// Id of the model used when a request names none; one of `models`.
    pub default_model: String,
    pub system_prompt: String,
    pub max_output_tokens: u32,
    pub rate_limit: RateLimit,
    /// Tokens (input + output) the whole environment may spend per UTC day.
    pub daily_token_budget: u64,
    /// Micro-dollars (US$ 0.000001) of model spend the whole environment may spend per UTC
    /// day, at the models' prices; `None`: only the token budget applies.
    pub daily_cost_budget_micro_usd: Option<u64>,
    /// Days a conversation is kept before the table's TTL removes it.
    pub history_days: u32,
    pub function: FunctionSettings,
    pub api: ApiSettings,
    /// Days CloudWatch keeps the function's and the API's logs.
    pub log_retention_days: u32,
    pub alarms: AlarmSettings,
    pub table: TableSettings,
    /// Keep earlier versions of the site's files in its bucket.
    pub site_versioning: bool,
    /// Prompts the page offers on an empty chat, in order.
    pub starter_prompts: Vec<String>,
    pub domain: Option<Domain>,
    /// An Amazon Bedrock guardrail on every model call, when the env file has a `[guardrail]`.
    pub guardrail: Option<GuardrailSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// Bedrock model id or inference-profile id, e.g. `amazon.nova-lite-v1:0`.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    pub price: ModelPrice,
}

/// Chat requests one client may make per window. A client is one IPv4 address, or one IPv6
/// network of `ipv6_prefix_length` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window_seconds: u32,
    /// 1 to 128; 64 unless the env file says otherwise.
    pub ipv6_prefix_length: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSettings {
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub reserved_concurrency: u32,
    pub architecture: Architecture,
    pub rollout: Rollout,
}

/// How a new version of the function takes over the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// CloudFormation points the alias at the new version at once; no CodeDeploy.
    AllAtOnce,
    /// CodeDeploy sends 10 % of the traffic to the new version for 5 minutes, then the rest,
    /// and moves it back when a rollback alarm fires.
    Canary10Percent5Minutes,
    /// CodeDeploy adds 10 % every minute, and moves it back when a rollback alarm fires.
    Linear10PercentEvery1Minute,
}

impl Rollout {
    /// The name in the env files.
    pub fn as_str(self) -> &'static str {
        match self {
            Rollout::AllAtOnce => "all-at-once",
            Rollout::Canary10Percent5Minutes => "canary-10-percent-5-minutes",
            Rollout::Linear10PercentEvery1Minute => "linear-10-percent-every-1-minute",
        }
    }

    /// Whether CodeDeploy shifts the traffic (and can roll it back).
    pub fn is_gradual(self) -> bool {
        self != Rollout::AllAtOnce
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// The name Lambda uses in `Architectures`.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// API Gateway stage throttling, and how long CloudFront waits for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSettings {
    /// Steady requests per second.
    pub throttle_rate: u32,
    /// Requests allowed in a burst.
    pub throttle_burst: u32,
    /// Seconds CloudFront waits for the API's first byte and between two packets; never less
    /// than the function's timeout.
    pub origin_read_timeout_seconds: u32,
}

/// CloudFront's longest origin read timeout without a quota increase.
pub const ORIGIN_READ_TIMEOUT_DEFAULT_MAX: u32 = 60;
/// CloudFront's longest origin read timeout with the quota raised.
pub const ORIGIN_READ_TIMEOUT_MAX: u32 = 180;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSettings {
    pub point_in_time_recovery: bool,
    /// Also keeps the table when the stack is deleted (`DeletionPolicy: Retain`).
    pub deletion_protection: bool,
    /// Items the day's budget is spread over, so no one item takes every answer's write
    /// (`table.budget_shards`, or enough for `api.throttle_rate`: see
    /// [`chatbot_contract::budget::shards_for_rate`]).
    pub budget_shards: u32,
}

/// A custom domain for the CloudFront distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    /// ACM certificate in us-east-1, as CloudFront requires.
    pub certificate_arn: String,
}

/// Why an environment could not be loaded.
#[derive(Debug)]
pub enum EnvError {
    /// No `envs/<name>.toml`.
    NotFound { name: String, known: Vec<String> },
    Read {
        file: String,
        source: std::io::Error,
    },
    /// The file is not TOML.
    Syntax {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// A key is unknown, missing, of the wrong type or has an impossible value.
    Key {
        file: String,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |line: &Option<usize>| line.map(|l| format!(":{l}")).unwrap_or_default();
        match self {
            EnvError::NotFound { name, known } => write!(
                f,
                "no environment `{name}`: envs/{name}.toml does not exist (environments: {})",
                known.join(", ")
            ),
            EnvError::Read { file, source } => write!(f, "cannot read {file}: {source}"),
            EnvError::Syntax {
                file,
                line,
                message,
            } => write!(f, "{file}{}: invalid TOML: {message}", at(line)),
            EnvError::Key {
                file,
                line,
                key,
                message,
            } => write!(f, "{file}{}: {key}: {message}", at(line)),
        }
    }
}

impl std::error::Error for EnvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EnvError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads and checks `root/envs/<name>.toml`.
pub fn load(root: &Path, name: &str) -> Result<Environment, EnvError> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let path = root.join("envs").join(format!("{name}.toml"));
    if !plain || !path.is_file() {
        return Err(EnvError::NotFound {
            name: name.to_owned(),
            known: names(root).unwrap_or_default(),
        });
    }
    let file = format!("envs/{name}.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| EnvError::Read {
        file: file.clone(),
        source,
    })?;
    parse(name, &file, &text)
}

/// Checks `text` as the contents of `file` for environment `name`; `load` without the disk.
pub fn parse(name: &str, file: &str, text: &str) -> Result<Environment, EnvError> {
    let raw = read_toml(file, text)?;
    validate(name, file, raw)
}

/// The environments in `root/envs/`, sorted by name.
pub fn names(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join("envs");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "toml")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn read_toml(file: &str, text: &str) -> Result<file::EnvFile, EnvError> {
    let line_of = |err: &toml::de::Error| {
        err.span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|err| EnvError::Syntax {
        file: file.to_owned(),
        line: line_of(&err),
        message: err.message().trim_end().to_owned(),
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let line = line_of(err.inner());
        let message = err.inner().message().trim_end().to_owned();
        let (key, message) = describe(&path, &message);
        EnvError::Key {
            file: file.to_owned(),
            line,
            key,
            message,
        }
    })
}

/// Puts serde's "unknown field `x`" and "missing field `x`" in terms of the key's full name.
fn describe(path: &str, message: &str) -> (String, String) {
    let join = |field: &str| {
        if path == "." || path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    for (prefix, what) in [
        ("unknown field `", "unknown key"),
        ("missing field `", "missing key"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((field, tail)) = rest.split_once('`')
        {
            let tail = tail.trim_start_matches(',').trim_start();
            let message = if tail.is_empty() {
                what.to_owned()
            } else {
                format!(
                    "{what}, {}",
                    tail.replace("there are no fields", "none allowed here")
                )
            };
            // serde_path_to_error already ends the path with an unknown key, not a missing one.
            let key = if path == field || path.ends_with(&format!(".{field}")) {
                path.to_owned()
            } else {
                join(field)
            };
            return (key, message);
        }
    }
    let key = if path == "." { "(top level)" } else { path };
    (key.to_owned(), message.to_owned())
}

/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn fail(&self, key: &str, message: String) -> EnvError {
        EnvError::Key {
            file: self.file.to_owned(),
            line: None,
            key: key.to_owned(),
            message,
        }
    }

    fn range(&self, key: &str, value: u64, min: u64, max: u64, unit: &str) -> Result<(), EnvError> {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(self.fail(
                key,
                format!("{value} is out of range, allowed: {min} to {max}{unit}"),
            ))
        }
    }

    fn check(&self, key: &str, ok: bool, value: &str, allowed: &str) -> Result<(), EnvError> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(key, format!("{value:?} is not allowed, expected {allowed}")))
        }
    }
}

fn validate(name: &str, file: &str, raw: file::EnvFile) -> Result<Environment, EnvError> {
    let c = Checker { file };

    c.check(
        "stack_name",
        is_stack_name(&raw.stack_name),
        &raw.stack_name,
        "a letter then letters, digits and hyphens, at most 128 characters",
    )?;
    c.check(
        "region",
        is_region(&raw.region),
        &raw.region,
        "an AWS region such as us-east-1",
    )?;
    if let Some(account) = &raw.account_id {
        c.check(
            "account_id",
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
            account,
            "12 digits",
        )?;
    }

    if raw.models.allowed.is_empty() {
        return Err(c.fail(
            "models.allowed",
            "is empty, list at least one model as { id = \"...\", name = \"...\" }".into(),
        ));
    }
    for (i, model) in raw.models.allowed.iter().enumerate() {
        c.check(
            &format!("models.allowed[{i}].id"),
            is_model_id(&model.id),
            &model.id,
            "a Bedrock model or inference-profile id such as amazon.nova-lite-v1:0",
        )?;
        c.check(
            &format!("models.allowed[{i}].name"),
            !model.name.trim().is_empty(),
            &model.name,
            "a name to show",
        )?;
        if raw.models.allowed[..i].iter().any(|m| m.id == model.id) {
            return Err(c.fail(
                &format!("models.allowed[{i}].id"),
                format!("{:?} is listed twice", model.id),
            ));
        }
    }
    let ids: Vec<&str> = raw.models.allowed.iter().map(|m| m.id.as_str()).collect();
    c.check(
        "models.default",
        ids.contains(&raw.models.default.as_str()),
        &raw.models.default,
        &format!("one of models.allowed: {}", ids.join(", ")),
    )?;

    let prices = price::validate(&c, &raw.models)?;

    let chat = &raw.chat;
    c.check(
        "chat.system_prompt",
        !chat.system_prompt.trim().is_empty(),
        &chat.system_prompt,
        "a non-empty prompt",
    )?;
    c.range(
        "chat.max_output_tokens",
        chat.max_output_tokens.into(),
        1,
        65_536,
        "",
    )?;
    c.range(
        "chat.rate_limit_requests",
        chat.rate_limit_requests.into(),
        1,
        100_000,
        "",
    )?;
    c.range(
        "chat.rate_limit_window_seconds",
        chat.rate_limit_window_seconds.into(),
        1,
        86_400,
        " seconds",
    )?;
    c.range(
        "chat.ipv6_prefix_length",
        chat.ipv6_prefix_length.into(),
        1,
        128,
        " bits (64 counts each /64 network as one client)",
    )?;
    let ipv6_prefix_length = u8::try_from(chat.ipv6_prefix_length).unwrap_or(u8::MAX);
    c.range(
        "chat.daily_token_budget",
        chat.daily_token_budget,
        1,
        1_000_000_000_000,
        " tokens",
    )?;
    let daily_cost_budget_micro_usd = price::daily_budget(&c, chat.daily_cost_budget_usd)?;
    c.range(
        "chat.history_days",
        chat.history_days.into(),
        1,
        3_650,
        " days",
    )?;

    let function = &raw.function;
    c.range(
        "function.memory_mb",
        function.memory_mb.into(),
        128,
        10_240,
        " MB",
    )?;
    c.range(
        "function.timeout_seconds",
        function.timeout_seconds.into(),
        1,
        900,
        " seconds",
    )?;
    c.range(
        "function.reserved_concurrency",
        function.reserved_concurrency.into(),
        1,
        1_000,
        "",
    )?;

    c.range(
        "api.throttle_rate",
        raw.api.throttle_rate.into(),
        1,
        10_000,
        " requests per second",
    )?;
    c.range(
        "api.throttle_burst",
        raw.api.throttle_burst.into(),
        1,
        5_000,
        " requests",
    )?;
    check_read_timeout(&c, &raw.api, function.timeout_seconds)?;
    let budget_shards = raw
        .table
        .budget_shards
        .unwrap_or_else(|| chatbot_contract::budget::shards_for_rate(raw.api.throttle_rate.into()));
    c.range(
        "table.budget_shards",
        budget_shards.into(),
        1,
        chatbot_contract::budget::MAX_SHARDS.into(),
        " shards",
    )?;
    let ceilings = crate::capacity::Settings {
        reserved_concurrency: function.reserved_concurrency,
        timeout_seconds: function.timeout_seconds,
        throttle_rate: raw.api.throttle_rate,
        throttle_burst: raw.api.throttle_burst,
        budget_shards,
    };
    if let Some((key, message)) = crate::capacity::contradiction(&ceilings) {
        return Err(c.fail(key, message));
    }

    if !LOG_RETENTION_DAYS.contains(&raw.logs.retention_days) {
        let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
        return Err(c.fail(
            "logs.retention_days",
            format!(
                "{} is not a retention CloudWatch Logs offers, allowed: {}",
                raw.logs.retention_days,
                allowed.join(", ")
            ),
        ));
    }

    let alarms = &raw.alarms;
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
            is_topic_arn_in(arn, &raw.region),
            arn,
            &format!(
                "the ARN of an SNS topic in the environment's region, arn:aws:sns:{}:<account>:<name> (alarms notify topics of their own region only)",
                raw.region
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
        u64::from(function.timeout_seconds) * 1_000,
        " ms (the function's timeout)",
    )?;

    check_starter_prompts(&c, &raw.site.starter_prompts)?;

    if let Some(domain) = &raw.domain {
        c.check(
            "domain.name",
            is_domain(&domain.name),
            &domain.name,
            "a DNS name such as chat.example.com",
        )?;
        c.check(
            "domain.certificate_arn",
            is_us_east_1_certificate(&domain.certificate_arn),
            &domain.certificate_arn,
            "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>), as CloudFront requires",
        )?;
    }

    let guardrail = match raw.guardrail {
        Some(g) => Some(guardrail::validate(&c, g)?),
        None => None,
    };

    Ok(Environment {
        name: name.to_owned(),
        stack_name: raw.stack_name,
        region: raw.region,
        account_id: raw.account_id,
        default_model: raw.models.default,
        models: raw
            .models
            .allowed
            .into_iter()
            .zip(prices)
            .map(|(m, price)| Model {
                id: m.id,
                name: m.name,
                price,
            })
            .collect(),
        system_prompt: raw.chat.system_prompt,
        max_output_tokens: raw.chat.max_output_tokens,
        rate_limit: RateLimit {
            requests: raw.chat.rate_limit_requests,
            window_seconds: raw.chat.rate_limit_window_seconds,
            ipv6_prefix_length,
        },
        daily_token_budget: raw.chat.daily_token_budget,
        daily_cost_budget_micro_usd,
        history_days: raw.chat.history_days,
        function: FunctionSettings {
            memory_mb: raw.function.memory_mb,
            timeout_seconds: raw.function.timeout_seconds,
            reserved_concurrency: raw.function.reserved_concurrency,
            architecture: match raw.function.architecture {
                file::Architecture::X86_64 => Architecture::X86_64,
                file::Architecture::Arm64 => Architecture::Arm64,
            },
            rollout: match raw.function.rollout {
                file::Rollout::AllAtOnce => Rollout::AllAtOnce,
                file::Rollout::Canary10Percent5Minutes => Rollout::Canary10Percent5Minutes,
                file::Rollout::Linear10PercentEvery1Minute => Rollout::Linear10PercentEvery1Minute,
            },
        },
        api: ApiSettings {
            throttle_rate: raw.api.throttle_rate,
            throttle_burst: raw.api.throttle_burst,
            origin_read_timeout_seconds: raw.api.origin_read_timeout_seconds,
        },
        log_retention_days: raw.logs.retention_days,
        alarms: AlarmSettings {
            email: raw.alarms.email,
            topic_arn: raw.alarms.topic_arn,
            require_destination: raw.alarms.require_destination.unwrap_or(true),
            function_errors: raw.alarms.function_errors,
            function_throttles: raw.alarms.function_throttles,
            duration_percent_of_timeout: raw.alarms.duration_percent_of_timeout,
            api_5xx_errors: raw.alarms.api_5xx_errors,
            api_latency_p99_ms: raw.alarms.api_latency_p99_ms,
            table_throttles: raw.alarms.table_throttles,
            model_errors: raw.alarms.model_errors,
            model_throttles: raw.alarms.model_throttles,
            rate_limited: raw.alarms.rate_limited,
            budget_used_percent: raw.alarms.budget_used_percent,
            api_4xx_errors: raw.alarms.api_4xx_errors,
            api_throttled: raw.alarms.api_throttled,
            direct_calls_refused: raw.alarms.direct_calls_refused,
            origin_refused: raw.alarms.origin_refused,
            store_errors: raw.alarms.store_errors,
            budget_exhausted: raw.alarms.budget_exhausted,
        },
        table: TableSettings {
            point_in_time_recovery: raw.table.point_in_time_recovery,
            deletion_protection: raw.table.deletion_protection,
            budget_shards,
        },
        site_versioning: raw.site.versioning,
        starter_prompts: raw.site.starter_prompts,
        domain: raw.domain.map(|d| Domain {
            name: d.name,
            certificate_arn: d.certificate_arn,
        }),
        guardrail,
    })
}

/// Most starter prompts and characters in one: the service's own limits
/// (`chatbot_contract::STARTER_PROMPTS_MAX` and `STARTER_PROMPT_MAX_CHARS`, written out: the
/// `env_file` fuzz target compiles this module without the contract; `xtask/tests/envs.rs`
/// checks they agree).
pub const STARTER_PROMPTS_MAX: usize = 6;
pub const STARTER_PROMPT_MAX_CHARS: usize = 200;

fn check_starter_prompts(c: &Checker<'_>, prompts: &[String]) -> Result<(), EnvError> {
    if prompts.len() > STARTER_PROMPTS_MAX {
        return Err(c.fail(
            "site.starter_prompts",
            format!(
                "has {} prompts, allowed: at most {STARTER_PROMPTS_MAX}",
                prompts.len()
            ),
        ));
    }
    for (i, prompt) in prompts.iter().enumerate() {
        let key = format!("site.starter_prompts[{i}]");
        c.check(
            &key,
            !prompt.trim().is_empty()
                && prompt.chars().count() <= STARTER_PROMPT_MAX_CHARS
                && !prompt.chars().any(char::is_control),
            prompt,
            &format!("a prompt of 1 to {STARTER_PROMPT_MAX_CHARS} characters on one line"),
        )?;
        if prompts[..i].contains(prompt) {
            return Err(c.fail(&key, format!("{prompt:?} is listed twice")));
        }
    }
    Ok(())
}

/// CloudFront gives up on the API after its read timeout; a JSON reply comes in one piece, up
/// to the function's timeout after the request, so the read timeout may not be shorter. Above
/// 60 s CloudFront needs a quota increase, which the file has to say it has.
fn check_read_timeout(c: &Checker, api: &file::Api, function_timeout: u32) -> Result<(), EnvError> {
    let read = api.origin_read_timeout_seconds;
    c.range(
        "api.origin_read_timeout_seconds",
        read.into(),
        1,
        ORIGIN_READ_TIMEOUT_MAX.into(),
        " seconds (above 60 only with CloudFront's quota raised)",
    )?;
    if read > ORIGIN_READ_TIMEOUT_DEFAULT_MAX && !api.origin_read_timeout_quota_raised {
        return Err(c.fail(
            "api.origin_read_timeout_seconds",
            format!(
                "{read} is above CloudFront's limit of {ORIGIN_READ_TIMEOUT_DEFAULT_MAX} seconds: \
                 ask AWS to raise the CloudFront quota \"Response timeout per origin\" (up to \
                 {ORIGIN_READ_TIMEOUT_MAX}), then add api.origin_read_timeout_quota_raised = true; \
                 or use {ORIGIN_READ_TIMEOUT_DEFAULT_MAX} or less"
            ),
        ));
    }
    if function_timeout > read {
        return Err(c.fail(
            "function.timeout_seconds",
            format!(
                "{function_timeout} is longer than api.origin_read_timeout_seconds ({read}): \
                 CloudFront would stop waiting for a reply after {read} s and answer 504 while \
                 the function goes on (and spends tokens); lower function.timeout_seconds to \
                 {read} or less, or raise api.origin_read_timeout_seconds (above \
                 {ORIGIN_READ_TIMEOUT_DEFAULT_MAX} only with CloudFront's quota raised)"
            ),
        ));
    }
    Ok(())
}

fn is_stack_name(s: &str) -> bool {
    s.len() <= 128
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: lowercase words and a number.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

fn is_model_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.contains('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
}

fn is_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && is_domain(host) && !s.contains(char::is_whitespace)
    })
}

fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
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

fn is_us_east_1_certificate(s: &str) -> bool {
    s.strip_prefix("arn:aws:acm:us-east-1:")
        .and_then(|rest| rest.split_once(":certificate/"))
        .is_some_and(|(account, id)| {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty()
        })
}
