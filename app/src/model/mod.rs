//! The language model behind the chat: Bedrock through the SDK, or the offline demo model
//! that local runs use when no AWS credentials resolve.

mod bedrock;
mod demo;
mod guardrail_trace;
mod retry;

pub use bedrock::{Bedrock, bedrock_config};
pub use demo::{DEMO_MODEL_ID, DEMO_NOTICE, Demo};
pub use retry::{RetryPolicy, call_trimming, count_throttle};

pub use crate::cost::Usage;

use crate::guardrail::{Assessment, GuardrailConfig};
use crate::store::Role;

/// What a model is asked: the system prompt and the conversation so far, oldest first,
/// starting with a user message and alternating roles, the last one being the new message.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    pub model_id: String,
    pub system_prompt: String,
    pub messages: Vec<Turn>,
    pub max_output_tokens: u32,
    /// The guardrail the call goes through; it assesses the last message (the new one) and the
    /// answer.
    pub guardrail: Option<GuardrailConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// A whole answer (Converse).
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub usage: Usage,
    pub stop_reason: String,
    /// The guardrail's trace, when one acted on the turn.
    pub guardrail: Option<Assessment>,
}

/// One piece of a streamed answer (ConverseStream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Text(String),
    Stop(String),
    Usage(Usage),
    /// The guardrail's trace, when one acted on the turn (after the stop).
    Guardrail(Assessment),
}

/// Why a model call failed, in the terms the service answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The model refused for load (throttling); worth retrying.
    Throttled,
    /// The model service is unavailable or not ready (503); worth retrying.
    Unavailable,
    /// The model service failed (other 5xx); worth retrying.
    ServerError,
    /// The connection failed or broke; worth retrying before anything reached the client.
    Connection,
    /// The model took too long.
    Timeout,
    /// The conversation does not fit the model's context window.
    InputTooLong,
    /// The model refused the request as invalid (400): sending it again cannot help.
    Refused,
    /// This deployment may not use the model (403), or it does not exist here (404): sending
    /// it again cannot help until whoever runs the chatbot fixes it.
    NotAllowed,
    /// Anything else: a rejected request, a model error, an unreadable reply.
    Failed,
}

impl FailureKind {
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            FailureKind::Throttled
                | FailureKind::Unavailable
                | FailureKind::ServerError
                | FailureKind::Connection
        )
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ModelError {
    pub kind: FailureKind,
    pub message: String,
}

impl ModelError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        ModelError {
            kind,
            message: message.into(),
        }
    }
}

pub enum Model {
    Bedrock(Bedrock),
    Demo(Demo),
}

impl Model {
    /// Whether this is the offline demo model rather than a real one.
    pub fn is_demo(&self) -> bool {
        matches!(self, Model::Demo(_))
    }

    /// One call of Converse: the whole answer at once. No retries here.
    pub async fn converse(&self, request: &ModelRequest) -> Result<Reply, ModelError> {
        match self {
            Model::Bedrock(m) => m.converse(request).await,
            Model::Demo(m) => m.converse(request).await,
        }
    }

    /// One call of ConverseStream: returns once the model has accepted the request (its
    /// response headers arrived), before the first token. No retries here.
    pub async fn converse_stream(&self, request: &ModelRequest) -> Result<ModelStream, ModelError> {
        match self {
            Model::Bedrock(m) => m
                .converse_stream(request)
                .await
                .map(|s| ModelStream::Bedrock(Box::new(s))),
            Model::Demo(m) => Ok(ModelStream::Demo(m.converse_stream(request))),
        }
    }
}

pub enum ModelStream {
    Bedrock(Box<bedrock::BedrockStream>),
    Demo(demo::DemoStream),
}

impl ModelStream {
    /// The next piece of the answer; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<StreamEvent>, ModelError> {
        match self {
            ModelStream::Bedrock(s) => s.next().await,
            ModelStream::Demo(s) => Ok(s.next().await),
        }
    }
}

/// A rough token count for text a model did not report usage for (about four characters a
/// token in English), so the daily budget still counts answers cut short.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}
