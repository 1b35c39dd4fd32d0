//! Environments: `envs/<name>.toml` read into a checked [`Environment`].
//!
//! Everything that differs between dev, staging and prod lives in those files. A file with an
//! unknown key, a value of the wrong type or an impossible value is refused with an error that
//! names the file, the key and what is allowed.

//! Each section of the file is read and checked by a module of its own (`[chat]` by `chat.rs`,
//! and so on); [`file`] is the file's shape as serde reads it.

mod alarms;
mod api;
mod auth;
pub mod capacity;
mod chat;
mod check;
mod domain;
mod file;
mod function;
mod guardrail;
mod logs;
mod models;
mod price;
mod site;

pub use alarms::{AlarmDestination, AlarmSettings};
pub use api::{ApiSettings, ORIGIN_READ_TIMEOUT_DEFAULT_MAX, ORIGIN_READ_TIMEOUT_MAX};
pub use auth::{Auth, Federation, FederationProtocol, UserSignIn, default_domain_prefix};
pub use domain::Domain;
pub use function::{Architecture, FunctionSettings, Rollout};
pub use guardrail::{
    ContentFilter, DeniedTopic, FilterCategory, GuardrailSettings, PII_ENTITY_TYPES, PiiAction,
    PiiEntity, StreamProcessing, Strength,
};
pub use logs::LOG_RETENTION_DAYS;
pub use models::Model;
pub use price::ModelPrice;
pub use site::{STARTER_PROMPT_MAX_CHARS, STARTER_PROMPTS_MAX};

use std::fmt;
use std::path::Path;

use anyhow::Context;

use check::Checker;

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
    /// Chat requests one client may make per rate window. A client is one IPv4 address, or
    /// one IPv6 network of `ipv6_prefix_length` bits.
    pub rate_limit: u32,
    pub rate_window_seconds: u32,
    /// 1 to 128; 64 unless the env file says otherwise.
    pub ipv6_prefix_length: u8,
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
    /// Who may use the chatbot: anyone (`[auth] mode = "public"`, the default) or people
    /// signed in through a Cognito user pool.
    pub auth: Auth,
    /// What the file says in a way a later version will stop reading (a key's old name), one
    /// sentence each, for the tasks to show.
    pub deprecations: Vec<String>,
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

fn validate(name: &str, file: &str, raw: file::EnvFile) -> Result<Environment, EnvError> {
    let c = Checker { file };
    let mut deprecations = Vec::new();

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
    let (models, default_model) = models::check(&c, raw.models)?;
    let chat = chat::check(&c, raw.chat, &mut deprecations)?;
    let function = function::check(&c, raw.function)?;
    let api = api::check(&c, raw.api, function.timeout_seconds)?;
    let budget_shards = raw
        .table
        .budget_shards
        .unwrap_or_else(|| chatbot_contract::budget::shards_for_rate(api.throttle_rate.into()));
    c.range(
        "table.budget_shards",
        budget_shards.into(),
        1,
        chatbot_contract::budget::MAX_SHARDS.into(),
        " shards",
    )?;
    let ceilings = capacity::Settings {
        reserved_concurrency: function.reserved_concurrency,
        timeout_seconds: function.timeout_seconds,
        throttle_rate: api.throttle_rate,
        throttle_burst: api.throttle_burst,
        budget_shards,
    };
    if let Some((key, message)) = capacity::contradiction(&ceilings) {
        return Err(c.fail(key, message));
    }
    let log_retention_days = logs::check(&c, raw.logs)?;
    let alarms = alarms::check(&c, raw.alarms, &raw.region, function.timeout_seconds)?;
    site::check(&c, &raw.site)?;
    let domain = raw.domain.map(|d| domain::check(&c, d)).transpose()?;
    let guardrail = raw.guardrail.map(|g| guardrail::check(&c, g)).transpose()?;
    let auth = auth::check(
        &c,
        raw.auth,
        &raw.stack_name,
        &raw.region,
        chat.daily_token_budget,
    )?;

    Ok(Environment {
        name: name.to_owned(),
        stack_name: raw.stack_name,
        region: raw.region,
        account_id: raw.account_id,
        models,
        default_model,
        system_prompt: chat.system_prompt,
        max_output_tokens: chat.max_output_tokens,
        rate_limit: chat.rate_limit,
        rate_window_seconds: chat.rate_window_seconds,
        ipv6_prefix_length: chat.ipv6_prefix_length,
        daily_token_budget: chat.daily_token_budget,
        daily_cost_budget_micro_usd: chat.daily_cost_budget_micro_usd,
        history_days: chat.history_days,
        function,
        api,
        log_retention_days,
        alarms,
        table: TableSettings {
            point_in_time_recovery: raw.table.point_in_time_recovery,
            deletion_protection: raw.table.deletion_protection,
            budget_shards,
        },
        site_versioning: raw.site.versioning,
        starter_prompts: raw.site.starter_prompts,
        domain,
        guardrail,
        auth,
        deprecations,
    })
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
