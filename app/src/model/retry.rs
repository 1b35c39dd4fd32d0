//! Retries with exponential backoff and full jitter, for model calls that fail before
//! anything reached the client, and the loop that drops the oldest exchange while the model
//! says the conversation is too long.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use super::{FailureKind, ModelError, ModelRequest, Turn};
use crate::metrics::Metrics;
use chatbot_contract::metrics as names;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Calls made at most, the first one included.
    pub attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The pause before retry number `retry` (1 for the first retry): a random time between
    /// zero and `min(max, base × 2^(retry-1))`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20))
            .min(self.max);
        ceiling.mul_f64(random_fraction())
    }
}

/// Counts a throttled model call (each one, retried or not).
pub fn count_throttle(metrics: &Metrics, err: &ModelError) {
    if err.kind == FailureKind::Throttled {
        metrics.count(names::MODEL_THROTTLES);
    }
}

/// Runs `call` until it succeeds, fails for good, or has used the attempts left in
/// `attempts`, sleeping with backoff and jitter between tries.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    metrics: &Metrics,
    attempts: &mut u32,
    mut call: F,
) -> Result<T, ModelError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ModelError>>,
{
    loop {
        *attempts += 1;
        match call().await {
            Ok(value) => return Ok(value),
            Err(err) => {
                count_throttle(metrics, &err);
                if !err.kind.is_retriable() || *attempts >= policy.attempts {
                    return Err(err);
                }
                let pause = policy.backoff(*attempts);
                tracing::warn!(
                    error = %err.message,
                    kind = ?err.kind,
                    attempt = *attempts,
                    pause_ms = pause.as_millis() as u64,
                    "model call failed, retrying"
                );
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Calls the model with retries, and with fewer past messages while it says the
/// conversation is too long.
pub async fn call_trimming<T, F, Fut>(
    policy: &RetryPolicy,
    metrics: &Metrics,
    request: &mut ModelRequest,
    attempts: &mut u32,
    call: F,
) -> Result<T, ModelError>
where
    F: Fn(ModelRequest) -> Fut,
    Fut: Future<Output = Result<T, ModelError>>,
{
    loop {
        let snapshot = request.clone();
        match with_retries(policy, metrics, attempts, || call(snapshot.clone())).await {
            Err(err)
                if err.kind == FailureKind::InputTooLong
                    && drop_oldest_exchange(&mut request.messages) =>
            {
                tracing::info!(
                    messages = request.messages.len(),
                    "conversation too long for the model, dropped the oldest exchange"
                );
            }
            other => return other,
        }
    }
}

/// Drops the oldest exchange (a question and its answer); `false` when only the new message
/// is left.
fn drop_oldest_exchange(messages: &mut Vec<Turn>) -> bool {
    if messages.len() < 3 {
        return false;
    }
    messages.drain(..2);
    true
}

/// A number in [0, 1) from the standard library's randomly seeded hasher.
fn random_fraction() -> f64 {
    let bits = RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_growing_ceiling() {
        let policy = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(350),
        };
        for _ in 0..200 {
            assert!(policy.backoff(1) < Duration::from_millis(100));
            assert!(policy.backoff(2) < Duration::from_millis(200));
            assert!(policy.backoff(3) < Duration::from_millis(350));
            assert!(policy.backoff(9) < Duration::from_millis(350));
        }
        let spread: std::collections::HashSet<_> =
            (0..50).map(|_| policy.backoff(3).as_micros()).collect();
        assert!(spread.len() > 10, "the backoff is not jittered: {spread:?}");
    }
}
