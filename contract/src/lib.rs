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
    /// JSON array of `{"id": "...", "name": "...", "price": {...}}`: the models a request may
    /// ask for. `price` (optional for the service, always set by the template) holds what the
    /// model costs in micro-dollars (US$ 0.000001) per million tokens: `input`, `output`, and
    /// `cache_read` / `cache_write` where the model has them, with `as_of`, the date the
    /// prices were taken from the AWS price list (see [`crate::pricing`]).
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
    /// Micro-dollars (US$ 0.000001) the whole environment may spend on the model per UTC day,
    /// priced with the models' `price`. Optional: unset, only the token budget applies; set,
    /// whichever of the two is reached first stops the day's chats, and every model must have
    /// a price.
    pub const DAILY_COST_BUDGET_MICRO_USD: &str = "CHATBOT_DAILY_COST_BUDGET_MICRO_USD";
    /// Items the day's budget is spread over (1 to [`MAX_BUDGET_SHARDS`](crate::budget::MAX_SHARDS)):
    /// each answer adds its spend to one of them and the total is read from all, so no single
    /// item takes every answer's write (see [`crate::budget`]). Unset: one item.
    pub const BUDGET_SHARDS: &str = "CHATBOT_BUDGET_SHARDS";
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

    /// Who may use the API: `public` (anyone; the default when unset) or `users` (people
    /// signed in with the environment's identity provider; every route but the public ones of
    /// [`ROUTES`](crate::ROUTES) needs an access token). The `AUTH_*` and `USER_*` variables
    /// below are read only in `users` mode.
    pub const AUTH_MODE: &str = "CHATBOT_AUTH_MODE";
    /// The issuer (`iss`) of the access tokens the API accepts, e.g.
    /// `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc`.
    pub const AUTH_ISSUER: &str = "CHATBOT_AUTH_ISSUER";
    /// Where the issuer publishes its signing keys (a JSON Web Key Set).
    pub const AUTH_JWKS_URL: &str = "CHATBOT_AUTH_JWKS_URL";
    /// The page's app client id: an access token must have been issued to it (`client_id`).
    pub const AUTH_CLIENT_ID: &str = "CHATBOT_AUTH_CLIENT_ID";
    /// The issuer's authorization endpoint, where the page sends people to sign in.
    pub const AUTH_AUTHORIZE_URL: &str = "CHATBOT_AUTH_AUTHORIZE_URL";
    /// The issuer's token endpoint, where the page trades a code or a refresh token.
    pub const AUTH_TOKEN_URL: &str = "CHATBOT_AUTH_TOKEN_URL";
    /// The issuer's sign-out endpoint (Cognito `/logout`, OpenID `end_session_endpoint`).
    pub const AUTH_LOGOUT_URL: &str = "CHATBOT_AUTH_LOGOUT_URL";
    /// Chat turns one signed-in person may take per window. Unset: [`RATE_LIMIT`].
    pub const USER_RATE_LIMIT: &str = "CHATBOT_USER_RATE_LIMIT";
    /// Length of a person's rate window in seconds. Unset: [`RATE_WINDOW_SECONDS`].
    pub const USER_RATE_WINDOW_SECONDS: &str = "CHATBOT_USER_RATE_WINDOW_SECONDS";
    /// Tokens (input + output) one person may spend per UTC day, within the environment's
    /// [`DAILY_TOKEN_BUDGET`]. Unset: the environment's budget.
    pub const USER_DAILY_TOKEN_QUOTA: &str = "CHATBOT_USER_DAILY_TOKEN_QUOTA";

    /// The values [`AUTH_MODE`] takes.
    pub mod auth_mode {
        pub const PUBLIC: &str = "public";
        pub const USERS: &str = "users";
    }

    /// The variables `users` mode requires besides [`AUTH_MODE`].
    pub const AUTH_REQUIRED: [&str; 6] = [
        AUTH_ISSUER,
        AUTH_JWKS_URL,
        AUTH_CLIENT_ID,
        AUTH_AUTHORIZE_URL,
        AUTH_TOKEN_URL,
        AUTH_LOGOUT_URL,
    ];

    /// Every sign-in variable: set in an environment in `users` mode (the `USER_*` limits may
    /// be left unset there), none but [`AUTH_MODE`] in a public one.
    pub const AUTH: [&str; 10] = [
        AUTH_MODE,
        AUTH_ISSUER,
        AUTH_JWKS_URL,
        AUTH_CLIENT_ID,
        AUTH_AUTHORIZE_URL,
        AUTH_TOKEN_URL,
        AUTH_LOGOUT_URL,
        USER_RATE_LIMIT,
        USER_RATE_WINDOW_SECONDS,
        USER_DAILY_TOKEN_QUOTA,
    ];

    /// Every variable above but the guardrail's and [`DAILY_COST_BUDGET_MICRO_USD`] (set only
    /// when the environment has a dollar budget), for checks that the template sets all of them.
    pub const ALL: [&str; 15] = [
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
        BUDGET_SHARDS,
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

    /// The global secondary index listing a person's chats, newest activity first (see
    /// docs/storage.md): partition key [`OWNER_ATTRIBUTE`], sort key [`ACTIVITY_ATTRIBUTE`],
    /// on the chats' summary items only (a sparse index: public chats have no owner).
    pub const OWNER_INDEX: &str = "owner-activity";
    /// The signed-in person (`U#<sub>`) a chat belongs to; the index's partition key (S).
    pub const OWNER_ATTRIBUTE: &str = "owner";
    /// Milliseconds since the epoch of a chat's last message; the index's sort key (N).
    pub const ACTIVITY_ATTRIBUTE: &str = "updated_at";

    /// The DynamoDB operations the service calls on its table, and so the only actions its role
    /// is granted (`dynamodb:<operation>`). Keep it exact: the store's contract tests record
    /// every operation that reaches DynamoDB and compare them with this list.
    pub const OPERATIONS: [&str; 6] = [
        "BatchGetItem",
        "BatchWriteItem",
        "GetItem",
        "PutItem",
        "Query",
        "UpdateItem",
    ];
}

/// How the day's budget is laid out in the table, and the ceilings DynamoDB puts on it.
///
/// DynamoDB serves at most [`PARTITION_WRITES_PER_SECOND`] writes and
/// [`PARTITION_READS_PER_SECOND`] strongly consistent reads per second to one partition key,
/// however much on-demand capacity the table has. An item every answer writes caps the whole
/// environment at that rate; spread over `shards` items (each answer adds to one), the ceiling
/// is `shards` times higher. Every instance reads all shards at most once per
/// [`CACHE_MILLIS`], so reads per shard grow with instances, not with answers.
pub mod budget {
    /// Partition-key writes per second DynamoDB serves (1 KB items; the budget's are smaller).
    pub const PARTITION_WRITES_PER_SECOND: u64 = 1_000;
    /// Strongly consistent partition-key reads per second DynamoDB serves.
    pub const PARTITION_READS_PER_SECOND: u64 = 3_000;
    /// Largest shard count the service and the env files accept.
    pub const MAX_SHARDS: u32 = 1_000;
    /// How long an instance reuses the day's total it read from the shards before reading
    /// them again (its own additions are counted at once).
    pub const CACHE_MILLIS: u64 = 1_000;
    /// Share of a shard's write ceiling a derived shard count plans for at the stage's
    /// steady rate, so the budget item is never what throttles first.
    pub const PLANNED_WRITES_PER_SHARD: u64 = PARTITION_WRITES_PER_SECOND / 2;

    /// The shard count an environment gets when its env file names none: enough for every
    /// request the API stage lets through per second to be an answer, each shard planned at
    /// half its write ceiling.
    pub fn shards_for_rate(requests_per_second: u64) -> u32 {
        let shards = requests_per_second
            .div_ceil(PLANNED_WRITES_PER_SHARD)
            .max(1);
        u32::try_from(shards).unwrap_or(MAX_SHARDS).min(MAX_SHARDS)
    }
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
    /// Percentage of the daily budget spent so far, written after each answer: the larger of
    /// the token budget's share and (when there is one) the dollar budget's.
    pub const BUDGET_USED_PERCENT: &str = "BudgetUsedPercent";
    /// What each answer cost, in micro-dollars (US$ 0.000001), at the model's price; the sum
    /// over a period is the model spend of that period.
    pub const COST: &str = "CostMicroUsd";
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
    /// Count of API requests refused in `users` mode for want of a valid access token.
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// Count of chat requests refused because the person's daily token quota is spent.
    pub const QUOTA_EXHAUSTED: &str = "QuotaExhausted";
    /// Count of answers a reader rated good (thumbs up), each time a rating is given or changed.
    pub const FEEDBACK_POSITIVE: &str = "FeedbackPositive";
    /// Count of answers a reader rated bad (thumbs down), each time a rating is given or changed.
    pub const FEEDBACK_NEGATIVE: &str = "FeedbackNegative";
}

/// How much text the service sends the model per turn, at most: the review of spend
/// (`cargo xtask diff`) bounds what one turn can cost with these.
pub mod limits {
    /// Characters of the new message a chat request may carry.
    pub const MAX_MESSAGE_CHARS: usize = 8_000;
    /// Characters of earlier messages sent along with it; older ones are dropped first.
    pub const MAX_HISTORY_CHARS: usize = 60_000;
}

/// Money in exact integers: what model tokens cost.
///
/// Prices are micro-dollars (US$ 0.000001) per million tokens, as the AWS price list quotes
/// them per million; a cost is the exact sum of tokens × price, rounded once to the nearest
/// micro-dollar, halves up. No floating point anywhere, so a day's spend adds up exactly.
pub mod pricing {
    use std::fmt;

    /// Micro-dollars in one US dollar.
    pub const MICRO_USD_PER_USD: u64 = 1_000_000;
    /// The number of tokens a price is for.
    pub const TOKENS_PER_PRICE: u64 = 1_000_000;

    /// What a model charges, in micro-dollars per million tokens.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct TokenPrices {
        pub input: u64,
        pub output: u64,
        /// Input tokens read from the prompt cache; `None`: the model has no such price, and
        /// such tokens cost what input tokens cost.
        pub cache_read: Option<u64>,
        /// Input tokens written to the prompt cache; `None` as for `cache_read`.
        pub cache_write: Option<u64>,
    }

    /// The tokens of one model call, as Bedrock reports them (cache tokens apart from input).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct TokenCounts {
        pub input: u64,
        pub output: u64,
        pub cache_read: u64,
        pub cache_write: u64,
    }

    impl TokenPrices {
        /// The cost of `tokens` in micro-dollars: Σ tokens × price / 1,000,000, computed
        /// exactly and rounded to the nearest micro-dollar (halves up).
        pub fn cost_micro_usd(&self, tokens: &TokenCounts) -> u64 {
            let terms = [
                (tokens.input, self.input),
                (tokens.output, self.output),
                (tokens.cache_read, self.cache_read.unwrap_or(self.input)),
                (tokens.cache_write, self.cache_write.unwrap_or(self.input)),
            ];
            let exact: u128 = terms
                .iter()
                .map(|&(count, price)| u128::from(count) * u128::from(price))
                .sum();
            let rounded = divide_rounding_half_up(exact, u128::from(TOKENS_PER_PRICE));
            u64::try_from(rounded).unwrap_or(u64::MAX)
        }

        /// The highest of the prices: what the costliest token of this model costs.
        pub fn highest(&self) -> u64 {
            [
                Some(self.input),
                Some(self.output),
                self.cache_read,
                self.cache_write,
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0)
        }
    }

    /// `numerator / denominator` rounded to the nearest integer, halves up; 0 for a zero
    /// denominator.
    pub fn divide_rounding_half_up(numerator: u128, denominator: u128) -> u128 {
        if denominator == 0 {
            return 0;
        }
        let quotient = numerator / denominator;
        let remainder = numerator % denominator;
        if remainder * 2 >= denominator {
            quotient + 1
        } else {
            quotient
        }
    }

    /// An amount of micro-dollars shown as dollars: `$0.001234`, `$1.50`, `$1,234.00`; at
    /// least two decimals, more only when they are not zero.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub struct Usd(pub u64);

    impl fmt::Display for Usd {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let dollars = self.0 / MICRO_USD_PER_USD;
            let micros = self.0 % MICRO_USD_PER_USD;
            let mut fraction = format!("{micros:06}");
            while fraction.len() > 2 && fraction.ends_with('0') {
                fraction.pop();
            }
            write!(f, "${}.{fraction}", grouped(dollars))
        }
    }

    /// A whole number with thousands separated: `1,234,567`.
    pub fn grouped(value: u64) -> String {
        let digits = value.to_string();
        let mut out = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(digit);
        }
        out
    }
}

/// An HTTP route of the API, as the router serves it and the OpenAPI body describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// Path with `{name}` placeholders, as OpenAPI writes them.
    pub path: &'static str,
    pub summary: &'static str,
    /// In `users` mode, answered only with a valid access token (the page's routes); `false`
    /// for the routes anyone may call in every mode.
    pub signed_in: bool,
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

/// The page's Content-Security-Policy: only this origin's scripts, styles and API; no framing,
/// plugins or foreign forms. CloudFront's response headers policy adds it to the deployed page,
/// and `chatbot-local` to the page it serves, so a local run breaks where the deployed page would.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// [`CONTENT_SECURITY_POLICY`] that also lets the page connect to `origin`: a sign-in
/// environment's token endpoint, where the page trades a code or a refresh token.
pub fn content_security_policy_connecting_to(origin: &str) -> String {
    CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'",
        &format!("connect-src 'self' {origin}"),
    )
}

/// The answer to a request that did not come through CloudFront, from API Gateway (a missing or
/// wrong API key) and from the function (a missing or wrong origin header) alike.
pub mod forbidden {
    /// The error body's `code`.
    pub const CODE: &str = "forbidden";
    /// The error body's `message`.
    pub const MESSAGE: &str = "this API answers only requests sent through the chatbot's site, not to its API Gateway address";
}

/// The answer to a request without a valid access token in `users` mode, from the function and
/// (for API Gateway's Cognito authorizer) from the gateway alike: `401` with
/// `WWW-Authenticate: Bearer realm="<REALM>"...` and the usual error body.
pub mod unauthorized {
    /// The error body's `code`.
    pub const CODE: &str = "unauthorized";
    /// The `realm` of the `WWW-Authenticate` challenge.
    pub const REALM: &str = "chatbot";
}

/// The scopes the page asks the identity provider for.
pub const AUTH_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// Every route the service answers. The OpenAPI body of the REST API is generated from this list.
/// The two `users`-mode routes answer 404 in a public environment.
pub const ROUTES: [Route; 10] = [
    Route {
        method: "POST",
        path: "/api/chat",
        summary: "Send a message; JSON reply or server-sent events",
        signed_in: true,
    },
    Route {
        method: "GET",
        path: "/api/sessions/{id}/messages",
        summary: "A session's history",
        signed_in: true,
    },
    Route {
        method: "PUT",
        path: "/api/sessions/{id}/messages/{message_id}/feedback",
        summary: "Rate an answer: thumbs up, down, or neither",
        signed_in: true,
    },
    Route {
        method: "POST",
        path: "/api/sessions/{id}/messages/{message_id}/stop",
        summary: "Cut a stopped answer to what the reader saw",
        signed_in: true,
    },
    Route {
        method: "GET",
        path: "/api/sessions",
        summary: "The signed-in person's chats, newest activity first (users mode)",
        signed_in: true,
    },
    Route {
        method: "PATCH",
        path: "/api/sessions/{id}",
        summary: "Rename a chat (users mode)",
        signed_in: true,
    },
    Route {
        method: "DELETE",
        path: "/api/sessions/{id}",
        summary: "Delete a session and its history",
        signed_in: true,
    },
    Route {
        method: "GET",
        path: "/api/models",
        summary: "Models this deployment allows",
        signed_in: false,
    },
    Route {
        method: "GET",
        path: "/api/health",
        summary: "Liveness and version",
        signed_in: false,
    },
    Route {
        method: "GET",
        path: "/api/openapi.json",
        summary: "This API's OpenAPI document",
        signed_in: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_budget_shard_count_plans_each_shard_at_half_its_writes() {
        let check = |rate, expect| assert_eq!(budget::shards_for_rate(rate), expect, "{rate}");
        check(0, 1);
        check(50, 1);
        check(500, 1);
        check(501, 2);
        check(10_000, 20);
        check(u64::MAX, budget::MAX_SHARDS);
    }

    #[test]
    fn the_page_may_connect_to_a_sign_in_origin_and_nothing_else_changes() {
        let policy = content_security_policy_connecting_to("https://login.example.com");
        assert_eq!(
            policy,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' https://login.example.com; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        assert_eq!(
            policy.replace(" https://login.example.com", ""),
            CONTENT_SECURITY_POLICY
        );
    }

    #[test]
    fn environment_variables_are_distinct_and_prefixed() {
        for (i, name) in env_vars::ALL.iter().enumerate() {
            assert!(name.starts_with("CHATBOT_"), "{name}");
            assert!(!env_vars::ALL[..i].contains(name), "{name} is listed twice");
        }
        assert!(env_vars::ALL.contains(&env_vars::ORIGIN_SECRET));
        assert!(env_vars::DAILY_COST_BUDGET_MICRO_USD.starts_with("CHATBOT_"));
        assert!(!env_vars::ALL.contains(&env_vars::DAILY_COST_BUDGET_MICRO_USD));
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
    fn a_cost_is_tokens_times_prices_rounded_once_to_the_micro_dollar() {
        use pricing::{TokenCounts, TokenPrices, Usd};
        // Claude Haiku 4.5 through a US inference profile: $1.10 and $5.50 per million.
        let haiku = TokenPrices {
            input: 1_100_000,
            output: 5_500_000,
            cache_read: Some(110_000),
            cache_write: Some(1_375_000),
        };
        let check = |input, output, cache_read, cache_write, expect: u64| {
            let tokens = TokenCounts {
                input,
                output,
                cache_read,
                cache_write,
            };
            assert_eq!(haiku.cost_micro_usd(&tokens), expect, "{tokens:?}");
        };
        // 1,000 × 1.1 + 500 × 5.5 = 1,100 + 2,750 micro-dollars, exactly.
        check(1_000, 500, 0, 0, 3_850);
        // 7 × 1.1 + 3 × 5.5 = 7.7 + 16.5 = 24.2 → 24.
        check(7, 3, 0, 0, 24);
        // 1 × 1.1 + 1 × 5.5 = 6.6 → 7 (halves and more go up).
        check(1, 1, 0, 0, 7);
        // 5 input tokens: 5.5 → 6; 4: 4.4 → 4.
        check(5, 0, 0, 0, 6);
        check(4, 0, 0, 0, 4);
        // Cache reads at $0.11, writes at $1.375: 100 × 0.11 + 8 × 1.375 = 11 + 11 = 22.
        check(0, 0, 100, 8, 22);
        check(0, 0, 0, 0, 0);
        // A model without cache prices charges them as input.
        let nova = TokenPrices {
            input: 60_000,
            output: 240_000,
            cache_read: None,
            cache_write: None,
        };
        let tokens = TokenCounts {
            input: 0,
            output: 0,
            cache_read: 1_000_000,
            cache_write: 0,
        };
        assert_eq!(nova.cost_micro_usd(&tokens), 60_000);
        // A billion output tokens at $5.50 per million: $5,500, no overflow.
        check(0, 1_000_000_000, 0, 0, 5_500_000_000);
        assert_eq!(haiku.highest(), 5_500_000);

        assert_eq!(Usd(3_850).to_string(), "$0.00385");
        assert_eq!(Usd(1_500_000).to_string(), "$1.50");
        assert_eq!(Usd(0).to_string(), "$0.00");
        assert_eq!(Usd(1_234_567_891).to_string(), "$1,234.567891");
        assert_eq!(Usd(5_500_000_000).to_string(), "$5,500.00");
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
