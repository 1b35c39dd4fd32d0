//! Model prices: `[models.prices."<id>"]` read into exact micro-dollars per million tokens, and
//! the daily dollar budget. The env file says dollars (as the AWS price list does); from here on
//! every amount is an integer, so nothing drifts.

use crate::check::Checker;
use crate::{EnvError, file};

/// What a model costs, in micro-dollars (US$ 0.000001) per million tokens, as of a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrice {
    pub input: u64,
    pub output: u64,
    /// Input tokens read from the prompt cache, where the model has such a price.
    pub cache_read: Option<u64>,
    /// Input tokens written to the prompt cache, where the model has such a price.
    pub cache_write: Option<u64>,
    /// `YYYY-MM-DD`: when the prices were taken from the AWS price list.
    pub as_of: String,
}

/// The highest price per million tokens accepted, in dollars: far above any model's.
const MAX_USD_PER_MILLION: f64 = 10_000.0;
/// The highest daily dollar budget accepted.
const MAX_DAILY_USD: f64 = 1_000_000.0;

/// The price of each model of `models.allowed`, in that order: every allowed model needs one,
/// and a price for a model that is not allowed is a mistake too.
pub(crate) fn validate(
    c: &Checker<'_>,
    models: &file::Models,
) -> Result<Vec<ModelPrice>, EnvError> {
    if let Some(stray) = models
        .prices
        .keys()
        .find(|id| !models.allowed.iter().any(|m| &m.id == *id))
    {
        let ids: Vec<&str> = models.allowed.iter().map(|m| m.id.as_str()).collect();
        return Err(c.fail(
            &format!("models.prices.{stray:?}"),
            format!(
                "is the price of a model that is not allowed, expected one of models.allowed: {}",
                ids.join(", ")
            ),
        ));
    }
    models
        .allowed
        .iter()
        .map(|model| {
            let key = format!("models.prices.{:?}", model.id);
            let Some(raw) = models.prices.get(&model.id) else {
                return Err(c.fail(
                    &key,
                    "is missing: every allowed model needs its price, a table with input and output (US dollars per million tokens, cache_read and cache_write where the model has them) and as_of (the date they were taken from the AWS price list)".into(),
                ));
            };
            price(c, &key, raw)
        })
        .collect()
}

fn price(c: &Checker<'_>, key: &str, raw: &file::Price) -> Result<ModelPrice, EnvError> {
    let per_million = |name: &str, value: f64| {
        micro_usd(
            c,
            &format!("{key}.{name}"),
            value,
            MAX_USD_PER_MILLION,
            "US dollars per million tokens",
        )
    };
    let optional = |name: &str, value: Option<f64>| value.map(|v| per_million(name, v)).transpose();
    Ok(ModelPrice {
        input: per_million("input", raw.input)?,
        output: per_million("output", raw.output)?,
        cache_read: optional("cache_read", raw.cache_read)?,
        cache_write: optional("cache_write", raw.cache_write)?,
        as_of: date(c, &format!("{key}.as_of"), &raw.as_of)?,
    })
}

/// `chat.daily_cost_budget_usd` in micro-dollars.
pub(crate) fn daily_budget(c: &Checker<'_>, usd: Option<f64>) -> Result<Option<u64>, EnvError> {
    usd.map(|value| {
        micro_usd(
            c,
            "chat.daily_cost_budget_usd",
            value,
            MAX_DAILY_USD,
            "US dollars per UTC day",
        )
    })
    .transpose()
}

/// `value` dollars as exact micro-dollars: more than 0, at most `max`, at most six decimals.
///
/// A TOML number with up to six decimals converts exactly: its binary value lies within a
/// few ten-thousandths of a micro-dollar of the decimal one at these magnitudes, so rounding
/// to the nearest micro-dollar recovers it.
fn micro_usd(
    c: &Checker<'_>,
    key: &str,
    value: f64,
    max: f64,
    unit: &str,
) -> Result<u64, EnvError> {
    let scaled = value * 1_000_000.0;
    let rounded = scaled.round();
    let whole_micro_dollars = (scaled - rounded).abs() < 1e-3;
    if value.is_finite() && value > 0.0 && value <= max && whole_micro_dollars {
        // In range and whole, so the conversion is exact.
        Ok(rounded as u64)
    } else {
        Err(c.fail(
            key,
            format!(
                "{value} is not allowed, expected {unit}: more than 0, at most {max}, with at most 6 decimals"
            ),
        ))
    }
}

/// A TOML local date (`2026-10-05`) as `YYYY-MM-DD`.
fn date(c: &Checker<'_>, key: &str, value: &toml::value::Datetime) -> Result<String, EnvError> {
    match (value.date, value.time, value.offset) {
        (Some(d), None, None) => Ok(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
        _ => Err(c.fail(
            key,
            format!("{value} is not allowed, expected a date such as 2026-10-05, without a time"),
        )),
    }
}
