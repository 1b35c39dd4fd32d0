//! Amazon Bedrock Guardrails as the fake applies them to Converse and ConverseStream.
//!
//! A request names a guardrail in `guardrailConfig` (`guardrailIdentifier`, `guardrailVersion`,
//! `trace`, and for ConverseStream `streamProcessingMode`). The fake serves the guardrails a
//! test registered with [`FakeBedrock::add_guardrail`](super::FakeBedrock::add_guardrail); any
//! other identifier or version is refused the way Bedrock refuses it, with a
//! `ValidationException` "The guardrail identifier or version provided in the request does not
//! exist.". A known guardrail intervenes only when the last user message carries a
//! `[[guardrail:...]]` directive (see the module documentation of `testkit::bedrock`); without
//! `guardrailConfig` the directive is ignored, as Bedrock applies no guardrail then.
//!
//! Interventions are answered as the Bedrock User Guide ("Include a guardrail with the Converse
//! API", "Processing the response") and the API reference (`ConverseOutput`, `ConverseTrace`,
//! `GuardrailTraceAssessment`, `GuardrailAssessment`, `ConverseStreamMetadataEvent`) describe:
//! `stopReason` is `guardrail_intervened`, the guardrail's blocked message is the answer's
//! text (a `contentBlockDelta` in a stream), and with `trace` enabled `trace.guardrail` holds
//! the assessments (in a stream, in the `metadata` event).

use serde_json::{Value, json};

use super::{ApiError, lock};

/// A guardrail the fake serves, with the messages Bedrock answers when it blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrail {
    /// The guardrail's id (`abcd1234efgh`); requests may name it or its ARN.
    pub id: String,
    /// The published version requests may name; `DRAFT` is always accepted too.
    pub version: String,
    /// `BlockedInputMessaging`: the answer when the prompt is blocked.
    pub blocked_input_message: String,
    /// `BlockedOutputsMessaging`: the answer when the model's answer is blocked.
    pub blocked_output_message: String,
}

impl Guardrail {
    /// The messages Bedrock's console proposes for a new guardrail.
    pub const DEFAULT_MESSAGE: &'static str = "Sorry, the model cannot answer this question.";

    /// A guardrail with the console's default blocked messages.
    pub fn new(id: impl Into<String>, version: impl Into<String>) -> Guardrail {
        Guardrail {
            id: id.into(),
            version: version.into(),
            blocked_input_message: Guardrail::DEFAULT_MESSAGE.to_owned(),
            blocked_output_message: Guardrail::DEFAULT_MESSAGE.to_owned(),
        }
    }
}

/// The topic name a `[[guardrail:...:topic]]` intervention reports.
pub const DENIED_TOPIC: &str = "Fake denied topic";

/// The guardrail a request named, found and checked.
#[derive(Debug, Clone)]
pub(super) struct Active {
    guardrail: Guardrail,
    trace: bool,
}

/// Reads and checks `guardrailConfig`; `None` when the request has none.
pub(super) fn active(
    guardrails: &std::sync::Mutex<Vec<Guardrail>>,
    body: &Value,
    stream: bool,
) -> Result<Option<Active>, ApiError> {
    let Some(config) = body.get("guardrailConfig") else {
        return Ok(None);
    };
    let field = |name: &str| config.get(name).and_then(Value::as_str);
    let identifier = field("guardrailIdentifier").unwrap_or_default();
    let version = field("guardrailVersion").unwrap_or_default();
    let trace = match field("trace") {
        None | Some("disabled") => false,
        Some("enabled" | "enabled_full") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'guardrailConfig.trace' failed to satisfy constraint: Member must satisfy enum value set: [enabled, disabled, enabled_full]"
            )));
        }
    };
    match (stream, field("streamProcessingMode")) {
        (true, None | Some("sync" | "async")) | (false, None) => {}
        (true, Some(other)) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'guardrailConfig.streamProcessingMode' failed to satisfy constraint: Member must satisfy enum value set: [sync, async]"
            )));
        }
        (false, Some(_)) => {
            return Err(ApiError::validation(
                "streamProcessingMode is a member of ConverseStream's guardrailConfig only",
            ));
        }
    }
    let id = identifier
        .rsplit_once(":guardrail/")
        .map_or(identifier, |(_, id)| id);
    let known = lock(guardrails)
        .iter()
        .find(|g| g.id == id && (g.version == version || version == "DRAFT"))
        .cloned();
    match known {
        Some(guardrail) => Ok(Some(Active { guardrail, trace })),
        None => Err(ApiError::validation(
            "The guardrail identifier or version provided in the request does not exist.",
        )),
    }
}

/// What a `[[guardrail:...]]` directive asks the guardrail to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Directive {
    /// Block the prompt: the model is not called.
    Input(Policy),
    /// Block the answer after `after` chunks of it (a stream sends those chunks first).
    Output(Policy, usize),
    /// Mask the e-mail addresses of the answer.
    Mask,
}

/// The policy an intervention reports in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Policy {
    Content,
    PromptAttack,
    Topic,
    Word,
    Pii,
}

impl Directive {
    /// `input[:POLICY]`, `output[:POLICY[:N]]` or `mask`; `None` when malformed.
    pub(super) fn parse(arg: &str) -> Option<Directive> {
        let mut parts = arg.split(':').map(str::trim);
        let source = parts.next()?;
        let policy = match parts.next() {
            None => Policy::Content,
            Some("content") => Policy::Content,
            Some("prompt-attack") => Policy::PromptAttack,
            Some("topic") => Policy::Topic,
            Some("word") => Policy::Word,
            Some("pii") => Policy::Pii,
            Some(_) => return None,
        };
        let after = match parts.next() {
            None => 0,
            Some(n) => n.parse().ok()?,
        };
        if parts.next().is_some() {
            return None;
        }
        match source {
            "input" if after == 0 => Some(Directive::Input(policy)),
            // Prompt attacks are an input filter only.
            "output" if policy != Policy::PromptAttack => Some(Directive::Output(policy, after)),
            "mask" if arg.trim() == "mask" => Some(Directive::Mask),
            _ => None,
        }
    }
}

/// The answer a guardrail gives instead of, or made of, the model's.
pub(super) struct Intervention {
    /// The chunks of text the answer is made of.
    pub chunks: Vec<String>,
    /// Tokens reported: none when the prompt was blocked, as the model never ran.
    pub input_tokens: Option<u64>,
    pub output_tokens: u64,
    /// `trace.guardrail`, when the request enabled the trace.
    pub trace: Option<Value>,
}

/// Applies `directive` of `active` to the model's answer `chunks` for the prompt `prompt`;
/// `None` when the guardrail finds nothing to do (a mask with no address in the answer).
pub(super) fn intervene(
    active: &Active,
    directive: Directive,
    prompt: &str,
    chunks: &[String],
) -> Option<Intervention> {
    let id = active.guardrail.id.as_str();
    let answer: String = chunks.concat();
    let (chunks, input_tokens, output_tokens, trace) = match directive {
        Directive::Input(policy) => (
            vec![active.guardrail.blocked_input_message.clone()],
            Some(0),
            0,
            json!({"inputAssessment": {id: assessment(policy, "BLOCKED", prompt)}}),
        ),
        Directive::Output(policy, after) => {
            let mut sent: Vec<String> = chunks.iter().take(after).cloned().collect();
            sent.push(active.guardrail.blocked_output_message.clone());
            (
                sent,
                None,
                chunks.len() as u64,
                json!({
                    "modelOutput": [answer],
                    "inputAssessment": {id: {"invocationMetrics": metrics(prompt)}},
                    "outputAssessments": {id: [assessment(policy, "BLOCKED", &answer)]},
                }),
            )
        }
        Directive::Mask => {
            let addresses: Vec<&str> = answer
                .split_whitespace()
                .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|word| is_email(word))
                .collect();
            if addresses.is_empty() {
                return None;
            }
            let masked = addresses.iter().fold(answer.clone(), |text, address| {
                text.replace(address, "{EMAIL}")
            });
            let entities: Vec<Value> = addresses
                .iter()
                .map(|address| json!({"match": address, "type": "EMAIL", "action": "ANONYMIZED", "detected": true}))
                .collect();
            (
                super::word_chunks(&masked),
                None,
                chunks.len() as u64,
                json!({
                    "inputAssessment": {id: {"invocationMetrics": metrics(prompt)}},
                    "outputAssessments": {id: [{
                        "sensitiveInformationPolicy": {"piiEntities": entities},
                        "invocationMetrics": metrics(&answer),
                    }]},
                }),
            )
        }
    };
    Some(Intervention {
        chunks,
        input_tokens,
        output_tokens,
        trace: active.trace.then_some(trace),
    })
}

/// One policy's assessment of `text`, as `GuardrailAssessment` writes it.
fn assessment(policy: Policy, action: &str, text: &str) -> Value {
    let first_word = text.split_whitespace().next().unwrap_or(text);
    let mut found = match policy {
        Policy::Content | Policy::PromptAttack => json!({"contentPolicy": {"filters": [{
            "type": if policy == Policy::Content { "VIOLENCE" } else { "PROMPT_ATTACK" },
            "confidence": "HIGH",
            "filterStrength": "HIGH",
            "action": action,
            "detected": true,
        }]}}),
        Policy::Topic => json!({"topicPolicy": {"topics": [{
            "name": DENIED_TOPIC, "type": "DENY", "action": action, "detected": true,
        }]}}),
        Policy::Word => json!({"wordPolicy": {"managedWordLists": [{
            "match": first_word, "type": "PROFANITY", "action": action, "detected": true,
        }]}}),
        Policy::Pii => json!({"sensitiveInformationPolicy": {"piiEntities": [{
            "match": text, "type": "CREDIT_DEBIT_CARD_NUMBER", "action": action, "detected": true,
        }]}}),
    };
    found["invocationMetrics"] = metrics(text);
    found
}

/// `GuardrailInvocationMetrics` for guarding `text`: one unit per policy per 1,000 characters.
fn metrics(text: &str) -> Value {
    let characters = text.chars().count();
    let units = characters.div_ceil(1000).max(1);
    json!({
        "guardrailProcessingLatency": 42,
        "usage": {
            "topicPolicyUnits": units,
            "contentPolicyUnits": units,
            "wordPolicyUnits": units,
            "sensitiveInformationPolicyUnits": units,
            "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
        },
        "guardrailCoverage": {"textCharacters": {"guarded": characters, "total": characters}},
    })
}

fn is_email(word: &str) -> bool {
    word.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.')
    })
}
