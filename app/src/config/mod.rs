//! The service's configuration, read once at start from the `CHATBOT_*` environment variables
//! named in [`chatbot_contract::env_vars`] (the template sets the same names).

mod error;
mod guardrail;

pub use error::ConfigError;

use std::time::Duration;

use chatbot_contract::{budget, env_vars};

use crate::cost::{Budget, ModelPrice};
use crate::guardrail::GuardrailConfig;
use crate::rate_bucket::Ipv6Prefix;
use crate::store::BudgetLayout;

/// Settings that differ per environment, from the Lambda environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub environment: String,
    /// The DynamoDB table; absent in local runs that keep history in memory.
    pub table_name: Option<String>,
    /// The models a request may ask for, in the order the page lists them.
    pub models: Vec<ModelInfo>,
    pub default_model: String,
    pub system_prompt: String,
    pub max_output_tokens: u32,
    /// Chat requests one client address may make per window.
    pub rate_limit: u32,
    pub rate_window_seconds: u32,
    /// The IPv6 network one client's rate window covers (IPv4 counts per address).
    pub ipv6_prefix: Ipv6Prefix,
    /// Tokens (input + output) the environment may spend per UTC day.
    pub daily_token_budget: u64,
    /// Micro-dollars of model spend the environment may spend per UTC day; `None`: only the
    /// token budget applies. Every model has a price when this is set.
    pub daily_cost_budget_micro_usd: Option<u64>,
    /// Items the day's budget is spread over (1 when unset).
    pub budget_shards: u32,
    /// Days a conversation is kept.
    pub history_days: u32,
    /// The value every `/api` request must carry in `x-origin-verify` (CloudFront adds it);
    /// `None` in local runs, which then accept any request.
    pub origin_secret: Option<OriginSecret>,
    /// While the origin secret is rotated, the value CloudFront sent before, accepted as well;
    /// `None` outside a rotation. Never set without `origin_secret`.
    pub previous_origin_secret: Option<OriginSecret>,
    /// The Bedrock guardrail every model call goes through, when the environment has one.
    pub guardrail: Option<GuardrailConfig>,
    /// Prompts the page offers on an empty chat.
    pub starter_prompts: Vec<String>,
    /// Who may use the API: anyone, or people signed in with the environment's identity
    /// provider.
    pub auth: Auth,
}

/// Who may use the API ([`env_vars::AUTH_MODE`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// Anyone: chats are known by their id alone, limits count per client address.
    #[default]
    Public,
    /// Only people with an access token from the issuer: chats belong to them, limits count
    /// per person.
    Users(UsersAuth),
}

/// The identity provider of a `users` environment and what each person may spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersAuth {
    /// The tokens' `iss`, exactly.
    pub issuer: String,
    pub jwks_url: String,
    /// The page's app client: the tokens' `client_id`.
    pub client_id: String,
    pub authorize_url: String,
    pub token_url: String,
    pub logout_url: String,
    /// Chat turns one person may take per window.
    pub rate_limit: u32,
    pub rate_window_seconds: u32,
    /// Tokens one person may spend per UTC day.
    pub daily_token_quota: u64,
}

impl Auth {
    /// The `users` settings, `None` in a public environment.
    pub fn users(&self) -> Option<&UsersAuth> {
        match self {
            Auth::Public => None,
            Auth::Users(users) => Some(users),
        }
    }
}

/// The shared secret CloudFront sends to the API origin. Its `Debug` form hides the value, so
/// a logged configuration does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct OriginSecret(String);

impl OriginSecret {
    /// Fewest characters accepted: the template generates 48.
    pub const MIN_CHARS: usize = 16;

    /// A secret of at least [`Self::MIN_CHARS`] visible ASCII characters (it travels as a
    /// header value); otherwise why not.
    pub fn new(value: impl Into<String>) -> Result<OriginSecret, String> {
        let value = value.into();
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "use visible ASCII characters only, no spaces (it is sent as a header value)"
                    .to_owned(),
            );
        }
        if value.len() < Self::MIN_CHARS {
            return Err(format!(
                "it has {} characters; use at least {}",
                value.len(),
                Self::MIN_CHARS
            ));
        }
        Ok(OriginSecret(value))
    }

    /// Whether `candidate` is the secret, comparing every byte whatever the first difference
    /// is, so the time taken does not tell a caller how much of a guess was right. (A guess of
    /// the wrong length is refused at once; the length is not the secret.)
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        if candidate.len() != expected.len() {
            return false;
        }
        let difference = expected
            .iter()
            .zip(candidate)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

impl std::fmt::Debug for OriginSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OriginSecret(..)")
    }
}

/// A model a request may name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub name: String,
    /// What the model costs; replies of a model without a price carry no cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<ModelPrice>,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need no process environment.
    /// Every variable but the table name, the origin secret, the IPv6 prefix length and the
    /// guardrail's (all or none of them) is required.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| -> Result<String, ConfigError> {
            match lookup(name) {
                Some(value) if !value.trim().is_empty() => Ok(value),
                _ => Err(ConfigError::Missing(name)),
            }
        };
        let malformed = |name: &'static str, reason: &str| ConfigError::Malformed {
            name,
            reason: reason.to_owned(),
        };

        let environment = required(env_vars::ENVIRONMENT)?;
        if !environment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(malformed(
                env_vars::ENVIRONMENT,
                "use letters, digits, '-' and '_' only",
            ));
        }
        let table_name = lookup(env_vars::TABLE_NAME).filter(|t| !t.trim().is_empty());

        let models_text = required(env_vars::MODELS)?;
        let models: Vec<ModelInfo> = serde_json::from_str(&models_text).map_err(|err| {
            malformed(
                env_vars::MODELS,
                &format!(
                    "expected a JSON array of {{\"id\", \"name\", \"price\"}} objects ({err})"
                ),
            )
        })?;
        if models.is_empty() {
            return Err(malformed(env_vars::MODELS, "the list of models is empty"));
        }
        if let Some(blank) = models.iter().find(|m| m.id.trim().is_empty()) {
            return Err(malformed(
                env_vars::MODELS,
                &format!("the model named {:?} has an empty id", blank.name),
            ));
        }
        for (i, model) in models.iter().enumerate() {
            if models[..i].iter().any(|m| m.id == model.id) {
                return Err(malformed(
                    env_vars::MODELS,
                    &format!("the model {} is listed twice", model.id),
                ));
            }
        }

        let default_model = required(env_vars::DEFAULT_MODEL)?;
        if !models.iter().any(|m| m.id == default_model) {
            return Err(malformed(
                env_vars::DEFAULT_MODEL,
                &format!(
                    "{default_model} is not one of the models in {}",
                    env_vars::MODELS
                ),
            ));
        }

        let system_prompt = required(env_vars::SYSTEM_PROMPT)?;
        let max_output_tokens = number(&lookup, env_vars::MAX_OUTPUT_TOKENS, 1, 1_000_000)?;
        let rate_limit = number(&lookup, env_vars::RATE_LIMIT, 1, 1_000_000)?;
        let rate_window_seconds = number(&lookup, env_vars::RATE_WINDOW_SECONDS, 1, 86_400)?;
        let ipv6_prefix = match lookup(env_vars::IPV6_PREFIX_LENGTH) {
            Some(text) if !text.trim().is_empty() => {
                let bits: u32 = number(&lookup, env_vars::IPV6_PREFIX_LENGTH, 1, 128)?;
                u8::try_from(bits)
                    .ok()
                    .and_then(Ipv6Prefix::new)
                    .ok_or_else(|| malformed(env_vars::IPV6_PREFIX_LENGTH, "use 1 to 128"))?
            }
            _ => Ipv6Prefix::DEFAULT,
        };
        let daily_token_budget = number(&lookup, env_vars::DAILY_TOKEN_BUDGET, 1, u64::MAX)?;
        let daily_cost_budget_micro_usd = match lookup(env_vars::DAILY_COST_BUDGET_MICRO_USD) {
            Some(text) if !text.trim().is_empty() => Some(number(
                &lookup,
                env_vars::DAILY_COST_BUDGET_MICRO_USD,
                1,
                u64::MAX,
            )?),
            _ => None,
        };
        if daily_cost_budget_micro_usd.is_some()
            && let Some(unpriced) = models.iter().find(|m| m.price.is_none())
        {
            return Err(malformed(
                env_vars::MODELS,
                &format!(
                    "the model {} has no price, and {} needs every model's",
                    unpriced.id,
                    env_vars::DAILY_COST_BUDGET_MICRO_USD
                ),
            ));
        }
        let budget_shards = match lookup(env_vars::BUDGET_SHARDS) {
            Some(text) if !text.trim().is_empty() => {
                number(&lookup, env_vars::BUDGET_SHARDS, 1, budget::MAX_SHARDS)?
            }
            _ => 1,
        };
        let history_days = number(&lookup, env_vars::HISTORY_DAYS, 1, 3_650)?;
        let secret = |name: &'static str| match lookup(name) {
            Some(value) if !value.is_empty() => OriginSecret::new(value)
                .map(Some)
                .map_err(|reason| malformed(name, &reason)),
            _ => Ok(None),
        };
        let origin_secret = secret(env_vars::ORIGIN_SECRET)?;
        let previous_origin_secret = secret(env_vars::ORIGIN_SECRET_PREVIOUS)?;
        if previous_origin_secret.is_some() && origin_secret.is_none() {
            return Err(malformed(
                env_vars::ORIGIN_SECRET_PREVIOUS,
                &format!(
                    "it is accepted only besides {}, which is not set",
                    env_vars::ORIGIN_SECRET
                ),
            ));
        }
        let guardrail = GuardrailConfig::from_lookup(&lookup)?;
        let starter_prompts = starter_prompts(&lookup)?;
        let auth = auth(&lookup, rate_limit, rate_window_seconds, daily_token_budget)?;

        Ok(Config {
            environment,
            table_name,
            models,
            default_model,
            system_prompt,
            max_output_tokens,
            rate_limit,
            rate_window_seconds,
            ipv6_prefix,
            daily_token_budget,
            daily_cost_budget_micro_usd,
            budget_shards,
            history_days,
            origin_secret,
            previous_origin_secret,
            guardrail,
            starter_prompts,
            auth,
        })
    }

    /// The model to use for a request naming `requested`, or `None` when it is not allowlisted.
    pub fn resolve_model(&self, requested: Option<&str>) -> Option<&ModelInfo> {
        let id = requested.unwrap_or(&self.default_model);
        self.models.iter().find(|m| m.id == id)
    }

    /// The day's budgets: tokens, and dollars when set.
    pub fn budget(&self) -> Budget {
        Budget {
            tokens: self.daily_token_budget,
            micro_usd: self.daily_cost_budget_micro_usd,
        }
    }

    /// How the store spreads and caches the day's budget: the configured shards, read back at
    /// most once per [`budget::CACHE_MILLIS`].
    pub fn budget_layout(&self) -> BudgetLayout {
        BudgetLayout::sharded(self.budget_shards).unwrap_or_default()
    }

    /// Seconds since the epoch at which an item written at `now_secs` expires.
    pub fn history_expiry(&self, now_secs: i64) -> i64 {
        now_secs + i64::from(self.history_days) * 86_400
    }
}

/// [`env_vars::STARTER_PROMPTS`]: a JSON array of prompts, none blank or longer than
/// [`STARTER_PROMPT_MAX_CHARS`](chatbot_contract::STARTER_PROMPT_MAX_CHARS), at most
/// [`STARTER_PROMPTS_MAX`](chatbot_contract::STARTER_PROMPTS_MAX); none when unset.
fn starter_prompts(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let name = env_vars::STARTER_PROMPTS;
    let malformed = |reason: String| ConfigError::Malformed { name, reason };
    let text = match lookup(name) {
        Some(text) if !text.trim().is_empty() => text,
        _ => return Ok(Vec::new()),
    };
    let prompts: Vec<String> = serde_json::from_str(&text)
        .map_err(|err| malformed(format!("expected a JSON array of strings ({err})")))?;
    if prompts.len() > chatbot_contract::STARTER_PROMPTS_MAX {
        return Err(malformed(format!(
            "{} prompts, at most {} are shown",
            prompts.len(),
            chatbot_contract::STARTER_PROMPTS_MAX
        )));
    }
    for prompt in &prompts {
        if prompt.trim().is_empty() {
            return Err(malformed("a prompt is blank".to_owned()));
        }
        if prompt.chars().count() > chatbot_contract::STARTER_PROMPT_MAX_CHARS {
            return Err(malformed(format!(
                "a prompt is longer than {} characters",
                chatbot_contract::STARTER_PROMPT_MAX_CHARS
            )));
        }
    }
    Ok(prompts)
}

/// [`env_vars::AUTH_MODE`] and, in `users` mode, the identity provider's variables (each
/// required, each URL `https://`, or `http://` on a loopback host for local runs) and the
/// per-person limits (the environment's own limits when unset).
fn auth(
    lookup: &impl Fn(&str) -> Option<String>,
    rate_limit: u32,
    rate_window_seconds: u32,
    daily_token_budget: u64,
) -> Result<Auth, ConfigError> {
    let mode = lookup(env_vars::AUTH_MODE).unwrap_or_default();
    match mode.trim() {
        "" | env_vars::auth_mode::PUBLIC => return Ok(Auth::Public),
        env_vars::auth_mode::USERS => {}
        other => {
            return Err(ConfigError::Malformed {
                name: env_vars::AUTH_MODE,
                reason: format!(
                    "{other:?} is not a mode; use {:?} or {:?}",
                    env_vars::auth_mode::PUBLIC,
                    env_vars::auth_mode::USERS
                ),
            });
        }
    }
    let required = |name: &'static str| match lookup(name) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(ConfigError::Missing(name)),
    };
    let url = |name: &'static str| {
        let value = required(name)?;
        check_url(&value).map_err(|reason| ConfigError::Malformed { name, reason })?;
        Ok(value)
    };
    let optional_number = |name: &'static str, max: u64, default: u64| match lookup(name) {
        Some(text) if !text.trim().is_empty() => number(lookup, name, 1, max),
        _ => Ok(default),
    };
    let client_id = required(env_vars::AUTH_CLIENT_ID)?;
    if !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::Malformed {
            name: env_vars::AUTH_CLIENT_ID,
            reason: "use visible ASCII characters only".to_owned(),
        });
    }
    let users = UsersAuth {
        issuer: url(env_vars::AUTH_ISSUER)?,
        jwks_url: url(env_vars::AUTH_JWKS_URL)?,
        client_id,
        authorize_url: url(env_vars::AUTH_AUTHORIZE_URL)?,
        token_url: url(env_vars::AUTH_TOKEN_URL)?,
        logout_url: url(env_vars::AUTH_LOGOUT_URL)?,
        rate_limit: optional_number(env_vars::USER_RATE_LIMIT, 1_000_000, u64::from(rate_limit))?
            as u32,
        rate_window_seconds: optional_number(
            env_vars::USER_RATE_WINDOW_SECONDS,
            86_400,
            u64::from(rate_window_seconds),
        )? as u32,
        daily_token_quota: optional_number(
            env_vars::USER_DAILY_TOKEN_QUOTA,
            u64::MAX,
            daily_token_budget,
        )?,
    };
    Ok(Auth::Users(users))
}

/// An absolute `https://` URL, or `http://` to a loopback host (a local identity provider).
fn check_url(value: &str) -> Result<(), String> {
    let uri: http::Uri = value
        .parse()
        .map_err(|err| format!("{value:?} is not a URL ({err})"))?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if ["127.0.0.1", "localhost", "[::1]"].contains(&host) => Ok(()),
        Some("http") => Err(format!(
            "{value} is plain http; use https (http only to 127.0.0.1 or localhost)"
        )),
        _ => Err(format!("{value:?} is not an absolute https:// URL")),
    }
}

fn number<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let text = lookup(name).ok_or(ConfigError::Missing(name))?;
    let value: T = text.trim().parse().map_err(|_| ConfigError::Malformed {
        name,
        reason: format!("expected a whole number, found {text:?}"),
    })?;
    if value < min || value > max {
        return Err(ConfigError::Malformed {
            name,
            reason: format!("{value} is outside {min}..={max}"),
        });
    }
    Ok(value)
}

/// Limits and timings that do not differ per environment. Tests shorten the delays.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest chat message accepted, in characters.
    pub max_message_chars: usize,
    /// Most past messages sent to the model with a new one.
    pub history_messages: usize,
    /// Most characters of past messages sent to the model; older ones are dropped first.
    pub history_chars: usize,
    /// Most messages `GET /api/sessions/{id}/messages` returns (the latest ones).
    pub history_page: usize,
    /// A server-sent comment is written when the model has been silent this long.
    pub heartbeat: Duration,
    /// Model calls tried at most this many times on throttling and server errors.
    pub model_attempts: u32,
    /// First backoff before a retry; doubled per retry, with full jitter.
    pub retry_base: Duration,
    /// Largest backoff between two attempts.
    pub retry_max: Duration,
    /// A streamed answer fails when the model stays silent this long.
    pub model_idle_timeout: Duration,
    /// A JSON answer fails when the model takes longer than this in all.
    pub model_timeout: Duration,
    /// A request body that has not arrived in whole after this long is refused (408), so a
    /// client trickling bytes cannot hold a request open.
    pub body_timeout: Duration,
    /// How access tokens are checked in `users` mode.
    pub verifier: VerifierTuning,
    /// Most chats `GET /api/sessions` lists per page, and how many when a request names no
    /// `limit`.
    pub sessions_page_max: usize,
    pub sessions_page_default: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            max_body_bytes: 32 * 1024,
            max_message_chars: chatbot_contract::limits::MAX_MESSAGE_CHARS,
            history_messages: 40,
            history_chars: chatbot_contract::limits::MAX_HISTORY_CHARS,
            history_page: 200,
            heartbeat: Duration::from_secs(10),
            model_attempts: 3,
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_secs(2),
            model_idle_timeout: Duration::from_secs(120),
            model_timeout: Duration::from_secs(240),
            body_timeout: Duration::from_secs(10),
            verifier: VerifierTuning::default(),
            sessions_page_max: 100,
            sessions_page_default: 50,
        }
    }
}

/// Timings of the verifier that do not differ per environment.
#[derive(Debug, Clone, Copy)]
pub struct VerifierTuning {
    /// Clock difference allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Fewest time between two fetches of the keys prompted by unknown key ids, so a flood of
    /// made-up key ids costs the issuer one request per interval.
    pub refetch_interval: Duration,
    /// Keys are fetched again on the first token after they are this old.
    pub max_age: Duration,
    /// How long one fetch of the keys may take.
    pub fetch_timeout: Duration,
}

impl Default for VerifierTuning {
    fn default() -> Self {
        VerifierTuning {
            leeway: Duration::from_secs(60),
            refetch_interval: Duration::from_secs(30),
            max_age: Duration::from_secs(3_600),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (env_vars::ENVIRONMENT, "dev".to_owned()),
            (
                env_vars::MODELS,
                r#"[{"id":"m1","name":"One"},{"id":"m2","name":"Two"}]"#.to_owned(),
            ),
            (env_vars::DEFAULT_MODEL, "m1".to_owned()),
            (env_vars::SYSTEM_PROMPT, "Be brief.".to_owned()),
            (env_vars::MAX_OUTPUT_TOKENS, "512".to_owned()),
            (env_vars::RATE_LIMIT, "10".to_owned()),
            (env_vars::RATE_WINDOW_SECONDS, "60".to_owned()),
            (env_vars::DAILY_TOKEN_BUDGET, "100000".to_owned()),
            (env_vars::HISTORY_DAYS, "30".to_owned()),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn reads_every_variable() {
        let config = load(&base()).unwrap();
        assert_eq!(config.environment, "dev");
        assert_eq!(config.models.len(), 2);
        assert_eq!(config.rate_limit, 10);
        assert_eq!(config.table_name, None);
        assert_eq!(config.resolve_model(None).unwrap().id, "m1");
        assert_eq!(config.resolve_model(Some("m2")).unwrap().name, "Two");
        assert_eq!(config.resolve_model(Some("m3")), None);
        assert_eq!(config.origin_secret, None);
        assert_eq!(config.ipv6_prefix, Ipv6Prefix::DEFAULT);
    }

    #[test]
    fn the_ipv6_prefix_length_is_optional_and_read_when_set() {
        let mut vars = base();
        vars.insert(env_vars::IPV6_PREFIX_LENGTH, "56".to_owned());
        assert_eq!(load(&vars).unwrap().ipv6_prefix.bits(), 56);
        vars.insert(env_vars::IPV6_PREFIX_LENGTH, "128".to_owned());
        assert_eq!(load(&vars).unwrap().ipv6_prefix.bits(), 128);
        vars.insert(env_vars::IPV6_PREFIX_LENGTH, " ".to_owned());
        assert_eq!(load(&vars).unwrap().ipv6_prefix, Ipv6Prefix::DEFAULT);
    }

    #[test]
    fn the_budget_shards_are_optional_and_read_when_set() {
        let mut vars = base();
        assert_eq!(load(&vars).unwrap().budget_layout().shards(), 1);
        vars.insert(env_vars::BUDGET_SHARDS, "16".to_owned());
        let layout = load(&vars).unwrap().budget_layout();
        assert_eq!(layout.shards(), 16);
        assert_eq!(
            layout.cache,
            Duration::from_millis(chatbot_contract::budget::CACHE_MILLIS)
        );
    }

    #[test]
    fn starter_prompts_are_optional_and_read_in_order() {
        let mut vars = base();
        assert!(load(&vars).unwrap().starter_prompts.is_empty());
        vars.insert(env_vars::STARTER_PROMPTS, "[]".to_owned());
        assert!(load(&vars).unwrap().starter_prompts.is_empty());
        vars.insert(
            env_vars::STARTER_PROMPTS,
            r#"["Plan a trip", "Explain \"TTL\""]"#.to_owned(),
        );
        assert_eq!(
            load(&vars).unwrap().starter_prompts,
            ["Plan a trip", "Explain \"TTL\""]
        );
        let longest = "x".repeat(chatbot_contract::STARTER_PROMPT_MAX_CHARS);
        vars.insert(
            env_vars::STARTER_PROMPTS,
            serde_json::json!([longest]).to_string(),
        );
        assert_eq!(
            load(&vars).unwrap().starter_prompts,
            std::slice::from_ref(&longest)
        );
        vars.insert(
            env_vars::STARTER_PROMPTS,
            serde_json::json!([format!("{longest}x")]).to_string(),
        );
        assert!(load(&vars).is_err());
    }

    #[test]
    fn prices_and_the_dollar_budget_are_read() {
        let mut vars = base();
        assert_eq!(load(&vars).unwrap().daily_cost_budget_micro_usd, None);
        vars.insert(
            env_vars::MODELS,
            r#"[{"id":"m1","name":"One","price":{"input":1100000,"output":5500000,"cache_read":110000,"as_of":"2026-10-05"}},{"id":"m2","name":"Two","price":{"input":60000,"output":240000,"as_of":"2026-09-03"}}]"#.to_owned(),
        );
        vars.insert(env_vars::DAILY_COST_BUDGET_MICRO_USD, "2000000".to_owned());
        let config = load(&vars).unwrap();
        let price = config.models[0].price.as_ref().unwrap();
        assert_eq!(
            (
                price.input,
                price.output,
                price.cache_read,
                price.cache_write
            ),
            (1_100_000, 5_500_000, Some(110_000), None)
        );
        assert_eq!(config.daily_cost_budget_micro_usd, Some(2_000_000));
        assert_eq!(config.budget().micro_usd, Some(2_000_000));

        // A dollar budget cannot count a model without a price.
        vars.insert(
            env_vars::MODELS,
            r#"[{"id":"m1","name":"One","price":{"input":1,"output":2,"as_of":"2026-10-05"}},{"id":"m2","name":"Two"}]"#.to_owned(),
        );
        match load(&vars) {
            Err(ConfigError::Malformed { name, reason }) => {
                assert_eq!(name, env_vars::MODELS);
                assert!(reason.contains("m2 has no price"), "{reason}");
            }
            other => panic!("an unpriced model beside a dollar budget: {other:?}"),
        }
        vars.remove(env_vars::DAILY_COST_BUDGET_MICRO_USD);
        assert!(load(&vars).unwrap().models[1].price.is_none());
    }

    #[test]
    fn history_expires_after_the_configured_days() {
        let config = load(&base()).unwrap();
        assert_eq!(config.history_days, 30);
        assert_eq!(config.history_expiry(1_000), 1_000 + 30 * 86_400);
    }

    #[test]
    fn the_origin_secret_is_optional_matched_whole_and_not_printed() {
        let mut vars = base();
        vars.insert(env_vars::ORIGIN_SECRET, String::new());
        assert_eq!(load(&vars).unwrap().origin_secret, None);

        let secret = "Zq3vK8pLm2Nx7Rt5Wy9Bc4Df6Gh1Jk0S";
        vars.insert(env_vars::ORIGIN_SECRET, secret.to_owned());
        let config = load(&vars).unwrap();
        let origin = config.origin_secret.as_ref().unwrap();
        assert!(origin.matches(secret.as_bytes()));
        for wrong in [
            "",
            "Zq3vK8pLm2Nx7Rt5Wy9Bc4Df6Gh1Jk0",
            "Zq3vK8pLm2Nx7Rt5Wy9Bc4Df6Gh1Jk0SS",
            "Zq3vK8pLm2Nx7Rt5Wy9Bc4Df6Gh1Jk0T",
            "zq3vK8pLm2Nx7Rt5Wy9Bc4Df6Gh1Jk0S",
        ] {
            assert!(!origin.matches(wrong.as_bytes()), "{wrong}");
        }
        assert!(!format!("{config:?}").contains(secret));
    }

    #[test]
    fn the_previous_origin_secret_is_read_only_beside_the_current_one() {
        let current = "Zq3vK8pLm2Nx7Rt5Wy9Bc4Df6Gh1Jk0S";
        let previous = "Hb5Tn2Wq8Lx4Rc7Vm1Pz9Kd3Fs6Gj0Y";
        let mut vars = base();
        vars.insert(env_vars::ORIGIN_SECRET, current.to_owned());
        vars.insert(env_vars::ORIGIN_SECRET_PREVIOUS, String::new());
        assert_eq!(load(&vars).unwrap().previous_origin_secret, None);

        vars.insert(env_vars::ORIGIN_SECRET_PREVIOUS, previous.to_owned());
        let config = load(&vars).unwrap();
        assert!(
            config
                .previous_origin_secret
                .as_ref()
                .unwrap()
                .matches(previous.as_bytes())
        );
        assert!(!format!("{config:?}").contains(previous));

        vars.remove(env_vars::ORIGIN_SECRET);
        match load(&vars) {
            Err(ConfigError::Malformed { name, reason }) => {
                assert_eq!(name, env_vars::ORIGIN_SECRET_PREVIOUS);
                assert!(reason.contains(env_vars::ORIGIN_SECRET), "{reason}");
            }
            other => panic!("a previous secret alone was accepted: {other:?}"),
        }
    }

    #[test]
    fn each_missing_variable_is_named() {
        for name in env_vars::ALL {
            if [
                env_vars::TABLE_NAME,
                env_vars::ORIGIN_SECRET,
                env_vars::ORIGIN_SECRET_PREVIOUS,
                env_vars::IPV6_PREFIX_LENGTH,
                env_vars::BUDGET_SHARDS,
                env_vars::STARTER_PROMPTS,
            ]
            .contains(&name)
            {
                continue;
            }
            let mut vars = base();
            vars.remove(name);
            let err = load(&vars).unwrap_err();
            assert_eq!(err, ConfigError::Missing(name));
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    fn users(vars: &mut HashMap<&'static str, String>) {
        vars.insert(env_vars::AUTH_MODE, "users".to_owned());
        vars.insert(
            env_vars::AUTH_ISSUER,
            "https://issuer.example/pool".to_owned(),
        );
        vars.insert(
            env_vars::AUTH_JWKS_URL,
            "https://issuer.example/pool/.well-known/jwks.json".to_owned(),
        );
        vars.insert(env_vars::AUTH_CLIENT_ID, "page-client".to_owned());
        vars.insert(
            env_vars::AUTH_AUTHORIZE_URL,
            "https://login.example/oauth2/authorize".to_owned(),
        );
        vars.insert(
            env_vars::AUTH_TOKEN_URL,
            "https://login.example/oauth2/token".to_owned(),
        );
        vars.insert(
            env_vars::AUTH_LOGOUT_URL,
            "http://127.0.0.1:9000/session/end".to_owned(),
        );
    }

    #[test]
    fn public_is_the_default_mode() {
        let mut vars = base();
        assert_eq!(load(&vars).unwrap().auth, Auth::Public);
        vars.insert(env_vars::AUTH_MODE, "public".to_owned());
        assert_eq!(load(&vars).unwrap().auth, Auth::Public);
        // The identity provider's variables are not read in public mode.
        vars.insert(env_vars::AUTH_ISSUER, "not a url".to_owned());
        assert_eq!(load(&vars).unwrap().auth, Auth::Public);
    }

    #[test]
    fn users_mode_reads_the_provider_and_defaults_the_limits_to_the_environments() {
        let mut vars = base();
        users(&mut vars);
        let config = load(&vars).unwrap();
        let users = config.auth.users().unwrap();
        assert_eq!(users.issuer, "https://issuer.example/pool");
        assert_eq!(users.client_id, "page-client");
        assert_eq!(users.logout_url, "http://127.0.0.1:9000/session/end");
        assert_eq!(
            (
                users.rate_limit,
                users.rate_window_seconds,
                users.daily_token_quota
            ),
            (10, 60, 100_000)
        );
        vars.insert(env_vars::USER_RATE_LIMIT, "3".to_owned());
        vars.insert(env_vars::USER_RATE_WINDOW_SECONDS, "30".to_owned());
        vars.insert(env_vars::USER_DAILY_TOKEN_QUOTA, "5000".to_owned());
        let config = load(&vars).unwrap();
        let users = config.auth.users().unwrap();
        assert_eq!(
            (
                users.rate_limit,
                users.rate_window_seconds,
                users.daily_token_quota
            ),
            (3, 30, 5000)
        );
    }

    #[test]
    fn users_mode_names_each_missing_provider_variable() {
        for name in env_vars::AUTH_REQUIRED {
            let mut vars = base();
            users(&mut vars);
            vars.remove(name);
            assert_eq!(load(&vars).unwrap_err(), ConfigError::Missing(name));
            vars.insert(name, "  ".to_owned());
            assert_eq!(load(&vars).unwrap_err(), ConfigError::Missing(name));
        }
    }

    #[test]
    fn malformed_sign_in_variables_are_named() {
        let cases = [
            (env_vars::AUTH_MODE, "private"),
            (env_vars::AUTH_ISSUER, "issuer.example"),
            (env_vars::AUTH_JWKS_URL, "http://issuer.example/jwks.json"),
            (env_vars::AUTH_TOKEN_URL, "ftp://login.example/token"),
            (env_vars::AUTH_CLIENT_ID, "page client"),
            (env_vars::USER_RATE_LIMIT, "0"),
            (env_vars::USER_RATE_WINDOW_SECONDS, "86401"),
            (env_vars::USER_DAILY_TOKEN_QUOTA, "lots"),
        ];
        for (name, value) in cases {
            let mut vars = base();
            users(&mut vars);
            vars.insert(name, value.to_owned());
            match load(&vars) {
                Err(ConfigError::Malformed { name: got, .. }) => assert_eq!(got, name, "{value}"),
                other => panic!("{name}={value}: expected malformed, got {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_variables_are_named() {
        let cases = [
            (env_vars::RATE_LIMIT, "ten"),
            (env_vars::RATE_LIMIT, "0"),
            (env_vars::RATE_WINDOW_SECONDS, "-5"),
            (env_vars::MAX_OUTPUT_TOKENS, "1.5"),
            (env_vars::DAILY_TOKEN_BUDGET, "lots"),
            (env_vars::HISTORY_DAYS, "99999"),
            (env_vars::BUDGET_SHARDS, "0"),
            (env_vars::BUDGET_SHARDS, "1001"),
            (env_vars::BUDGET_SHARDS, "many"),
            (env_vars::MODELS, "m1,m2"),
            (env_vars::MODELS, "[]"),
            (
                env_vars::MODELS,
                r#"[{"id":"a","name":"A"},{"id":"a","name":"B"}]"#,
            ),
            (env_vars::DEFAULT_MODEL, "m9"),
            (env_vars::ENVIRONMENT, "dev env"),
            (env_vars::ORIGIN_SECRET, "short"),
            (env_vars::ORIGIN_SECRET, "a secret with spaces in it"),
            (env_vars::ORIGIN_SECRET, "0123456789abcdef\n"),
            (env_vars::ORIGIN_SECRET_PREVIOUS, "short"),
            (env_vars::IPV6_PREFIX_LENGTH, "0"),
            (env_vars::IPV6_PREFIX_LENGTH, "129"),
            (env_vars::IPV6_PREFIX_LENGTH, "/64"),
            (env_vars::STARTER_PROMPTS, "Say hi"),
            (env_vars::STARTER_PROMPTS, r#"["ok", " "]"#),
            (
                env_vars::STARTER_PROMPTS,
                r#"["1","2","3","4","5","6","7"]"#,
            ),
            (env_vars::STARTER_PROMPTS, r#"[1]"#),
            (env_vars::DAILY_COST_BUDGET_MICRO_USD, "0"),
            (env_vars::DAILY_COST_BUDGET_MICRO_USD, "1.5"),
            (
                env_vars::MODELS,
                r#"[{"id":"m1","name":"One","price":{"input":-1,"output":2,"as_of":"x"}}]"#,
            ),
            (
                env_vars::MODELS,
                r#"[{"id":"m1","name":"One","price":{"input":1.5,"output":2,"as_of":"x"}}]"#,
            ),
        ];
        for (name, value) in cases {
            let mut vars = base();
            vars.insert(name, value.to_owned());
            match load(&vars) {
                Err(ConfigError::Malformed { name: got, .. }) => assert_eq!(got, name, "{value}"),
                other => panic!("{name}={value}: expected malformed, got {other:?}"),
            }
        }
    }
}
