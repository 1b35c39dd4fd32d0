//! One log event read as people read it: time, level, request id, message and the fields worth
//! seeing. Pure: the event's text in, a [`Line`] and its rendering out.
//!
//! Three kinds of event are understood: the function's own JSON lines (`app/src/logging.rs`:
//! `timestamp`, `level`, `message`, the event's fields flattened, the request span under
//! `span`), Lambda's platform records in JSON log format (`time`, `type`, `record`), and API
//! Gateway's access log lines (the stage's format, `ACCESS_LOG_FORMAT` in `stack/api.rs`).
//! Anything else is shown as it was written.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value};

use crate::review::Palette;

/// A log event, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub timestamp_ms: i64,
    pub level: Level,
    /// The request it was written for: the id of `x-request-id` and of the page's errors.
    pub request_id: Option<String>,
    pub message: String,
    /// `name=value` pairs: the route first, then the event's fields by name.
    pub fields: Vec<(String, String)>,
    /// The HTTP status the line reports, when it reports one.
    pub status: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    /// A line that names no level (plain text).
    Unknown,
}

impl Level {
    fn parse(text: &str) -> Level {
        match text.to_ascii_uppercase().as_str() {
            "TRACE" => Level::Trace,
            "DEBUG" => Level::Debug,
            "INFO" => Level::Info,
            "WARN" | "WARNING" => Level::Warn,
            "ERROR" | "FATAL" => Level::Error,
            _ => Level::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Unknown => "-",
        }
    }

    /// The level an HTTP status is worth: a 5xx is an error, a 4xx a warning.
    fn of_status(status: u16) -> Level {
        match status {
            500.. => Level::Error,
            400..=499 => Level::Warn,
            _ => Level::Info,
        }
    }
}

/// The function's fields that the line shows elsewhere, or that say nothing to a reader.
const APP_SHOWN: [&str; 4] = ["timestamp", "level", "message", "span"];

/// Reads an event's text, written at `timestamp_ms`.
pub fn parse(timestamp_ms: i64, text: &str) -> Line {
    let plain = Line {
        timestamp_ms,
        level: Level::Unknown,
        request_id: None,
        message: text.trim_end().to_owned(),
        fields: Vec::new(),
        status: None,
    };
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return plain;
    };
    if object.contains_key("level") && object.contains_key("message") {
        app_line(timestamp_ms, &object)
    } else if object.contains_key("requestId") && object.contains_key("route") {
        access_line(timestamp_ms, &object)
    } else if object.contains_key("type") && object.contains_key("record") {
        platform_line(timestamp_ms, &object)
    } else {
        plain
    }
}

fn app_line(timestamp_ms: i64, object: &Map<String, Value>) -> Line {
    let span = object.get("span").and_then(Value::as_object);
    let from_span = |key: &str| span.and_then(|s| s.get(key)).and_then(Value::as_str);
    let mut fields = Vec::new();
    if let (Some(method), Some(route)) = (from_span("method"), from_span("route")) {
        fields.push(("route".to_owned(), format!("{method} {route}")));
    }
    for (key, value) in object {
        if APP_SHOWN.contains(&key.as_str()) {
            continue;
        }
        if let Some(value) = field_value(value) {
            fields.push((key.clone(), value));
        }
    }
    Line {
        timestamp_ms,
        level: Level::parse(text_of(object, "level").unwrap_or_default()),
        request_id: from_span("request_id").map(str::to_owned),
        message: text_of(object, "message").unwrap_or_default().to_owned(),
        fields,
        status: object
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok()),
    }
}

/// API Gateway writes every value as a string, `-` where it has none.
fn access_line(timestamp_ms: i64, object: &Map<String, Value>) -> Line {
    let given = |key: &str| text_of(object, key).filter(|v| !v.is_empty() && *v != "-");
    let status = given("status").and_then(|s| s.parse::<u16>().ok());
    let mut fields = Vec::new();
    for (key, name) in [
        ("latencyMs", "latency_ms"),
        ("integrationLatencyMs", "integration_ms"),
        ("bytes", "bytes"),
        ("errorType", "error_type"),
        ("error", "error"),
        ("integrationError", "integration_error"),
    ] {
        if let Some(value) = given(key).and_then(|v| field_value(&Value::from(v))) {
            fields.push((name.to_owned(), value));
        }
    }
    Line {
        timestamp_ms,
        level: status.map_or(Level::Unknown, Level::of_status),
        request_id: given("requestId").map(str::to_owned),
        message: format!(
            "{} {} {}",
            given("method").unwrap_or("-"),
            given("route").unwrap_or("-"),
            given("status").unwrap_or("-")
        ),
        fields,
        status,
    }
}

/// Lambda's own records (`platform.report`, `platform.runtimeDone`, ...).
fn platform_line(timestamp_ms: i64, object: &Map<String, Value>) -> Line {
    let record = object.get("record").and_then(Value::as_object);
    let mut fields = Vec::new();
    let mut failed = false;
    if let Some(record) = record {
        if let Some(status) = record.get("status").and_then(Value::as_str) {
            failed = status != "success";
            fields.push(("status".to_owned(), status.to_owned()));
        }
        if let Some(error) = record.get("errorType").and_then(Value::as_str) {
            fields.push(("error_type".to_owned(), error.to_owned()));
        }
        if let Some(metrics) = record.get("metrics").and_then(Value::as_object) {
            for (key, value) in metrics {
                if let Some(value) = field_value(value) {
                    fields.push((key.clone(), value));
                }
            }
        }
    }
    let level = match text_of(object, "level") {
        Some(level) => Level::parse(level),
        None if failed => Level::Error,
        None => Level::Info,
    };
    Line {
        timestamp_ms,
        level,
        request_id: record
            .and_then(|r| r.get("requestId"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        message: text_of(object, "type").unwrap_or_default().to_owned(),
        fields,
        status: None,
    }
}

fn text_of<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// A field as `name=value` shows it; `None` for nulls and empty strings.
fn field_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) if s.contains(char::is_whitespace) || s.contains('"') => {
            Some(format!("{s:?}"))
        }
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `2026-12-03T14:33:28.120Z`: always three digits of milliseconds, so lines align.
pub fn timestamp(ms: i64) -> String {
    match DateTime::from_secs(ms.div_euclid(1000)).fmt(Format::DateTime) {
        Ok(seconds) => format!(
            "{}.{:03}Z",
            seconds.trim_end_matches('Z'),
            ms.rem_euclid(1000)
        ),
        Err(_) => ms.to_string(),
    }
}

/// One line of output: `time  LEVEL  request-id  message  name=value ...`.
pub fn render(line: &Line, palette: Palette) -> String {
    let level = format!("{:<5}", line.level.as_str());
    let level = match line.level {
        Level::Error => palette.red(&level),
        Level::Warn => palette.yellow(&level),
        Level::Info => palette.green(&level),
        _ => palette.dim(&level),
    };
    let mut out = format!(
        "{}  {level}  {}  {}",
        palette.dim(&timestamp(line.timestamp_ms)),
        palette.cyan(line.request_id.as_deref().unwrap_or("-")),
        line.message
    );
    for (name, value) in &line.fields {
        out.push_str(&format!("  {}={value}", palette.dim(name)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        let rendered = render(&parse(1_764_772_408_123, text), Palette::PLAIN);
        assert_eq!(rendered, expect);
    }

    #[test]
    fn a_function_line_shows_level_request_route_and_fields() {
        check(
            r#"{"timestamp":"2025-12-03T14:33:28.123456Z","level":"INFO","status":200,"elapsed_ms":812,"message":"request answered","span":{"request_id":"7d1c","method":"POST","route":"/api/chat","name":"request"}}"#,
            "2025-12-03T14:33:28.123Z  INFO   7d1c  request answered  route=POST /api/chat  elapsed_ms=812  status=200",
        );
    }

    #[test]
    fn a_line_outside_a_request_has_no_request_id() {
        check(
            r#"{"timestamp":"2025-12-03T14:33:28Z","level":"ERROR","message":"cannot start: no table"}"#,
            "2025-12-03T14:33:28.123Z  ERROR  -  cannot start: no table",
        );
    }

    #[test]
    fn an_access_line_is_method_route_status() {
        check(
            r#"{"requestId":"a1","ip":"1.2.3.4","time":"1764772408","method":"POST","route":"/api/chat","status":"502","bytes":"120","latencyMs":"30","integrationLatencyMs":"-","error":"Internal server error","errorType":"INTEGRATION_FAILURE","integrationError":"-","apiId":"x"}"#,
            "2025-12-03T14:33:28.123Z  ERROR  a1  POST /api/chat 502  latency_ms=30  bytes=120  error_type=INTEGRATION_FAILURE  error=\"Internal server error\"",
        );
    }

    #[test]
    fn a_failed_platform_report_is_an_error() {
        check(
            r#"{"time":"2025-12-03T14:33:28.123Z","type":"platform.report","record":{"requestId":"r9","status":"timeout","metrics":{"durationMs":30000.0}}}"#,
            "2025-12-03T14:33:28.123Z  ERROR  r9  platform.report  status=timeout  durationMs=30000.0",
        );
    }

    #[test]
    fn plain_text_is_kept() {
        check(
            "INIT_START Runtime Version: provided:al2023\n",
            "2025-12-03T14:33:28.123Z  -      -  INIT_START Runtime Version: provided:al2023",
        );
    }
}
