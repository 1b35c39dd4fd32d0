//! Which events `logs` shows: `--since`, `--errors`, `--request-id`. Each becomes a filter
//! pattern for CloudWatch Logs (less to transfer) and the same test on our side, which decides:
//! a log group's pattern support varies (a local emulator may match JSON patterns loosely or
//! not at all), the test here does not.

use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::line::{Level, Line};

/// Which log group is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The function's JSON logs.
    Function,
    /// API Gateway's access log.
    Api,
}

/// `--since`: a duration back from now, or a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(Duration),
    At { epoch_ms: i64 },
}

impl Since {
    pub fn start_ms(self, now_ms: i64) -> i64 {
        match self {
            Since::Ago(ago) => now_ms - i64::try_from(ago.as_millis()).unwrap_or(i64::MAX / 2),
            Since::At { epoch_ms } => epoch_ms,
        }
    }
}

/// Parses `30m`, `2h`, `1d`, `45s`, `1w` or an RFC 3339 time (`2026-12-03T14:00:00Z`); clap's
/// value parser, so a bad value is a usage error.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let bad = || {
        format!(
            "{text:?} is not a time: give a duration back from now (30m, 2h, 1d) or an RFC 3339 \
             time (2026-12-03T14:00:00Z)"
        )
    };
    if let Some(unit) = text.chars().last().filter(char::is_ascii_alphabetic)
        && let Ok(count) = text[..text.len() - 1].parse::<u64>()
    {
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        return Ok(Since::Ago(Duration::from_secs(
            count.checked_mul(seconds).ok_or_else(bad)?,
        )));
    }
    // The SDK's parser reads UTC times only: an offset (`+01:00`) is applied here.
    let (utc, offset_minutes) = split_offset(text).ok_or_else(bad)?;
    let at = DateTime::from_str(&utc, Format::DateTime).map_err(|_| bad())?;
    Ok(Since::At {
        epoch_ms: at.to_millis().map_err(|_| bad())? - offset_minutes * 60_000,
    })
}

/// `2026-12-03T15:00:00+01:00` as (`2026-12-03T15:00:00Z`, 60).
fn split_offset(text: &str) -> Option<(String, i64)> {
    if text.ends_with(['Z', 'z']) {
        return Some((text.to_owned(), 0));
    }
    let at = text.len().checked_sub(6)?;
    let (time, offset) = text.split_at_checked(at)?;
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = offset[1..].split_once(':')?;
    let minutes = hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?;
    Some((format!("{time}Z"), sign * minutes))
}

/// Checks `--request-id`: ids are letters, digits and dashes (Lambda's and API Gateway's are
/// UUIDs), which also keeps it a plain term of a filter pattern.
pub fn parse_request_id(text: &str) -> Result<String, String> {
    if !text.is_empty()
        && text.len() <= 128
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a request id: give the id of the page's error or of the \
             x-request-id header (letters, digits and dashes)"
        ))
    }
}

/// The lines wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only warnings, errors and 5xx answers (in the access log, where a line's level is its
    /// status's, 4xx and 5xx answers).
    pub errors: bool,
    /// Only this request's lines.
    pub request_id: Option<String>,
}

impl Selection {
    /// The filter pattern CloudWatch Logs is asked for. A request id is the narrower choice
    /// when both are given; the other part is tested here only.
    pub fn pattern(&self, group: Group) -> Option<String> {
        if let Some(id) = &self.request_id {
            return Some(format!("\"{id}\""));
        }
        if self.errors {
            return Some(
                match group {
                    Group::Function => {
                        r#"{ ($.level = "ERROR") || ($.level = "WARN") || ($.status >= 500) || ($.record.status = "error") || ($.record.status = "timeout") }"#
                    }
                    Group::Api => r#"{ ($.status = "4*") || ($.status = "5*") }"#,
                }
                .to_owned(),
            );
        }
        None
    }

    /// Whether `line` (read from an event whose text is `text`) is shown.
    pub fn keeps(&self, line: &Line, text: &str) -> bool {
        if let Some(id) = &self.request_id {
            let same = match &line.request_id {
                Some(found) => found == id,
                // A line that is not JSON names its request in its text, if at all.
                None => text.contains(id.as_str()),
            };
            if !same {
                return false;
            }
        }
        if self.errors {
            return line.level >= Level::Warn && line.level != Level::Unknown
                || line.status.is_some_and(|s| s >= 500);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_since(text: &str, expect: Result<Since, ()>) {
        assert_eq!(parse_since(text).map_err(|_| ()), expect, "{text}");
    }

    #[test]
    fn since_takes_durations_and_times() {
        check_since("30m", Ok(Since::Ago(Duration::from_secs(1800))));
        check_since("2h", Ok(Since::Ago(Duration::from_secs(7200))));
        check_since("1d", Ok(Since::Ago(Duration::from_secs(86_400))));
        check_since("45s", Ok(Since::Ago(Duration::from_secs(45))));
        check_since(
            "2026-12-03T14:00:00Z",
            Ok(Since::At {
                epoch_ms: 1_796_306_400_000,
            }),
        );
        check_since(
            "2026-12-03T15:00:00+01:00",
            Ok(Since::At {
                epoch_ms: 1_796_306_400_000,
            }),
        );
    }

    #[test]
    fn since_refuses_what_is_no_time() {
        for bad in [
            "",
            "m",
            "30",
            "30x",
            "-5m",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-03T15:00:00*01:00",
        ] {
            check_since(bad, Err(()));
        }
    }

    #[test]
    fn request_ids_are_plain_terms() {
        assert!(parse_request_id("3f1b2c4d-0000-4abc-9def-0123456789ab").is_ok());
        for bad in ["", "a b", "\"x\"", "{ $.level = 1 }"] {
            assert!(parse_request_id(bad).is_err(), "{bad}");
        }
    }
}
