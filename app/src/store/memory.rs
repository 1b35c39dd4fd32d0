//! The in-memory store for local runs and tests. Expiry times are accepted and ignored, as a
//! process-lifetime store has nothing to expire.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Admission, Blocked, Message, Role, SessionId, StoreError};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<SessionId, Vec<Message>>,
    rate_windows: HashMap<(String, i64), u32>,
    budget: HashMap<String, u64>,
}

impl MemoryStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated (each update is a
        // single insert), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn append_message(
        &self,
        session: SessionId,
        message: &Message,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        self.state()
            .sessions
            .entry(session)
            .or_default()
            .push(message.clone());
        Ok(())
    }

    pub(super) fn recent_messages(
        &self,
        session: SessionId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let state = self.state();
        let messages = state
            .sessions
            .get(&session)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(messages[messages.len().saturating_sub(limit)..].to_vec())
    }

    pub(super) fn withhold_message(
        &self,
        session: SessionId,
        created_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let found = state.sessions.get_mut(&session).and_then(|messages| {
            messages
                .iter_mut()
                .rev()
                .find(|m| m.role == Role::User && m.created_at_ms == created_at_ms)
        });
        Ok(match found {
            Some(message) => {
                message.content.clear();
                message.blocked = Some(Blocked::Input);
                true
            }
            None => false,
        })
    }

    pub(super) fn delete_session(&self, session: SessionId) -> Result<bool, StoreError> {
        Ok(self.state().sessions.remove(&session).is_some())
    }

    pub(super) fn admit_request(
        &self,
        client: &str,
        window_start: i64,
        limit: u32,
        _expires_at: i64,
    ) -> Result<Admission, StoreError> {
        let mut state = self.state();
        let count = state
            .rate_windows
            .entry((client.to_owned(), window_start))
            .or_insert(0);
        if *count >= limit {
            return Ok(Admission::Limited);
        }
        *count += 1;
        Ok(Admission::Admitted)
    }

    pub(super) fn add_tokens(
        &self,
        day: &str,
        tokens: u64,
        _expires_at: i64,
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        let total = state.budget.entry(day.to_owned()).or_insert(0);
        *total += tokens;
        Ok(*total)
    }

    pub(super) fn tokens_spent(&self, day: &str) -> Result<u64, StoreError> {
        Ok(self.state().budget.get(day).copied().unwrap_or(0))
    }
}
