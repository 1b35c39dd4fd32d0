//! The error body every failed request gets: `{"error": {"code": "...", "message": "..."}}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::chat::{ChatError, ChatFailure};
use crate::model::{FailureKind, ModelError};
use crate::store::{MessageId, SessionId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// A chat turn that failed after the question was saved: its conversation and id, so a
    /// retry replaces the question instead of asking it twice.
    pub saved_question: Option<(SessionId, MessageId)>,
    /// Headers sent besides `Retry-After`: a person's `RateLimit` and `RateLimit-Policy`.
    pub headers: Box<[(http::HeaderName, HeaderValue)]>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            saved_question: None,
            headers: Box::default(),
        }
    }

    /// This error with `headers` as well.
    pub fn with_headers(self, headers: Vec<(http::HeaderName, HeaderValue)>) -> Self {
        ApiError {
            headers: headers.into_boxed_slice(),
            ..self
        }
    }

    /// A person's daily token quota is spent; it comes back in `retry_after` seconds (at
    /// midnight UTC).
    pub fn quota_exhausted(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exhausted",
                format!(
                    "you have used up today's tokens; they come back at midnight UTC, in {} seconds",
                    retry_after.max(1)
                ),
            )
        }
    }

    /// This error, for a chat turn whose question `session` already holds as `id`.
    pub fn with_saved_question(self, (session, id): (SessionId, MessageId)) -> Self {
        ApiError {
            saved_question: Some((session, id)),
            ..self
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// A request that did not come through CloudFront: no or a wrong origin header.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            chatbot_contract::forbidden::CODE,
            chatbot_contract::forbidden::MESSAGE,
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not answer that method",
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn body_timeout(waited: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} seconds",
                waited.as_secs_f64()
            ),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the request body as application/json in UTF-8",
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        Self::too_many("this address", retry_after)
    }

    /// A signed-in person's rate window is full.
    pub fn user_rate_limited(retry_after: u64) -> Self {
        Self::too_many("you", retry_after)
    }

    fn too_many(from: &str, retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many requests from {from}, try again in {} seconds",
                    retry_after.max(1)
                ),
            )
        }
    }

    pub fn budget_exhausted() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "budget_exhausted",
            "the chatbot has used up today's budget, try again tomorrow (UTC)",
        )
    }

    /// The store failed (already counted and logged, see [`crate::state::AppState::store_failed`]).
    pub fn store_unavailable() -> Self {
        ApiError {
            retry_after: Some(2),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the conversation store is unavailable, try again shortly",
            )
        }
    }

    /// The answer for a model call that failed before anything reached the client.
    pub fn model(err: &ModelError) -> Self {
        let (status, code, message) = match err.kind {
            FailureKind::Throttled => (
                StatusCode::TOO_MANY_REQUESTS,
                "model_throttled",
                "the model is busy, try again in a few seconds".to_owned(),
            ),
            FailureKind::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "model_unavailable",
                "the model is unavailable right now, try again shortly".to_owned(),
            ),
            FailureKind::Timeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "model_timeout",
                "the model took too long to answer".to_owned(),
            ),
            FailureKind::InputTooLong => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the message is too long for the model".to_owned(),
            ),
            FailureKind::Refused => (
                StatusCode::BAD_GATEWAY,
                "model_refused",
                format!("the model refused the request: {}", err.message),
            ),
            FailureKind::NotAllowed => (
                StatusCode::BAD_GATEWAY,
                "model_not_allowed",
                format!("this chatbot may not use the model: {}", err.message),
            ),
            FailureKind::ServerError | FailureKind::Connection | FailureKind::Failed => (
                StatusCode::BAD_GATEWAY,
                "model_error",
                format!("the model failed to answer: {}", err.message),
            ),
        };
        let retry_after = match err.kind {
            FailureKind::Throttled | FailureKind::Unavailable => Some(5),
            _ => None,
        };
        ApiError {
            retry_after,
            ..Self::new(status, code, message)
        }
    }

    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some((session, id)) = &self.saved_question {
            error["session_id"] = json!(session.to_string());
            error["user_message_id"] = json!(id.to_string());
        }
        json!({ "error": error })
    }
}

/// The status a failed chat turn answers with.
impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        let api = match err.failure {
            ChatFailure::RateLimited { retry_after_secs } => Self::rate_limited(retry_after_secs),
            ChatFailure::PersonRateLimited { retry_after_secs } => {
                Self::user_rate_limited(retry_after_secs)
            }
            ChatFailure::BudgetExhausted => Self::budget_exhausted(),
            ChatFailure::QuotaExhausted { retry_after_secs } => {
                Self::quota_exhausted(retry_after_secs)
            }
            ChatFailure::NoSuchSession => super::no_such_session(),
            ChatFailure::NoSuchQuestion => {
                Self::not_found("this conversation has no question with the id in replaces")
            }
            ChatFailure::Store(_) => Self::store_unavailable(),
            ChatFailure::Model(model) => Self::model(&model),
        };
        ApiError {
            saved_question: err.saved_question,
            ..api.with_headers(super::rate_limit::headers_of(err.limits))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        for (name, value) in self.headers.into_vec() {
            response.headers_mut().insert(name, value);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
