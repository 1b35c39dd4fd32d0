//! The chatbot stack built from an [`Environment`]: the one place that knows which resources an
//! environment has and how they connect. Pure: the same environment gives the same template.

//!
//! One file per part of the stack: `site.rs` (the bucket), `cdn.rs` (CloudFront), `api.rs`
//! (API Gateway) with `gateway_responses.rs` and `origin.rs` (the origin secret and API keys),
//! `function.rs`, `guardrail.rs`, `rollout.rs` (how a new version takes the traffic),
//! `sign_in.rs` (the Cognito user pool of `[auth] mode = "users"`), `table.rs`,
//! `observability.rs` (alarms, metric filters, dashboard) and `outputs.rs`.

mod api;
mod cdn;
mod function;
mod gateway_responses;
pub mod guardrail;
mod observability;
pub mod origin;
mod outputs;
mod rollout;
pub mod sign_in;
mod site;
mod table;

pub use function::{bedrock_resources, function_environment};
pub use rollout::{ROLLBACK_ALARMS, deployment_type};

use crate::cfn::resources::serverless;
use crate::cfn::resources::*;
use crate::cfn::{self, Expr, Parameter, Policy, Resource, Template};
use crate::env::Environment;

/// Template parameter: the bucket holding the function's zip.
pub const PARAM_CODE_BUCKET: &str = "CodeBucket";
/// Template parameter: the content-addressed key of the function's zip in `CodeBucket`.
pub const PARAM_CODE_KEY: &str = "CodeKey";

/// Stack output: `https://<distribution or custom domain>`.
pub const OUTPUT_SITE_URL: &str = "SiteUrl";
/// Stack output: the API's stage URL (without CloudFront), ending in `/api`.
pub const OUTPUT_API_URL: &str = "ApiUrl";
/// Stack output: the DynamoDB table's name.
pub const OUTPUT_TABLE: &str = "TableName";
/// Stack output: the bucket the frontend is published to.
pub const OUTPUT_SITE_BUCKET: &str = "SiteBucketName";
/// Stack output: the CloudFront distribution id, for invalidations.
pub const OUTPUT_DISTRIBUTION_ID: &str = "DistributionId";
/// Stack output: the Lambda function's name.
pub const OUTPUT_FUNCTION: &str = "FunctionName";

/// Logical IDs. They are stable: renaming one replaces the resource on the next deploy.
/// The stateful ones (the table, the site bucket, the origin secret, the log groups) keep
/// their data only as long as their IDs stay; a test pins them.
pub mod ids {
    pub const SITE_BUCKET: &str = "SiteBucket";
    pub const SITE_BUCKET_POLICY: &str = "SiteBucketPolicy";
    pub const ORIGIN_ACCESS_CONTROL: &str = "SiteOriginAccessControl";
    pub const SECURITY_HEADERS: &str = "SecurityHeadersPolicy";
    pub const API_ORIGIN_REQUEST: &str = "ApiOriginRequestPolicy";
    pub const DISTRIBUTION: &str = "Distribution";
    pub const REST_API: &str = "RestApi";
    /// Prefix of the deployment's ID, which ends in a hash of the API definition so that a
    /// changed definition gets a new deployment.
    pub const API_DEPLOYMENT_PREFIX: &str = "ApiDeployment";
    pub const API_STAGE: &str = "ApiStage";
    pub const API_ACCESS_LOGS: &str = "ApiAccessLogGroup";
    /// The `AWS::Serverless::Function`; the transform keeps this ID for the Lambda function.
    pub const FUNCTION: &str = "Function";
    pub const FUNCTION_ROLE: &str = "FunctionRole";
    pub const FUNCTION_LOGS: &str = "FunctionLogGroup";
    pub const FUNCTION_PERMISSION: &str = "FunctionApiPermission";
    /// The rollback triggers of a gradual rollout.
    pub const FUNCTION_ERRORS_ALARM: &str = "FunctionErrorsAlarm";
    pub const FUNCTION_THROTTLES_ALARM: &str = "FunctionThrottlesAlarm";
    /// CodeDeploy's role, with only what a traffic shift on this function needs.
    pub const CODE_DEPLOY_ROLE: &str = "CodeDeployRole";

    /// IDs the SAM transform gives what it makes of [`FUNCTION`] (see the expanded templates).
    pub mod generated {
        /// `<Function>Alias<name>`: the alias API Gateway invokes.
        pub const FUNCTION_ALIAS: &str = "FunctionAliaslive";
        /// `<Function>Version<hash>`: one per published version, kept when replaced.
        pub const FUNCTION_VERSION_PREFIX: &str = "FunctionVersion";
        /// The CodeDeploy application of a gradual rollout.
        pub const DEPLOYMENT_APPLICATION: &str = "ServerlessDeploymentApplication";
        /// `<Function>DeploymentGroup`: the CodeDeploy deployment group with the alarms.
        pub const DEPLOYMENT_GROUP: &str = "FunctionDeploymentGroup";
    }
    pub const TABLE: &str = "Table";
    pub const ALARM_TOPIC: &str = "AlarmTopic";
    pub const DASHBOARD: &str = "Dashboard";
    /// The origin secret of slot A (see [`super::origin`]), named as before there were slots.
    pub const ORIGIN_SECRET: &str = "OriginSecret";
    pub const ORIGIN_SECRET_B: &str = "OriginSecretB";
    pub const API_KEY_A: &str = "ApiKeyA";
    pub const API_KEY_B: &str = "ApiKeyB";
    pub const USAGE_PLAN: &str = "UsagePlan";
    pub const USAGE_PLAN_KEY_A: &str = "UsagePlanKeyA";
    pub const USAGE_PLAN_KEY_B: &str = "UsagePlanKeyB";
    pub const DIRECT_CALLS_FILTER: &str = "DirectCallsRefusedFilter";
    pub const THROTTLED_FILTER: &str = "ApiThrottledFilter";
    pub const GUARDRAIL: &str = "Guardrail";
    pub const GUARDRAIL_VERSION: &str = "GuardrailVersion";
    /// Sign-in (`[auth] mode = "users"`): the user pool keeps the accounts.
    pub const USER_POOL: &str = "UserPool";
    pub const USER_POOL_DOMAIN: &str = "UserPoolDomain";
    pub const USER_POOL_CLIENT: &str = "UserPoolClient";
    pub const MANAGED_LOGIN_BRANDING: &str = "ManagedLoginBranding";
    pub const IDENTITY_PROVIDER: &str = "FederatedIdentityProvider";
    pub const SIGN_UP_CHECK: &str = "SignUpCheckFunction";
    pub const SIGN_UP_CHECK_ROLE: &str = "SignUpCheckRole";
    pub const SIGN_UP_CHECK_LOGS: &str = "SignUpCheckLogGroup";
    pub const SIGN_UP_CHECK_PERMISSION: &str = "SignUpCheckPermission";
    /// What CloudFront passes to the API in `users` mode: the `Authorization` header.
    pub const API_CACHE_POLICY: &str = "ApiCachePolicy";
}

/// Name of the API Gateway stage; CloudFront's API origin path is `/<stage>`.
pub const STAGE_NAME: &str = "live";

/// The function's alias, which SAM moves to each new version and API Gateway invokes.
pub const ALIAS_NAME: &str = "live";

/// The alias's ARN, as SAM resolves it (`Ref: Function.Alias`).
pub fn alias_reference() -> Expr {
    Expr::Ref(format!("{}.Alias", ids::FUNCTION))
}

/// A name unique to this stack in this account and region, for resources whose names are
/// account-wide (CloudFront policies, dashboards): the same `stack_name` may be deployed in two
/// regions.
pub fn global_name(suffix: &str) -> Expr {
    let name = "${AWS::StackName}-${AWS::Region}";
    Expr::sub(if suffix.is_empty() {
        name.to_owned()
    } else {
        format!("{name}-{suffix}")
    })
}

/// The template's YAML with a header saying where it comes from.
pub fn render(env: &Environment) -> anyhow::Result<String> {
    let body = cfn::render(&template(env))
        .map_err(|err| anyhow::anyhow!("rendering the {} template: {err}", env.name))?;
    Ok(format!(
        "# Generated by `cargo xtask synth` from envs/{}.toml, do not edit by hand.\n{body}",
        env.name
    ))
}

/// The whole stack of `env` as a template model.
pub fn template(env: &Environment) -> Template {
    let mut t = Template {
        transform: Some(serverless::TRANSFORM.to_owned()),
        description: format!(
            "Chatbot ({}): site, API, function, table, alarms and dashboard",
            env.name
        ),
        ..Template::default()
    };
    t.parameters = vec![
        (
            PARAM_CODE_BUCKET.into(),
            Parameter {
                allowed_pattern: Some("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$".into()),
                ..Parameter::string("S3 bucket holding the function's bootstrap.zip")
            },
        ),
        (
            PARAM_CODE_KEY.into(),
            Parameter {
                min_length: Some(1),
                ..Parameter::string("Content-addressed key of bootstrap.zip in CodeBucket")
            },
        ),
    ];
    origin::add_secrets(&mut t);
    site::add_to(env, &mut t);
    cdn::add_to(env, &mut t);
    api::add_to(env, &mut t);
    origin::add_api_keys(&mut t);
    guardrail::add_to(env, &mut t);
    function::add_to(env, &mut t);
    table::add_to(env, &mut t);
    sign_in::add_to(env, &mut t);
    observability::add_to(env, &mut t);
    outputs::add_to(env, &mut t);
    t
}

fn add(t: &mut Template, id: &str, resource: Resource) {
    t.resources.push((id.to_owned(), resource));
}

fn get_att(id: &str, attribute: &str) -> Expr {
    Expr::GetAtt(id.to_owned(), attribute.to_owned())
}

fn reference(id: &str) -> Expr {
    Expr::Ref(id.to_owned())
}

fn allow(sid: &str, actions: &[impl AsRef<str>], resources: Vec<Expr>) -> Statement {
    Statement {
        sid: Some(sid.into()),
        effect: Effect::Allow,
        principal: None,
        action: actions.iter().map(|a| a.as_ref().to_owned()).collect(),
        resource: resources,
        condition: None,
    }
}

/// A trust policy letting `service` assume a role.
fn trust(service: &str) -> PolicyDocument {
    PolicyDocument::new(vec![Statement {
        sid: None,
        effect: Effect::Allow,
        principal: Some(Principal::Service(service.into())),
        action: vec!["sts:AssumeRole".into()],
        resource: Vec::new(),
        condition: None,
    }])
}

fn log_group(env: &Environment, name: &str, what: &str) -> Resource {
    Resource::new(Properties::LogGroup(LogGroup {
        log_group_name: Expr::sub(format!("/chatbot/${{AWS::StackName}}/{name}")),
        retention_in_days: env.log_retention_days,
    }))
    .keep(Policy::Delete)
    .skip_check(
        "CKV_AWS_158",
        format!(
            "The {what} hold no secrets; CloudWatch Logs encrypts every log group at rest with its own key"
        ),
    )
}
