//! Structured logs: one JSON object a line (CloudWatch Logs Insights reads the fields), each
//! carrying the request span (`request_id`, method, route template) it was written in. No path
//! is logged: a session id in a path is the key to a conversation.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// JSON lines on stderr at `info` unless `RUST_LOG` says otherwise. Metrics keep stdout.
pub fn init_json() {
    let layer = fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_filter(filter("info"));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Readable lines for a terminal (local runs). The SDK's own warnings while it looks for
/// credentials on a machine that has none are left out unless `RUST_LOG` asks for them.
pub fn init_text() {
    let layer = fmt::layer()
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_filter(filter("info,aws_config=error"));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// `RUST_LOG` when it parses, otherwise `default`: a level (`debug`) or comma-separated
/// `target=level` directives (`info,aws_config=error`). Span and field filters
/// (`[span{field=x}]`) are not supported: they need a regular-expression engine in every
/// deployed binary.
fn filter(default: &str) -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| default.parse().expect("a valid default filter"))
}
