//! One message of a conversation as clients see it, and what a reader does to an answer:
//! rate it (`PUT .../feedback`) and cut it where they pressed Stop (`POST .../stop`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiError, read_json_body, store_failed};
use crate::chat;
use crate::clock;
use crate::cost::ReplyCost;
use crate::state::AppState;
use crate::store::{Feedback, FeedbackSaved, Message, MessageId, SessionId, StopSaved};
use chatbot_contract::metrics as names;

/// A message as `GET /api/sessions/{id}/messages` lists it: every key always present, `null`
/// where it does not apply (`usage`, `cost`, `latency_ms` and `stop_reason` on questions, and
/// on answers saved before they were kept; `cost` for a model without a price).
pub fn message_json(message: &Message) -> Value {
    let details = message.details.as_ref();
    json!({
        "id": message.id.as_str(),
        "role": message.role.as_str(),
        "content": message.content,
        "created_at": clock::rfc3339_ms(message.created_at_ms),
        "model": message.model,
        "incomplete": message.incomplete,
        "blocked": message.blocked.map(|b| b.as_str()),
        "usage": details.map(|d| {
            let mut usage = json!({
                "input_tokens": d.input_tokens,
                "output_tokens": d.output_tokens,
            });
            if d.usage_estimated {
                usage["estimated"] = json!(true);
            }
            usage
        }),
        "cost": chat::answer_cost(message).map(ReplyCost::to_json),
        "latency_ms": details.map(|d| d.latency_ms),
        "stop_reason": details.map(|d| d.stop_reason.as_str()),
        "feedback": message.feedback.map(Feedback::as_str),
    })
}

/// The body of `PUT .../feedback`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingBody {
    /// Required, `null` included: a body without it is refused rather than read as `null`.
    #[serde(deserialize_with = "Option::deserialize")]
    rating: Option<String>,
}

/// `PUT /api/sessions/{id}/messages/{message_id}/feedback`: saves the reader's rating of an
/// answer (`"up"`, `"down"`, or `null` to take it back) and counts each rating given or
/// changed in the `FeedbackPositive` / `FeedbackNegative` metrics.
pub async fn rate(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let (session, id) = message_path(path)?;
    let body: RatingBody =
        read_json_body(&state, request, r#"{"rating": "up" | "down" | null}"#).await?;
    let rating = match body.rating.as_deref() {
        None => None,
        Some(text) => Some(
            Feedback::parse(text)
                .ok_or_else(|| ApiError::invalid("rating is not \"up\", \"down\" or null"))?,
        ),
    };
    let saved = state
        .store
        .set_feedback(session, &id, rating)
        .await
        .map_err(|err| store_failed(&state, &err))?;
    match saved {
        FeedbackSaved::NoSuchAnswer => Err(no_such_answer()),
        FeedbackSaved::Saved { previous } => {
            if rating != previous
                && let Some(rating) = rating
            {
                state.metrics.count(match rating {
                    Feedback::Up => names::FEEDBACK_POSITIVE,
                    Feedback::Down => names::FEEDBACK_NEGATIVE,
                });
            }
            tracing::info!(
                rating = rating.map_or("none", Feedback::as_str),
                "answer rated"
            );
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// The body of `POST .../stop`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StopBody {
    /// Characters (Unicode scalar values) of the answer the reader saw before pressing Stop.
    chars: usize,
}

/// `POST /api/sessions/{id}/messages/{message_id}/stop`: the reader pressed Stop after seeing
/// the first `chars` characters of the answer. The saved answer is cut there (the service may
/// have saved more: what was on its way when the reader stopped) and marked stopped; the
/// answer as saved now is returned. `404` while the answer is not saved yet: it is saved once
/// the service notices the reader left, so a client asks again shortly.
pub async fn stop(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let (session, id) = message_path(path)?;
    let body: StopBody = read_json_body(&state, request, r#"{"chars": 123}"#).await?;
    let saved = state
        .store
        .stop_answer(session, &id, body.chars)
        .await
        .map_err(|err| store_failed(&state, &err))?;
    match saved {
        StopSaved::Saved(answer) => {
            tracing::info!(chars = body.chars, "answer stopped by the reader");
            Ok(Json(message_json(&answer)))
        }
        StopSaved::NoSuchAnswer => Err(no_such_answer()),
        StopSaved::TooShort { chars } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "the answer has {chars} characters, fewer than the {} to keep",
                body.chars
            ),
        )),
    }
}

fn message_path(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(SessionId, MessageId), ApiError> {
    let Path((session, message)) = path.map_err(|_| ApiError::invalid("the path is malformed"))?;
    let session = SessionId::parse(&session).ok_or_else(|| {
        ApiError::invalid("the session id in the path is not a session id (a UUID)")
    })?;
    let message = MessageId::parse(&message).ok_or_else(|| {
        ApiError::invalid(
            "the message id in the path is not a message id (such as 1744202096789-0000000042-a1b2c3d4)",
        )
    })?;
    Ok((session, message))
}

fn no_such_answer() -> ApiError {
    ApiError::not_found("this conversation has no answer with this id")
}
