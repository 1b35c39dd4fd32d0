//! Names shared by the chat service (`app/`) and the stack model (`xtask/`).
//!
//! The template (rendered by `xtask`) and the running service must agree on these: environment
//! variables, table key names, routes and metric names. They are defined here once, so a rename
//! breaks the build instead of the deploy.

/// Lambda environment variables the service reads at start (see `crate::config`).
pub mod env_vars {
    /// Environment name (`dev`, `staging`, `prod`), used in logs and metric dimensions.
    pub const ENVIRONMENT: &str = "CHATBOT_ENVIRONMENT";
    /// DynamoDB table holding history, rate windows and the daily budget.
    pub const TABLE_NAME: &str = "CHATBOT_TABLE_NAME";
    /// JSON array of `{"id": "...", "name": "..."}`: the models a request may ask for.
    pub const MODELS: &str = "CHATBOT_MODELS";
    /// Id of the model used when a request names none; must be one of `MODELS`.
    pub const DEFAULT_MODEL: &str = "CHATBOT_DEFAULT_MODEL";
    /// System prompt sent with every conversation.
    pub const SYSTEM_PROMPT: &str = "CHATBOT_SYSTEM_PROMPT";
    /// Largest number of output tokens asked of the model per answer.
    pub const MAX_OUTPUT_TOKENS: &str = "CHATBOT_MAX_OUTPUT_TOKENS";
    /// Chat requests one client address may make per rate window.
    pub const RATE_LIMIT: &str = "CHATBOT_RATE_LIMIT";
    /// Length of a rate window in seconds.
    pub const RATE_WINDOW_SECONDS: &str = "CHATBOT_RATE_WINDOW_SECONDS";
    /// Leading bits of an IPv6 address that name one client for the rate limit (1 to 128;
    /// [`DEFAULT_IPV6_PREFIX_LENGTH`](crate::DEFAULT_IPV6_PREFIX_LENGTH) when unset): every
    /// address in one such network shares one rate window. IPv4 addresses count one by one.
    pub const IPV6_PREFIX_LENGTH: &str = "CHATBOT_IPV6_PREFIX_LENGTH";
    /// Tokens (input + output) the whole environment may spend per UTC day.
    pub const DAILY_TOKEN_BUDGET: &str = "CHATBOT_DAILY_TOKEN_BUDGET";
    /// Days a conversation is kept before DynamoDB's TTL removes it.
    pub const HISTORY_DAYS: &str = "CHATBOT_HISTORY_DAYS";
    /// JSON array of strings: the prompts the page offers on an empty chat (`[]` for none).
    pub const STARTER_PROMPTS: &str = "CHATBOT_STARTER_PROMPTS";
    /// The value CloudFront sends in [`ORIGIN_VERIFY_HEADER`](crate::ORIGIN_VERIFY_HEADER) with
    /// every request it passes to the API. When set, an `/api` request without it is refused,
    /// so a caller of the `execute-api` URL cannot skip CloudFront (and forge the viewer
    /// address the rate limit counts). The template fills it from a Secrets Manager secret;
    /// `bootstrap` refuses to start without it, local runs may leave it unset.
    pub const ORIGIN_SECRET: &str = "CHATBOT_ORIGIN_SECRET";
    /// While the origin secret is rotated, the value CloudFront sent before: accepted too, so
    /// the edges that have not yet switched to the new value are still answered. Empty outside
    /// a rotation; set only together with [`ORIGIN_SECRET`].
    pub const ORIGIN_SECRET_PREVIOUS: &str = "CHATBOT_ORIGIN_SECRET_PREVIOUS";

    /// Id (or ARN) of the Amazon Bedrock guardrail every model call goes through. Unset: calls
    /// go without a guardrail, and the other `GUARDRAIL_*` variables must be unset too.
    pub const GUARDRAIL_ID: &str = "CHATBOT_GUARDRAIL_ID";
    /// The guardrail version the calls name: a published version number (`DRAFT` for trials).
    pub const GUARDRAIL_VERSION: &str = "CHATBOT_GUARDRAIL_VERSION";
    /// `sync` (each streamed chunk is checked before it is sent) or `async` (sent at once,
    /// checked alongside; no masking): ConverseStream's `streamProcessingMode`.
    pub const GUARDRAIL_STREAM_PROCESSING: &str = "CHATBOT_GUARDRAIL_STREAM_PROCESSING";
    /// What the page shows when the guardrail blocks a prompt; the guardrail's
    /// `BlockedInputMessaging`, rendered from the same env-file value.
    pub const GUARDRAIL_BLOCKED_INPUT_MESSAGE: &str = "CHATBOT_GUARDRAIL_BLOCKED_INPUT_MESSAGE";
    /// What the page shows when the guardrail blocks an answer; `BlockedOutputsMessaging`.
    pub const GUARDRAIL_BLOCKED_OUTPUT_MESSAGE: &str = "CHATBOT_GUARDRAIL_BLOCKED_OUTPUT_MESSAGE";

    /// The guardrail's variables: set all together in an environment with a guardrail, none
    /// in one without.
    pub const GUARDRAIL: [&str; 5] = [
        GUARDRAIL_ID,
        GUARDRAIL_VERSION,
        GUARDRAIL_STREAM_PROCESSING,
        GUARDRAIL_BLOCKED_INPUT_MESSAGE,
        GUARDRAIL_BLOCKED_OUTPUT_MESSAGE,
    ];

    /// Every variable above but the guardrail's, for checks that the template sets all of them.
    pub const ALL: [&str; 14] = [
        ENVIRONMENT,
        TABLE_NAME,
        MODELS,
        DEFAULT_MODEL,
        SYSTEM_PROMPT,
        MAX_OUTPUT_TOKENS,
        RATE_LIMIT,
        RATE_WINDOW_SECONDS,
        IPV6_PREFIX_LENGTH,
        DAILY_TOKEN_BUDGET,
        HISTORY_DAYS,
        STARTER_PROMPTS,
        ORIGIN_SECRET,
        ORIGIN_SECRET_PREVIOUS,
    ];
}

/// The DynamoDB table's key schema and TTL attribute.
pub mod table {
    pub const PARTITION_KEY: &str = "pk";
    pub const SORT_KEY: &str = "sk";
    pub const TTL_ATTRIBUTE: &str = "expires_at";

    /// The DynamoDB operations the service calls on its table, and so the only actions its role
    /// is granted (`dynamodb:<operation>`). Keep it exact: the store's contract tests record
    /// every operation that reaches DynamoDB and compare them with this list.
    pub const OPERATIONS: [&str; 5] = [
        "BatchWriteItem",
        "GetItem",
        "PutItem",
        "Query",
        "UpdateItem",
    ];
}

/// CloudWatch embedded-metric-format names the service writes and the template's alarms read.
pub mod metrics {
    pub const NAMESPACE: &str = "Chatbot";
    /// Dimension carrying the environment name on every metric.
    pub const DIMENSION: &str = "Environment";
    /// Count of chat requests refused by the per-client rate limit.
    pub const RATE_LIMITED: &str = "RateLimited";
    /// Count of chat requests refused because the daily token budget is spent.
    pub const BUDGET_EXHAUSTED: &str = "BudgetExhausted";
    /// Tokens sent to the model.
    pub const INPUT_TOKENS: &str = "InputTokens";
    /// Tokens received from the model.
    pub const OUTPUT_TOKENS: &str = "OutputTokens";
    /// Percentage of the daily token budget spent so far, written after each answer.
    pub const BUDGET_USED_PERCENT: &str = "BudgetUsedPercent";
    /// Milliseconds from the model call to its last token.
    pub const MODEL_LATENCY: &str = "ModelLatency";
    /// Count of model calls that failed (after retries).
    pub const MODEL_ERRORS: &str = "ModelErrors";
    /// Count of model calls refused with throttling (before retries).
    pub const MODEL_THROTTLES: &str = "ModelThrottles";
    /// Count of store (DynamoDB) operations that failed.
    pub const STORE_ERRORS: &str = "StoreErrors";
    /// Count of chat turns a guardrail blocked (the prompt or the answer).
    pub const GUARDRAIL_BLOCKED: &str = "GuardrailBlocked";
    /// Count of API requests refused because they did not come through CloudFront (no or a
    /// wrong [`ORIGIN_VERIFY_HEADER`](crate::ORIGIN_VERIFY_HEADER)).
    pub const ORIGIN_REFUSED: &str = "OriginRefused";
    /// Count of answers a reader rated good (thumbs up), each time a rating is given or changed.
    pub const FEEDBACK_POSITIVE: &str = "FeedbackPositive";
    /// Count of answers a reader rated bad (thumbs down), each time a rating is given or changed.
    pub const FEEDBACK_NEGATIVE: &str = "FeedbackNegative";
}

/// An HTTP route of the API, as the router serves it and the OpenAPI body describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// Path with `{name}` placeholders, as OpenAPI writes them.
    pub path: &'static str,
    pub summary: &'static str,
}

/// The IPv6 prefix length the rate limit counts one client by when the environment names none:
/// a `/64` is the smallest network an ISP or a cloud hands a single site or host.
pub const DEFAULT_IPV6_PREFIX_LENGTH: u8 = 64;

/// Most starter prompts an environment may offer ([`env_vars::STARTER_PROMPTS`]).
pub const STARTER_PROMPTS_MAX: usize = 6;
/// Most characters in one starter prompt.
pub const STARTER_PROMPT_MAX_CHARS: usize = 200;

/// Prefix of every API route; CloudFront sends `/api/*` to the API origin.
pub const API_PREFIX: &str = "/api";

/// The header CloudFront adds to every request it sends to the API origin, carrying the value
/// of [`env_vars::ORIGIN_SECRET`]. Lower case, as HTTP/2 and the `http` crate write names.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// The header CloudFront also adds to every request it sends to the API origin, with the same
/// secret as [`ORIGIN_VERIFY_HEADER`]: API Gateway's API key, which every method requires, so
/// a request without it is refused by API Gateway before the function runs.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The answer to a request that did not come through CloudFront, from API Gateway (a missing or
/// wrong API key) and from the function (a missing or wrong origin header) alike.
pub mod forbidden {
    /// The error body's `code`.
    pub const CODE: &str = "forbidden";
    /// The error body's `message`.
    pub const MESSAGE: &str = "this API answers only requests sent through the chatbot's site, not to its API Gateway address";
}

/// Every route the service answers. The OpenAPI body of the REST API is generated from this list.
pub const ROUTES: [Route; 8] = [
    Route {
        method: "POST",
        path: "/api/chat",
        summary: "Send a message; JSON reply or server-sent events",
    },
    Route {
        method: "GET",
        path: "/api/sessions/{id}/messages",
        summary: "A session's history",
    },
    Route {
        method: "PUT",
        path: "/api/sessions/{id}/messages/{message_id}/feedback",
        summary: "Rate an answer: thumbs up, down, or neither",
    },
    Route {
        method: "POST",
        path: "/api/sessions/{id}/messages/{message_id}/stop",
        summary: "Cut a stopped answer to what the reader saw",
    },
    Route {
        method: "DELETE",
        path: "/api/sessions/{id}",
        summary: "Delete a session and its history",
    },
    Route {
        method: "GET",
        path: "/api/models",
        summary: "Models this deployment allows",
    },
    Route {
        method: "GET",
        path: "/api/health",
        summary: "Liveness and version",
    },
    Route {
        method: "GET",
        path: "/api/openapi.json",
        summary: "This API's OpenAPI document",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_are_distinct_and_prefixed() {
        for (i, name) in env_vars::ALL.iter().enumerate() {
            assert!(name.starts_with("CHATBOT_"), "{name}");
            assert!(!env_vars::ALL[..i].contains(name), "{name} is listed twice");
        }
        assert!(env_vars::ALL.contains(&env_vars::ORIGIN_SECRET));
        for (i, name) in env_vars::GUARDRAIL.iter().enumerate() {
            assert!(name.starts_with("CHATBOT_GUARDRAIL_"), "{name}");
            assert!(
                !env_vars::ALL.contains(name),
                "{name} is set only with a guardrail"
            );
            assert!(
                !env_vars::GUARDRAIL[..i].contains(name),
                "{name} is listed twice"
            );
        }
    }

    #[test]
    fn the_origin_headers_are_lower_case_custom_names() {
        for header in [ORIGIN_VERIFY_HEADER, API_KEY_HEADER] {
            assert!(header.starts_with("x-"));
            assert!(header.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
        assert_ne!(ORIGIN_VERIFY_HEADER, API_KEY_HEADER);
    }

    #[test]
    fn the_forbidden_message_can_go_into_a_json_template_as_it_is() {
        assert!(!forbidden::MESSAGE.contains(['"', '\\', '$', '#']));
    }
}
