//! What a streamed chat turn tells its reader, in order: [`ChatEvent::Started`], any number of
//! [`ChatEvent::Text`], then [`ChatEvent::Done`] or [`ChatEvent::Failed`].

use crate::cost::ReplyCost;
use crate::guardrail::Outcome;
use crate::model::{ModelError, Usage};
use crate::store::{MessageId, SessionId};

#[derive(Debug, Clone)]
pub enum ChatEvent {
    /// The question is saved and the model's stream is open.
    Started(Started),
    /// A piece of the answer.
    Text(String),
    /// The answer ended and is saved.
    Done {
        ended: Ended,
        /// What the guardrail did, when it acted.
        guardrail: Option<Outcome>,
        /// The guardrail's message, which stands in for what streamed when it blocked the turn.
        blocked_message: Option<String>,
    },
    /// The model failed mid-answer; what streamed is saved, marked incomplete.
    Failed { ended: Ended, error: ModelError },
}

/// The first event of a streamed answer.
#[derive(Debug, Clone)]
pub struct Started {
    pub session: SessionId,
    /// The model id the answer is reported and saved with.
    pub answered_by: String,
    /// The id the answer will be saved under.
    pub answer_id: MessageId,
    pub question_id: MessageId,
    pub question_created_at_ms: i64,
}

/// What the page shows under a streamed answer, as history will show it.
#[derive(Debug, Clone)]
pub struct Ended {
    pub usage: Usage,
    pub stop_reason: String,
    pub latency_ms: u64,
    pub created_at_ms: i64,
    /// What the answer (or the part that streamed) cost, for a model with a price.
    pub cost: Option<ReplyCost>,
}
