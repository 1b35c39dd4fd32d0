//! The chat request body: any bytes are either a valid chat request that says what the bytes
//! say, or a 400 with a clear message, and every body that follows the rules is accepted.

#![no_main]

use std::collections::HashMap;

use chatbot::Config;
use chatbot::http::parse_chat_body;
use chatbot::store::SessionId;
use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const MAX_CHARS: usize = 300;

fn config() -> Config {
    let vars = HashMap::from([
        ("CHATBOT_ENVIRONMENT", "fuzz".to_owned()),
        (
            "CHATBOT_MODELS",
            json!([{"id": "m1", "name": "One"}, {"id": "m2", "name": "Two"}]).to_string(),
        ),
        ("CHATBOT_DEFAULT_MODEL", "m1".to_owned()),
        ("CHATBOT_SYSTEM_PROMPT", "Be brief.".to_owned()),
        ("CHATBOT_MAX_OUTPUT_TOKENS", "100".to_owned()),
        ("CHATBOT_RATE_LIMIT", "1000000".to_owned()),
        ("CHATBOT_RATE_WINDOW_SECONDS", "3600".to_owned()),
        ("CHATBOT_DAILY_TOKEN_BUDGET", "1000000000".to_owned()),
        ("CHATBOT_HISTORY_DAYS", "1".to_owned()),
    ]);
    Config::from_lookup(|name| vars.get(name).cloned()).expect("the fuzz configuration is valid")
}

/// Whether the rules accept a body already read as JSON: an object with a `message` string
/// (not blank, at most `MAX_CHARS` characters, no NUL), an optional UUID `session_id`, an
/// optional allowlisted `model`, and no other key.
fn verdict(value: &Value, config: &Config) -> bool {
    let Some(object) = value.as_object() else {
        return false;
    };
    if object
        .keys()
        .any(|key| !["message", "session_id", "model"].contains(&key.as_str()))
    {
        return false;
    }
    let Some(message) = object.get("message").and_then(Value::as_str) else {
        return false;
    };
    let message_ok = !message.trim().is_empty()
        && message.chars().count() <= MAX_CHARS
        && !message.contains('\0');
    let session_ok = match object.get("session_id") {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => SessionId::parse(text).is_some(),
        Some(_) => false,
    };
    let model_ok = match object.get("model") {
        None | Some(Value::Null) => true,
        Some(Value::String(id)) => config.models.iter().any(|m| &m.id == id),
        Some(_) => false,
    };
    message_ok && session_ok && model_ok
}

fuzz_target!(|bytes: &[u8]| {
    thread_local!(static CONFIG: Config = config());
    CONFIG.with(|config| {
        let json: Option<Value> = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| serde_json::from_str(text).ok());
        match parse_chat_body(bytes, config, MAX_CHARS) {
            Ok(input) => {
                // Accepted: the body is a JSON object that says exactly this.
                let value = json.expect("an accepted body is JSON");
                assert!(
                    verdict(&value, config),
                    "accepted against the rules: {value}"
                );
                assert_eq!(value["message"].as_str(), Some(input.message.as_str()));
                let session = value["session_id"].as_str();
                assert_eq!(session.and_then(SessionId::parse), input.session);
                if let Some(session) = input.session {
                    assert_eq!(
                        session.to_string(),
                        session.to_string().to_ascii_lowercase()
                    );
                }
                let model = value["model"].as_str().unwrap_or(&config.default_model);
                assert_eq!(input.model.id, model);
            }
            Err(err) => {
                assert_eq!(err.status, StatusCode::BAD_REQUEST, "{err:?}");
                assert_eq!(err.code, "invalid_request");
                assert!(
                    !err.message.is_empty() && !err.message.ends_with('.'),
                    "{err:?}"
                );
                if let Some(value) = json {
                    if verdict(&value, config) {
                        // Only a duplicated key, hidden by the object form, may be refused
                        // here: written out again without duplicates, it must pass.
                        let again = value.to_string();
                        assert!(
                            parse_chat_body(again.as_bytes(), config, MAX_CHARS).is_ok(),
                            "a valid body was refused: {again}: {err:?}"
                        );
                    }
                }
            }
        }
    });
});
