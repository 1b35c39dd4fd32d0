//! The Amazon Bedrock guardrail an environment may put on every model call: its settings, and
//! what the service makes of a turn the guardrail intervened in.
//!
//! When a guardrail intervenes, Bedrock ends the answer with the stop reason
//! [`INTERVENED`] and answers with the guardrail's blocked message, or (for a masking policy)
//! with the model's answer with parts masked. The service asks for the trace, which says which
//! assessment acted: the prompt's (`inputAssessment`) or the answer's (`outputAssessments`),
//! and whether it blocked or masked. A blocked turn is answered with the configured message and
//! saved as blocked, never as an answer; a masked answer is an answer.

use chatbot_contract::env_vars;

use crate::config::ConfigError;

/// Bedrock's stop reason when a guardrail acted on a turn.
pub const INTERVENED: &str = "guardrail_intervened";

/// Longest blocked message a guardrail accepts (`BlockedInputMessaging`).
const MAX_MESSAGE_CHARS: usize = 500;

/// The guardrail every model call goes through, from the `CHATBOT_GUARDRAIL_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailConfig {
    /// The guardrail's id or ARN.
    pub id: String,
    /// A published version number, or `DRAFT`.
    pub version: String,
    pub stream_processing: StreamProcessing,
    /// Shown when the guardrail blocks a prompt.
    pub blocked_input_message: String,
    /// Shown when the guardrail blocks an answer.
    pub blocked_output_message: String,
}

/// How ConverseStream applies the guardrail to a streamed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamProcessing {
    /// Each chunk is checked before it is sent: nothing unchecked reaches the page.
    Sync,
    /// Chunks are sent at once and checked alongside; masking does not apply.
    Async,
}

impl StreamProcessing {
    /// The value ConverseStream's `streamProcessingMode` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamProcessing::Sync => "sync",
            StreamProcessing::Async => "async",
        }
    }
}

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

    /// The message shown for a turn blocked at `source`.
    pub fn blocked_message(&self, source: Blocked) -> &str {
        match source {
            Blocked::Input => &self.blocked_input_message,
            Blocked::Output => &self.blocked_output_message,
        }
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

/// Which side of a turn a guardrail blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Blocked {
    /// The prompt: the model never saw it.
    Input,
    /// The model's answer.
    Output,
}

impl Blocked {
    pub const fn as_str(self) -> &'static str {
        match self {
            Blocked::Input => "input",
            Blocked::Output => "output",
        }
    }
}

/// What Bedrock's guardrail trace says about one turn: which side it blocked or masked, and
/// by which policies. Policies are named by kind and type (`content:VIOLENCE`, `pii:EMAIL`,
/// `topic:<name the environment gave it>`), never by the text they matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    pub blocked_input: bool,
    pub blocked_output: bool,
    pub masked: bool,
    pub policies: Vec<String>,
}

/// What the service does with a turn the guardrail intervened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Blocked(Blocked),
    /// The answer stands, with parts masked.
    Masked,
}

impl Outcome {
    /// The value of the `guardrail` field of the chat answer.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Blocked(Blocked::Input) => "blocked_input",
            Outcome::Blocked(Blocked::Output) => "blocked_output",
            Outcome::Masked => "masked_output",
        }
    }
}

/// Decides a turn that ended with [`INTERVENED`], from the trace when there is one. Without a
/// trace (or one that shows no action), the answer `text` decides: the blocked-input message is
/// a blocked prompt, anything else a blocked answer, so that an intervention the service cannot
/// read is never saved as an answer.
pub fn outcome(assessment: Option<&Assessment>, text: &str, config: &GuardrailConfig) -> Outcome {
    match assessment {
        Some(a) if a.blocked_input => Outcome::Blocked(Blocked::Input),
        Some(a) if a.blocked_output => Outcome::Blocked(Blocked::Output),
        Some(a) if a.masked => Outcome::Masked,
        _ if text.trim() == config.blocked_input_message.trim() => Outcome::Blocked(Blocked::Input),
        _ => Outcome::Blocked(Blocked::Output),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config() -> GuardrailConfig {
        GuardrailConfig {
            id: "g1".into(),
            version: "1".into(),
            stream_processing: StreamProcessing::Sync,
            blocked_input_message: "Not that.".into(),
            blocked_output_message: "Cannot say.".into(),
        }
    }

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

    #[test]
    fn the_trace_decides_and_the_text_only_without_one() {
        let c = config();
        let trace = |input, output, masked| Assessment {
            blocked_input: input,
            blocked_output: output,
            masked,
            policies: Vec::new(),
        };
        let blocked = |b| Outcome::Blocked(b);
        assert_eq!(
            outcome(Some(&trace(true, false, false)), "x", &c),
            blocked(Blocked::Input)
        );
        assert_eq!(
            outcome(Some(&trace(false, true, true)), "x", &c),
            blocked(Blocked::Output)
        );
        assert_eq!(
            outcome(Some(&trace(false, false, true)), "x", &c),
            Outcome::Masked
        );
        assert_eq!(outcome(None, " Not that. ", &c), blocked(Blocked::Input));
        assert_eq!(outcome(None, "Cannot say.", &c), blocked(Blocked::Output));
        // Unreadable: never an answer.
        assert_eq!(
            outcome(None, "something else", &c),
            blocked(Blocked::Output)
        );
        assert_eq!(
            outcome(Some(&trace(false, false, false)), "x", &c),
            blocked(Blocked::Output)
        );
        assert_eq!(Outcome::Masked.as_str(), "masked_output");
    }
}
