//! `[logs]`: how long CloudWatch keeps the function's and the API's logs.

use crate::check::Checker;
use crate::{EnvError, file};

/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Checks `[logs]`; the retention in days.
pub(crate) fn check(c: &Checker, logs: file::Logs) -> Result<u32, EnvError> {
    if !LOG_RETENTION_DAYS.contains(&logs.retention_days) {
        let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
        return Err(c.fail(
            "logs.retention_days",
            format!(
                "{} is not a retention CloudWatch Logs offers, allowed: {}",
                logs.retention_days,
                allowed.join(", ")
            ),
        ));
    }

    Ok(logs.retention_days)
}
