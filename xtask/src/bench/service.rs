//! The service as the benchmarks run it: the variables a deployed function gets, pointed at
//! local stand-ins ([`super::stand_ins`]), and the events it is sent.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use crate::{env, stack};

/// The table stored for DynamoDB in the cold-start and burst runs.
pub(super) const TABLE: &str = "chatbot-bench";

/// The variables a deployed function gets, pointed at local stand-ins. `load` lifts the rate
/// limit and the daily budgets (tokens and dollars), which a benchmark from one address would
/// otherwise hit.
pub(super) fn service_env(
    environment: &env::Environment,
    table: Option<&str>,
    load: bool,
) -> Vec<(String, String)> {
    let mut vars: BTreeMap<String, String> = stack::function_environment(environment)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if let Some(table) = table {
        vars.insert(chatbot_contract::env_vars::TABLE_NAME.into(), table.into());
    }
    if load {
        vars.insert(
            chatbot_contract::env_vars::RATE_LIMIT.into(),
            "1000000".into(),
        );
        vars.insert(
            chatbot_contract::env_vars::DAILY_TOKEN_BUDGET.into(),
            "1000000000000".into(),
        );
        // The dollar budget, where the environment sets one: a few thousand turns would
        // otherwise use up the dev environment's day and turn the rest into fast 503s.
        let cost = chatbot_contract::env_vars::DAILY_COST_BUDGET_MICRO_USD;
        if vars.contains_key(cost) {
            vars.insert(cost.into(), "1000000000000000".into());
        }
    }
    for (name, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("TZ", ":UTC"),
    ] {
        vars.insert(name.into(), value.into());
    }
    vars.into_iter().collect()
}

/// What a Lambda instance sets for its runtime.
pub(super) fn lambda_env(
    environment: &env::Environment,
    task_root: &Path,
) -> Vec<(String, String)> {
    vec![
        (
            "AWS_LAMBDA_FUNCTION_NAME".into(),
            format!("{}-bench", environment.stack_name),
        ),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            environment.function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            "/aws/lambda/chatbot-bench".into(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), "bench".into()),
        ("LAMBDA_TASK_ROOT".into(), task_root.display().to_string()),
    ]
}

/// The origin secret `bootstrap` gets in the cold-start runs, which refuses to start without
/// one; the events carry it as CloudFront would.
pub(super) const BENCH_ORIGIN_SECRET: &str = "bench0origin0secret0not0used0anywhere0else";

/// An API Gateway event of `bench/events/`, with the origin header CloudFront adds.
pub(super) fn read_event(root: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = root.join("bench").join("events").join(name);
    let text =
        std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
    let mut event: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let header = chatbot_contract::ORIGIN_VERIFY_HEADER;
    for (field, value) in [
        ("headers", serde_json::json!(BENCH_ORIGIN_SECRET)),
        (
            "multiValueHeaders",
            serde_json::json!([BENCH_ORIGIN_SECRET]),
        ),
    ] {
        let Some(headers) = event.get_mut(field).and_then(|h| h.as_object_mut()) else {
            bail!("{} has no {field} object", path.display());
        };
        headers.insert(header.into(), value);
    }
    Ok(serde_json::to_vec(&event)?)
}
