//! Structured logs: one JSON object a line (CloudWatch Logs Insights reads the fields), each
//! carrying the request span (`request_id`, method, route template) it was written in. No path
//! is logged: a session id in a path is the key to a conversation.

use tracing_subscriber::EnvFilter;

/// JSON lines on stderr at `info` unless `RUST_LOG` says otherwise. Metrics keep stdout.
pub fn init_json() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}

/// Readable lines for a terminal (local runs). The SDK's own warnings while it looks for
/// credentials on a machine that has none are left out unless `RUST_LOG` asks for them.
pub fn init_text() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=error"));
    let _ = tracing_subscriber::fmt()
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}
