//! `[chat]`: the system prompt, the answer's length, the per-client rate limit, the daily token
//! and dollar budgets and how long conversations are kept.

use crate::check::Checker;
use crate::price;
use crate::{EnvError, file};

/// `[chat]`, checked; its values become the environment's fields of the same names.
pub(crate) struct Chat {
    pub system_prompt: String,
    pub max_output_tokens: u32,
    pub rate_limit: u32,
    pub rate_window_seconds: u32,
    pub ipv6_prefix_length: u8,
    pub daily_token_budget: u64,
    pub daily_cost_budget_micro_usd: Option<u64>,
    pub history_days: u32,
}

/// Checks `[chat]`; a key read by its old name adds a line to `deprecations`.
pub(crate) fn check(
    c: &Checker,
    chat: file::Chat,
    deprecations: &mut Vec<String>,
) -> Result<Chat, EnvError> {
    let rate_limit = renamed(
        c,
        ("chat.rate_limit", chat.rate_limit),
        ("chat.rate_limit_requests", chat.rate_limit_requests),
        deprecations,
    )?;
    let rate_window_seconds = renamed(
        c,
        ("chat.rate_window_seconds", chat.rate_window_seconds),
        (
            "chat.rate_limit_window_seconds",
            chat.rate_limit_window_seconds,
        ),
        deprecations,
    )?;
    c.check(
        "chat.system_prompt",
        !chat.system_prompt.trim().is_empty(),
        &chat.system_prompt,
        "a non-empty prompt",
    )?;
    c.range(
        "chat.max_output_tokens",
        chat.max_output_tokens.into(),
        1,
        65_536,
        "",
    )?;
    c.range("chat.rate_limit", rate_limit.into(), 1, 100_000, "")?;
    c.range(
        "chat.rate_window_seconds",
        rate_window_seconds.into(),
        1,
        86_400,
        " seconds",
    )?;
    c.range(
        "chat.ipv6_prefix_length",
        chat.ipv6_prefix_length.into(),
        1,
        128,
        " bits (64 counts each /64 network as one client)",
    )?;
    let ipv6_prefix_length = u8::try_from(chat.ipv6_prefix_length).unwrap_or(u8::MAX);
    c.range(
        "chat.daily_token_budget",
        chat.daily_token_budget,
        1,
        1_000_000_000_000,
        " tokens",
    )?;
    let daily_cost_budget_micro_usd = price::daily_budget(c, chat.daily_cost_budget_usd)?;
    c.range(
        "chat.history_days",
        chat.history_days.into(),
        1,
        3_650,
        " days",
    )?;

    Ok(Chat {
        system_prompt: chat.system_prompt,
        max_output_tokens: chat.max_output_tokens,
        rate_limit,
        rate_window_seconds,
        ipv6_prefix_length,
        daily_token_budget: chat.daily_token_budget,
        daily_cost_budget_micro_usd,
        history_days: chat.history_days,
    })
}

/// A key that has an old name besides its own: either is read, the old one with a line in
/// `deprecations`; both at once, or neither, is an error.
fn renamed<T>(
    c: &Checker,
    (key, value): (&str, Option<T>),
    (old_key, old_value): (&str, Option<T>),
    deprecations: &mut Vec<String>,
) -> Result<T, EnvError> {
    match (value, old_value) {
        (Some(value), None) => Ok(value),
        (None, Some(value)) => {
            deprecations.push(format!(
                "{}: {old_key} is the old name of {key}: rename it (the value means the same); \
                 the old name will stop being read in a later version",
                c.file
            ));
            Ok(value)
        }
        (Some(_), Some(_)) => Err(c.fail(
            old_key,
            format!("is the old name of {key}, which is set too: keep only {key}"),
        )),
        (None, None) => Err(c.fail(key, "missing key".to_owned())),
    }
}
