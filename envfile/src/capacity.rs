//! An environment's ceilings, from its settings alone: how many answers can stream at once,
//! how many requests per second the API stage lets through, how many answers per second the
//! budget's shards can count, and which of them a peak reaches first. Pure arithmetic, so the
//! env validation, `cargo xtask outputs` and the tests share it.

use std::fmt;

use chatbot_contract::budget::{
    CACHE_MILLIS, PARTITION_READS_PER_SECOND, PARTITION_WRITES_PER_SECOND,
};

/// The settings that bound throughput.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `function.reserved_concurrency`: instances, each serving one request at a time.
    pub reserved_concurrency: u32,
    /// `function.timeout_seconds`: the longest an answer may hold its instance.
    pub timeout_seconds: u32,
    /// `api.throttle_rate`: steady requests per second for the whole API.
    pub throttle_rate: u32,
    /// `api.throttle_burst`: requests the stage takes at once above the steady rate.
    pub throttle_burst: u32,
    /// `table.budget_shards`.
    pub budget_shards: u32,
}

/// A ceiling a peak can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceiling {
    /// Every instance is streaming an answer: the function throttles (429 to API Gateway).
    ReservedConcurrency,
    /// The API stage's steady rate: API Gateway answers 429 itself.
    StageRate,
    /// The budget's shards take no more writes: DynamoDB throttles the budget update.
    BudgetWrites,
}

impl Ceiling {
    pub fn setting(self) -> &'static str {
        match self {
            Ceiling::ReservedConcurrency => "function.reserved_concurrency",
            Ceiling::StageRate => "api.throttle_rate",
            Ceiling::BudgetWrites => "table.budget_shards",
        }
    }
}

/// What an environment can serve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    pub settings: Settings,
    /// Answers streaming at once: one instance each.
    pub simultaneous_streams: u32,
    /// Answers per second the instances finish when every answer runs to the timeout.
    pub answers_per_second_at_timeout: f64,
    /// Answers per second the budget's shards can count (one write each).
    pub budget_writes_per_second: u64,
    /// Instances the budget's shards can serve reads to (each reads every shard once per
    /// cache window).
    pub budget_reader_instances: u64,
    /// Answers longer than this many seconds fill every instance before the stage's rate is
    /// reached: reserved concurrency / stage rate.
    pub break_even_seconds: f64,
    /// The ceiling a peak of answers that run to the timeout reaches first.
    pub first_at_timeout: Ceiling,
}

impl Settings {
    pub fn of(env: &crate::Environment) -> Settings {
        Settings {
            reserved_concurrency: env.function.reserved_concurrency,
            timeout_seconds: env.function.timeout_seconds,
            throttle_rate: env.api.throttle_rate,
            throttle_burst: env.api.throttle_burst,
            budget_shards: env.table.budget_shards,
        }
    }
}

impl Capacity {
    pub fn of(settings: Settings) -> Capacity {
        let streams = settings.reserved_concurrency;
        let at_timeout = f64::from(streams) / f64::from(settings.timeout_seconds.max(1));
        let budget_writes = u64::from(settings.budget_shards) * PARTITION_WRITES_PER_SECOND;
        let candidates = [
            (Ceiling::ReservedConcurrency, at_timeout),
            (Ceiling::StageRate, f64::from(settings.throttle_rate)),
            (Ceiling::BudgetWrites, budget_writes as f64),
        ];
        let first = candidates
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(Ceiling::StageRate, |(ceiling, _)| *ceiling);
        Capacity {
            settings,
            simultaneous_streams: streams,
            answers_per_second_at_timeout: at_timeout,
            budget_writes_per_second: budget_writes,
            budget_reader_instances: PARTITION_READS_PER_SECOND * CACHE_MILLIS / 1_000,
            break_even_seconds: f64::from(streams) / f64::from(settings.throttle_rate.max(1)),
            first_at_timeout: first,
        }
    }

    /// The lines `cargo xtask outputs` prints, each with the setting that raises it.
    pub fn lines(&self) -> Vec<(String, String, &'static str)> {
        let s = &self.settings;
        let plural = |n: u32, one: &str, many: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {many}")
            }
        };
        vec![
            (
                "simultaneous streams".to_owned(),
                format!(
                    "{} (each streamed answer holds one instance for its whole length; {:.2} \
                     answers/s when every answer runs to the {} s timeout)",
                    self.simultaneous_streams,
                    self.answers_per_second_at_timeout,
                    s.timeout_seconds
                ),
                "function.reserved_concurrency",
            ),
            (
                "API stage".to_owned(),
                format!(
                    "{} requests/s steady, bursts of {}",
                    s.throttle_rate, s.throttle_burst
                ),
                "api.throttle_rate, api.throttle_burst",
            ),
            (
                "budget writes".to_owned(),
                format!(
                    "{} x {} writes/s = {} answers/s",
                    plural(s.budget_shards, "shard", "shards"),
                    PARTITION_WRITES_PER_SECOND,
                    self.budget_writes_per_second
                ),
                "table.budget_shards",
            ),
            (
                "budget reads".to_owned(),
                format!(
                    "{} instances ({} reads/s per shard, one read of every shard per instance \
                     every {} ms)",
                    self.budget_reader_instances, PARTITION_READS_PER_SECOND, CACHE_MILLIS
                ),
                "(DynamoDB's per-partition limit)",
            ),
            (
                "first ceiling".to_owned(),
                self.first_ceiling(),
                self.first_at_timeout.setting(),
            ),
        ]
    }

    fn first_ceiling(&self) -> String {
        let s = &self.settings;
        match self.first_at_timeout {
            Ceiling::ReservedConcurrency => format!(
                "reserved concurrency: answers longer than {:.2} s ({} streams / {} requests/s) \
                 fill every instance before the stage's rate is reached",
                self.break_even_seconds, s.reserved_concurrency, s.throttle_rate
            ),
            Ceiling::StageRate => format!(
                "the API stage: {} requests/s, even with every answer running to the {} s \
                 timeout ({} streams serve {:.2} answers/s)",
                s.throttle_rate,
                s.timeout_seconds,
                s.reserved_concurrency,
                self.answers_per_second_at_timeout
            ),
            Ceiling::BudgetWrites => format!(
                "the budget's shards: {} answers/s",
                self.budget_writes_per_second
            ),
        }
    }
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.lines();
        let width = lines
            .iter()
            .map(|(name, _, _)| name.len())
            .max()
            .unwrap_or(0);
        for (name, value, setting) in lines {
            writeln!(f, "  {name:<width$}  {value}  [{setting}]")?;
        }
        Ok(())
    }
}

/// Settings that contradict each other, as the env file key to fix and why, with the
/// arithmetic; `None` when they agree.
pub fn contradiction(settings: &Settings) -> Option<(&'static str, String)> {
    let budget_writes = u64::from(settings.budget_shards) * PARTITION_WRITES_PER_SECOND;
    if u64::from(settings.throttle_rate) > budget_writes {
        let needed = u64::from(settings.throttle_rate).div_ceil(PARTITION_WRITES_PER_SECOND);
        return Some((
            "table.budget_shards",
            format!(
                "{} shard(s) x {PARTITION_WRITES_PER_SECOND} writes/s = {budget_writes} answers/s, \
                 below api.throttle_rate = {} requests/s: DynamoDB would throttle the budget \
                 before the API throttles requests; set table.budget_shards to at least {needed}, \
                 or leave it out to derive it from the rate",
                settings.budget_shards, settings.throttle_rate
            ),
        ));
    }
    // Requests in flight through the stage can never exceed its rate times the longest an
    // answer lasts, plus one burst: instances reserved beyond that are taken from the
    // account's pool and never used.
    let usable = u64::from(settings.throttle_rate) * u64::from(settings.timeout_seconds)
        + u64::from(settings.throttle_burst);
    if u64::from(settings.reserved_concurrency) > usable {
        return Some((
            "function.reserved_concurrency",
            format!(
                "{} is more than the API stage can ever keep busy: api.throttle_rate {} \
                 requests/s x function.timeout_seconds {} s + api.throttle_burst {} = {usable} \
                 requests in flight at most; lower it to {usable} or raise the stage's rate",
                settings.reserved_concurrency,
                settings.throttle_rate,
                settings.timeout_seconds,
                settings.throttle_burst
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(concurrency: u32, timeout: u32, rate: u32, burst: u32, shards: u32) -> Settings {
        Settings {
            reserved_concurrency: concurrency,
            timeout_seconds: timeout,
            throttle_rate: rate,
            throttle_burst: burst,
            budget_shards: shards,
        }
    }

    fn check_first(s: Settings, expect: Ceiling) {
        assert_eq!(Capacity::of(s).first_at_timeout, expect, "{s:?}");
    }

    #[test]
    fn long_answers_fill_the_instances_before_the_stage_rate() {
        // 50 instances, answers up to 60 s: 0.83 answers/s at the timeout, below 50/s.
        let capacity = Capacity::of(settings(50, 60, 50, 100, 1));
        assert_eq!(capacity.simultaneous_streams, 50);
        assert!((capacity.answers_per_second_at_timeout - 50.0 / 60.0).abs() < 1e-9);
        assert_eq!(capacity.break_even_seconds, 1.0);
        assert_eq!(capacity.first_at_timeout, Ceiling::ReservedConcurrency);
        assert_eq!(capacity.budget_writes_per_second, 1_000);
        assert_eq!(capacity.budget_reader_instances, 3_000);
    }

    #[test]
    fn the_lowest_ceiling_is_named_first() {
        check_first(settings(1_000, 1, 100, 100, 1), Ceiling::StageRate);
        check_first(settings(5_000, 1, 5_000, 100, 1), Ceiling::BudgetWrites);
        check_first(
            settings(1_000, 1, 5_000, 100, 8),
            Ceiling::ReservedConcurrency,
        );
    }

    #[test]
    fn each_line_names_the_setting_that_raises_it() {
        let text = Capacity::of(settings(50, 60, 50, 100, 2)).to_string();
        for expected in [
            "simultaneous streams  50 ",
            "0.83 answers/s when every answer runs to the 60 s timeout",
            "50 requests/s steady, bursts of 100",
            "2 shards x 1000 writes/s = 2000 answers/s",
            "answers longer than 1.00 s (50 streams / 50 requests/s)",
            "[function.reserved_concurrency]",
            "[table.budget_shards]",
        ] {
            assert!(text.contains(expected), "{expected:?} in\n{text}");
        }
    }

    #[test]
    fn a_stage_rate_above_the_budget_shards_ceiling_is_refused_with_the_arithmetic() {
        let (key, message) = contradiction(&settings(1_000, 60, 2_500, 5_000, 2)).unwrap();
        assert_eq!(key, "table.budget_shards");
        assert!(
            message.contains("2 shard(s) x 1000 writes/s = 2000 answers/s"),
            "{message}"
        );
        assert!(message.contains("at least 3"), "{message}");
        assert_eq!(contradiction(&settings(1_000, 60, 2_000, 5_000, 2)), None);
    }

    #[test]
    fn reserved_concurrency_the_stage_can_never_use_is_refused_with_the_arithmetic() {
        let (key, message) = contradiction(&settings(700, 60, 10, 20, 1)).unwrap();
        assert_eq!(key, "function.reserved_concurrency");
        assert!(
            message.contains(
                "10 requests/s x function.timeout_seconds 60 s + api.throttle_burst 20 = 620"
            ),
            "{message}"
        );
        assert_eq!(contradiction(&settings(620, 60, 10, 20, 1)), None);
    }
}
