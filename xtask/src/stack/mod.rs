//! The chatbot stack built from an [`Environment`]: the one place that knows which resources an
//! environment has and how they connect. Pure: the same environment gives the same template.

mod api;
mod gateway_responses;
pub mod guardrail;
mod observability;
mod rollout;

pub use rollout::{ROLLBACK_ALARMS, deployment_type};
pub mod origin;

use std::collections::BTreeMap;

use chatbot_contract::{env_vars, table as keys};

use crate::cfn::resources::*;
use crate::cfn::serverless::{self, CodeUri};
use crate::cfn::{self, Expr, Output, Parameter, Policy, Resource, Template};
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

/// CloudFront's managed cache policies and the origin's paths.
const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";

const SITE_ORIGIN: &str = "site";
const API_ORIGIN: &str = "api";

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
    site(env, &mut t);
    api::add_to(env, &mut t);
    origin::add_api_keys(&mut t);
    guardrail::add_to(env, &mut t);
    function(env, &mut t);
    table(env, &mut t);
    observability::add_to(env, &mut t);
    outputs(env, &mut t);
    t
}

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
        (env_vars::RATE_LIMIT, env.rate_limit.requests.to_string()),
        (
            env_vars::RATE_WINDOW_SECONDS,
            env.rate_limit.window_seconds.to_string(),
        ),
        (
            env_vars::IPV6_PREFIX_LENGTH,
            env.rate_limit.ipv6_prefix_length.to_string(),
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
fn model_price(price: &crate::env::ModelPrice) -> serde_json::Value {
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

/// Refuses every request to `bucket` and its objects that does not use TLS, whoever sends it
/// (CloudFront reads the bucket over HTTPS; anything else is refused anyway).
pub fn deny_plain_http(bucket: &str) -> Statement {
    Statement {
        sid: Some("DenyPlainHttp".into()),
        effect: Effect::Deny,
        principal: Some(Principal::Anyone),
        action: vec!["s3:*".into()],
        resource: vec![
            get_att(bucket, "Arn"),
            Expr::sub(format!("${{{bucket}.Arn}}/*")),
        ],
        condition: Some(Expr::Map(BTreeMap::from([(
            "Bool".to_owned(),
            Expr::Map(BTreeMap::from([(
                "aws:SecureTransport".to_owned(),
                Expr::str("false"),
            )])),
        )]))),
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

/// The private bucket, CloudFront in front of it and of the API, and the security headers.
fn site(env: &Environment, t: &mut Template) {
    let mut bucket = Resource::new(Properties::Bucket(Bucket {
        bucket_encryption: BucketEncryption {
            server_side_encryption_configuration: vec![ServerSideEncryptionRule {
                server_side_encryption_by_default: ServerSideEncryptionByDefault {
                    sse_algorithm: "AES256".into(),
                },
            }],
        },
        public_access_block_configuration: PublicAccessBlockConfiguration::ALL_BLOCKED,
        ownership_controls: OwnershipControls {
            rules: vec![OwnershipRule {
                object_ownership: "BucketOwnerEnforced".into(),
            }],
        },
        versioning_configuration: env.site_versioning.then(|| VersioningConfiguration {
            status: "Enabled".into(),
        }),
    }))
    .keep(Policy::Delete)
    .skip_check(
        "CKV_AWS_18",
        "The bucket only holds the published page; CloudFront is its one reader and the page is rebuilt from git, so server access logs would record nothing of use",
    );
    if !env.site_versioning {
        bucket = bucket.skip_check(
            "CKV_AWS_21",
            format!(
                "The page is published from git on every deploy; envs/{}.toml sets [site] versioning = false",
                env.name
            ),
        );
    }
    add(t, ids::SITE_BUCKET, bucket);

    let distribution_arn = Expr::sub(format!(
        "arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{}}}",
        ids::DISTRIBUTION
    ));
    let only_this_distribution = Expr::Map(BTreeMap::from([(
        "StringEquals".to_owned(),
        Expr::Map(BTreeMap::from([(
            "AWS:SourceArn".to_owned(),
            distribution_arn,
        )])),
    )]));
    let cloudfront_reads = |sid: &str, action: &str, resource: Expr| Statement {
        sid: Some(sid.into()),
        effect: Effect::Allow,
        principal: Some(Principal::Service("cloudfront.amazonaws.com".into())),
        action: vec![action.into()],
        resource: vec![resource],
        condition: Some(only_this_distribution.clone()),
    };
    add(
        t,
        ids::SITE_BUCKET_POLICY,
        Resource::new(Properties::BucketPolicy(BucketPolicy {
            bucket: reference(ids::SITE_BUCKET),
            policy_document: PolicyDocument::new(vec![
                cloudfront_reads(
                    "CloudFrontReadsObjects",
                    "s3:GetObject",
                    Expr::sub(format!("${{{}.Arn}}/*", ids::SITE_BUCKET)),
                ),
                // Lets CloudFront answer 404 rather than 403 for a missing file.
                cloudfront_reads(
                    "CloudFrontListsObjects",
                    "s3:ListBucket",
                    get_att(ids::SITE_BUCKET, "Arn"),
                ),
                deny_plain_http(ids::SITE_BUCKET),
            ]),
        })),
    );

    add(
        t,
        ids::ORIGIN_ACCESS_CONTROL,
        Resource::new(Properties::OriginAccessControl(OriginAccessControl {
            origin_access_control_config: OriginAccessControlConfig {
                name: global_name("site"),
                description: "CloudFront signs its requests to the site bucket".into(),
                origin_access_control_origin_type: "s3".into(),
                signing_behavior: "always".into(),
                signing_protocol: "sigv4".into(),
            },
        })),
    );

    add(
        t,
        ids::SECURITY_HEADERS,
        Resource::new(Properties::ResponseHeadersPolicy(ResponseHeadersPolicy {
            response_headers_policy_config: ResponseHeadersPolicyConfig {
                name: global_name("security-headers"),
                comment: "CSP, HSTS, nosniff, no framing".into(),
                security_headers_config: SecurityHeadersConfig {
                    content_security_policy: ContentSecurityPolicy {
                        content_security_policy: CONTENT_SECURITY_POLICY.into(),
                        r#override: true,
                    },
                    content_type_options: OverrideOnly { r#override: true },
                    frame_options: FrameOptions {
                        frame_option: "DENY".into(),
                        r#override: true,
                    },
                    referrer_policy: ReferrerPolicy {
                        referrer_policy: "strict-origin-when-cross-origin".into(),
                        r#override: true,
                    },
                    strict_transport_security: StrictTransportSecurity {
                        access_control_max_age_sec: 63_072_000,
                        include_subdomains: true,
                        preload: false,
                        r#override: true,
                    },
                },
            },
        })),
    );

    add(
        t,
        ids::API_ORIGIN_REQUEST,
        Resource::new(Properties::OriginRequestPolicy(OriginRequestPolicy {
            origin_request_policy_config: OriginRequestPolicyConfig {
                name: global_name("api"),
                comment: "What the API needs of the viewer request, with the viewer's address; not Host, which API Gateway must see as its own".into(),
                cookies_config: CookiesConfig {
                    cookie_behavior: "none".into(),
                },
                headers_config: HeadersConfig {
                    header_behavior: "whitelist".into(),
                    headers: vec![
                        "Accept".into(),
                        "CloudFront-Viewer-Address".into(),
                        "Content-Type".into(),
                    ],
                },
                query_strings_config: QueryStringsConfig {
                    query_string_behavior: "all".into(),
                },
            },
        })),
    );

    let viewer_certificate = match &env.domain {
        Some(domain) => ViewerCertificate {
            acm_certificate_arn: Some(domain.certificate_arn.clone()),
            cloud_front_default_certificate: None,
            minimum_protocol_version: Some("TLSv1.2_2021".into()),
            ssl_support_method: Some("sni-only".into()),
        },
        None => ViewerCertificate {
            acm_certificate_arn: None,
            cloud_front_default_certificate: Some(true),
            minimum_protocol_version: None,
            ssl_support_method: None,
        },
    };
    let all_methods = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"];
    let mut distribution = Resource::new(Properties::Distribution(Distribution {
        distribution_config: DistributionConfig {
            comment: Expr::sub("${AWS::StackName} chatbot"),
            enabled: true,
            aliases: env.domain.iter().map(|d| d.name.clone()).collect(),
            default_root_object: "index.html".into(),
            http_version: "http2and3".into(),
            ipv6_enabled: true,
            price_class: "PriceClass_100".into(),
            origins: vec![
                Origin {
                    id: SITE_ORIGIN.into(),
                    domain_name: get_att(ids::SITE_BUCKET, "RegionalDomainName"),
                    origin_path: None,
                    origin_access_control_id: Some(get_att(ids::ORIGIN_ACCESS_CONTROL, "Id")),
                    s3_origin_config: Some(S3OriginConfig {
                        origin_access_identity: String::new(),
                    }),
                    custom_origin_config: None,
                    origin_custom_headers: Vec::new(),
                },
                Origin {
                    id: API_ORIGIN.into(),
                    domain_name: Expr::sub(format!(
                        "${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}",
                        ids::REST_API
                    )),
                    origin_path: Some(format!("/{STAGE_NAME}")),
                    origin_access_control_id: None,
                    s3_origin_config: None,
                    custom_origin_config: Some(CustomOriginConfig {
                        origin_protocol_policy: "https-only".into(),
                        origin_ssl_protocols: vec!["TLSv1.2".into()],
                        // Seconds to the first byte (a whole JSON reply) and between two
                        // packets of a streamed one; the env check keeps it at least the
                        // function's timeout.
                        origin_read_timeout: env.api.origin_read_timeout_seconds,
                        origin_keepalive_timeout: 5,
                    }),
                    // Proves to API Gateway and the function that a request came through
                    // CloudFront; a viewer sending these headers has them replaced.
                    origin_custom_headers: origin::origin_headers(),
                },
            ],
            default_cache_behavior: CacheBehavior {
                path_pattern: None,
                target_origin_id: SITE_ORIGIN.into(),
                viewer_protocol_policy: "redirect-to-https".into(),
                allowed_methods: vec!["GET".into(), "HEAD".into()],
                cached_methods: vec!["GET".into(), "HEAD".into()],
                cache_policy_id: CACHING_OPTIMIZED.into(),
                origin_request_policy_id: None,
                response_headers_policy_id: get_att(ids::SECURITY_HEADERS, "Id"),
                compress: true,
            },
            cache_behaviors: vec![CacheBehavior {
                path_pattern: Some(format!("{}/*", chatbot_contract::API_PREFIX)),
                target_origin_id: API_ORIGIN.into(),
                viewer_protocol_policy: "https-only".into(),
                allowed_methods: all_methods.iter().map(|m| (*m).to_owned()).collect(),
                cached_methods: vec!["GET".into(), "HEAD".into()],
                cache_policy_id: CACHING_DISABLED.into(),
                origin_request_policy_id: Some(get_att(ids::API_ORIGIN_REQUEST, "Id")),
                response_headers_policy_id: get_att(ids::SECURITY_HEADERS, "Id"),
                compress: false,
            }],
            viewer_certificate,
        },
    }))
    .skip_check(
        "CKV_AWS_68",
        "No WAF: the API has stage throttling and a per-client rate limit, and a web ACL costs more than this chatbot",
    )
    .skip_check(
        "CKV_AWS_86",
        "API requests are logged by API Gateway's access log; the static page needs no access log",
    );
    if env.domain.is_none() {
        distribution = distribution.skip_check(
            "CKV_AWS_174",
            format!(
                "Without a custom domain CloudFront serves its own *.cloudfront.net certificate and fixes its TLS policy; envs/{}.toml has no [domain]",
                env.name
            ),
        );
    }
    add(t, ids::DISTRIBUTION, distribution);
}

/// Only this origin's scripts, styles and API; no framing, plugins or foreign forms.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The function, its role and its log group.
fn function(env: &Environment, t: &mut Template) {
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
                vec![get_att(ids::TABLE, "Arn")],
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

/// One on-demand table for history, rate windows and the daily budget.
fn table(env: &Environment, t: &mut Template) {
    let string_attribute = |name: &str| AttributeDefinition {
        attribute_name: name.into(),
        attribute_type: "S".into(),
    };
    let mut table = Resource::new(Properties::Table(Table {
        billing_mode: "PAY_PER_REQUEST".into(),
        attribute_definitions: vec![
            string_attribute(keys::PARTITION_KEY),
            string_attribute(keys::SORT_KEY),
        ],
        key_schema: vec![
            KeySchemaElement {
                attribute_name: keys::PARTITION_KEY.into(),
                key_type: "HASH".into(),
            },
            KeySchemaElement {
                attribute_name: keys::SORT_KEY.into(),
                key_type: "RANGE".into(),
            },
        ],
        time_to_live_specification: TimeToLiveSpecification {
            attribute_name: keys::TTL_ATTRIBUTE.into(),
            enabled: true,
        },
        sse_specification: SseSpecification { sse_enabled: true },
        point_in_time_recovery_specification: PointInTimeRecoverySpecification {
            point_in_time_recovery_enabled: env.table.point_in_time_recovery,
        },
        deletion_protection_enabled: env.table.deletion_protection,
    }))
    .keep(if env.table.deletion_protection {
        Policy::Retain
    } else {
        Policy::Delete
    })
    .skip_check(
        "CKV_AWS_119",
        "Encrypted at rest with the AWS managed key (SSESpecification); a customer managed key adds cost and no protection this chatbot needs",
    );
    if !env.table.point_in_time_recovery {
        table = table.skip_check(
            "CKV_AWS_28",
            format!(
                "Conversations expire within days and are not worth restoring here; envs/{}.toml sets point_in_time_recovery = false",
                env.name
            ),
        );
    }
    add(t, ids::TABLE, table);
}

fn outputs(env: &Environment, t: &mut Template) {
    let site_url = match &env.domain {
        Some(domain) => Expr::Str(format!("https://{}", domain.name)),
        None => Expr::sub(format!("https://${{{}.DomainName}}", ids::DISTRIBUTION)),
    };
    let output = |description: &str, value: Expr| Output {
        description: description.into(),
        value,
    };
    t.outputs = vec![
        (
            OUTPUT_SITE_URL.into(),
            output("The chatbot's page", site_url),
        ),
        (
            OUTPUT_API_URL.into(),
            output(
                "The API Gateway stage; it refuses requests without CloudFront's API key (403), so use /api on the site",
                Expr::sub(format!(
                    "https://${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE_NAME}{}",
                    ids::REST_API,
                    chatbot_contract::API_PREFIX
                )),
            ),
        ),
        (
            OUTPUT_TABLE.into(),
            output(
                "DynamoDB table of history, rate windows and budget",
                reference(ids::TABLE),
            ),
        ),
        (
            OUTPUT_SITE_BUCKET.into(),
            output(
                "Bucket the page is published to",
                reference(ids::SITE_BUCKET),
            ),
        ),
        (
            OUTPUT_DISTRIBUTION_ID.into(),
            output(
                "CloudFront distribution serving page and API",
                reference(ids::DISTRIBUTION),
            ),
        ),
        (
            OUTPUT_FUNCTION.into(),
            output(
                "The Lambda function answering the API",
                reference(ids::FUNCTION),
            ),
        ),
    ];
}
