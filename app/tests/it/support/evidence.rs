//! What the reliability tests write for `cargo xtask test`'s summary (`testkit::evidence`).

use http::StatusCode;
use serde_json::json;

use super::Reply;

/// Writes a fault's outcome to the evidence: the status and code the user got, and whether
/// their message was kept. A message is lost when it is not in history and the user was not
/// told so by a refusal before it was accepted, `store_unavailable` or `rate_limited` (which
/// the page answers by keeping the text for a retry).
pub fn record_fault(test: &str, fault: &str, reply: &Reply, saved: bool) -> bool {
    let code = match reply.status {
        StatusCode::OK if reply.is_stream() => reply.last_event().1,
        _ => reply.error_code(),
    };
    let lost = !saved && !matches!(code.as_str(), "store_unavailable" | "rate_limited");
    testkit::evidence::record(
        test,
        json!({
            "kind": "fault",
            "fault": fault,
            "status": reply.status.as_u16(),
            "code": code,
            "user_message_saved": saved,
            "lost": lost,
        }),
    );
    lost
}

/// Writes a bad input's answer to the evidence.
pub fn record_bad_input(test: &str, name: &str, status: StatusCode) {
    testkit::evidence::record(
        test,
        json!({"kind": "bad_input", "name": name, "status": status.as_u16()}),
    );
}
