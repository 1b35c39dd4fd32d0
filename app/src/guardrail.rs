//! The Amazon Bedrock guardrail an environment may put on every model call: its settings, and
//! what the service makes of a turn the guardrail intervened in.
//!
//! When a guardrail intervenes, Bedrock ends the answer with the stop reason
//! [`INTERVENED`] and answers with the guardrail's blocked message, or (for a masking policy)
//! with the model's answer with parts masked. The service asks for the trace, which says which
//! assessment acted: the prompt's (`inputAssessment`) or the answer's (`outputAssessments`),
//! and whether it blocked or masked. A blocked turn is answered with the configured message and
//! saved as blocked, never as an answer; a masked answer is an answer.

/// Bedrock's stop reason when a guardrail acted on a turn.
pub const INTERVENED: &str = "guardrail_intervened";

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
    /// The message shown for a turn blocked at `source`.
    pub fn blocked_message(&self, source: Blocked) -> &str {
        match source {
            Blocked::Input => &self.blocked_input_message,
            Blocked::Output => &self.blocked_output_message,
        }
    }
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
