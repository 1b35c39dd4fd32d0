//! `[api]`: API Gateway's stage throttling and how long CloudFront waits for the API.

use crate::check::Checker;
use crate::{EnvError, file};

/// API Gateway stage throttling, and how long CloudFront waits for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSettings {
    /// Steady requests per second.
    pub throttle_rate: u32,
    /// Requests allowed in a burst.
    pub throttle_burst: u32,
    /// Seconds CloudFront waits for the API's first byte and between two packets; never less
    /// than the function's timeout.
    pub origin_read_timeout_seconds: u32,
}

/// CloudFront's longest origin read timeout without a quota increase.
pub const ORIGIN_READ_TIMEOUT_DEFAULT_MAX: u32 = 60;
/// CloudFront's longest origin read timeout with the quota raised.
pub const ORIGIN_READ_TIMEOUT_MAX: u32 = 180;

/// Checks `[api]`; the read timeout against the function's timeout too.
pub(crate) fn check(
    c: &Checker,
    api: file::Api,
    function_timeout: u32,
) -> Result<ApiSettings, EnvError> {
    c.range(
        "api.throttle_rate",
        api.throttle_rate.into(),
        1,
        10_000,
        " requests per second",
    )?;
    c.range(
        "api.throttle_burst",
        api.throttle_burst.into(),
        1,
        5_000,
        " requests",
    )?;
    check_read_timeout(c, &api, function_timeout)?;

    Ok(ApiSettings {
        throttle_rate: api.throttle_rate,
        throttle_burst: api.throttle_burst,
        origin_read_timeout_seconds: api.origin_read_timeout_seconds,
    })
}

/// CloudFront gives up on the API after its read timeout; a JSON reply comes in one piece, up
/// to the function's timeout after the request, so the read timeout may not be shorter. Above
/// 60 s CloudFront needs a quota increase, which the file has to say it has.
fn check_read_timeout(c: &Checker, api: &file::Api, function_timeout: u32) -> Result<(), EnvError> {
    let read = api.origin_read_timeout_seconds;
    c.range(
        "api.origin_read_timeout_seconds",
        read.into(),
        1,
        ORIGIN_READ_TIMEOUT_MAX.into(),
        " seconds (above 60 only with CloudFront's quota raised)",
    )?;
    if read > ORIGIN_READ_TIMEOUT_DEFAULT_MAX && !api.origin_read_timeout_quota_raised {
        return Err(c.fail(
            "api.origin_read_timeout_seconds",
            format!(
                "{read} is above CloudFront's limit of {ORIGIN_READ_TIMEOUT_DEFAULT_MAX} seconds: \
                 ask AWS to raise the CloudFront quota \"Response timeout per origin\" (up to \
                 {ORIGIN_READ_TIMEOUT_MAX}), then add api.origin_read_timeout_quota_raised = true; \
                 or use {ORIGIN_READ_TIMEOUT_DEFAULT_MAX} or less"
            ),
        ));
    }
    if function_timeout > read {
        return Err(c.fail(
            "function.timeout_seconds",
            format!(
                "{function_timeout} is longer than api.origin_read_timeout_seconds ({read}): \
                 CloudFront would stop waiting for a reply after {read} s and answer 504 while \
                 the function goes on (and spends tokens); lower function.timeout_seconds to \
                 {read} or less, or raise api.origin_read_timeout_seconds (above \
                 {ORIGIN_READ_TIMEOUT_DEFAULT_MAX} only with CloudFront's quota raised)"
            ),
        ));
    }
    Ok(())
}
