//! AWS error responses turned into sentences that say what to do.

/// A one-line explanation of an AWS error `code` with its `message`, plus what to do about it
/// where that is known. No trailing period.
pub fn explain_api_error(code: &str, message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let hint = match code {
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => Some(
            "the AWS credentials have expired: sign in again (`aws sso login --profile …`) or \
             refresh them",
        ),
        "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" => Some(
            "the AWS credentials are not valid here: check AWS_PROFILE, AWS_ACCESS_KEY_ID and \
             the region",
        ),
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => Some(
            "the caller lacks a permission: see docs/deploy.md for the policy a deployer needs",
        ),
        "InsufficientCapabilitiesException" => Some(
            "the template needs capabilities the request did not acknowledge; this is a bug in \
             cargo xtask",
        ),
        "Throttling" | "ThrottlingException" | "TooManyRequestsException" => {
            Some("AWS throttled the requests: wait a minute and run the command again")
        }
        "ChangeSetNotFound" | "ChangeSetNotFoundException" => Some(
            "the reviewed change set is gone (executed, deleted or expired): review again with \
             `cargo xtask diff --out PLAN`",
        ),
        "InvalidChangeSetStatus" => Some(
            "the change set cannot run now: the stack changed or the change set was already \
             executed; review again",
        ),
        "LimitExceededException" => {
            Some("an account quota was reached: raise it or remove unused stacks")
        }
        "NoSuchBucket" => Some("the bucket does not exist: run the deploy again to create it"),
        _ => None,
    };
    if code == "ValidationError" {
        if message.contains("does not exist") {
            return format!("{message}: deploy it first with `cargo xtask deploy --env …`");
        }
        if message.contains("No updates are to be performed") {
            return "no changes: the deployed stack matches the template and parameters".to_owned();
        }
        if message.contains("_IN_PROGRESS state") {
            return format!("{message}: another deploy is running; wait for it to finish");
        }
        if message.contains("ROLLBACK_COMPLETE state") {
            return format!(
                "{message}: the stack's first create failed; `cargo xtask deploy` deletes and \
                 creates it again after asking"
            );
        }
    }
    match hint {
        Some(hint) => format!("{hint} ({code}: {message})"),
        None => format!("{code}: {message}"),
    }
}
