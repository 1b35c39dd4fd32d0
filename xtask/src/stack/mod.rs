//! The chatbot stack built from an [`Environment`]: the one place that knows which resources an
//! environment has and how they connect.

use std::collections::BTreeMap;

use chatbot_contract::env_vars;

use crate::env::Environment;

/// Template parameter: the bucket holding the function's zip.
pub const PARAM_CODE_BUCKET: &str = "CodeBucket";
/// Template parameter: the content-addressed key of the function's zip in `CodeBucket`.
pub const PARAM_CODE_KEY: &str = "CodeKey";

/// Stack output: `https://<distribution or custom domain>`.
pub const OUTPUT_SITE_URL: &str = "SiteUrl";
/// Stack output: the API's stage URL (without CloudFront).
pub const OUTPUT_API_URL: &str = "ApiUrl";
/// Stack output: the DynamoDB table's name.
pub const OUTPUT_TABLE: &str = "TableName";
/// Stack output: the bucket the frontend is published to.
pub const OUTPUT_SITE_BUCKET: &str = "SiteBucketName";
/// Stack output: the CloudFront distribution id, for invalidations.
pub const OUTPUT_DISTRIBUTION_ID: &str = "DistributionId";
/// Stack output: the Lambda function's name.
pub const OUTPUT_FUNCTION: &str = "FunctionName";

/// The function's environment variables with literal values: every name in
/// [`env_vars::ALL`] except [`env_vars::TABLE_NAME`], which the template fills with the table's
/// `Ref`. `cargo xtask dev` runs the service locally with these.
pub fn function_environment(env: &Environment) -> BTreeMap<&'static str, String> {
    let models: Vec<serde_json::Value> = env
        .models
        .iter()
        .map(|m| serde_json::json!({ "id": m.id, "name": m.name }))
        .collect();
    BTreeMap::from([
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
        (env_vars::RATE_LIMIT, env.rate_limit.requests.to_string()),
        (
            env_vars::RATE_WINDOW_SECONDS,
            env.rate_limit.window_seconds.to_string(),
        ),
        (
            env_vars::DAILY_TOKEN_BUDGET,
            env.daily_token_budget.to_string(),
        ),
        (env_vars::HISTORY_DAYS, env.history_days.to_string()),
    ])
}
