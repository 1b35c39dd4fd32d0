//! Conversation history, rate windows and the daily budget (tokens and dollars).
//!
//! One `Store` with two back ends that behave the same: DynamoDB in Lambda (items as in
//! ARCHITECTURE.md), and memory for local runs and tests. An enum rather than a trait object keeps
//! async methods simple and the dispatch visible.

mod budget;
mod dynamo;
mod memory;

pub use budget::BudgetLayout;
pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

use std::fmt;

pub use crate::cost::Spend;
pub use crate::guardrail::Blocked;

/// A conversation's id: a random UUID, so knowing it is the only way to read the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(uuid::Uuid);

impl SessionId {
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// Parses the canonical hyphenated form only; anything else is not a session id.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 36 {
            return None;
        }
        uuid::Uuid::try_parse(text).ok().map(Self)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// The model that wrote an assistant message.
    pub model: Option<String>,
    /// Tokens the model reported for this message (output tokens for an answer).
    pub tokens: Option<u64>,
    /// An answer's input tokens (the prompt, history and system prompt it was given).
    pub input_tokens: Option<u64>,
    /// What an answer cost in micro-dollars, at its model's price when it was written.
    pub cost_micro_usd: Option<u64>,
    /// An answer's token counts (and so its cost) are the service's estimate: the model's own
    /// never arrived.
    pub usage_estimated: bool,
    /// An answer cut short by an error after part of it was streamed.
    pub incomplete: bool,
    /// Set when a guardrail blocked this turn: on the prompt (whose text is then not kept) and
    /// on the guardrail's message that stands in for the answer. Never sent to the model again.
    pub blocked: Option<Blocked>,
}

/// Whether a request fits in its client's rate window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Limited,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is throttling requests: {0}")]
    Throttled(String),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the store returned an item it cannot read: {0}")]
    Corrupt(String),
}

pub enum Store {
    Memory(MemoryStore),
    Dynamo(DynamoStore),
}

impl Store {
    /// Appends a message to a session, creating the session if it is new. Every item written
    /// expires at `expires_at` (seconds since the epoch).
    pub async fn append_message(
        &self,
        session: SessionId,
        message: &Message,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match self {
            Store::Memory(s) => s.append_message(session, message, expires_at),
            Store::Dynamo(s) => s.append_message(session, message, expires_at).await,
        }
    }

    /// The session's last `limit` messages, oldest first; empty when the session does not exist.
    pub async fn recent_messages(
        &self,
        session: SessionId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        match self {
            Store::Memory(s) => s.recent_messages(session, limit),
            Store::Dynamo(s) => s.recent_messages(session, limit).await,
        }
    }

    /// Marks the user's message written at `created_at_ms` as blocked by the guardrail
    /// ([`Blocked::Input`]) and drops its text, so a prompt the guardrail refused (a card
    /// number, say) is not kept. `false` when there is no such message.
    pub async fn withhold_message(
        &self,
        session: SessionId,
        created_at_ms: i64,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Memory(s) => s.withhold_message(session, created_at_ms),
            Store::Dynamo(s) => s.withhold_message(session, created_at_ms).await,
        }
    }

    /// Deletes a session and its messages; `false` when there was no such session.
    pub async fn delete_session(&self, session: SessionId) -> Result<bool, StoreError> {
        match self {
            Store::Memory(s) => s.delete_session(session),
            Store::Dynamo(s) => s.delete_session(session).await,
        }
    }

    /// Counts one request of `client` in the window starting at `window_start` (seconds), and
    /// admits it only while the window's count stays within `limit`. Exact under concurrency.
    pub async fn admit_request(
        &self,
        client: &str,
        window_start: i64,
        limit: u32,
        expires_at: i64,
    ) -> Result<Admission, StoreError> {
        match self {
            Store::Memory(s) => s.admit_request(client, window_start, limit, expires_at),
            Store::Dynamo(s) => {
                s.admit_request(client, window_start, limit, expires_at)
                    .await
            }
        }
    }

    /// Adds `spend` (tokens and micro-dollars) to one shard of the spend of `day`
    /// (`yyyy-mm-dd`, UTC) and returns the day's totals as this instance knows them (see
    /// [`spent`](Self::spent)). Every shard written expires at `expires_at`.
    pub async fn add_spend(
        &self,
        day: &str,
        spend: Spend,
        expires_at: i64,
    ) -> Result<Spend, StoreError> {
        match self {
            Store::Memory(s) => s.add_spend(day, spend, expires_at),
            Store::Dynamo(s) => s.add_spend(day, spend, expires_at).await,
        }
    }

    /// Reads the day's budget item once, without retries, to open the store's connection
    /// ahead of the first request (see [`crate::warm`]). Nothing is written.
    pub async fn open_connection(&self, day: &str) -> Result<(), StoreError> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Dynamo(s) => s.open_connection(day).await,
        }
    }

    /// What was spent on `day` so far: tokens and micro-dollars, summed over the budget's
    /// shards. With a cache window, the sum read at most that long ago plus what this
    /// instance added since (see [`BudgetLayout`]); without one, exact.
    pub async fn spent(&self, day: &str) -> Result<Spend, StoreError> {
        match self {
            Store::Memory(s) => s.spent(day),
            Store::Dynamo(s) => s.spent(day).await,
        }
    }
}
