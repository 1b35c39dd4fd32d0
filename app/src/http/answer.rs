//! A chat turn's answer on the wire: one JSON object, or server-sent events (`meta`, `delta`
//! for each piece, then `done` or `error`).

use std::time::Duration;

use axum::response::Response;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::mpsc;

use super::ApiError;
use super::sse;
use crate::chat::{self, Answer, ChatEvent, Ended, Started};
use crate::clock;
use crate::cost::ReplyCost;
use crate::guardrail::Outcome;
use crate::model::Usage;

/// The JSON answer of `POST /api/chat`.
#[derive(Debug, serde::Serialize)]
pub struct ChatReply {
    pub session_id: String,
    /// The answer's id, to rate it or to stop it.
    pub message_id: String,
    /// The question's id, to replace it (edit it, or ask for another answer).
    pub user_message_id: String,
    pub reply: String,
    pub model: String,
    pub usage: Usage,
    /// What the answer cost at its model's price (absent for a model without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<serde_json::Value>,
    pub stop_reason: String,
    pub latency_ms: u64,
    /// When the answer was saved (RFC 3339).
    pub created_at: String,
    /// What the guardrail did, when it acted: `blocked_input`, `blocked_output` (then `reply`
    /// is the guardrail's message) or `masked_output`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<&'static str>,
}

impl From<Answer> for ChatReply {
    fn from(answer: Answer) -> Self {
        ChatReply {
            session_id: answer.session.to_string(),
            message_id: answer.message.id.to_string(),
            user_message_id: answer.question_id.to_string(),
            cost: chat::answer_cost(&answer.message).map(ReplyCost::to_json),
            created_at: clock::rfc3339_ms(answer.message.created_at_ms),
            reply: answer.message.content,
            model: answer.answered_by,
            usage: answer.usage,
            stop_reason: answer.stop_reason,
            latency_ms: answer.latency_ms,
            guardrail: answer.guardrail.map(Outcome::as_str),
        }
    }
}

/// The `text/event-stream` response of a streamed turn, with a heartbeat comment whenever
/// `heartbeat` passes without an event.
pub fn event_stream(events: mpsc::Receiver<ChatEvent>, heartbeat: Duration) -> Response {
    sse::response(events, heartbeat, encode)
}

/// One event as server-sent event bytes.
fn encode(event: ChatEvent) -> Bytes {
    match event {
        ChatEvent::Started(Started {
            session,
            answered_by,
            answer_id,
            question_id,
            question_created_at_ms,
        }) => sse::event(
            "meta",
            &json!({
                "session_id": session.to_string(),
                "model": answered_by,
                "message_id": answer_id.to_string(),
                "user_message": {
                    "id": question_id.to_string(),
                    "created_at": clock::rfc3339_ms(question_created_at_ms),
                },
            }),
        ),
        ChatEvent::Text(delta) => sse::event("delta", &json!({"text": delta})),
        ChatEvent::Done {
            ended,
            guardrail,
            blocked_message,
        } => {
            let mut done = details(ended);
            if let Some(outcome) = guardrail {
                done["guardrail"] = json!(outcome.as_str());
                if let Some(message) = blocked_message {
                    done["message"] = json!(message);
                }
            }
            sse::event("done", &done)
        }
        ChatEvent::Failed { ended, error } => {
            let api = ApiError::model(&error);
            let mut failed = details(ended);
            failed["code"] = json!(api.code);
            failed["message"] = json!(api.message);
            sse::event("error", &failed)
        }
    }
}

/// What the page shows under the answer, as history will show it.
fn details(ended: Ended) -> serde_json::Value {
    let mut details = json!({
        "usage": ended.usage,
        "stop_reason": ended.stop_reason,
        "latency_ms": ended.latency_ms,
        "created_at": clock::rfc3339_ms(ended.created_at_ms),
    });
    if let Some(cost) = ended.cost {
        details["cost"] = cost.to_json();
    }
    details
}
