//! The day's budget without a hot key: the spend is spread over shards and read back through a
//! short per-instance cache. Both back ends lay it out the same way.
//!
//! Each answer adds its spend to one shard, taken in turn from a random start per instance so
//! instances spread their writes. The day's total is the sum of every shard, read at most once
//! per cache window; this instance's own additions since are counted at once.
//!
//! What the cache allows: an instance's total misses at most what *other* instances added
//! since its last read, which began at most one window ago. So a turn is admitted on a total
//! that is stale by at most one window: beyond the turns in flight when the budget runs out
//! (which the uncached budget lets finish too), the cache lets through only the turns started
//! within one window after the true total reached the budget — per instance, the turns it
//! starts in one window (a Lambda instance serves one turn at a time); for the service, at
//! most the API stage's rate times the window, each spending at most one turn's cap. The
//! store's contract tests check the per-instance bound; ARCHITECTURE.md states the figures.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chatbot_contract::budget::{CACHE_MILLIS, MAX_SHARDS};

use super::Spend;

/// How the day's budget is spread and cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLayout {
    shards: u32,
    /// How long a total read from the shards is reused; zero reads them on every check.
    pub cache: Duration,
}

impl BudgetLayout {
    /// `shards` items, read back at most once per `cache`. `None` outside 1 to
    /// [`MAX_SHARDS`].
    pub fn new(shards: u32, cache: Duration) -> Option<Self> {
        (1..=MAX_SHARDS)
            .contains(&shards)
            .then_some(Self { shards, cache })
    }

    /// `shards` items with the service's cache window.
    pub fn sharded(shards: u32) -> Option<Self> {
        Self::new(shards, Duration::from_millis(CACHE_MILLIS))
    }

    pub fn shards(&self) -> u32 {
        self.shards
    }
}

impl Default for BudgetLayout {
    /// One item, no cache: every check reads the exact total.
    fn default() -> Self {
        Self {
            shards: 1,
            cache: Duration::ZERO,
        }
    }
}

/// Picks the shard of each addition and keeps the instance's view of the day's total.
pub(super) struct BudgetShards {
    layout: BudgetLayout,
    next: AtomicU64,
    cached: Mutex<Option<Cached>>,
    /// Held while the shards are read for the cache, so turns that find it stale at once
    /// wait for one read instead of each making their own.
    reading: tokio::sync::Mutex<()>,
}

struct Cached {
    day: String,
    /// The shards' sum when they were read.
    read: Spend,
    /// What this instance added since.
    added: Spend,
    read_at: Instant,
}

impl BudgetShards {
    pub(super) fn new(layout: BudgetLayout) -> Self {
        Self {
            layout,
            next: AtomicU64::new(u64::from(uuid::Uuid::new_v4().as_fields().1)),
            cached: Mutex::new(None),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// With a cache window, waits until no other read of the shards is under way and returns
    /// the guard to hold while reading; then check [`Self::cached`] again. Without a window
    /// every check reads, concurrently.
    pub(super) async fn read_alone(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.layout.cache.is_zero() {
            return None;
        }
        Some(self.reading.lock().await)
    }

    pub(super) fn layout(&self) -> BudgetLayout {
        self.layout
    }

    /// The shard the next addition goes to: each in turn.
    pub(super) fn pick(&self) -> u32 {
        let shard = self.next.fetch_add(1, Ordering::Relaxed) % u64::from(self.layout.shards);
        u32::try_from(shard).unwrap_or(0)
    }

    /// The day's total as this instance knows it, while its last read is fresh.
    pub(super) fn cached(&self, day: &str) -> Option<Spend> {
        let cached = self.lock();
        let cached = cached.as_ref()?;
        (cached.day == day && cached.read_at.elapsed() < self.layout.cache)
            .then(|| add(cached.read, cached.added))
    }

    /// Keeps the sum read from the shards; `read_at` is when the read began, so the window
    /// counts from the oldest moment the sum may reflect.
    pub(super) fn store(&self, day: &str, read: Spend, read_at: Instant) -> Spend {
        if !self.layout.cache.is_zero() {
            *self.lock() = Some(Cached {
                day: day.to_owned(),
                read,
                added: Spend::default(),
                read_at,
            });
        }
        read
    }

    /// Counts this instance's own addition in its cached total.
    pub(super) fn added(&self, day: &str, spend: Spend) {
        if let Some(cached) = self.lock().as_mut().filter(|c| c.day == day) {
            cached.added = add(cached.added, spend);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // Each update replaces or adds to one value, so a poisoned lock holds no half-update.
        self.cached
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(super) fn add(a: Spend, b: Spend) -> Spend {
    Spend {
        tokens: a.tokens.saturating_add(b.tokens),
        micro_usd: a.micro_usd.saturating_add(b.micro_usd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_counts_outside_the_range_are_refused() {
        assert_eq!(BudgetLayout::new(0, Duration::ZERO), None);
        assert_eq!(BudgetLayout::new(MAX_SHARDS + 1, Duration::ZERO), None);
        assert_eq!(
            BudgetLayout::sharded(MAX_SHARDS).unwrap().shards(),
            MAX_SHARDS
        );
    }

    #[test]
    fn additions_go_to_every_shard_in_turn() {
        let shards = BudgetShards::new(BudgetLayout::sharded(4).unwrap());
        let mut counts = [0; 4];
        for _ in 0..40 {
            counts[shards.pick() as usize] += 1;
        }
        assert_eq!(counts, [10; 4]);
    }

    #[test]
    fn the_cache_counts_own_additions_and_ends_with_its_window_or_day() {
        let spend = |tokens| Spend {
            tokens,
            micro_usd: tokens * 2,
        };
        let shards = BudgetShards::new(BudgetLayout::new(2, Duration::from_secs(3_600)).unwrap());
        assert_eq!(shards.cached("2026-01-01"), None);
        shards.added("2026-01-01", spend(5));
        assert_eq!(shards.cached("2026-01-01"), None, "nothing read yet");
        shards.store("2026-01-01", spend(100), Instant::now());
        shards.added("2026-01-01", spend(5));
        shards.added("2026-01-02", spend(7));
        assert_eq!(shards.cached("2026-01-01"), Some(spend(105)));
        assert_eq!(shards.cached("2026-01-02"), None);

        let uncached = BudgetShards::new(BudgetLayout::new(2, Duration::ZERO).unwrap());
        uncached.store("2026-01-01", spend(100), Instant::now());
        assert_eq!(uncached.cached("2026-01-01"), None);
    }
}
