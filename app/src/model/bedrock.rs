//! Bedrock through `aws-sdk-bedrockruntime`: Converse for JSON answers, ConverseStream for
//! streamed ones.

use aws_sdk_bedrockruntime as sdk;
use sdk::config::StalledStreamProtectionConfig;
use sdk::config::retry::RetryConfig;
use sdk::error::{ProvideErrorMetadata, SdkError};
use sdk::types::error::ConverseStreamOutputError;
use sdk::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseOutput, ConverseStreamOutput,
    GuardrailConfiguration, GuardrailConverseContentBlock, GuardrailConverseTextBlock,
    GuardrailStreamConfiguration, GuardrailStreamProcessingMode, GuardrailTrace,
    InferenceConfiguration, Message, SystemContentBlock,
};

use super::{FailureKind, ModelError, ModelRequest, Reply, StreamEvent, Usage, guardrail_trace};
use crate::guardrail::{GuardrailConfig, StreamProcessing};
use crate::store::Role;

/// The client settings the service needs, applied to a config built from the SDK chain (or
/// pointed at a fake in tests):
/// - no stalled-stream protection: a slow model may pause longer than the SDK's grace period
///   between tokens, and the service has its own idle timeout;
/// - no SDK retries: the service retries itself, and only before anything reached the client;
/// - the service's connect timeout, and no read timeout (answers take as long as the model
///   writes): [`crate::https::shared_timeouts`].
pub fn bedrock_config(builder: sdk::config::Builder) -> sdk::config::Builder {
    builder
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .retry_config(RetryConfig::disabled())
        .timeout_config(crate::https::shared_timeouts())
}

pub struct Bedrock {
    client: sdk::Client,
}

impl Bedrock {
    pub fn new(client: sdk::Client) -> Self {
        Bedrock { client }
    }

    pub(super) async fn converse(&self, request: &ModelRequest) -> Result<Reply, ModelError> {
        let output = self
            .client
            .converse()
            .model_id(&request.model_id)
            .system(SystemContentBlock::Text(request.system_prompt.clone()))
            .set_messages(Some(messages(request)?))
            .inference_config(inference(request))
            .set_guardrail_config(request.guardrail.as_ref().map(guardrail_config))
            .send()
            .await
            .map_err(|err| from_sdk(&err, |raw| Some(raw.status().as_u16())))?;
        let mut text = String::new();
        if let Some(ConverseOutput::Message(message)) = output.output() {
            for block in message.content() {
                if let ContentBlock::Text(part) = block {
                    text.push_str(part);
                }
            }
        }
        Ok(Reply {
            text,
            usage: output.usage().map(usage).unwrap_or_default(),
            stop_reason: output.stop_reason().as_str().to_owned(),
            guardrail: output
                .trace()
                .and_then(|trace| trace.guardrail())
                .map(guardrail_trace::read),
        })
    }

    pub(super) async fn converse_stream(
        &self,
        request: &ModelRequest,
    ) -> Result<BedrockStream, ModelError> {
        let output = self
            .client
            .converse_stream()
            .model_id(&request.model_id)
            .system(SystemContentBlock::Text(request.system_prompt.clone()))
            .set_messages(Some(messages(request)?))
            .inference_config(inference(request))
            .set_guardrail_config(request.guardrail.as_ref().map(guardrail_stream_config))
            .send()
            .await
            .map_err(|err| from_sdk(&err, |raw| Some(raw.status().as_u16())))?;
        Ok(BedrockStream {
            receiver: output.stream,
            pending: None,
        })
    }
}

pub struct BedrockStream {
    receiver: sdk::primitives::event_stream::EventReceiver<
        ConverseStreamOutput,
        ConverseStreamOutputError,
    >,
    /// An event read from the same stream event as the one returned before it.
    pending: Option<StreamEvent>,
}

impl BedrockStream {
    pub(super) async fn next(&mut self) -> Result<Option<StreamEvent>, ModelError> {
        if let Some(event) = self.pending.take() {
            return Ok(Some(event));
        }
        loop {
            let event = self
                .receiver
                .recv()
                .await
                .map_err(|err| from_sdk(&err, |_| None).with_kind_of(&err))?;
            let Some(event) = event else {
                return Ok(None);
            };
            match event {
                ConverseStreamOutput::ContentBlockDelta(delta) => {
                    if let Some(ContentBlockDelta::Text(text)) = delta.delta() {
                        return Ok(Some(StreamEvent::Text(text.clone())));
                    }
                }
                ConverseStreamOutput::MessageStop(stop) => {
                    return Ok(Some(StreamEvent::Stop(
                        stop.stop_reason().as_str().to_owned(),
                    )));
                }
                ConverseStreamOutput::Metadata(metadata) => {
                    let guardrail = metadata
                        .trace()
                        .and_then(|trace| trace.guardrail())
                        .map(|trace| StreamEvent::Guardrail(guardrail_trace::read(trace)));
                    match (metadata.usage(), guardrail) {
                        (Some(tokens), guardrail) => {
                            self.pending = guardrail;
                            return Ok(Some(StreamEvent::Usage(usage(tokens))));
                        }
                        (None, Some(guardrail)) => return Ok(Some(guardrail)),
                        (None, None) => {}
                    }
                }
                _ => {}
            }
        }
    }
}

/// Errors inside the event stream carry no error code of their own; their variant says what
/// they are.
trait StreamErrorKind {
    fn with_kind_of<R>(self, err: &SdkError<ConverseStreamOutputError, R>) -> Self;
}

impl StreamErrorKind for ModelError {
    fn with_kind_of<R>(mut self, err: &SdkError<ConverseStreamOutputError, R>) -> Self {
        if let SdkError::ServiceError(context) = err {
            let code = match context.err() {
                ConverseStreamOutputError::ThrottlingException(_) => "ThrottlingException",
                ConverseStreamOutputError::ServiceUnavailableException(_) => {
                    "ServiceUnavailableException"
                }
                ConverseStreamOutputError::InternalServerException(_) => "InternalServerException",
                ConverseStreamOutputError::ValidationException(_) => "ValidationException",
                _ => return self,
            };
            self.kind = classify(code, &self.message, None);
        }
        self
    }
}

/// The conversation as Converse takes it. With a guardrail, the new message (the last one) is
/// a `guardContent` block, so the guardrail assesses it and not the history it already passed
/// (nor the system prompt); the model reads it as text all the same.
fn messages(request: &ModelRequest) -> Result<Vec<Message>, ModelError> {
    let failed =
        |err: sdk::error::BuildError| ModelError::new(FailureKind::Failed, err.to_string());
    let last = request.messages.len().saturating_sub(1);
    request
        .messages
        .iter()
        .enumerate()
        .map(|(i, turn)| {
            let content = if i == last && request.guardrail.is_some() {
                ContentBlock::GuardContent(GuardrailConverseContentBlock::Text(
                    GuardrailConverseTextBlock::builder()
                        .text(turn.text.clone())
                        .build()
                        .map_err(failed)?,
                ))
            } else {
                ContentBlock::Text(turn.text.clone())
            };
            Message::builder()
                .role(match turn.role {
                    Role::User => ConversationRole::User,
                    Role::Assistant => ConversationRole::Assistant,
                })
                .content(content)
                .build()
                .map_err(failed)
        })
        .collect()
}

/// Converse's `guardrailConfig`, with the trace on: it says which side the guardrail acted on.
fn guardrail_config(guardrail: &GuardrailConfig) -> GuardrailConfiguration {
    GuardrailConfiguration::builder()
        .guardrail_identifier(&guardrail.id)
        .guardrail_version(&guardrail.version)
        .trace(GuardrailTrace::Enabled)
        .build()
}

/// ConverseStream's `guardrailConfig`: Converse's plus how streamed chunks are checked.
fn guardrail_stream_config(guardrail: &GuardrailConfig) -> GuardrailStreamConfiguration {
    GuardrailStreamConfiguration::builder()
        .guardrail_identifier(&guardrail.id)
        .guardrail_version(&guardrail.version)
        .trace(GuardrailTrace::Enabled)
        .stream_processing_mode(match guardrail.stream_processing {
            StreamProcessing::Sync => GuardrailStreamProcessingMode::Sync,
            StreamProcessing::Async => GuardrailStreamProcessingMode::Async,
        })
        .build()
}

fn inference(request: &ModelRequest) -> InferenceConfiguration {
    InferenceConfiguration::builder()
        .max_tokens(i32::try_from(request.max_output_tokens).unwrap_or(i32::MAX))
        .build()
}

fn usage(tokens: &sdk::types::TokenUsage) -> Usage {
    Usage {
        input_tokens: u64::try_from(tokens.input_tokens()).unwrap_or(0),
        output_tokens: u64::try_from(tokens.output_tokens()).unwrap_or(0),
        cache_read_input_tokens: tokens
            .cache_read_input_tokens()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        cache_write_input_tokens: tokens
            .cache_write_input_tokens()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        estimated: false,
    }
}

/// Sorts an SDK error into what the service answers with. `status` reads the HTTP status
/// from the raw response where there is one (not for errors inside an event stream).
fn from_sdk<E, R>(err: &SdkError<E, R>, status: impl Fn(&R) -> Option<u16>) -> ModelError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(context) => {
            let service = context.err();
            let code = service.code().unwrap_or_default();
            let message = service.message().unwrap_or(code).to_owned();
            let kind = classify(code, &message, status(context.raw()));
            ModelError::new(kind, message)
        }
        SdkError::TimeoutError(_) => {
            ModelError::new(FailureKind::Timeout, "the model did not answer in time")
        }
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            ModelError::new(FailureKind::Timeout, "the model did not answer in time")
        }
        SdkError::DispatchFailure(_) => ModelError::new(
            FailureKind::Connection,
            format!(
                "the connection to the model failed: {}",
                sdk::error::DisplayErrorContext(err)
            ),
        ),
        SdkError::ResponseError(_) => ModelError::new(
            FailureKind::Connection,
            format!(
                "the model's response broke off: {}",
                sdk::error::DisplayErrorContext(err)
            ),
        ),
        _ => ModelError::new(
            FailureKind::Failed,
            format!(
                "the model call failed: {}",
                sdk::error::DisplayErrorContext(err)
            ),
        ),
    }
}

fn classify(code: &str, message: &str, status: Option<u16>) -> FailureKind {
    match code.to_ascii_lowercase().as_str() {
        "throttlingexception" | "toomanyrequestsexception" => return FailureKind::Throttled,
        "serviceunavailableexception" | "modelnotreadyexception" => {
            return FailureKind::Unavailable;
        }
        "internalserverexception" => return FailureKind::ServerError,
        "modeltimeoutexception" => return FailureKind::Timeout,
        "validationexception" if message.to_ascii_lowercase().contains("too long") => {
            return FailureKind::InputTooLong;
        }
        "validationexception" => return FailureKind::Refused,
        "accessdeniedexception" | "resourcenotfoundexception" => return FailureKind::NotAllowed,
        _ => {}
    }
    match status {
        Some(400) => FailureKind::Refused,
        Some(403 | 404) => FailureKind::NotAllowed,
        Some(429) => FailureKind::Throttled,
        Some(503) => FailureKind::Unavailable,
        Some(408 | 504) => FailureKind::Timeout,
        Some(500..=599) => FailureKind::ServerError,
        _ => FailureKind::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_bedrock_errors() {
        let cases = [
            (
                "ThrottlingException",
                "Too many requests",
                None,
                FailureKind::Throttled,
            ),
            (
                "throttlingException",
                "slow down",
                None,
                FailureKind::Throttled,
            ),
            (
                "ServiceUnavailableException",
                "",
                Some(503),
                FailureKind::Unavailable,
            ),
            (
                "ModelNotReadyException",
                "",
                Some(429),
                FailureKind::Unavailable,
            ),
            (
                "InternalServerException",
                "",
                Some(500),
                FailureKind::ServerError,
            ),
            ("ModelTimeoutException", "", Some(408), FailureKind::Timeout),
            (
                "ValidationException",
                "Input is too long for requested model.",
                Some(400),
                FailureKind::InputTooLong,
            ),
            (
                "ValidationException",
                "prompt is too long: 210000 tokens > 200000 maximum",
                Some(400),
                FailureKind::InputTooLong,
            ),
            (
                "ValidationException",
                "bad role",
                Some(400),
                FailureKind::Refused,
            ),
            ("", "", Some(400), FailureKind::Refused),
            (
                "AccessDeniedException",
                "",
                Some(403),
                FailureKind::NotAllowed,
            ),
            (
                "ResourceNotFoundException",
                "",
                Some(404),
                FailureKind::NotAllowed,
            ),
            ("ModelErrorException", "", Some(424), FailureKind::Failed),
            ("", "", Some(502), FailureKind::ServerError),
            (
                "modelStreamErrorException",
                "boom",
                None,
                FailureKind::Failed,
            ),
        ];
        for (code, message, status, kind) in cases {
            assert_eq!(classify(code, message, status), kind, "{code} {message}");
        }
    }
}
