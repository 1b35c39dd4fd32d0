//! Conversation history, rate windows and the daily budget (tokens and dollars).
//!
//! One `Store` with two back ends that behave the same: DynamoDB in Lambda (items as in
//! docs/storage.md), and memory for local runs and tests. An enum rather than a trait object keeps
//! async methods simple and the dispatch visible.

mod budget;
mod dynamo;
mod memory;

pub use budget::BudgetLayout;
pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// A message's id within its session, as clients see it: `<13-digit ms>-<10-digit sequence>-
/// <8 hex digits>`. Ids sort as the conversation does: by the time the message was begun, then
/// by the order this process made them (two in the same millisecond keep their order), and end
/// with a random part so two instances writing to one session at once never collide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// A fresh id for a message begun at `at_ms`; each call gives a later id than the one
    /// before it for the same millisecond.
    pub fn new(at_ms: i64) -> Self {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 10_000_000_000;
        let random = uuid::Uuid::new_v4().simple().to_string();
        MessageId(format!("{:013}-{seq:010}-{}", at_ms.max(0), &random[..8]))
    }

    /// Parses the form [`MessageId::new`] writes, and nothing else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let well_formed = matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some(ms), Some(seq), Some(random), None)
                if ms.len() == 13 && ms.bytes().all(|b| b.is_ascii_digit())
                    && seq.len() == 10 && seq.bytes().all(|b| b.is_ascii_digit())
                    && random.len() == 8
                    && random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        well_formed.then(|| MessageId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    pub id: MessageId,
    pub role: Role,
    pub content: String,
    /// Milliseconds since the Unix epoch: when a prompt was received, when an answer was saved.
    pub created_at_ms: i64,
    /// The model asked (a prompt) or that wrote the answer.
    pub model: Option<String>,
    /// An answer cut short (by an error, the reader leaving, or Stop) after part of it was
    /// streamed.
    pub incomplete: bool,
    /// Set when a guardrail blocked this turn: on the prompt (whose text is then not kept) and
    /// on the guardrail's message that stands in for the answer. Never sent to the model again.
    pub blocked: Option<Blocked>,
    /// How an answer came about, shown under it and exported with it; `None` on prompts and on
    /// answers saved before these were kept.
    pub details: Option<AnswerDetails>,
    /// The reader's rating of an answer.
    pub feedback: Option<Feedback>,
}

impl Message {
    /// A message with a fresh id, no details and no rating.
    pub fn new(role: Role, content: impl Into<String>, created_at_ms: i64) -> Self {
        Message {
            id: MessageId::new(created_at_ms),
            role,
            content: content.into(),
            created_at_ms,
            model: None,
            incomplete: false,
            blocked: None,
            details: None,
            feedback: None,
        }
    }
}

/// What the page shows under an answer: its token counts, what it cost, how long the model took
/// and why it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerDetails {
    /// The prompt, history and system prompt the model was given (cache reads and writes
    /// included).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// What the answer cost in micro-dollars at its model's price when it was written; `None`
    /// when the model has no price.
    pub cost_micro_usd: Option<u64>,
    /// The token counts (and so the cost) are the service's estimate: the model's own never
    /// arrived.
    pub usage_estimated: bool,
    /// From the model call to the answer's last token.
    pub latency_ms: u64,
    /// Bedrock's stop reason (`end_turn`, `max_tokens`, `guardrail_intervened`, ...) or one of
    /// [`StopReason`]'s for an answer that did not end by itself.
    pub stop_reason: String,
}

/// Why an answer ended when the model did not end it.
pub struct StopReason;

impl StopReason {
    /// The reader pressed Stop; the answer was cut to what they saw.
    pub const STOPPED: &'static str = "stopped";
    /// The reader's connection went away mid-answer.
    pub const DISCONNECTED: &'static str = "disconnected";
    /// The model failed mid-answer.
    pub const ERROR: &'static str = "error";
}

/// A reader's rating of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    Up,
    Down,
}

impl Feedback {
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Up => "up",
            Feedback::Down => "down",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "up" => Some(Feedback::Up),
            "down" => Some(Feedback::Down),
            _ => None,
        }
    }
}

/// What saving a rating found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackSaved {
    /// The rating is saved; it replaced `previous`.
    Saved { previous: Option<Feedback> },
    /// The session has no answer with that id.
    NoSuchAnswer,
}

/// What cutting a stopped answer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopSaved {
    /// The answer is cut and marked stopped; this is it now.
    Saved(Message),
    /// The session has no answer with that id (not yet, maybe: an answer is saved when the
    /// service notices the reader left).
    NoSuchAnswer,
    /// The answer is shorter than the characters asked to keep.
    TooShort { chars: usize },
}

/// The first `chars` characters of `text`, or `None` when it has fewer.
fn first_chars(text: &str, chars: usize) -> Option<&str> {
    if chars == 0 {
        return Some("");
    }
    let (end, c) = text.char_indices().nth(chars - 1)?;
    Some(&text[..end + c.len_utf8()])
}

/// The signed-in person a chat belongs to (`users` mode): the access token's `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner(String);

impl Owner {
    pub fn new(sub: impl Into<String>) -> Self {
        Owner(sub.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest title derived from a chat's first message, in characters.
pub const TITLE_CHARS: usize = 60;
/// Longest title a chat may be given, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The title of a chat whose first message a guardrail blocked (its text is not kept).
pub const WITHHELD_TITLE: &str = "(message withheld)";

/// A chat's title from its first message: whitespace runs made one space, cut to
/// [`TITLE_CHARS`] characters with an ellipsis.
pub fn title_from(message: &str) -> String {
    let words = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match first_chars(&words, TITLE_CHARS) {
        Some(cut) if cut.len() < words.len() => format!("{}…", cut.trim_end()),
        _ => words,
    }
}

/// A person's chat as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub id: SessionId,
    pub title: String,
    pub created_at_ms: i64,
    /// When its last message was saved.
    pub updated_at_ms: i64,
    pub messages: u64,
    /// When the chat expires from history (seconds since the epoch), as its last message does.
    pub expires_at: i64,
}

/// Whose a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// No such session.
    None,
    /// A session of public mode: nobody's.
    Public,
    Owned(Owner),
}

/// Where a page of a person's chats goes on from: the last chat of the page before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCursor {
    pub updated_at_ms: i64,
    pub session: SessionId,
}

impl SessionCursor {
    /// The opaque text clients send back: `<ms>.<session id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.updated_at_ms, self.session)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let (ms, session) = text.split_once('.')?;
        if ms.is_empty() || ms.len() > 16 || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(SessionCursor {
            updated_at_ms: ms.parse().ok()?,
            session: SessionId::parse(session)?,
        })
    }
}

/// One page of a person's chats, newest activity first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<SessionCursor>,
}

/// A request counted in its rate window: whether it fits, and how many the window holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub admission: Admission,
    /// Requests counted in the window, this one included when admitted.
    pub used: u32,
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
    /// A write to a chat of another person (or of public mode) in `users` mode.
    #[error("the chat belongs to someone else")]
    NotOwner,
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
            Store::Memory(s) => s.append_message(session, None, message, expires_at),
            Store::Dynamo(s) => s.append_message(session, None, message, expires_at).await,
        }
    }

    /// [`append_message`](Self::append_message) to a chat of `owner` (`users` mode), which it
    /// becomes when new, titled after its first message; [`StoreError::NotOwner`], with the
    /// chat unchanged, when it belongs to someone else or to nobody.
    pub async fn append_owned_message(
        &self,
        session: SessionId,
        owner: &Owner,
        message: &Message,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match self {
            Store::Memory(s) => s.append_message(session, Some(owner), message, expires_at),
            Store::Dynamo(s) => {
                s.append_message(session, Some(owner), message, expires_at)
                    .await
            }
        }
    }

    /// Whose the session is, and its summary when it has one.
    pub async fn session_summary(
        &self,
        session: SessionId,
    ) -> Result<(Ownership, Option<SessionSummary>), StoreError> {
        match self {
            Store::Memory(s) => s.session_summary(session),
            Store::Dynamo(s) => s.session_summary(session).await,
        }
    }

    /// Whose the session is.
    pub async fn ownership(&self, session: SessionId) -> Result<Ownership, StoreError> {
        Ok(self.session_summary(session).await?.0)
    }

    /// `owner`'s chats, newest activity first, at most `limit` from `after` on.
    pub async fn list_sessions(
        &self,
        owner: &Owner,
        limit: usize,
        after: Option<&SessionCursor>,
    ) -> Result<SessionPage, StoreError> {
        match self {
            Store::Memory(s) => s.list_sessions(owner, limit, after),
            Store::Dynamo(s) => s.list_sessions(owner, limit, after).await,
        }
    }

    /// Gives `owner`'s chat `session` the title `title`; `None` when `owner` has no such chat.
    pub async fn rename_session(
        &self,
        session: SessionId,
        owner: &Owner,
        title: &str,
    ) -> Result<Option<SessionSummary>, StoreError> {
        match self {
            Store::Memory(s) => s.rename_session(session, owner, title),
            Store::Dynamo(s) => s.rename_session(session, owner, title).await,
        }
    }

    /// Tokens `owner` spent on `day` (`yyyy-mm-dd`, UTC).
    pub async fn user_tokens(&self, owner: &Owner, day: &str) -> Result<u64, StoreError> {
        match self {
            Store::Memory(s) => s.user_tokens(owner, day),
            Store::Dynamo(s) => s.user_tokens(owner, day).await,
        }
    }

    /// Adds `tokens` to what `owner` spent on `day`; the item expires at `expires_at`.
    pub async fn add_user_tokens(
        &self,
        owner: &Owner,
        day: &str,
        tokens: u64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match self {
            Store::Memory(s) => s.add_user_tokens(owner, day, tokens),
            Store::Dynamo(s) => s.add_user_tokens(owner, day, tokens, expires_at).await,
        }
    }

    /// The session's last `limit` messages, oldest first; empty when the session does not exist.
    pub async fn recent_messages(
        &self,
        session: SessionId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.messages_before(session, None, limit).await
    }

    /// The session's last `limit` messages before `before` (all of them when `None`), oldest
    /// first.
    pub async fn messages_before(
        &self,
        session: SessionId,
        before: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        match self {
            Store::Memory(s) => s.messages_before(session, before, limit),
            Store::Dynamo(s) => s.messages_before(session, before, limit).await,
        }
    }

    /// Marks the user's message `id` as blocked by the guardrail ([`Blocked::Input`]) and drops
    /// its text, so a prompt the guardrail refused (a card number, say) is not kept. `false`
    /// when there is no such message.
    pub async fn withhold_message(
        &self,
        session: SessionId,
        id: &MessageId,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Memory(s) => s.withhold_message(session, id),
            Store::Dynamo(s) => s.withhold_message(session, id).await,
        }
    }

    /// Drops the user's message `from` and every message after it, so the conversation goes on
    /// from the message before it (an edited question, an answer asked for again). `false`,
    /// with nothing dropped, when the session has no user message `from`.
    pub async fn truncate_session(
        &self,
        session: SessionId,
        from: &MessageId,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Memory(s) => s.truncate_session(session, from),
            Store::Dynamo(s) => s.truncate_session(session, from).await,
        }
    }

    /// Saves (or, `None`, clears) the reader's rating of the answer `id`.
    pub async fn set_feedback(
        &self,
        session: SessionId,
        id: &MessageId,
        feedback: Option<Feedback>,
    ) -> Result<FeedbackSaved, StoreError> {
        match self {
            Store::Memory(s) => s.set_feedback(session, id, feedback),
            Store::Dynamo(s) => s.set_feedback(session, id, feedback).await,
        }
    }

    /// Cuts the answer `id` to its first `chars` characters (what the reader saw before
    /// pressing Stop) and marks it stopped ([`StopReason::STOPPED`], incomplete).
    pub async fn stop_answer(
        &self,
        session: SessionId,
        id: &MessageId,
        chars: usize,
    ) -> Result<StopSaved, StoreError> {
        match self {
            Store::Memory(s) => s.stop_answer(session, id, chars),
            Store::Dynamo(s) => s.stop_answer(session, id, chars).await,
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
        Ok(self
            .count_request(client, window_start, limit, expires_at)
            .await?
            .admission)
    }

    /// [`admit_request`](Self::admit_request), also telling how many requests the window
    /// holds (for the `RateLimit` header).
    pub async fn count_request(
        &self,
        client: &str,
        window_start: i64,
        limit: u32,
        expires_at: i64,
    ) -> Result<Window, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_the_first_message_cut_short() {
        let check = |message: &str, expect: &str| assert_eq!(title_from(message), expect);
        check("  Plan a\n trip  ", "Plan a trip");
        check(&"a".repeat(60), &"a".repeat(60));
        check(&"é".repeat(61), &format!("{}…", "é".repeat(60)));
        check(
            &format!("{} tail", "word ".repeat(12)),
            &format!("{}…", "word ".repeat(12).trim_end()),
        );
    }

    #[test]
    fn cursors_read_back_what_they_wrote_and_nothing_else() {
        let cursor = SessionCursor {
            updated_at_ms: 1_744_202_096_789,
            session: SessionId::parse("0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10").unwrap(),
        };
        assert_eq!(SessionCursor::parse(&cursor.encode()), Some(cursor));
        for bad in [
            "",
            ".",
            "12",
            "x.0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10",
            "-1.0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10",
            "12.nope",
        ] {
            assert_eq!(SessionCursor::parse(bad), None, "{bad}");
        }
    }
}
