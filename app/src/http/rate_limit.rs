//! A signed-in person's limits on the wire: the `RateLimit-Policy` and `RateLimit` headers
//! (draft-ietf-httpapi-ratelimit-headers, structured fields) of chat answers and refusals.

use http::{HeaderName, HeaderValue};

use crate::chat::PersonLimits;

/// The turns of the rate window and the tokens of the day: the policy, then what is left and
/// when each comes back.
pub fn headers(limits: &PersonLimits) -> Vec<(HeaderName, HeaderValue)> {
    let policy = format!(
        "\"turns\";q={};w={}, \"tokens\";q={};w=86400",
        limits.turns, limits.window_seconds, limits.tokens
    );
    let left = format!(
        "\"turns\";r={};t={}, \"tokens\";r={};t={}",
        limits.turns.saturating_sub(limits.turns_used),
        limits.window_reset.max(0),
        limits.tokens.saturating_sub(limits.tokens_used),
        limits.day_reset.max(0)
    );
    [("ratelimit-policy", policy), ("ratelimit", left)]
        .into_iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).ok()?,
            ))
        })
        .collect()
}

/// The headers of a turn by a signed-in person; none in public mode.
pub fn headers_of(limits: Option<PersonLimits>) -> Vec<(HeaderName, HeaderValue)> {
    limits.as_ref().map(headers).unwrap_or_default()
}
