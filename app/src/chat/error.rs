//! Why a chat turn ended without an answer.

use super::PersonLimits;
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
    /// What a signed-in person had left when the turn was refused (`users` mode).
    pub limits: Option<PersonLimits>,
}

#[derive(Debug)]
pub enum ChatFailure {
    /// The client used up its rate window; the next one opens in `retry_after_secs`.
    RateLimited {
        retry_after_secs: u64,
    },
    /// A signed-in person used up their own rate window; the next one opens in
    /// `retry_after_secs`.
    PersonRateLimited {
        retry_after_secs: u64,
    },
    /// Today's token or dollar budget is spent.
    BudgetExhausted,
    /// A signed-in person's daily token quota is spent; it comes back in `retry_after_secs`
    /// (at midnight UTC).
    QuotaExhausted {
        retry_after_secs: u64,
    },
    /// The conversation belongs to someone else (or to public mode): as if it did not exist.
    NoSuchSession,
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

    /// This error, for a signed-in person with `limits` left (none in public mode).
    pub fn with_limits(self, limits: Option<PersonLimits>) -> Self {
        ChatError { limits, ..self }
    }
}

impl From<ChatFailure> for ChatError {
    fn from(failure: ChatFailure) -> Self {
        ChatError {
            failure,
            saved_question: None,
            limits: None,
        }
    }
}
