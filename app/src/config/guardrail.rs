//! The guardrail's part of the configuration: the `CHATBOT_GUARDRAIL_*` variables read into a
//! [`GuardrailConfig`].

use chatbot_contract::env_vars;

use super::ConfigError;
use crate::guardrail::{GuardrailConfig, StreamProcessing};

/// Longest blocked message a guardrail accepts (`BlockedInputMessaging`).
const MAX_MESSAGE_CHARS: usize = 500;

impl GuardrailConfig {
    /// Reads the guardrail's variables: `None` when [`env_vars::GUARDRAIL_ID`] is unset, in
    /// which case the others must be unset too.
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<GuardrailConfig>, ConfigError> {
        let value = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let malformed =
            |name: &'static str, reason: String| ConfigError::Malformed { name, reason };
        let Some(id) = value(env_vars::GUARDRAIL_ID) else {
            if let Some(stray) = env_vars::GUARDRAIL.into_iter().find(|n| value(n).is_some()) {
                return Err(malformed(
                    stray,
                    format!("it is set without {}", env_vars::GUARDRAIL_ID),
                ));
            }
            return Ok(None);
        };
        if !is_guardrail_id(&id) {
            return Err(malformed(
                env_vars::GUARDRAIL_ID,
                format!(
                    "{id:?} is not a guardrail id (lower-case letters and digits) or a guardrail ARN"
                ),
            ));
        }
        let required = |name: &'static str| value(name).ok_or(ConfigError::Missing(name));
        let version = required(env_vars::GUARDRAIL_VERSION)?;
        if !is_version(&version) {
            return Err(malformed(
                env_vars::GUARDRAIL_VERSION,
                format!("{version:?} is not a version: use a published version number or DRAFT"),
            ));
        }
        let stream_processing = match value(env_vars::GUARDRAIL_STREAM_PROCESSING).as_deref() {
            None | Some("sync") => StreamProcessing::Sync,
            Some("async") => StreamProcessing::Async,
            Some(other) => {
                return Err(malformed(
                    env_vars::GUARDRAIL_STREAM_PROCESSING,
                    format!("{other:?} is neither \"sync\" nor \"async\""),
                ));
            }
        };
        let message = |name: &'static str| -> Result<String, ConfigError> {
            let text = required(name)?;
            if text.chars().count() > MAX_MESSAGE_CHARS {
                return Err(malformed(
                    name,
                    format!("it is longer than {MAX_MESSAGE_CHARS} characters"),
                ));
            }
            Ok(text)
        };
        Ok(Some(GuardrailConfig {
            blocked_input_message: message(env_vars::GUARDRAIL_BLOCKED_INPUT_MESSAGE)?,
            blocked_output_message: message(env_vars::GUARDRAIL_BLOCKED_OUTPUT_MESSAGE)?,
            id,
            version,
            stream_processing,
        }))
    }
}

/// `abcd1234` or `arn:aws:bedrock:us-west-2:123456789012:guardrail/abcd1234`.
fn is_guardrail_id(text: &str) -> bool {
    let plain = |id: &str| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match text.strip_prefix("arn:") {
        Some(rest) => rest
            .rsplit_once(":guardrail/")
            .is_some_and(|(_, id)| plain(id)),
        None => plain(text),
    }
}

/// `1` to `99999999`, or `DRAFT`.
fn is_version(text: &str) -> bool {
    text == "DRAFT"
        || (!text.is_empty()
            && text.len() <= 8
            && !text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::guardrail::Blocked;

    fn read(vars: &[(&'static str, &str)]) -> Result<Option<GuardrailConfig>, ConfigError> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        GuardrailConfig::from_lookup(&|name| vars.get(name).cloned())
    }

    const ALL_SET: [(&str, &str); 5] = [
        (env_vars::GUARDRAIL_ID, "abcd1234efgh"),
        (env_vars::GUARDRAIL_VERSION, "12"),
        (env_vars::GUARDRAIL_STREAM_PROCESSING, "async"),
        (env_vars::GUARDRAIL_BLOCKED_INPUT_MESSAGE, "Not that."),
        (env_vars::GUARDRAIL_BLOCKED_OUTPUT_MESSAGE, "Cannot say."),
    ];

    #[test]
    fn reads_every_variable_or_none() {
        assert_eq!(read(&[]).unwrap(), None);
        let config = read(&ALL_SET).unwrap().unwrap();
        assert_eq!(config.id, "abcd1234efgh");
        assert_eq!(config.version, "12");
        assert_eq!(config.stream_processing, StreamProcessing::Async);
        assert_eq!(config.blocked_message(Blocked::Input), "Not that.");
        assert_eq!(config.blocked_message(Blocked::Output), "Cannot say.");
        let mut sync = ALL_SET.to_vec();
        sync.retain(|(name, _)| *name != env_vars::GUARDRAIL_STREAM_PROCESSING);
        assert_eq!(
            read(&sync).unwrap().unwrap().stream_processing,
            StreamProcessing::Sync
        );
    }

    #[test]
    fn a_bad_or_missing_value_is_named() {
        let check = |name: &'static str, value: Option<&str>| {
            let mut vars: Vec<(&'static str, &str)> = ALL_SET
                .iter()
                .copied()
                .filter(|(n, _)| *n != name)
                .collect();
            if let Some(value) = value {
                vars.push((name, value));
            }
            let err = read(&vars).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={value:?}: {err}");
        };
        let long = "x".repeat(501);
        check(env_vars::GUARDRAIL_ID, Some("Not An Id"));
        check(
            env_vars::GUARDRAIL_ID,
            Some("arn:aws:bedrock:us-west-2:1:agent/x"),
        );
        check(env_vars::GUARDRAIL_VERSION, None);
        check(env_vars::GUARDRAIL_VERSION, Some("0"));
        check(env_vars::GUARDRAIL_VERSION, Some("v1"));
        check(env_vars::GUARDRAIL_STREAM_PROCESSING, Some("later"));
        check(env_vars::GUARDRAIL_BLOCKED_INPUT_MESSAGE, None);
        check(env_vars::GUARDRAIL_BLOCKED_OUTPUT_MESSAGE, Some(&long));
        // Settings without the guardrail they belong to.
        let stray = [(env_vars::GUARDRAIL_VERSION, "1")];
        let err = read(&stray).unwrap_err();
        assert!(
            err.to_string().contains(env_vars::GUARDRAIL_VERSION),
            "{err}"
        );
        assert!(err.to_string().contains(env_vars::GUARDRAIL_ID), "{err}");
    }

    #[test]
    fn ids_and_versions() {
        assert!(is_guardrail_id("abcd1234"));
        assert!(is_guardrail_id(
            "arn:aws:bedrock:us-west-2:123456789012:guardrail/abcd1234"
        ));
        assert!(!is_guardrail_id(""));
        assert!(!is_guardrail_id("ABCD"));
        assert!(!is_guardrail_id(
            "arn:aws:bedrock:us-west-2:123456789012:guardrail/"
        ));
        assert!(is_version("1") && is_version("99999999") && is_version("DRAFT"));
        assert!(!is_version("") && !is_version("01") && !is_version("123456789"));
    }
}
