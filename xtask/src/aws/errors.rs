//! SDK errors as sentences: AWS's code and message with what to do, the credential chain's
//! problems, and answers the SDK could not read (operation, HTTP status, request id and a
//! sanitized excerpt of the body, never a debug dump).

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::review::{UnreadableAnswer, explain_api_error, explain_unreadable_answer, sanitize};

/// An SDK error as one clear sentence: what we were doing, then what went wrong and what to do
/// about it.
pub fn api_error<E>(doing: &str, err: SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    anyhow::anyhow!("{doing}: {}", describe(&err))
}

/// What went wrong in an SDK call, without what we were doing.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(code) = err.code() {
        return explain_api_error(code, err.message().unwrap_or(""));
    }
    if let Some(problem) = credentials_problem(err) {
        return problem;
    }
    let operation = Operation::of::<E>();
    match err {
        SdkError::ServiceError(context) => unreadable(&operation, context.raw()),
        SdkError::ResponseError(context) => unreadable(&operation, context.raw()),
        SdkError::DispatchFailure(_) => format!(
            "could not reach {}{}: {}",
            operation.name,
            operation
                .endpoint
                .as_deref()
                .map(|e| format!(" at {}", sanitize(e, 120)))
                .unwrap_or_default(),
            innermost_cause(err)
        ),
        SdkError::TimeoutError(_) => format!(
            "{} did not answer in time ({}): run the command again",
            operation.name,
            innermost_cause(err)
        ),
        _ => format!(
            "the {} request could not be made: {}",
            operation.name,
            innermost_cause(err)
        ),
    }
}

fn unreadable(operation: &Operation, raw: &HttpResponse) -> String {
    let headers = raw.headers();
    let request_id = ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"]
        .iter()
        .find_map(|name| headers.get(*name));
    explain_unreadable_answer(&UnreadableAnswer {
        operation: &operation.name,
        status: raw.status().as_u16(),
        request_id,
        body: raw.body().bytes().unwrap_or_default(),
        endpoint: operation.endpoint.as_deref(),
    })
}

/// The last cause of an error's chain, on one line: what actually failed.
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    sanitize(&last.to_string(), 300)
}

/// The service and operation an SDK error type belongs to, read from its type path
/// (`aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError`), and the endpoint
/// the environment points that service at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `CloudFormation DescribeStacks`.
    pub name: String,
    pub endpoint: Option<String>,
}

impl Operation {
    pub fn of<E>() -> Operation {
        let path = std::any::type_name::<E>();
        let krate = path.split("::").next().unwrap_or_default();
        let service = krate.strip_prefix("aws_sdk_").unwrap_or(krate);
        let operation = path
            .rsplit("::")
            .next()
            .unwrap_or_default()
            .trim_end_matches("Error");
        let service_name = match service {
            "cloudformation" => "CloudFormation",
            "cloudfront" => "CloudFront",
            "s3" => "S3",
            "sts" => "STS",
            "bedrock" => "Bedrock",
            "lambda" => "Lambda",
            "acm" => "ACM",
            other => other,
        };
        let name = if operation.is_empty() {
            service_name.to_owned()
        } else {
            format!("{service_name} {operation}")
        };
        let endpoint = [
            format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase()),
            "AWS_ENDPOINT_URL".to_owned(),
        ]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|url| !url.is_empty()));
        Operation { name, endpoint }
    }
}

/// When an SDK error comes from the credential chain (no credentials anywhere, an expired SSO
/// session, a failing `credential_process`), one sentence saying so and how to fix it.
///
/// The SDK reports these as a dispatch failure whose sources end in the credential provider's
/// error; its display texts are the stable part of that chain.
fn credentials_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut causes = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    let at = causes.iter().position(|c| {
        c.contains("credential provider was not enabled")
            || c.contains("credentials provider")
            || c.contains("loading credentials")
            || c.contains("credentials error")
    })?;
    let fix = "set AWS_PROFILE (after `aws sso login --profile …` for an SSO profile) or \
               AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and check them with `aws sts \
               get-caller-identity`";
    if causes[at].contains("not enabled") {
        return Some(format!("no AWS credentials found: {fix}"));
    }
    // The innermost cause is the provider's own words (an expired SSO token, a failing
    // process), kept on one line.
    let detail = causes[at + 1..]
        .last()
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| causes[at].clone());
    // A credential process that printed nothing ends its message with an empty `Stderr:`.
    let detail = detail
        .trim_end_matches("Stderr:")
        .trim()
        .trim_end_matches('.');
    Some(format!(
        "the AWS credentials could not be loaded ({detail}): {fix}"
    ))
}

/// Whether an SDK error carries AWS error `code` and, when given, a message containing `text`.
pub fn is_error<E: ProvideErrorMetadata>(err: &E, code: &str, text: Option<&str>) -> bool {
    err.code() == Some(code) && text.is_none_or(|t| err.message().unwrap_or("").contains(t))
}
