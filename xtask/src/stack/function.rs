//! The function: the Lambda function (SAM, with the alias API Gateway invokes), its role with
//! exactly what the service calls, its log group and environment, and the permission API
//! Gateway invokes it with.

use std::collections::BTreeMap;

use chatbot_contract::{env_vars, table as keys};

use super::{
    ALIAS_NAME, PARAM_CODE_BUCKET, PARAM_CODE_KEY, STAGE_NAME, add, alias_reference, allow,
    get_att, guardrail, ids, log_group, origin, reference, rollout, trust,
};
use crate::cfn::resources::serverless::{self, CodeUri};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Resource, Template};
use crate::env::{Environment, ModelPrice};

/// The function's environment variables with literal values: every name in
/// [`env_vars::ALL`] (and [`env_vars::DAILY_COST_BUDGET_MICRO_USD`] with a dollar budget) except [`env_vars::TABLE_NAME`], which the template fills with the table's
/// `Ref`, and [`env_vars::ORIGIN_SECRET`] and [`env_vars::ORIGIN_SECRET_PREVIOUS`], which it
/// fills with [`origin::sent_value`] and [`origin::previous_value`]. `cargo xtask dev` runs the
/// service locally with these (and so without an origin secret, and
/// without the guardrail, whose variables the template adds: [`guardrail::literal_environment`]).
pub fn function_environment(env: &Environment) -> BTreeMap<&'static str, String> {
    let models: Vec<serde_json::Value> = env
        .models
        .iter()
        .map(|m| serde_json::json!({ "id": m.id, "name": m.name, "price": model_price(&m.price) }))
        .collect();
    let mut variables = BTreeMap::from([
        (env_vars::ENVIRONMENT, env.name.clone()),
        (
            env_vars::MODELS,
            serde_json::Value::Array(models).to_string(),
        ),
        (env_vars::DEFAULT_MODEL, env.default_model.clone()),
        (env_vars::SYSTEM_PROMPT, env.system_prompt.clone()),
        (
            env_vars::MAX_OUTPUT_TOKENS,
            env.max_output_tokens.to_string(),
        ),
        (env_vars::RATE_LIMIT, env.rate_limit.to_string()),
        (
            env_vars::RATE_WINDOW_SECONDS,
            env.rate_window_seconds.to_string(),
        ),
        (
            env_vars::IPV6_PREFIX_LENGTH,
            env.ipv6_prefix_length.to_string(),
        ),
        (
            env_vars::DAILY_TOKEN_BUDGET,
            env.daily_token_budget.to_string(),
        ),
        (env_vars::HISTORY_DAYS, env.history_days.to_string()),
        (env_vars::BUDGET_SHARDS, env.table.budget_shards.to_string()),
        (
            env_vars::STARTER_PROMPTS,
            serde_json::Value::from(env.starter_prompts.clone()).to_string(),
        ),
    ]);
    if let Some(budget) = env.daily_cost_budget_micro_usd {
        variables.insert(env_vars::DAILY_COST_BUDGET_MICRO_USD, budget.to_string());
    }
    variables
}

/// A model's price as [`env_vars::MODELS`] carries it: micro-dollars per million tokens.
fn model_price(price: &ModelPrice) -> serde_json::Value {
    let mut json = serde_json::json!({
        "input": price.input,
        "output": price.output,
        "as_of": price.as_of,
    });
    if let Some(cache_read) = price.cache_read {
        json["cache_read"] = cache_read.into();
    }
    if let Some(cache_write) = price.cache_write {
        json["cache_write"] = cache_write.into();
    }
    json
}

/// The function, its role and its log group.
pub(super) fn add_to(env: &Environment, t: &mut Template) {
    add(
        t,
        ids::FUNCTION_LOGS,
        log_group(env, "function", "function's JSON logs"),
    );

    let mut policies = vec![
        InlinePolicy {
            policy_name: "logs".into(),
            policy_document: PolicyDocument::new(vec![allow(
                "WriteOwnLogs",
                &["logs:CreateLogStream", "logs:PutLogEvents"],
                vec![get_att(ids::FUNCTION_LOGS, "Arn")],
            )]),
        },
        InlinePolicy {
            policy_name: "table".into(),
            policy_document: PolicyDocument::new(vec![allow(
                "UseOwnTable",
                &table_actions(),
                vec![
                    get_att(ids::TABLE, "Arn"),
                    Expr::sub(format!(
                        "${{{}.Arn}}/index/{}",
                        ids::TABLE,
                        keys::OWNER_INDEX
                    )),
                ],
            )]),
        },
    ];
    policies.push(InlinePolicy {
        policy_name: "bedrock".into(),
        policy_document: PolicyDocument::new(vec![allow(
            "InvokeAllowedModels",
            &BEDROCK_ACTIONS,
            bedrock_resources(env),
        )]),
    });
    policies.extend(guardrail::policy(env));
    add(
        t,
        ids::FUNCTION_ROLE,
        Resource::new(Properties::Role(Role {
            assume_role_policy_document: trust("lambda.amazonaws.com"),
            managed_policy_arns: Vec::new(),
            policies,
        })),
    );

    let mut variables: BTreeMap<String, Expr> = function_environment(env)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Expr::Str(value)))
        .collect();
    variables.insert(env_vars::TABLE_NAME.to_owned(), reference(ids::TABLE));
    // Resolved at deploy time into the function's configuration, so the function needs no
    // Secrets Manager call (and no time) at start; whoever may read the function's
    // configuration may read the value.
    variables.insert(env_vars::ORIGIN_SECRET.to_owned(), origin::sent_value());
    variables.insert(
        env_vars::ORIGIN_SECRET_PREVIOUS.to_owned(),
        origin::previous_value(),
    );
    variables.extend(guardrail::function_variables(env));
    add(
        t,
        ids::FUNCTION,
        Resource::new(Properties::ServerlessFunction(serverless::Function {
            description: format!("Chatbot API ({})", env.name),
            runtime: "provided.al2023".into(),
            handler: "bootstrap".into(),
            code_uri: CodeUri {
                bucket: reference(PARAM_CODE_BUCKET),
                key: reference(PARAM_CODE_KEY),
            },
            role: get_att(ids::FUNCTION_ROLE, "Arn"),
            architectures: vec![env.function.architecture.as_str().into()],
            memory_size: env.function.memory_mb,
            timeout: env.function.timeout_seconds,
            reserved_concurrent_executions: env.function.reserved_concurrency,
            environment: FunctionEnvironment { variables },
            logging_config: LoggingConfig {
                log_format: "JSON".into(),
                application_log_level: "INFO".into(),
                system_log_level: "WARN".into(),
                log_group: reference(ids::FUNCTION_LOGS),
            },
            auto_publish_alias: Some(ALIAS_NAME.into()),
            auto_publish_alias_all_properties: true,
            deployment_preference: rollout::deployment_preference(env),
        }))
        .skip_check(
            "CKV_AWS_116",
            "API Gateway invokes the function synchronously; a dead-letter queue only receives failed asynchronous invocations",
        )
        .skip_check(
            "CKV_AWS_117",
            "The function only calls AWS endpoints (Bedrock, DynamoDB, CloudWatch Logs); a VPC would add NAT cost and cold-start time and protect nothing",
        )
        .skip_check(
            "CKV_AWS_173",
            "The variables hold settings and the origin secret, which only proves a request came through CloudFront and is in the distribution's configuration too; a customer managed key would hide it from no one who can read either, and Lambda encrypts the variables at rest with its own key",
        ),
    );

    // API Gateway invokes the alias, so a new version takes traffic only as the alias moves.
    add(
        t,
        ids::FUNCTION_PERMISSION,
        Resource::new(Properties::Permission(Permission {
            action: "lambda:InvokeFunction".into(),
            function_name: alias_reference(),
            principal: "apigateway.amazonaws.com".into(),
            source_arn: Expr::sub(format!(
                "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{}}}/{STAGE_NAME}/*",
                ids::REST_API
            )),
        })),
    );
    rollout::add_to(env, t);
}

/// The IAM actions of the DynamoDB operations the service calls
/// ([`chatbot_contract::table::OPERATIONS`]), and nothing else.
pub fn table_actions() -> Vec<String> {
    keys::OPERATIONS
        .iter()
        .map(|operation| format!("dynamodb:{operation}"))
        .collect()
}

/// Converse and ConverseStream are authorised as these two actions.
pub const BEDROCK_ACTIONS: [&str; 2] = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
];

/// Prefixes of cross-region inference-profile ids (`us.anthropic...`).
const PROFILE_PREFIXES: [&str; 4] = ["us.", "eu.", "apac.", "global."];

/// The ARNs the function may invoke: for a foundation-model id, that model in the stack's
/// region; for a cross-region inference profile, the profile in the stack's region and the
/// foundation model it routes to.
///
/// A profile may route a request to any region in its geography (and `global.` to any
/// commercial region), and AWS adds regions to a profile over time, so the foundation-model
/// ARNs of a profile's model use region `*`: naming today's regions would break calls when a
/// profile gains one. The account part is empty in foundation-model ARNs, as AWS writes them.
pub fn bedrock_resources(env: &Environment) -> Vec<Expr> {
    let mut arns = Vec::new();
    for model in &env.models {
        match PROFILE_PREFIXES
            .iter()
            .find_map(|prefix| model.id.strip_prefix(prefix))
        {
            Some(base) => {
                arns.push(Expr::sub(format!(
                    "arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}:${{AWS::AccountId}}:inference-profile/{}",
                    model.id
                )));
                arns.push(Expr::sub(format!(
                    "arn:${{AWS::Partition}}:bedrock:*::foundation-model/{base}"
                )));
            }
            None => arns.push(Expr::sub(format!(
                "arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{}",
                model.id
            ))),
        }
    }
    arns
}
