//! The in-memory store for local runs and tests. Expiry times are accepted and ignored, as a
//! process-lifetime store has nothing to expire.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::budget::{self, BudgetLayout, BudgetShards};
use super::{
    Admission, Blocked, Feedback, FeedbackSaved, Message, MessageId, Owner, Ownership, Role,
    SessionCursor, SessionId, SessionPage, SessionSummary, Spend, StopReason, StopSaved,
    StoreError, WITHHELD_TITLE, Window, title_from,
};

/// Data lives as long as the process; the budget is sharded and cached like DynamoDB's, so
/// the two behave alike (one unsharded, uncached item by default).
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    budget: BudgetShards,
    /// Operations asked of this store and its other instances, for tests that show a request
    /// never reached it.
    operations: Arc<AtomicU64>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            budget: BudgetShards::new(BudgetLayout::default()),
            operations: Arc::default(),
        }
    }
}

#[derive(Default)]
struct State {
    sessions: HashMap<SessionId, Vec<Message>>,
    /// What the DynamoDB store keeps in a session's `META` item.
    meta: HashMap<SessionId, Meta>,
    /// Tokens per (person, day).
    user_tokens: HashMap<(Owner, String), u64>,
    rate_windows: HashMap<(String, i64), u32>,
    /// The spend of each (day, shard).
    budget: HashMap<(String, u32), Spend>,
}

struct Meta {
    owner: Option<Owner>,
    title: String,
    /// The message the title was derived from; `None` once renamed.
    title_from: Option<MessageId>,
    created_at_ms: i64,
    updated_at_ms: i64,
    expires_at: i64,
}

impl State {
    fn summary(&self, session: SessionId) -> Option<SessionSummary> {
        let meta = self.meta.get(&session)?;
        Some(SessionSummary {
            id: session,
            title: meta.title.clone(),
            created_at_ms: meta.created_at_ms,
            updated_at_ms: meta.updated_at_ms,
            messages: self.sessions.get(&session).map_or(0, |m| m.len() as u64),
            expires_at: meta.expires_at,
        })
    }
}

/// The message `id` of `session` if it has `role`.
fn find<'a>(
    state: &'a mut State,
    session: SessionId,
    id: &MessageId,
    role: Role,
) -> Option<&'a mut Message> {
    state
        .sessions
        .get_mut(&session)?
        .iter_mut()
        .find(|m| m.id == *id && m.role == role)
}

impl MemoryStore {
    /// Spreads and caches the day's budget as `layout` says.
    pub fn with_budget(self, layout: BudgetLayout) -> Self {
        Self {
            budget: BudgetShards::new(layout),
            ..self
        }
    }

    /// Another instance on the same data, with its own budget cache (as a second Lambda
    /// instance has).
    pub fn instance(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            budget: BudgetShards::new(self.budget.layout()),
            operations: Arc::clone(&self.operations),
        }
    }

    /// How many operations reached this store's data (its instances' included).
    pub fn operations(&self) -> u64 {
        self.operations.load(Ordering::SeqCst)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        // A panic while holding the lock cannot leave the maps half-updated (each update is a
        // single insert), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn append_message(
        &self,
        session: SessionId,
        owner: Option<&Owner>,
        message: &Message,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        match state.meta.get_mut(&session) {
            Some(meta) => {
                if meta.owner.as_ref() != owner {
                    return Err(StoreError::NotOwner);
                }
                meta.updated_at_ms = message.created_at_ms;
                meta.expires_at = expires_at;
                if meta.title.is_empty() && message.role == Role::User {
                    meta.title = title_from(&message.content);
                    meta.title_from = Some(message.id.clone());
                }
            }
            None => {
                if owner.is_some() && state.sessions.contains_key(&session) {
                    return Err(StoreError::NotOwner);
                }
                let titled = message.role == Role::User;
                state.meta.insert(
                    session,
                    Meta {
                        owner: owner.cloned(),
                        title: if titled {
                            title_from(&message.content)
                        } else {
                            String::new()
                        },
                        title_from: titled.then(|| message.id.clone()),
                        created_at_ms: message.created_at_ms,
                        updated_at_ms: message.created_at_ms,
                        expires_at,
                    },
                );
            }
        }
        state
            .sessions
            .entry(session)
            .or_default()
            .push(message.clone());
        Ok(())
    }

    pub(super) fn session_summary(
        &self,
        session: SessionId,
    ) -> Result<(Ownership, Option<SessionSummary>), StoreError> {
        let state = self.state();
        Ok(match state.meta.get(&session) {
            None => (Ownership::None, None),
            Some(meta) => (
                meta.owner
                    .clone()
                    .map_or(Ownership::Public, Ownership::Owned),
                state.summary(session),
            ),
        })
    }

    pub(super) fn list_sessions(
        &self,
        owner: &Owner,
        limit: usize,
        after: Option<&SessionCursor>,
    ) -> Result<SessionPage, StoreError> {
        let state = self.state();
        let mut mine: Vec<SessionSummary> = state
            .meta
            .iter()
            .filter(|(_, meta)| meta.owner.as_ref() == Some(owner))
            .filter_map(|(session, _)| state.summary(*session))
            .collect();
        // Newest activity first; the session id orders chats of the same millisecond.
        let order = |s: &SessionSummary| (s.updated_at_ms, s.id.to_string());
        mine.sort_by(|a, b| order(b).cmp(&order(a)));
        let start = after.map_or(0, |cursor| {
            let cursor = (cursor.updated_at_ms, cursor.session.to_string());
            mine.iter().take_while(|s| order(s) >= cursor).count()
        });
        let sessions: Vec<SessionSummary> = mine.iter().skip(start).take(limit).cloned().collect();
        let next = (start + sessions.len() < mine.len())
            .then(|| sessions.last())
            .flatten()
            .map(|last| SessionCursor {
                updated_at_ms: last.updated_at_ms,
                session: last.id,
            });
        Ok(SessionPage { sessions, next })
    }

    pub(super) fn rename_session(
        &self,
        session: SessionId,
        owner: &Owner,
        title: &str,
    ) -> Result<Option<SessionSummary>, StoreError> {
        let mut state = self.state();
        match state.meta.get_mut(&session) {
            Some(meta) if meta.owner.as_ref() == Some(owner) => {
                meta.title = title.to_owned();
                meta.title_from = None;
            }
            _ => return Ok(None),
        }
        Ok(state.summary(session))
    }

    pub(super) fn user_tokens(&self, owner: &Owner, day: &str) -> Result<u64, StoreError> {
        let state = self.state();
        Ok(state
            .user_tokens
            .get(&(owner.clone(), day.to_owned()))
            .copied()
            .unwrap_or(0))
    }

    pub(super) fn add_user_tokens(
        &self,
        owner: &Owner,
        day: &str,
        tokens: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let spent = state
            .user_tokens
            .entry((owner.clone(), day.to_owned()))
            .or_default();
        *spent = spent.saturating_add(tokens);
        Ok(())
    }

    pub(super) fn messages_before(
        &self,
        session: SessionId,
        before: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let state = self.state();
        let messages: Vec<&Message> = state
            .sessions
            .get(&session)
            .map(|list| {
                list.iter()
                    .filter(|m| before.is_none_or(|before| m.id < *before))
                    .collect()
            })
            .unwrap_or_default();
        Ok(messages[messages.len().saturating_sub(limit)..]
            .iter()
            .map(|m| (*m).clone())
            .collect())
    }

    pub(super) fn withhold_message(
        &self,
        session: SessionId,
        id: &MessageId,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let found = match find(&mut state, session, id, Role::User) {
            Some(message) => {
                message.content.clear();
                message.blocked = Some(Blocked::Input);
                true
            }
            None => false,
        };
        if let Some(meta) = state.meta.get_mut(&session)
            && meta.title_from.as_ref() == Some(id)
        {
            meta.title = WITHHELD_TITLE.to_owned();
        }
        Ok(found)
    }

    pub(super) fn truncate_session(
        &self,
        session: SessionId,
        from: &MessageId,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if find(&mut state, session, from, Role::User).is_none() {
            return Ok(false);
        }
        if let Some(messages) = state.sessions.get_mut(&session) {
            messages.retain(|m| m.id < *from);
        }
        Ok(true)
    }

    pub(super) fn set_feedback(
        &self,
        session: SessionId,
        id: &MessageId,
        feedback: Option<Feedback>,
    ) -> Result<FeedbackSaved, StoreError> {
        let mut state = self.state();
        Ok(match find(&mut state, session, id, Role::Assistant) {
            Some(answer) => FeedbackSaved::Saved {
                previous: std::mem::replace(&mut answer.feedback, feedback),
            },
            None => FeedbackSaved::NoSuchAnswer,
        })
    }

    pub(super) fn stop_answer(
        &self,
        session: SessionId,
        id: &MessageId,
        chars: usize,
    ) -> Result<StopSaved, StoreError> {
        let mut state = self.state();
        let Some(answer) = find(&mut state, session, id, Role::Assistant) else {
            return Ok(StopSaved::NoSuchAnswer);
        };
        let Some(kept) = super::first_chars(&answer.content, chars) else {
            return Ok(StopSaved::TooShort {
                chars: answer.content.chars().count(),
            });
        };
        answer.content = kept.to_owned();
        answer.incomplete = true;
        if let Some(details) = &mut answer.details {
            details.stop_reason = StopReason::STOPPED.to_owned();
        }
        Ok(StopSaved::Saved(answer.clone()))
    }

    pub(super) fn delete_session(&self, session: SessionId) -> Result<bool, StoreError> {
        let mut state = self.state();
        state.meta.remove(&session);
        Ok(state.sessions.remove(&session).is_some())
    }

    pub(super) fn admit_request(
        &self,
        client: &str,
        window_start: i64,
        limit: u32,
        _expires_at: i64,
    ) -> Result<Window, StoreError> {
        let mut state = self.state();
        let count = state
            .rate_windows
            .entry((client.to_owned(), window_start))
            .or_insert(0);
        if *count >= limit {
            return Ok(Window {
                admission: Admission::Limited,
                used: *count,
            });
        }
        *count += 1;
        Ok(Window {
            admission: Admission::Admitted,
            used: *count,
        })
    }

    pub(super) fn add_spend(
        &self,
        day: &str,
        spend: Spend,
        _expires_at: i64,
    ) -> Result<Spend, StoreError> {
        {
            let mut state = self.state();
            let shard = state
                .budget
                .entry((day.to_owned(), self.budget.pick()))
                .or_default();
            *shard = budget::add(*shard, spend);
        }
        self.budget.added(day, spend);
        self.spent(day)
    }

    pub(super) fn spent(&self, day: &str) -> Result<Spend, StoreError> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        if let Some(total) = self.budget.cached(day) {
            return Ok(total);
        }
        let read_at = Instant::now();
        let state = self.state();
        let total = (0..self.budget.layout().shards())
            .filter_map(|shard| state.budget.get(&(day.to_owned(), shard)))
            .fold(Spend::default(), |total, shard| budget::add(total, *shard));
        Ok(self.budget.store(day, total, read_at))
    }
}
