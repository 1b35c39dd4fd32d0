//! Retries with exponential backoff and full jitter, for model calls that fail before
//! anything reached the client.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

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
