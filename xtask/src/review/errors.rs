//! AWS error responses turned into sentences that say what to do.

/// A one-line explanation of an AWS error `code` with its `message`, plus what to do about it
/// where that is known. No trailing period.
pub fn explain_api_error(code: &str, message: &str) -> String {
    let code = sanitize(code, 100);
    let code = code.as_str();
    let message = sanitize(message, 2000);
    let message = message.trim_end_matches('.');
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

/// An AWS answer the SDK could not read: an emulator answering JSON where XML belongs, a
/// proxy's HTML error page, an empty 500.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableAnswer<'a> {
    /// Service and operation, e.g. `CloudFormation DescribeStacks`.
    pub operation: &'a str,
    pub status: u16,
    pub request_id: Option<&'a str>,
    pub body: &'a [u8],
    /// The endpoint URL the environment sets for this service (`AWS_ENDPOINT_URL…`), if any.
    pub endpoint: Option<&'a str>,
}

/// Characters of an answer's body shown when it cannot be read.
const EXCERPT_CHARS: usize = 160;

/// One sentence: which operation, its HTTP status and request id, what the body starts with,
/// and the likeliest cause. No trailing period.
pub fn explain_unreadable_answer(answer: &UnreadableAnswer<'_>) -> String {
    let request_id = answer
        .request_id
        .map(|id| format!(", request id {}", sanitize(id, 80)))
        .unwrap_or_default();
    let body = if answer.body.iter().all(u8::is_ascii_whitespace) {
        "an empty body".to_owned()
    } else {
        format!(
            "a body it cannot read: `{}`",
            body_excerpt(answer.body).replace('`', "'")
        )
    };
    let cause = match answer.endpoint {
        Some(endpoint) => format!(
            "the environment points this service at {} (AWS_ENDPOINT_URL…): check that the \
             server there speaks the AWS API, or unset the variable",
            sanitize(endpoint, 120)
        ),
        None if looks_like_html(answer.body) => {
            "a proxy or captive portal answered instead of AWS: check HTTPS_PROXY and the network"
                .to_owned()
        }
        None if answer.status >= 500 => {
            "AWS, or something between here and AWS, failed: run the command again in a minute"
                .to_owned()
        }
        None => "this AWS SDK does not understand the answer: run the command again, and report \
                 it if it persists"
            .to_owned(),
    };
    format!(
        "{} answered HTTP {}{request_id} with {body}; {cause}",
        answer.operation, answer.status
    )
}

/// The start of a body as one short, printable line: an HTML page by its title (or its text),
/// control characters and bidirectional overrides removed, whitespace collapsed, at most
/// [`EXCERPT_CHARS`] characters.
pub fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = if looks_like_html(body) {
        html_title(&text).unwrap_or_else(|| strip_tags(&text))
    } else {
        text.into_owned()
    };
    sanitize(&text, EXCERPT_CHARS)
}

/// `text` as one printable line of at most `max` characters.
pub fn sanitize(text: &str, max: usize) -> String {
    let printable: String = text
        .chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi { ' ' } else { c }
        })
        .collect();
    let line = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    super::shorten(&line, max)
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html") || start.contains("<body")
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title = html[open_end..close].trim();
    (!title.is_empty()).then(|| title.to_owned())
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
