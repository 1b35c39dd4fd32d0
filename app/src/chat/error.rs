//! Why a chat turn ended without an answer.

use crate::model::ModelError;
use crate::store::{MessageId, SessionId, StoreError};

/// A chat turn that failed before any of an answer reached the client. Store and model
/// failures are already counted and logged by the time the turn returns one.
#[derive(Debug)]
pub struct ChatError {
    pub failure: ChatFailure,
    /// A turn that failed after the question was saved: its conversation and id, so a retry
    /// replaces the question instead of asking it twice.
    pub saved_question: Option<(SessionId, MessageId)>,
}

#[derive(Debug)]
pub enum ChatFailure {
    /// The client used up its rate window; the next one opens in `retry_after_secs`.
    RateLimited {
        retry_after_secs: u64,
    },
    /// Today's token or dollar budget is spent.
    BudgetExhausted,
    /// `replaces` named no question of the conversation.
    NoSuchQuestion,
    Store(StoreError),
    Model(ModelError),
}

impl ChatError {
    /// This error, for a turn whose question `session` already holds as `id`.
    pub fn with_saved_question(self, (session, id): (SessionId, MessageId)) -> Self {
        ChatError {
            saved_question: Some((session, id)),
            ..self
        }
    }
}

impl From<ChatFailure> for ChatError {
    fn from(failure: ChatFailure) -> Self {
        ChatError {
            failure,
            saved_question: None,
        }
    }
}
