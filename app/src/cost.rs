//! What a reply cost: its tokens at its model's price, in exact micro-dollars
//! ([`chatbot_contract::pricing`]), and the day's spend the budgets are checked against.

use chatbot_contract::pricing::{TokenCounts, TokenPrices, Usd};

/// The tokens of one answer, as the model reported them (or as the service estimated them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens read from the model's prompt cache (billed apart from `input_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the model's prompt cache (billed apart from `input_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_write_input_tokens: u64,
    /// The counts are the service's estimate ([`crate::model::estimate_tokens`]): the model's own never
    /// arrived, because the answer was stopped or broke off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// A model's price as [`chatbot_contract::env_vars::MODELS`] carries it: micro-dollars per
/// million tokens, and the date the prices were taken from the AWS price list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input: u64,
    pub output: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<u64>,
    pub as_of: String,
}

impl ModelPrice {
    pub fn token_prices(&self) -> TokenPrices {
        TokenPrices {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
        }
    }
}

/// What one reply cost, as the `done` event, the JSON answer and the history carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReplyCost {
    /// Exact micro-dollars (US$ 0.000001): the sum of tokens × price, rounded once to the
    /// nearest micro-dollar, halves up.
    pub micro_usd: u64,
    /// Priced from the service's token estimate, because the model's own count never arrived
    /// (an answer stopped or broken off mid-stream).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}

impl ReplyCost {
    /// The cost of `usage` at `price`.
    pub fn of(price: &ModelPrice, usage: &Usage) -> ReplyCost {
        let tokens = TokenCounts {
            input: usage.input_tokens,
            output: usage.output_tokens,
            cache_read: usage.cache_read_input_tokens,
            cache_write: usage.cache_write_input_tokens,
        };
        ReplyCost {
            micro_usd: price.token_prices().cost_micro_usd(&tokens),
            estimated: usage.estimated,
        }
    }

    /// A cost read back from the store.
    pub fn stored(micro_usd: u64, estimated: bool) -> ReplyCost {
        ReplyCost {
            micro_usd,
            estimated,
        }
    }

    /// The JSON the API answers with: the exact micro-dollars, and the same amount as a
    /// dollar string for people (`"0.00385"`), never a float.
    pub fn to_json(self) -> serde_json::Value {
        let mut json = serde_json::json!({
            "micro_usd": self.micro_usd,
            "usd": Usd(self.micro_usd).to_string().trim_start_matches('$').replace(',', ""),
        });
        if self.estimated {
            json["estimated"] = true.into();
        }
        json
    }
}

/// What the environment spent on a UTC day: tokens (input + output) and micro-dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    pub tokens: u64,
    pub micro_usd: u64,
}

/// The day's budgets: tokens always, dollars when the environment sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub tokens: u64,
    pub micro_usd: Option<u64>,
}

impl Budget {
    /// Whether `spent` has reached either budget: then the day's chats stop.
    pub fn is_spent(&self, spent: Spend) -> bool {
        spent.tokens >= self.tokens || self.micro_usd.is_some_and(|usd| spent.micro_usd >= usd)
    }

    /// The larger of the two budgets' used shares, in percent (what the budget alarm watches).
    pub fn used_percent(&self, spent: Spend) -> f64 {
        let share = |used: u64, budget: u64| used as f64 * 100.0 / budget.max(1) as f64;
        let tokens = share(spent.tokens, self.tokens);
        match self.micro_usd {
            Some(budget) => tokens.max(share(spent.micro_usd, budget)),
            None => tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn haiku() -> ModelPrice {
        ModelPrice {
            input: 1_100_000,
            output: 5_500_000,
            cache_read: Some(110_000),
            cache_write: Some(1_375_000),
            as_of: "2026-10-05".into(),
        }
    }

    #[test]
    fn a_reply_is_priced_from_its_usage_cache_tokens_included() {
        let usage = Usage {
            input_tokens: 1_234,
            output_tokens: 567,
            cache_read_input_tokens: 2_000,
            cache_write_input_tokens: 100,
            estimated: false,
        };
        // 1,234 × 1.1 + 567 × 5.5 + 2,000 × 0.11 + 100 × 1.375
        // = 1,357.4 + 3,118.5 + 220 + 137.5 = 4,833.4 → 4,833 micro-dollars.
        let cost = ReplyCost::of(&haiku(), &usage);
        assert_eq!(cost.micro_usd, 4_833);
        assert!(!cost.estimated);
        assert_eq!(
            cost.to_json(),
            serde_json::json!({"micro_usd": 4_833, "usd": "0.004833"})
        );
        let estimated = ReplyCost::of(
            &haiku(),
            &Usage {
                estimated: true,
                ..usage
            },
        );
        assert_eq!(
            estimated.to_json(),
            serde_json::json!({"micro_usd": 4_833, "usd": "0.004833", "estimated": true})
        );
        let big = ReplyCost::stored(1_234_500_000, false);
        assert_eq!(big.to_json()["usd"], "1234.50");
    }

    #[test]
    fn either_budget_stops_the_day() {
        let check = |budget: Budget, tokens, micro_usd, spent: bool, percent: f64| {
            let day = Spend { tokens, micro_usd };
            assert_eq!(budget.is_spent(day), spent, "{budget:?} {day:?}");
            assert_eq!(budget.used_percent(day), percent, "{budget:?} {day:?}");
        };
        let tokens_only = Budget {
            tokens: 1_000,
            micro_usd: None,
        };
        check(tokens_only, 999, 10_000_000, false, 99.9);
        check(tokens_only, 1_000, 0, true, 100.0);
        let both = Budget {
            tokens: 1_000,
            micro_usd: Some(2_000_000),
        };
        check(both, 100, 1_000_000, false, 50.0);
        check(both, 900, 1_000_000, false, 90.0);
        check(both, 100, 2_000_000, true, 100.0);
        check(both, 1_000, 1, true, 100.0);
    }
}
