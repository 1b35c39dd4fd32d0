//! CloudWatch Logs: the events of one log group, read with `FilterLogEvents` page by page.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;

use super::errors::api_error;
use super::is_error;

/// One log event as CloudWatch Logs stores it: the line the function or API Gateway wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Unique within the log group: what a live tail de-duplicates on.
    pub id: String,
    /// When it was written, in milliseconds since the epoch.
    pub timestamp_ms: i64,
    pub stream: String,
    pub message: String,
}

/// Which events to read: those of `group` from `start_ms` on, matching `pattern` when given.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub group: &'a str,
    pub start_ms: i64,
    pub pattern: Option<&'a str>,
}

/// What a read found.
pub enum Read {
    Events(Vec<LogEvent>),
    /// The log group does not exist.
    NoGroup,
}

/// Every event `query` selects, oldest first, reading all pages.
pub async fn filter(client: &Client, query: &Query<'_>) -> anyhow::Result<Read> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let answer = client
            .filter_log_events()
            .log_group_name(query.group)
            .start_time(query.start_ms)
            .set_filter_pattern(query.pattern.map(str::to_owned))
            .set_next_token(token.clone())
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    matches!(e, FilterLogEventsError::ResourceNotFoundException(_))
                        || is_error(e, "ResourceNotFoundException", None)
                }) =>
            {
                return Ok(Read::NoGroup);
            }
            Err(err) => {
                return Err(api_error(
                    &format!("reading log group {}", query.group),
                    err,
                ));
            }
        };
        for event in answer.events() {
            events.push(LogEvent {
                id: event.event_id().unwrap_or_default().to_owned(),
                timestamp_ms: event.timestamp().unwrap_or_default(),
                stream: event.log_stream_name().unwrap_or_default().to_owned(),
                message: event.message().unwrap_or_default().to_owned(),
            });
        }
        let next = answer.next_token().map(str::to_owned);
        // An unchanged token would read the same page again.
        if next.is_none() || next == token {
            break;
        }
        token = next;
    }
    events.sort_by_key(|e| e.timestamp_ms);
    Ok(Read::Events(events))
}
