//! The monthly estimate: each resource of the stack model priced from the region's table for
//! an assumed workload, in exact integer arithmetic (pico-dollars, rounded once per line).

use chatbot_contract::metrics as names;
pub use chatbot_contract::pricing::grouped;
use chatbot_contract::pricing::{TokenCounts, TokenPrices};
use serde::Serialize;
use serde_yaml::Value;

use super::prices::PriceTable;
use crate::cfn::Template;
use crate::env::Environment;
use crate::walk::{Graph, Node};

/// What the estimate assumes about use; printed with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    pub chats_per_day: u64,
    pub days_per_month: u64,
    /// Tokens sent to the model per chat: system prompt, history and the new message.
    pub input_tokens_per_chat: u64,
    pub output_tokens_per_chat: u64,
    /// Characters of the new message, the only part of a prompt the guardrail assesses.
    pub message_chars: u64,
    /// Milliseconds the function runs per chat: it streams the whole answer.
    pub chat_ms: u64,
    /// Page loads per 100 chats (a visitor chats several times per visit).
    pub page_views_per_100_chats: u64,
    /// Files and bytes a page view fetches through CloudFront (uncompressed: an upper bound).
    pub files_per_page_view: u64,
    pub bytes_per_page_view: u64,
    /// API calls a page view makes besides chats (the model list, a chat's history).
    pub api_calls_per_page_view: u64,
    /// Milliseconds the function runs for one of those.
    pub other_call_ms: u64,
    /// Bytes of one streamed answer as sent (events, JSON, headers).
    pub bytes_per_answer: u64,
    /// DynamoDB work per chat: rate window, budget read and update, the two messages and the
    /// session's summary item, the history read.
    pub write_units_per_chat: u64,
    pub read_units_per_chat: u64,
    /// Read units of a history read when a page opens a chat.
    pub read_units_per_page_view: u64,
    /// Bytes a chat keeps in the table (both messages and their attributes).
    pub stored_bytes_per_chat: u64,
    /// Log bytes per chat (the function's JSON lines, its platform lines and the metrics line)
    /// and per other API call, and the access log's line per request.
    pub log_bytes_per_chat: u64,
    pub log_bytes_per_other_call: u64,
    pub access_log_bytes_per_request: u64,
    /// Alarm state changes a month, each an SNS publish.
    pub alarm_notifications_per_month: u64,
    /// In `users` mode: people who sign in a month (Cognito's monthly active users), by default
    /// one per `chats_per_active_user` chats of the month.
    pub monthly_active_users: u64,
    pub chats_per_active_user: u64,
    /// Of 100 active users, how many sign up that month: the pool's sign-up check runs once
    /// for each, for `sign_up_check_ms`.
    pub sign_ups_per_100_active_users: u64,
    pub sign_up_check_ms: u64,
    /// Log bytes of one sign-up check (its platform lines).
    pub log_bytes_per_sign_up: u64,
}

impl Workload {
    /// The defaults for `chats_per_day`: a short exchange with some history, answers of a few
    /// paragraphs.
    pub fn assume(chats_per_day: u64) -> Workload {
        let days_per_month = 30;
        let chats_per_active_user = 20;
        Workload {
            chats_per_day,
            days_per_month,
            input_tokens_per_chat: 1_200,
            output_tokens_per_chat: 350,
            message_chars: 300,
            chat_ms: 5_000,
            page_views_per_100_chats: 20,
            files_per_page_view: 6,
            bytes_per_page_view: 250_000,
            api_calls_per_page_view: 2,
            other_call_ms: 50,
            bytes_per_answer: 6_000,
            write_units_per_chat: 7,
            read_units_per_chat: 3,
            read_units_per_page_view: 2,
            stored_bytes_per_chat: 3_000,
            log_bytes_per_chat: 2_500,
            log_bytes_per_other_call: 800,
            access_log_bytes_per_request: 400,
            alarm_notifications_per_month: 30,
            monthly_active_users: (chats_per_day * days_per_month).div_ceil(chats_per_active_user),
            chats_per_active_user,
            sign_ups_per_100_active_users: 10,
            sign_up_check_ms: 100,
            log_bytes_per_sign_up: 400,
        }
    }

    /// Sign-ups a month, times 100 (kept exact).
    fn sign_ups_per_month_x100(&self) -> u128 {
        u128::from(self.monthly_active_users) * u128::from(self.sign_ups_per_100_active_users)
    }

    fn chats_per_month(&self) -> u128 {
        u128::from(self.chats_per_day) * u128::from(self.days_per_month)
    }

    /// Page views a month, times 100 (kept exact).
    fn page_views_per_month_x100(&self) -> u128 {
        self.chats_per_month() * u128::from(self.page_views_per_100_chats)
    }

    /// Text units of up to 1,000 characters a guardrail assesses per chat.
    fn guardrail_units_per_chat(&self) -> u64 {
        self.message_chars.div_ceil(1_000) + (self.output_tokens_per_chat * 4).div_ceil(1_000)
    }

    /// The assumptions as sentences.
    pub fn describe(&self, env: &Environment, model: &str) -> Vec<String> {
        let mut sentences = vec![
            format!(
                "{} chats a day, {} days a month; every chat uses the default model, {model}",
                grouped(self.chats_per_day),
                self.days_per_month
            ),
            format!(
                "a chat sends {} tokens (system prompt, history, message) and gets {} back; the function runs {} ms for it, streaming the answer ({} bytes)",
                grouped(self.input_tokens_per_chat),
                grouped(self.output_tokens_per_chat),
                grouped(self.chat_ms),
                grouped(self.bytes_per_answer)
            ),
            format!(
                "{} page views per 100 chats, each {} files and {} KB through CloudFront (uncompressed: an upper bound) and {} more API calls of {} ms",
                self.page_views_per_100_chats,
                self.files_per_page_view,
                self.bytes_per_page_view / 1_000,
                self.api_calls_per_page_view,
                self.other_call_ms
            ),
            format!(
                "DynamoDB: {} write and {} read units a chat, {} read units a page view; {} bytes kept per chat for {} days (the history's TTL)",
                self.write_units_per_chat,
                self.read_units_per_chat,
                self.read_units_per_page_view,
                grouped(self.stored_bytes_per_chat),
                env.history_days
            ),
            format!(
                "logs: {} bytes a chat, {} per other call, {} per request in the access log, kept {} days (stored uncompressed: an upper bound)",
                grouped(self.log_bytes_per_chat),
                self.log_bytes_per_other_call,
                self.access_log_bytes_per_request,
                env.log_retention_days
            ),
            "custom metrics and alarms are billed a full month each (metrics with no data in a month cost nothing); no free tier is subtracted".to_owned(),
            format!(
                "the guardrail assesses the new message ({} characters) and the answer (4 characters a token): {} text units of 1,000 characters a chat, per policy",
                self.message_chars,
                self.guardrail_units_per_chat()
            ),
            "not priced: data transfer from API Gateway and S3 to CloudFront (free from AWS origins), requests CloudFormation makes while deploying, e-mail deliveries of alarms".to_owned(),
        ];
        if let Some(users) = env.auth.users() {
            let through = users
                .federation
                .as_ref()
                .map_or("with a password".to_owned(), |f| {
                    format!("through {}", f.name)
                });
            sentences.push(format!(
                "sign-in: {} people sign in a month {through} (one per {} chats of the month unless --monthly-active-users says), {} in 100 of them new (the sign-up check runs {} ms and logs {} bytes for each); Cognito's free tier is per account, counted here whole for this pool; its e-mails (Cognito's own sender) are not priced",
                grouped(self.monthly_active_users),
                self.chats_per_active_user,
                self.sign_ups_per_100_active_users,
                self.sign_up_check_ms,
                self.log_bytes_per_sign_up
            ));
        }
        sentences
    }
}

/// The estimate for a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estimate {
    pub environment: String,
    pub region: String,
    pub price_table: String,
    pub workload: Workload,
    pub services: Vec<ServiceCost>,
    pub total_micro_usd: u64,
    pub assumptions: Vec<String>,
    /// The default model's cost per chat, and each allowed model's, in micro-dollars.
    pub per_chat: Vec<ModelChatCost>,
    /// Resources that cost nothing by themselves, by type: `AWS::IAM::Role (2)`.
    pub free: Vec<String>,
    /// Resources whose condition is false with the parameters at their defaults (the second
    /// origin secret and its API key exist only during a rotation): not priced.
    pub absent: Vec<String>,
    /// Resources of a type this estimate does not know: not priced.
    pub not_priced: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceCost {
    pub service: &'static str,
    pub micro_usd: u64,
    pub lines: Vec<Line>,
}

/// One priced quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub item: String,
    /// The monthly quantity, rounded for reading.
    pub quantity: String,
    pub unit: String,
    /// `$0.20 per 1,000,000 requests`, or the model's price.
    pub price: String,
    pub price_key: String,
    pub micro_usd: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelChatCost {
    pub model: String,
    pub name: String,
    pub micro_usd_per_chat: u64,
    pub micro_usd_per_month: u64,
}

/// Prices the stack `template` of `env` for `workload`.
pub fn estimate(
    env: &Environment,
    template: &Template,
    table: &PriceTable,
    workload: &Workload,
) -> anyhow::Result<Estimate> {
    let graph = Graph::of(template);
    let mut bill = Bill::new(table);
    let default = env
        .models
        .iter()
        .find(|m| m.id == env.default_model)
        .unwrap_or(&env.models[0]);
    let chats = workload.chats_per_month();
    let pages_x100 = workload.page_views_per_month_x100();
    let other_calls_x100 = pages_x100 * u128::from(workload.api_calls_per_page_view);
    let requests_x100 = chats * 100 + other_calls_x100;

    // Bedrock: the default model's tokens.
    for (item, tokens, price) in [
        (
            "input tokens",
            workload.input_tokens_per_chat,
            default.price.input,
        ),
        (
            "output tokens",
            workload.output_tokens_per_chat,
            default.price.output,
        ),
    ] {
        bill.model_tokens(&default.name, item, chats * u128::from(tokens), price);
    }

    let mut free = std::collections::BTreeMap::<&str, u64>::new();
    let mut unknown = std::collections::BTreeMap::<&str, u64>::new();
    // Functions a user pool calls (its sign-up check) run per sign-up, not per request.
    let pool_triggers: std::collections::BTreeSet<&str> = graph
        .edges
        .iter()
        .filter(|(from, _)| {
            graph
                .of_type("AWS::Cognito::UserPool")
                .any(|pool| pool.id == from.as_str())
        })
        .map(|(_, to)| to.as_str())
        .collect();
    let service_metrics: u128 = app_metrics(env);
    let mut detailed_metrics: u128 = 0;
    let mut filter_metrics: u128 = 0;
    for node in &graph.nodes {
        let props = serde_yaml::to_value(&node.resource.properties).unwrap_or(Value::Null);
        let get = |key: &str| props.get(key);
        match node.type_name {
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                let memory_mb = get("MemorySize").and_then(Value::as_u64).unwrap_or(128);
                let arm = get("Architectures")
                    .and_then(Value::as_sequence)
                    .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("arm64")));
                let (invocations_x100, ms_x100) = if pool_triggers.contains(node.id) {
                    let sign_ups_x100 = workload.sign_ups_per_month_x100();
                    (
                        sign_ups_x100,
                        sign_ups_x100 * u128::from(workload.sign_up_check_ms),
                    )
                } else {
                    (
                        requests_x100,
                        chats * 100 * u128::from(workload.chat_ms)
                            + other_calls_x100 * u128::from(workload.other_call_ms),
                    )
                };
                bill.add(
                    "AWS Lambda",
                    format!("{} requests", node.id),
                    invocations_x100,
                    100,
                    "lambda.requests",
                )?;
                // GB-seconds × 1,024,000 (MB × ms), kept exact.
                let mb_ms_x100 = ms_x100 * u128::from(memory_mb);
                bill.add(
                    "AWS Lambda",
                    format!("{} duration at {memory_mb} MB", node.id),
                    mb_ms_x100,
                    100 * 1_024_000,
                    if arm {
                        "lambda.duration.arm64"
                    } else {
                        "lambda.duration.x86_64"
                    },
                )?;
            }
            "AWS::ApiGateway::RestApi" | "AWS::Serverless::Api" => {
                bill.add(
                    "Amazon API Gateway",
                    format!("{} REST requests", node.id),
                    requests_x100,
                    100,
                    "apigateway.rest.requests",
                )?;
            }
            "AWS::ApiGateway::Stage" => {
                let detailed = get("MethodSettings")
                    .and_then(Value::as_sequence)
                    .is_some_and(|m| {
                        m.iter()
                            .any(|s| s.get("MetricsEnabled").and_then(Value::as_bool) == Some(true))
                    });
                if detailed {
                    // Count, Latency, IntegrationLatency, 4XXError and 5XXError per method.
                    detailed_metrics += 5 * chatbot_contract::ROUTES.len() as u128;
                }
                *free.entry(node.type_name).or_default() += 1;
            }
            "AWS::DynamoDB::Table" => {
                let writes = chats * u128::from(workload.write_units_per_chat);
                let reads = chats * u128::from(workload.read_units_per_chat)
                    + pages_x100 * u128::from(workload.read_units_per_page_view) / 100;
                bill.add(
                    "Amazon DynamoDB",
                    format!("{} write request units", node.id),
                    writes,
                    1,
                    "dynamodb.write_request_units",
                )?;
                bill.add(
                    "Amazon DynamoDB",
                    format!("{} read request units", node.id),
                    reads,
                    1,
                    "dynamodb.read_request_units",
                )?;
                // What the table holds once the TTL keeps pace: the chats of `history_days`.
                let stored_bytes = u128::from(workload.chats_per_day)
                    * u128::from(env.history_days)
                    * u128::from(workload.stored_bytes_per_chat);
                bill.add(
                    "Amazon DynamoDB",
                    format!("{} storage", node.id),
                    stored_bytes,
                    GB,
                    "dynamodb.storage",
                )?;
                let recovery = props
                    .pointer("PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled")
                    .and_then(Value::as_bool)
                    == Some(true);
                if recovery {
                    bill.add(
                        "Amazon DynamoDB",
                        format!("{} point-in-time recovery", node.id),
                        stored_bytes,
                        GB,
                        "dynamodb.point_in_time_recovery",
                    )?;
                }
            }
            "AWS::CloudFront::Distribution" => {
                let files_x100 = pages_x100 * u128::from(workload.files_per_page_view);
                bill.add(
                    "Amazon CloudFront",
                    format!("{} HTTPS requests", node.id),
                    requests_x100 + files_x100,
                    100,
                    "cloudfront.https_requests",
                )?;
                let bytes = pages_x100 * u128::from(workload.bytes_per_page_view) / 100
                    + chats * u128::from(workload.bytes_per_answer);
                bill.add(
                    "Amazon CloudFront",
                    format!("{} data out", node.id),
                    bytes,
                    GB,
                    "cloudfront.data_transfer_out",
                )?;
            }
            "AWS::S3::Bucket" => {
                // CloudFront caches the page: it reads each file again about once a day.
                let gets =
                    u128::from(workload.files_per_page_view) * u128::from(workload.days_per_month);
                bill.add(
                    "Amazon S3",
                    format!("{} GET requests (cache refills)", node.id),
                    gets,
                    1,
                    "s3.get_requests",
                )?;
                bill.add(
                    "Amazon S3",
                    format!("{} storage (the page, 1 MB)", node.id),
                    1_000_000,
                    GB,
                    "s3.storage",
                )?;
            }
            "AWS::CloudWatch::Alarm" => {
                bill.add(
                    "Amazon CloudWatch",
                    "alarms".to_owned(),
                    1,
                    1,
                    "cloudwatch.alarm",
                )?;
            }
            "AWS::CloudWatch::Dashboard" => {
                bill.add(
                    "Amazon CloudWatch",
                    format!("dashboard {}", node.id),
                    1,
                    1,
                    "cloudwatch.dashboard",
                )?;
            }
            "AWS::Logs::MetricFilter" => filter_metrics += 1,
            "AWS::Logs::LogGroup" => {
                let bytes_x100 = log_bytes_x100(
                    node,
                    &graph,
                    &pool_triggers,
                    workload,
                    chats,
                    other_calls_x100,
                );
                bill.add(
                    "Amazon CloudWatch",
                    format!("logs ingested into {}", node.id),
                    bytes_x100,
                    100 * GB,
                    "cloudwatch.logs_ingestion",
                )?;
                let retention = get("RetentionInDays")
                    .and_then(Value::as_u64)
                    .unwrap_or(3_653);
                // Stored: a day's logs times the days kept (a month's worth per month of them).
                let days_kept = u128::from(retention);
                bill.add(
                    "Amazon CloudWatch",
                    format!("logs stored in {} ({retention} days)", node.id),
                    bytes_x100 * days_kept,
                    100 * GB * u128::from(workload.days_per_month),
                    "cloudwatch.logs_storage",
                )?;
            }
            "AWS::SecretsManager::Secret" => {
                bill.add(
                    "AWS Secrets Manager",
                    format!("secret {}", node.id),
                    1,
                    1,
                    "secretsmanager.secret",
                )?;
            }
            "AWS::SNS::Topic" => {
                bill.add(
                    "Amazon SNS",
                    format!("{} publishes (alarm state changes)", node.id),
                    u128::from(workload.alarm_notifications_per_month),
                    1,
                    "sns.publishes",
                )?;
            }
            "AWS::Bedrock::Guardrail" => {
                guardrail(&mut bill, node, &props, workload, chats)?;
            }
            "AWS::Cognito::UserPool" => {
                // Everyone signs in through the federated provider when there is one.
                let federated = graph
                    .of_type("AWS::Cognito::UserPoolIdentityProvider")
                    .next()
                    .is_some();
                let key = if federated {
                    "cognito.federated.monthly_active_users".to_owned()
                } else {
                    let plan = get("UserPoolTier")
                        .and_then(Value::as_str)
                        .unwrap_or("ESSENTIALS");
                    format!("cognito.{}.monthly_active_users", plan.to_lowercase())
                };
                bill.add_beyond_free(
                    "Amazon Cognito",
                    format!("{} monthly active users", node.id),
                    u128::from(workload.monthly_active_users),
                    &key,
                )?;
            }
            kind if FREE.contains(&kind) => *free.entry(kind).or_default() += 1,
            kind => *unknown.entry(kind).or_default() += 1,
        }
    }
    for (count, what) in [
        (service_metrics, "custom metrics the service writes"),
        (
            detailed_metrics,
            "detailed API metrics (5 per route and method)",
        ),
        (filter_metrics, "metrics from log metric filters"),
    ] {
        if count > 0 {
            bill.add(
                "Amazon CloudWatch",
                what.to_owned(),
                count,
                1,
                "cloudwatch.metric",
            )?;
        }
    }

    let per_chat = env
        .models
        .iter()
        .map(|model| {
            let tokens = TokenCounts {
                input: workload.input_tokens_per_chat,
                output: workload.output_tokens_per_chat,
                ..TokenCounts::default()
            };
            let month = TokenCounts {
                input: workload.input_tokens_per_chat
                    * workload.chats_per_day
                    * workload.days_per_month,
                output: workload.output_tokens_per_chat
                    * workload.chats_per_day
                    * workload.days_per_month,
                ..TokenCounts::default()
            };
            let prices = token_prices(&model.price);
            ModelChatCost {
                model: model.id.clone(),
                name: model.name.clone(),
                micro_usd_per_chat: prices.cost_micro_usd(&tokens),
                micro_usd_per_month: prices.cost_micro_usd(&month),
            }
        })
        .collect();
    let services = bill.services();
    let total_micro_usd = services.iter().map(|s| s.micro_usd).sum();
    let counted = |map: std::collections::BTreeMap<&str, u64>| {
        map.into_iter()
            .map(|(kind, n)| format!("{kind} ({n})"))
            .collect::<Vec<_>>()
    };
    let free = counted(free);
    let absent = graph.absent.iter().map(|id| (*id).to_owned()).collect();
    Ok(Estimate {
        environment: env.name.clone(),
        region: env.region.clone(),
        price_table: table.file.clone(),
        workload: workload.clone(),
        assumptions: workload.describe(env, &default.name),
        services,
        total_micro_usd,
        per_chat,
        free,
        absent,
        not_priced: counted(unknown),
    })
}

/// Bytes in a gigabyte, as AWS bills data (10⁹).
const GB: u128 = 1_000_000_000;

/// Resource types that cost nothing by themselves (what they do is priced elsewhere).
const FREE: [&str; 24] = [
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::Lambda::Permission",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::S3::BucketPolicy",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudFront::OriginRequestPolicy",
    "AWS::CloudFront::CachePolicy",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::Bedrock::GuardrailVersion",
    "AWS::SNS::Subscription",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolIdentityProvider",
    "AWS::Cognito::ManagedLoginBranding",
];

/// The metric names the service writes (EMF, one `Environment` dimension), as the contract
/// lists them; `GuardrailBlocked` only with a guardrail.
fn app_metrics(env: &Environment) -> u128 {
    let mut metrics = vec![
        names::RATE_LIMITED,
        names::BUDGET_EXHAUSTED,
        names::INPUT_TOKENS,
        names::OUTPUT_TOKENS,
        names::BUDGET_USED_PERCENT,
        names::COST,
        names::MODEL_LATENCY,
        names::MODEL_ERRORS,
        names::MODEL_THROTTLES,
        names::STORE_ERRORS,
        names::ORIGIN_REFUSED,
        names::FEEDBACK_POSITIVE,
        names::FEEDBACK_NEGATIVE,
    ];
    if env.guardrail.is_some() {
        metrics.push(names::GUARDRAIL_BLOCKED);
    }
    metrics.len() as u128
}

/// Bytes a month (× 100) written to a log group: the function's log when a function logs to
/// it (a user pool's sign-up check logs per sign-up), the access log when an API stage writes
/// to it.
fn log_bytes_x100(
    node: &Node<'_>,
    graph: &Graph<'_>,
    pool_triggers: &std::collections::BTreeSet<&str>,
    workload: &Workload,
    chats: u128,
    other_calls_x100: u128,
) -> u128 {
    let writers: Vec<&str> = graph
        .edges
        .iter()
        .filter(|(_, to)| to == node.id)
        .map(|(from, _)| from.as_str())
        .collect();
    let writer_type = |id: &str| {
        graph
            .nodes
            .iter()
            .find(|n| n.id == id)
            .map_or("", |n| n.type_name)
    };
    let mut bytes = 0;
    let functions: Vec<&str> = writers
        .iter()
        .copied()
        .filter(|w| {
            matches!(
                writer_type(w),
                "AWS::Lambda::Function" | "AWS::Serverless::Function"
            )
        })
        .collect();
    if functions.iter().any(|f| pool_triggers.contains(f)) {
        bytes += workload.sign_ups_per_month_x100() * u128::from(workload.log_bytes_per_sign_up);
    }
    if functions.iter().any(|f| !pool_triggers.contains(f)) {
        bytes += chats * 100 * u128::from(workload.log_bytes_per_chat)
            + other_calls_x100 * u128::from(workload.log_bytes_per_other_call);
    }
    if writers
        .iter()
        .any(|w| writer_type(w) == "AWS::ApiGateway::Stage")
    {
        bytes +=
            (chats * 100 + other_calls_x100) * u128::from(workload.access_log_bytes_per_request);
    }
    bytes
}

/// Bedrock bills a guardrail per 1,000-character text unit it assesses, per policy; word
/// filters cost nothing.
fn guardrail(
    bill: &mut Bill<'_>,
    node: &Node<'_>,
    props: &Value,
    workload: &Workload,
    chats: u128,
) -> anyhow::Result<()> {
    let units = chats * u128::from(workload.guardrail_units_per_chat());
    let listed = |path: &str| {
        props
            .pointer(path)
            .and_then(Value::as_sequence)
            .is_some_and(|items| !items.is_empty())
    };
    let content = props
        .pointer("ContentPolicyConfig.FiltersConfig")
        .and_then(Value::as_sequence)
        .is_some_and(|filters| {
            filters.iter().any(|f| {
                ["InputStrength", "OutputStrength"].iter().any(|k| {
                    f.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|s| s != "NONE")
                })
            })
        });
    for (on, policy, key) in [
        (
            content,
            "content filters",
            "bedrock.guardrail.content_filters",
        ),
        (
            listed("TopicPolicyConfig.TopicsConfig"),
            "denied topics",
            "bedrock.guardrail.denied_topics",
        ),
        (
            listed("SensitiveInformationPolicyConfig.PiiEntitiesConfig"),
            "sensitive information filters",
            "bedrock.guardrail.sensitive_information",
        ),
    ] {
        if on {
            bill.add(
                "Amazon Bedrock Guardrails",
                format!("{} {policy}", node.id),
                units,
                1,
                key,
            )?;
        }
    }
    Ok(())
}

fn token_prices(price: &crate::env::ModelPrice) -> TokenPrices {
    TokenPrices {
        input: price.input,
        output: price.output,
        cache_read: price.cache_read,
        cache_write: price.cache_write,
    }
}

/// The lines of the estimate, grouped by service in the order they are first added.
struct Bill<'a> {
    table: &'a PriceTable,
    services: Vec<ServiceCost>,
}

impl<'a> Bill<'a> {
    fn new(table: &'a PriceTable) -> Bill<'a> {
        Bill {
            table,
            services: Vec::new(),
        }
    }

    /// `numerator / denominator` units of `key` a month. Lines with the same item add up.
    fn add(
        &mut self,
        service: &'static str,
        item: String,
        numerator: u128,
        denominator: u128,
        key: &str,
    ) -> anyhow::Result<()> {
        let price = self.table.get(key)?;
        let price_text = price_text(price);
        let unit = if numerator == denominator {
            price.unit.clone()
        } else {
            plural(&price.unit)
        };
        self.push(
            service,
            item,
            numerator,
            denominator,
            &unit,
            price_text,
            key,
            {
                let pico = price.pico_usd;
                let per = u128::from(price.per);
                move |num, den| round(num * pico, den * per * 1_000_000)
            },
        );
        Ok(())
    }

    /// `units` of `key` a month, of which the price's free tier costs nothing; the line shows
    /// them all.
    fn add_beyond_free(
        &mut self,
        service: &'static str,
        item: String,
        units: u128,
        key: &str,
    ) -> anyhow::Result<()> {
        let price = self.table.get(key)?;
        let free = u128::from(price.free);
        let price_text = format!("{} beyond {} free", price_text(price), grouped(price.free));
        let unit = if units == 1 {
            price.unit.clone()
        } else {
            plural(&price.unit)
        };
        let pico = price.pico_usd;
        let per = u128::from(price.per);
        self.push(
            service,
            item,
            units,
            1,
            &unit,
            price_text,
            key,
            move |num, den| {
                let billed = (num / den.max(1)).saturating_sub(free);
                round(billed * pico, per * 1_000_000)
            },
        );
        Ok(())
    }

    /// Tokens of a model at its price per million.
    fn model_tokens(&mut self, model: &str, item: &str, tokens: u128, micro_per_million: u64) {
        let price_text = format!(
            "{} per 1,000,000 tokens (envs file)",
            chatbot_contract::pricing::Usd(micro_per_million)
        );
        self.push(
            "Amazon Bedrock",
            format!("{model} {item}"),
            tokens,
            1,
            "tokens",
            price_text,
            "models.prices",
            move |num, den| round(num * u128::from(micro_per_million), den * 1_000_000),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        service: &'static str,
        item: String,
        numerator: u128,
        denominator: u128,
        unit: &str,
        price: String,
        key: &str,
        cost: impl Fn(u128, u128) -> u64,
    ) {
        let index = match self.services.iter().position(|s| s.service == service) {
            Some(i) => i,
            None => {
                self.services.push(ServiceCost {
                    service,
                    micro_usd: 0,
                    lines: Vec::new(),
                });
                self.services.len() - 1
            }
        };
        let lines = &mut self.services[index].lines;
        // Equal items (the alarms) are one line with their count.
        if let Some(line) = lines
            .iter_mut()
            .find(|l| l.item == item && l.price_key == key)
        {
            let count: u128 = line.quantity.replace(',', "").parse().unwrap_or(0);
            let count = count + numerator / denominator.max(1);
            line.quantity = grouped(u64::try_from(count).unwrap_or(u64::MAX));
            line.unit = plural(&line.unit);
            line.micro_usd = cost(count, 1);
        } else {
            lines.push(Line {
                item,
                quantity: quantity(numerator, denominator),
                unit: unit.to_owned(),
                price,
                price_key: key.to_owned(),
                micro_usd: cost(numerator, denominator),
            });
        }
        self.services[index].micro_usd =
            self.services[index].lines.iter().map(|l| l.micro_usd).sum();
    }

    /// The services in a fixed order: the model first, then the request path, the stores and
    /// the watchers; a service not listed goes last.
    fn services(mut self) -> Vec<ServiceCost> {
        const ORDER: [&str; 11] = [
            "Amazon Bedrock",
            "Amazon Bedrock Guardrails",
            "Amazon CloudFront",
            "Amazon API Gateway",
            "Amazon Cognito",
            "AWS Lambda",
            "Amazon DynamoDB",
            "Amazon S3",
            "Amazon CloudWatch",
            "AWS Secrets Manager",
            "Amazon SNS",
        ];
        self.services.sort_by_key(|s| {
            ORDER
                .iter()
                .position(|name| *name == s.service)
                .unwrap_or(ORDER.len())
        });
        self.services
    }
}

/// `$0.20 per 1,000,000 requests`, or `$0.015 per monthly active user`.
fn price_text(price: &super::prices::Price) -> String {
    if price.per == 1 {
        format!("${} per {}", price.usd, price.unit)
    } else {
        format!(
            "${} per {} {}",
            price.usd,
            grouped(price.per),
            plural(&price.unit)
        )
    }
}

/// `numerator / denominator` rounded to the nearest whole number, halves up, as micro-dollars.
fn round(numerator: u128, denominator: u128) -> u64 {
    let value = chatbot_contract::pricing::divide_rounding_half_up(numerator, denominator);
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// A quantity for reading: whole numbers grouped, small ones with up to three decimals.
fn quantity(numerator: u128, denominator: u128) -> String {
    let denominator = denominator.max(1);
    let whole = numerator / denominator;
    if whole >= 100 || numerator.is_multiple_of(denominator) {
        let rounded = chatbot_contract::pricing::divide_rounding_half_up(numerator, denominator);
        return grouped(u64::try_from(rounded).unwrap_or(u64::MAX));
    }
    let thousandths =
        chatbot_contract::pricing::divide_rounding_half_up(numerator * 1_000, denominator);
    if thousandths == 0 && numerator > 0 {
        return "<0.001".to_owned();
    }
    let text = format!("{}.{:03}", thousandths / 1_000, thousandths % 1_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `request` → `requests`, `publish` → `publishes`; `GB` stays.
fn plural(unit: &str) -> String {
    if unit == "GB" || unit.ends_with('s') {
        unit.to_owned()
    } else if unit.ends_with("sh") {
        format!("{unit}es")
    } else {
        format!("{unit}s")
    }
}

/// `props.pointer("A.B")`: nested keys.
trait Pointer {
    fn pointer(&self, path: &str) -> Option<&Value>;
}

impl Pointer for Value {
    fn pointer(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(self, |value, key| value.get(key))
    }
}
