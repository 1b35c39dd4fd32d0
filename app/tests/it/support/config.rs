//! The configuration the tests start from, built through the variable names of `contract/`
//! the way the function reads its environment.

use std::collections::BTreeMap;
use std::time::Duration;

use chatbot::contract::env_vars as var;
use chatbot::{Config, Tuning};
use serde_json::json;

pub const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
pub const OTHER_MODEL: &str = "amazon.nova-lite-v1:0";
pub const SYSTEM_PROMPT: &str = "You are a test assistant.";

/// Environment variables for [`Config::from_lookup`] (or for `bootstrap`'s environment).
#[derive(Debug, Clone)]
pub struct ConfigVars(BTreeMap<&'static str, String>);

impl ConfigVars {
    /// Two models, generous limits.
    pub fn standard() -> ConfigVars {
        ConfigVars(BTreeMap::from([
            (var::ENVIRONMENT, "test".to_owned()),
            (
                var::MODELS,
                json!([{"id": MODEL, "name": "Claude 3 Haiku"}, {"id": OTHER_MODEL, "name": "Nova Lite"}])
                    .to_string(),
            ),
            (var::DEFAULT_MODEL, MODEL.to_owned()),
            (var::SYSTEM_PROMPT, SYSTEM_PROMPT.to_owned()),
            (var::MAX_OUTPUT_TOKENS, "1000".to_owned()),
            (var::RATE_LIMIT, "1000".to_owned()),
            (var::RATE_WINDOW_SECONDS, "3600".to_owned()),
            (var::DAILY_TOKEN_BUDGET, "1000000".to_owned()),
            (var::HISTORY_DAYS, "7".to_owned()),
        ]))
    }

    /// These variables with `name` set to `value`.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> ConfigVars {
        self.0.insert(name, value.into());
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(name, value)| (*name, value.as_str()))
    }

    /// The configuration these variables make; they must make a valid one.
    pub fn config(&self) -> Config {
        Config::from_lookup(|name| self.0.get(name).cloned())
            .expect("the test configuration is valid")
    }
}

/// The configuration the tests start from: [`ConfigVars::standard`].
pub fn config() -> Config {
    ConfigVars::standard().config()
}

/// Short delays, so retries and heartbeats happen quickly.
pub fn tuning() -> Tuning {
    Tuning {
        retry_base: Duration::from_millis(5),
        retry_max: Duration::from_millis(20),
        ..Tuning::default()
    }
}
