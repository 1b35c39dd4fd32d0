//! The error catalogue: HTTP errors as Bedrock answers them (status, `x-amzn-ErrorType`, a
//! JSON message) and the exceptions a stream can end with.

use super::*;

pub(super) fn error_response(request_id: &str, error: ApiError) -> Response<Body> {
    let body = json!({"message": error.message}).to_string();
    let mut response = response(
        error.status,
        "application/json",
        request_id,
        Body::Full(Some(Bytes::from(body))),
    );
    response.headers_mut().insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(error.error_type),
    );
    response
}

/// An HTTP error answer, as Bedrock sends it.
#[derive(Debug, Clone)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) error_type: &'static str,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn new(
        status: StatusCode,
        error_type: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            error_type,
            message: message.into(),
        }
    }

    pub(super) fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    pub(super) fn throttling() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        )
    }

    /// `[[error:CODE]]`: CODE is an HTTP status or an exception name.
    pub(super) fn from_code(code: &str) -> Option<ApiError> {
        const ERRORS: [(u16, &str, &str); 9] = [
            (
                400,
                "ValidationException",
                "The provided request is not valid.",
            ),
            (
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            ),
            (
                404,
                "ResourceNotFoundException",
                "The specified model could not be found.",
            ),
            (
                408,
                "ModelTimeoutException",
                "Model has timed out in processing the request. Try your request again.",
            ),
            (424, "ModelErrorException", "The model returned an error."),
            (
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            (
                500,
                "InternalServerException",
                "The server encountered an internal error while processing the request.",
            ),
            (
                503,
                "ServiceUnavailableException",
                "The service is temporarily unable to handle the request.",
            ),
            (
                429,
                "ModelNotReadyException",
                "The model is not ready to serve inference requests. Try again later.",
            ),
        ];
        let found = match code.parse::<u16>() {
            Ok(status) => ERRORS.iter().find(|(s, _, _)| *s == status),
            Err(_) => ERRORS.iter().find(|(_, name, _)| *name == code),
        }?;
        let (status, error_type, message) = *found;
        Some(ApiError::new(
            StatusCode::from_u16(status).expect("a valid status"),
            error_type,
            message,
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExceptionKind {
    ModelStream,
    Throttling,
    InternalServer,
    ServiceUnavailable,
    Validation,
}

impl ExceptionKind {
    pub(super) fn parse(kind: &str) -> Option<ExceptionKind> {
        Some(match kind {
            "model" => ExceptionKind::ModelStream,
            "throttling" => ExceptionKind::Throttling,
            "internal" => ExceptionKind::InternalServer,
            "unavailable" => ExceptionKind::ServiceUnavailable,
            "validation" => ExceptionKind::Validation,
            _ => return None,
        })
    }

    pub(super) fn describe(self) -> (&'static str, &'static str) {
        match self {
            ExceptionKind::ModelStream => (
                "modelStreamErrorException",
                "The model stream failed while generating the response.",
            ),
            ExceptionKind::Throttling => (
                "throttlingException",
                "Too many requests, please wait before trying again.",
            ),
            ExceptionKind::InternalServer => (
                "internalServerException",
                "The server encountered an internal error while processing the request.",
            ),
            ExceptionKind::ServiceUnavailable => (
                "serviceUnavailableException",
                "The service is temporarily unable to handle the request.",
            ),
            ExceptionKind::Validation => {
                ("validationException", "The provided request is not valid.")
            }
        }
    }
}
