//! Alarms on the function, the API, the table, the model and the budget, all to one SNS topic
//! (and to an existing topic when the env file names one), the metric filters that count what
//! API Gateway refuses by itself, and one dashboard.

use chatbot_contract::metrics;

use super::{ALIAS_NAME, STAGE_NAME, add, global_name, ids, reference};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Resource, Template};
use crate::env::Environment;

/// Seconds each alarm looks at.
pub const ALARM_PERIOD: u32 = 300;

/// Seconds the function's error and throttle alarms look at: short enough to fire within a
/// canary's five minutes or a linear rollout's one-minute steps.
pub const ROLLBACK_ALARM_PERIOD: u32 = 60;
/// Metric (namespace [`metrics::NAMESPACE`]) counting calls API Gateway refused for a missing
/// or wrong API key: calls to the `execute-api` address that did not come through CloudFront.
/// Counted from the access log, since API Gateway answers them without the function.
pub const DIRECT_CALLS_REFUSED: &str = "DirectCallsRefused";
/// Metric counting requests API Gateway throttled at the stage's limit, from the access log.
pub const API_THROTTLED: &str = "ApiThrottled";
/// The dimension of the access-log metrics: the REST API's id, so stacks in one account and
/// region count apart.
pub const API_ID_DIMENSION: &str = "ApiId";

/// The access-log metrics: metric filter, metric and the gateway response type it counts.
const ACCESS_LOG_METRICS: [(&str, &str, &str); 2] = [
    (
        ids::DIRECT_CALLS_FILTER,
        DIRECT_CALLS_REFUSED,
        "INVALID_API_KEY",
    ),
    (ids::THROTTLED_FILTER, API_THROTTLED, "THROTTLED"),
];

pub(super) fn add_to(env: &Environment, t: &mut Template) {
    add(
        t,
        ids::ALARM_TOPIC,
        Resource::new(Properties::Topic(Topic {
            display_name: format!("Chatbot {} alarms", env.name),
            subscription: env
                .alarms
                .email
                .iter()
                .map(|email| Subscription {
                    endpoint: email.clone(),
                    protocol: "email".into(),
                })
                .collect(),
        }))
        .skip_check(
            "CKV_AWS_26",
            "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and alarm notices carry no secrets",
        ),
    );

    for (id, metric, response_type) in ACCESS_LOG_METRICS {
        add(
            t,
            id,
            Resource::new(Properties::MetricFilter(MetricFilter {
                log_group_name: reference(ids::API_ACCESS_LOGS),
                filter_pattern: format!(r#"{{ $.errorType = "{response_type}" }}"#),
                metric_transformations: vec![MetricTransformation {
                    metric_namespace: metrics::NAMESPACE.into(),
                    metric_name: metric.into(),
                    metric_value: "1".into(),
                    unit: "Count".into(),
                    dimensions: vec![MetricFilterDimension {
                        key: API_ID_DIMENSION.into(),
                        value: "$.apiId".into(),
                    }],
                }],
            })),
        );
    }

    let a = &env.alarms;
    let function = || dimension("FunctionName", reference(ids::FUNCTION));
    // Invocations through the alias, the only way API Gateway calls the function: during a
    // rollout they include every request the new version serves. The thresholds are counts,
    // so the new version's errors are not diluted by the old version's traffic.
    let alias = || {
        vec![
            function(),
            dimension(
                "Resource",
                Expr::sub(format!("${{{}}}:{ALIAS_NAME}", ids::FUNCTION)),
            ),
        ]
    };
    let access_log = || vec![dimension(API_ID_DIMENSION, reference(ids::REST_API))];
    let table = || dimension("TableName", reference(ids::TABLE));
    let api = || {
        vec![
            dimension("ApiName", Expr::sub("${AWS::StackName}-api")),
            dimension("Stage", Expr::str(STAGE_NAME)),
        ]
    };
    let app = || vec![dimension(metrics::DIMENSION, Expr::str(&env.name))];
    let timeout_ms = i64::from(env.function.timeout_seconds) * 1000;
    let alarms = [
        (
            ids::FUNCTION_ERRORS_ALARM,
            "The function failed invocations (crashes, timeouts) through the live alias",
            "AWS/Lambda",
            "Errors",
            alias(),
            Stat::Sum,
            a.function_errors.into(),
        ),
        (
            ids::FUNCTION_THROTTLES_ALARM,
            "Invocations through the live alias hit the function's reserved concurrency",
            "AWS/Lambda",
            "Throttles",
            alias(),
            Stat::Sum,
            a.function_throttles.into(),
        ),
        (
            "FunctionDurationAlarm",
            "An invocation came near the function's timeout",
            "AWS/Lambda",
            "Duration",
            vec![function()],
            Stat::Maximum,
            timeout_ms * i64::from(a.duration_percent_of_timeout) / 100,
        ),
        (
            "Api5xxAlarm",
            "The API answered with server errors",
            "AWS/ApiGateway",
            "5XXError",
            api(),
            Stat::Sum,
            a.api_5xx_errors.into(),
        ),
        (
            "Api4xxAlarm",
            "The API answered many requests with a 4XX status (refusals, rate limits, bad requests)",
            "AWS/ApiGateway",
            "4XXError",
            api(),
            Stat::Sum,
            a.api_4xx_errors.into(),
        ),
        (
            "ApiThrottledAlarm",
            "API Gateway throttled requests at the stage's limit",
            metrics::NAMESPACE,
            API_THROTTLED,
            access_log(),
            Stat::Sum,
            a.api_throttled.into(),
        ),
        (
            "DirectCallsRefusedAlarm",
            "API Gateway refused calls without CloudFront's API key: someone calls the execute-api address directly",
            metrics::NAMESPACE,
            DIRECT_CALLS_REFUSED,
            access_log(),
            Stat::Sum,
            a.direct_calls_refused.into(),
        ),
        (
            "OriginRefusedAlarm",
            "The function refused requests without the origin header that got past API Gateway: the API key or the stage's key requirement may be wrong",
            metrics::NAMESPACE,
            metrics::ORIGIN_REFUSED,
            app(),
            Stat::Sum,
            a.origin_refused.into(),
        ),
        (
            "StoreErrorsAlarm",
            "DynamoDB operations of the store failed",
            metrics::NAMESPACE,
            metrics::STORE_ERRORS,
            app(),
            Stat::Sum,
            a.store_errors.into(),
        ),
        (
            "BudgetExhaustedAlarm",
            "Chats were refused because today's budget (tokens or dollars) is spent",
            metrics::NAMESPACE,
            metrics::BUDGET_EXHAUSTED,
            app(),
            Stat::Sum,
            a.budget_exhausted.into(),
        ),
        (
            "ApiLatencyAlarm",
            "The API's 99th-percentile latency is high",
            "AWS/ApiGateway",
            "Latency",
            api(),
            Stat::P99,
            a.api_latency_p99_ms.into(),
        ),
        (
            "TableReadThrottlesAlarm",
            "DynamoDB throttled reads of the table",
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            vec![table()],
            Stat::Sum,
            a.table_throttles.into(),
        ),
        (
            "TableWriteThrottlesAlarm",
            "DynamoDB throttled writes to the table",
            "AWS/DynamoDB",
            "WriteThrottleEvents",
            vec![table()],
            Stat::Sum,
            a.table_throttles.into(),
        ),
        (
            "ModelErrorsAlarm",
            "Model calls failed after retries (Bedrock server errors, timeouts)",
            metrics::NAMESPACE,
            metrics::MODEL_ERRORS,
            app(),
            Stat::Sum,
            a.model_errors.into(),
        ),
        (
            "ModelThrottlesAlarm",
            "Bedrock throttled model calls",
            metrics::NAMESPACE,
            metrics::MODEL_THROTTLES,
            app(),
            Stat::Sum,
            a.model_throttles.into(),
        ),
        (
            "RateLimitedAlarm",
            "Many chat requests were refused by the per-client rate limit",
            metrics::NAMESPACE,
            metrics::RATE_LIMITED,
            app(),
            Stat::Sum,
            a.rate_limited.into(),
        ),
        (
            "BudgetAlarm",
            "Most of today's budget (tokens or dollars) is spent",
            metrics::NAMESPACE,
            metrics::BUDGET_USED_PERCENT,
            app(),
            Stat::Maximum,
            a.budget_used_percent.into(),
        ),
    ];
    let mut actions = vec![reference(ids::ALARM_TOPIC)];
    actions.extend(a.topic_arn.iter().map(Expr::str));
    for (id, description, namespace, metric, dimensions, stat, threshold) in alarms {
        let rollback_trigger =
            id == ids::FUNCTION_ERRORS_ALARM || id == ids::FUNCTION_THROTTLES_ALARM;
        let (statistic, extended_statistic) = match stat {
            Stat::Sum => (Some("Sum".to_owned()), None),
            Stat::Maximum => (Some("Maximum".to_owned()), None),
            Stat::P99 => (None, Some("p99".to_owned())),
        };
        add(
            t,
            id,
            Resource::new(Properties::Alarm(Alarm {
                alarm_description: format!("{description} ({})", env.name),
                namespace: namespace.into(),
                metric_name: metric.into(),
                dimensions,
                statistic,
                extended_statistic,
                period: if rollback_trigger {
                    ROLLBACK_ALARM_PERIOD
                } else {
                    ALARM_PERIOD
                },
                evaluation_periods: 1,
                threshold,
                comparison_operator: "GreaterThanOrEqualToThreshold".into(),
                treat_missing_data: "notBreaching".into(),
                alarm_actions: actions.clone(),
                ok_actions: actions.clone(),
            })),
        );
    }

    add(
        t,
        ids::DASHBOARD,
        Resource::new(Properties::Dashboard(Dashboard {
            dashboard_name: global_name(""),
            dashboard_body: Expr::sub(dashboard_body(env)),
        })),
    );
}

enum Stat {
    Sum,
    Maximum,
    P99,
}

fn dimension(name: &str, value: Expr) -> Dimension {
    Dimension {
        name: name.into(),
        value,
    }
}

/// The dashboard's JSON, with `${...}` placeholders for `Fn::Sub`.
fn dashboard_body(env: &Environment) -> String {
    use serde_json::json;
    let function = format!("${{{}}}", ids::FUNCTION);
    let table = format!("${{{}}}", ids::TABLE);
    let api_id = format!("${{{}}}", ids::REST_API);
    let api = "${AWS::StackName}-api";
    let app = |metric: &str, stat: &str| json!([metrics::NAMESPACE, metric, metrics::DIMENSION, env.name, {"stat": stat}]);
    let widget = |x: u32, y: u32, title: &str, metrics: serde_json::Value| {
        json!({
            "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {
                "title": title, "region": "${AWS::Region}", "view": "timeSeries",
                "period": ALARM_PERIOD, "metrics": metrics
            }
        })
    };
    let mut refusals = vec![
        app(metrics::RATE_LIMITED, "Sum"),
        app(metrics::BUDGET_EXHAUSTED, "Sum"),
        app(metrics::MODEL_ERRORS, "Sum"),
        app(metrics::MODEL_THROTTLES, "Sum"),
        app(metrics::STORE_ERRORS, "Sum"),
        app(metrics::ORIGIN_REFUSED, "Sum"),
        json!([metrics::NAMESPACE, DIRECT_CALLS_REFUSED, API_ID_DIMENSION, api_id, {"stat": "Sum"}]),
        json!([metrics::NAMESPACE, API_THROTTLED, API_ID_DIMENSION, api_id, {"stat": "Sum"}]),
    ];
    if env.guardrail.is_some() {
        refusals.push(app(metrics::GUARDRAIL_BLOCKED, "Sum"));
    }
    let widgets = [
        widget(
            0,
            0,
            "Function invocations, errors, throttles",
            json!([
                ["AWS/Lambda", "Invocations", "FunctionName", function, {"stat": "Sum"}],
                ["AWS/Lambda", "Errors", "FunctionName", function, {"stat": "Sum"}],
                ["AWS/Lambda", "Throttles", "FunctionName", function, {"stat": "Sum"}]
            ]),
        ),
        widget(
            12,
            0,
            "Function duration (ms)",
            json!([
                ["AWS/Lambda", "Duration", "FunctionName", function, {"stat": "p50"}],
                ["AWS/Lambda", "Duration", "FunctionName", function, {"stat": "p99"}],
                ["AWS/Lambda", "Duration", "FunctionName", function, {"stat": "Maximum"}]
            ]),
        ),
        widget(
            0,
            6,
            "API requests and errors",
            json!([
                ["AWS/ApiGateway", "Count", "ApiName", api, "Stage", STAGE_NAME, {"stat": "Sum"}],
                ["AWS/ApiGateway", "4XXError", "ApiName", api, "Stage", STAGE_NAME, {"stat": "Sum"}],
                ["AWS/ApiGateway", "5XXError", "ApiName", api, "Stage", STAGE_NAME, {"stat": "Sum"}]
            ]),
        ),
        widget(
            12,
            6,
            "API latency (ms)",
            json!([
                ["AWS/ApiGateway", "Latency", "ApiName", api, "Stage", STAGE_NAME, {"stat": "p50"}],
                ["AWS/ApiGateway", "Latency", "ApiName", api, "Stage", STAGE_NAME, {"stat": "p99"}]
            ]),
        ),
        widget(
            0,
            12,
            "Tokens",
            json!([
                app(metrics::INPUT_TOKENS, "Sum"),
                app(metrics::OUTPUT_TOKENS, "Sum")
            ]),
        ),
        widget(
            12,
            12,
            "Daily budget used (%)",
            json!([app(metrics::BUDGET_USED_PERCENT, "Maximum")]),
        ),
        widget(0, 18, "Refusals and failures", json!(refusals)),
        widget(
            0,
            24,
            "Model spend (USD)",
            json!([
                [{"expression": "m1 / 1000000", "label": "USD per period", "id": "usd"}],
                [metrics::NAMESPACE, metrics::COST, metrics::DIMENSION, env.name, {"stat": "Sum", "id": "m1", "visible": false}]
            ]),
        ),
        widget(
            12,
            18,
            "Model latency (ms) and table throttles",
            json!([
                app(metrics::MODEL_LATENCY, "p99"),
                ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", table, {"stat": "Sum"}],
                ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", table, {"stat": "Sum"}]
            ]),
        ),
        widget(
            0,
            24,
            "Answers rated by readers (thumbs up, down)",
            json!([
                app(metrics::FEEDBACK_POSITIVE, "Sum"),
                app(metrics::FEEDBACK_NEGATIVE, "Sum")
            ]),
        ),
    ];
    // One widget per line: readable in the template and in diffs.
    let lines: Vec<String> = widgets.iter().map(|w| format!("    {w}")).collect();
    format!("{{\n  \"widgets\": [\n{}\n  ]\n}}", lines.join(",\n"))
}
