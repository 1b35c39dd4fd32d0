//! The chatbot stack built from each environment: fine-grained checks on what it contains.

use std::path::{Path, PathBuf};

use chatbot_contract::env_vars;
use xtask::env::{self, Environment};
use xtask::stack;
use xtask::stack::origin;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn load(name: &str) -> Environment {
    env::load(&root(), name).unwrap()
}

#[test]
fn function_environment_sets_every_variable_but_the_table_and_the_origin_secret() {
    for name in ["dev", "staging", "prod"] {
        let vars = stack::function_environment(&load(name));
        let expected: Vec<&str> = env_vars::ALL
            .iter()
            .copied()
            .filter(|v| {
                ![
                    env_vars::TABLE_NAME,
                    env_vars::ORIGIN_SECRET,
                    env_vars::ORIGIN_SECRET_PREVIOUS,
                ]
                .contains(v)
            })
            .collect();
        let mut names: Vec<&str> = vars.keys().copied().collect();
        let mut expected_sorted = expected.clone();
        // Every checked-in environment has a dollar budget.
        expected_sorted.push(env_vars::DAILY_COST_BUDGET_MICRO_USD);
        expected_sorted.sort();
        names.sort();
        assert_eq!(names, expected_sorted, "{name}");
    }
}

#[test]
fn function_environment_values_come_from_the_env_file() {
    let vars = stack::function_environment(&load("dev"));
    assert_eq!(vars[env_vars::ENVIRONMENT], "dev");
    assert_eq!(
        vars[env_vars::MODELS],
        r#"[{"id":"us.anthropic.claude-haiku-4-5-20251001-v1:0","name":"Claude Haiku 4.5","price":{"as_of":"2026-10-05","cache_read":110000,"cache_write":1375000,"input":1100000,"output":5500000}},{"id":"amazon.nova-lite-v1:0","name":"Amazon Nova Lite","price":{"as_of":"2026-09-03","cache_read":15000,"input":60000,"output":240000}}]"#
    );
    assert_eq!(vars[env_vars::DAILY_COST_BUDGET_MICRO_USD], "2000000");
    assert_eq!(
        vars[env_vars::DEFAULT_MODEL],
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    assert_eq!(vars[env_vars::MAX_OUTPUT_TOKENS], "1024");
    assert_eq!(vars[env_vars::RATE_LIMIT], "20");
    assert_eq!(vars[env_vars::RATE_WINDOW_SECONDS], "60");
    assert_eq!(vars[env_vars::IPV6_PREFIX_LENGTH], "64");
    assert_eq!(vars[env_vars::DAILY_TOKEN_BUDGET], "1000000");
    assert_eq!(vars[env_vars::HISTORY_DAYS], "7");
    assert_eq!(
        vars[env_vars::SYSTEM_PROMPT],
        "You are a helpful, concise assistant."
    );
}

// ---- helpers ----

use xtask::cfn::resources::serverless::{DeploymentType, Function};
use xtask::cfn::resources::{
    Alarm, Bucket, Distribution, Effect, Principal, Properties, PublicAccessBlockConfiguration,
    Role, Statement, Table,
};
use xtask::cfn::{self, Expr, Policy, Resource, Template};
use xtask::stack::ids;

const ENVS: [&str; 3] = ["dev", "staging", "prod"];

fn template(name: &str) -> Template {
    stack::template(&load(name))
}

fn resource<'a>(t: &'a Template, id: &str) -> &'a Resource {
    t.resources
        .iter()
        .find(|(rid, _)| rid == id)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no resource {id}"))
}

fn table_of(t: &Template) -> (&Resource, &Table) {
    let r = resource(t, ids::TABLE);
    match &r.properties {
        Properties::Table(table) => (r, table),
        other => panic!("Table is a {}", other.type_name()),
    }
}

fn function(t: &Template) -> &Function {
    match &resource(t, ids::FUNCTION).properties {
        Properties::ServerlessFunction(f) => f,
        other => panic!("Function is a {}", other.type_name()),
    }
}

fn bucket(t: &Template) -> &Bucket {
    match &resource(t, ids::SITE_BUCKET).properties {
        Properties::Bucket(b) => b,
        other => panic!("SiteBucket is a {}", other.type_name()),
    }
}

fn distribution(t: &Template) -> &Distribution {
    match &resource(t, ids::DISTRIBUTION).properties {
        Properties::Distribution(d) => d,
        other => panic!("Distribution is a {}", other.type_name()),
    }
}

fn alarms(t: &Template) -> Vec<(&str, &Alarm)> {
    t.resources
        .iter()
        .filter_map(|(id, r)| match &r.properties {
            Properties::Alarm(a) => Some((id.as_str(), a)),
            _ => None,
        })
        .collect()
}

/// Every IAM statement in the template: role policies, trust policies and bucket policies.
fn statements(t: &Template) -> Vec<&Statement> {
    let mut all = Vec::new();
    for (_, r) in &t.resources {
        match &r.properties {
            Properties::Role(Role {
                assume_role_policy_document,
                policies,
                ..
            }) => {
                all.extend(&assume_role_policy_document.statement);
                for p in policies {
                    all.extend(&p.policy_document.statement);
                }
            }
            Properties::BucketPolicy(p) => all.extend(&p.policy_document.statement),
            _ => {}
        }
    }
    all
}

fn sub(s: &str) -> Expr {
    Expr::Sub(s.to_owned())
}

// ---- table ----

#[test]
fn prod_table_has_pitr_deletion_protection_and_is_retained() {
    let t = template("prod");
    let (r, table) = table_of(&t);
    assert!(
        table
            .point_in_time_recovery_specification
            .point_in_time_recovery_enabled
    );
    assert!(table.deletion_protection_enabled);
    assert_eq!(r.deletion_policy, Some(Policy::Retain));
    assert_eq!(r.update_replace_policy, Some(Policy::Retain));
}

#[test]
fn dev_table_follows_its_env_file() {
    let t = template("dev");
    let (r, table) = table_of(&t);
    assert!(
        !table
            .point_in_time_recovery_specification
            .point_in_time_recovery_enabled
    );
    assert!(!table.deletion_protection_enabled);
    assert_eq!(r.deletion_policy, Some(Policy::Delete));
    // The PITR check is skipped only where the env file turns PITR off, with the reason.
    assert!(r.checkov_skips.iter().any(|s| s.id == "CKV_AWS_28"));
    let prod_template = template("prod");
    let (prod, _) = table_of(&prod_template);
    assert!(!prod.checkov_skips.iter().any(|s| s.id == "CKV_AWS_28"));
}

#[test]
fn table_has_ttl_on_expires_at_and_string_keys() {
    for name in ENVS {
        let t = template(name);
        let (_, table) = table_of(&t);
        assert_eq!(
            table.time_to_live_specification.attribute_name,
            "expires_at"
        );
        assert!(table.time_to_live_specification.enabled);
        assert_eq!(table.billing_mode, "PAY_PER_REQUEST");
        assert!(table.sse_specification.sse_enabled);
        let keys: Vec<(&str, &str)> = table
            .key_schema
            .iter()
            .map(|k| (k.attribute_name.as_str(), k.key_type.as_str()))
            .collect();
        assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
        let attributes: Vec<(&str, &str)> = table
            .attribute_definitions
            .iter()
            .map(|a| (a.attribute_name.as_str(), a.attribute_type.as_str()))
            .collect();
        assert_eq!(
            attributes,
            [
                ("pk", "S"),
                ("sk", "S"),
                ("owner", "S"),
                ("updated_at", "N")
            ]
        );
        // One index: each signed-in person's chats, newest activity first.
        assert_eq!(table.global_secondary_indexes.len(), 1);
        let index = &table.global_secondary_indexes[0];
        assert_eq!(index.index_name, chatbot_contract::table::OWNER_INDEX);
        let index_keys: Vec<(&str, &str)> = index
            .key_schema
            .iter()
            .map(|k| (k.attribute_name.as_str(), k.key_type.as_str()))
            .collect();
        assert_eq!(index_keys, [("owner", "HASH"), ("updated_at", "RANGE")]);
        assert_eq!(index.projection.projection_type, "ALL");
    }
}

// ---- alarms ----

#[test]
fn every_alarm_notifies_the_topic() {
    for name in ENVS {
        let t = template(name);
        let alarms = alarms(&t);
        assert!(alarms.len() >= 17, "{name} has {} alarms", alarms.len());
        for (id, alarm) in alarms {
            assert_eq!(
                alarm.alarm_actions,
                [Expr::Ref(ids::ALARM_TOPIC.into())],
                "{id}"
            );
            assert_eq!(
                alarm.ok_actions,
                [Expr::Ref(ids::ALARM_TOPIC.into())],
                "{id}"
            );
        }
    }
}

#[test]
fn app_metric_alarms_read_the_environment_dimension() {
    use chatbot_contract::metrics;
    let t = template("staging");
    let env = load("staging");
    let app: Vec<(&str, &Alarm)> = alarms(&t)
        .into_iter()
        .filter(|(_, a)| a.namespace == metrics::NAMESPACE)
        .filter(|(_, a)| a.dimensions[0].name == metrics::DIMENSION)
        .collect();
    let mut names: Vec<&str> = app.iter().map(|(_, a)| a.metric_name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            metrics::BUDGET_EXHAUSTED,
            metrics::BUDGET_USED_PERCENT,
            metrics::MODEL_ERRORS,
            metrics::MODEL_THROTTLES,
            metrics::ORIGIN_REFUSED,
            metrics::RATE_LIMITED,
            metrics::STORE_ERRORS,
        ]
    );
    for (id, alarm) in app {
        assert_eq!(alarm.dimensions.len(), 1, "{id}");
        assert_eq!(alarm.dimensions[0].name, metrics::DIMENSION);
        assert_eq!(alarm.dimensions[0].value, Expr::Str("staging".into()));
    }
    let budget = alarms(&t)
        .into_iter()
        .find(|(_, a)| a.metric_name == metrics::BUDGET_USED_PERCENT)
        .unwrap()
        .1;
    assert_eq!(budget.threshold, i64::from(env.alarms.budget_used_percent));
}

/// The alarm on `metric`.
fn alarm_on<'a>(t: &'a Template, metric: &str) -> &'a Alarm {
    let found: Vec<&Alarm> = alarms(t)
        .into_iter()
        .filter(|(_, a)| a.metric_name == metric)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(found.len(), 1, "alarms on {metric}");
    found[0]
}

#[test]
fn refusals_store_errors_the_spent_budget_and_4xx_have_alarms_with_the_env_files_thresholds() {
    use chatbot_contract::metrics;
    for name in ENVS {
        let env = load(name);
        let t = stack::template(&env);
        let a = &env.alarms;
        for (metric, threshold) in [
            (metrics::ORIGIN_REFUSED, a.origin_refused),
            (metrics::STORE_ERRORS, a.store_errors),
            (metrics::BUDGET_EXHAUSTED, a.budget_exhausted),
            ("4XXError", a.api_4xx_errors),
            ("DirectCallsRefused", a.direct_calls_refused),
            ("ApiThrottled", a.api_throttled),
        ] {
            let alarm = alarm_on(&t, metric);
            assert_eq!(alarm.threshold, i64::from(threshold), "{name} {metric}");
            assert_eq!(alarm.statistic.as_deref(), Some("Sum"), "{name} {metric}");
            assert_eq!(alarm.comparison_operator, "GreaterThanOrEqualToThreshold");
        }
        let api_4xx = alarm_on(&t, "4XXError");
        assert_eq!(api_4xx.namespace, "AWS/ApiGateway");
        assert_eq!(api_4xx.dimensions.len(), 2);
    }
    // The thresholds differ where the env files say.
    assert_ne!(
        alarm_on(&template("dev"), "4XXError").threshold,
        alarm_on(&template("prod"), "4XXError").threshold
    );
}

#[test]
fn refused_and_throttled_calls_are_counted_from_the_access_log() {
    use chatbot_contract::metrics;
    let t = template("dev");
    let Properties::Stage(stage) = &resource(&t, ids::API_STAGE).properties else {
        panic!("no stage")
    };
    // The access log line names the gateway response and the API, as JSON.
    let line: serde_json::Value = serde_json::from_str(&stage.access_log_setting.format).unwrap();
    assert_eq!(line["errorType"], "$context.error.responseType");
    assert_eq!(line["apiId"], "$context.apiId");
    for (filter, metric, response_type) in [
        (
            ids::DIRECT_CALLS_FILTER,
            "DirectCallsRefused",
            "INVALID_API_KEY",
        ),
        (ids::THROTTLED_FILTER, "ApiThrottled", "THROTTLED"),
    ] {
        let Properties::MetricFilter(f) = &resource(&t, filter).properties else {
            panic!("{filter} is not a metric filter")
        };
        assert_eq!(f.log_group_name, Expr::Ref(ids::API_ACCESS_LOGS.into()));
        assert_eq!(
            f.filter_pattern,
            format!(r#"{{ $.errorType = "{response_type}" }}"#)
        );
        let m = &f.metric_transformations[0];
        assert_eq!(
            (m.metric_namespace.as_str(), m.metric_name.as_str()),
            (metrics::NAMESPACE, metric)
        );
        assert_eq!(m.metric_value, "1");
        assert_eq!(m.dimensions[0].key, "ApiId");
        assert_eq!(m.dimensions[0].value, "$.apiId");
        // The alarm reads the metric of this API.
        let alarm = alarm_on(&t, metric);
        assert_eq!(alarm.namespace, metrics::NAMESPACE);
        assert_eq!(alarm.dimensions.len(), 1);
        assert_eq!(alarm.dimensions[0].name, "ApiId");
        assert_eq!(alarm.dimensions[0].value, Expr::Ref(ids::REST_API.into()));
    }
}

#[test]
fn an_existing_topic_is_notified_by_every_alarm_besides_the_stacks_own() {
    let mut env = load("prod");
    let arn = "arn:aws:sns:us-west-2:123456789012:ops-alerts";
    env.alarms.topic_arn = Some(arn.into());
    let t = stack::template(&env);
    for (id, alarm) in alarms(&t) {
        let expected = [Expr::Ref(ids::ALARM_TOPIC.into()), Expr::Str(arn.into())];
        assert_eq!(alarm.alarm_actions, expected, "{id}");
        assert_eq!(alarm.ok_actions, expected, "{id}");
    }
}

#[test]
fn duration_alarm_fires_near_the_timeout() {
    let env = load("prod");
    let t = stack::template(&env);
    let duration = alarms(&t)
        .into_iter()
        .find(|(_, a)| a.metric_name == "Duration")
        .unwrap()
        .1;
    // 60 s timeout, 80 percent.
    assert_eq!(duration.threshold, 48_000);
    assert_eq!(duration.statistic.as_deref(), Some("Maximum"));
}

#[test]
fn alarm_email_subscribes_to_the_topic_only_when_set() {
    let t = template("dev");
    let Properties::Topic(topic) = &resource(&t, ids::ALARM_TOPIC).properties else {
        panic!("AlarmTopic is not a topic")
    };
    assert!(topic.subscription.is_empty());

    let mut env = load("dev");
    env.alarms.email = Some("ops@example.com".into());
    let t = stack::template(&env);
    let Properties::Topic(topic) = &resource(&t, ids::ALARM_TOPIC).properties else {
        panic!("AlarmTopic is not a topic")
    };
    assert_eq!(topic.subscription.len(), 1);
    assert_eq!(topic.subscription[0].endpoint, "ops@example.com");
    assert_eq!(topic.subscription[0].protocol, "email");
}

// ---- site ----

#[test]
fn bucket_blocks_all_public_access_and_is_encrypted() {
    for name in ENVS {
        let t = template(name);
        let b = bucket(&t);
        assert_eq!(
            b.public_access_block_configuration,
            PublicAccessBlockConfiguration::ALL_BLOCKED
        );
        assert!(b.public_access_block_configuration.block_public_acls);
        assert!(b.public_access_block_configuration.restrict_public_buckets);
        assert_eq!(
            b.bucket_encryption.server_side_encryption_configuration[0]
                .server_side_encryption_by_default
                .sse_algorithm,
            "AES256"
        );
    }
}

#[test]
fn bucket_is_versioned_where_the_env_file_says() {
    assert!(bucket(&template("prod")).versioning_configuration.is_some());
    assert!(bucket(&template("dev")).versioning_configuration.is_none());
}

#[test]
fn bucket_policy_lets_only_this_distribution_read() {
    let t = template("dev");
    let Properties::BucketPolicy(policy) = &resource(&t, ids::SITE_BUCKET_POLICY).properties else {
        panic!("no bucket policy")
    };
    let allows: Vec<&Statement> = policy
        .policy_document
        .statement
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .collect();
    assert_eq!(allows.len(), 2);
    for statement in allows {
        assert_eq!(
            statement.principal,
            Some(Principal::Service("cloudfront.amazonaws.com".into()))
        );
        let condition = serde_json::to_string(statement.condition.as_ref().unwrap()).unwrap();
        assert!(
            condition.contains("distribution/${Distribution}"),
            "{condition}"
        );
    }
}

#[test]
fn the_site_bucket_refuses_plain_http_to_anyone() {
    for name in ENVS {
        let t = template(name);
        let Properties::BucketPolicy(policy) = &resource(&t, ids::SITE_BUCKET_POLICY).properties
        else {
            panic!("no bucket policy")
        };
        let denies: Vec<&Statement> = policy
            .policy_document
            .statement
            .iter()
            .filter(|s| s.effect == Effect::Deny)
            .collect();
        assert_eq!(denies.len(), 1, "{name}");
        let deny = denies[0];
        assert_eq!(deny.principal, Some(Principal::Anyone));
        assert_eq!(deny.action, ["s3:*"]);
        assert_eq!(
            deny.resource,
            [
                Expr::GetAtt(ids::SITE_BUCKET.into(), "Arn".into()),
                sub("${SiteBucket.Arn}/*")
            ]
        );
        assert_eq!(
            serde_json::to_value(&deny.condition).unwrap(),
            serde_json::json!({"Bool": {"aws:SecureTransport": "false"}})
        );
    }
    // As the rendered template says it, with the principal as CloudFormation wants it.
    let text = stack::render(&load("dev")).unwrap();
    assert!(text.contains("Sid: DenyPlainHttp\n          Effect: Deny\n          Principal: '*'"));
}

#[test]
fn distribution_sends_api_to_the_api_and_the_rest_to_the_bucket() {
    let t = template("dev");
    let config = &distribution(&t).distribution_config;
    assert_eq!(config.default_cache_behavior.target_origin_id, "site");
    assert_eq!(
        config.default_cache_behavior.viewer_protocol_policy,
        "redirect-to-https"
    );
    let api = &config.cache_behaviors[0];
    assert_eq!(api.path_pattern.as_deref(), Some("/api/*"));
    assert_eq!(api.target_origin_id, "api");
    // Managed policy CachingDisabled.
    assert_eq!(api.cache_policy_id, "4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
    assert!(api.allowed_methods.contains(&"POST".to_owned()));
    let site = &config.origins[0];
    assert_eq!(
        site.origin_access_control_id,
        Some(Expr::GetAtt(ids::ORIGIN_ACCESS_CONTROL.into(), "Id".into()))
    );
    let Properties::OriginRequestPolicy(policy) = &resource(&t, ids::API_ORIGIN_REQUEST).properties
    else {
        panic!("no origin request policy")
    };
    let headers = &policy.origin_request_policy_config.headers_config.headers;
    assert!(headers.contains(&"CloudFront-Viewer-Address".to_owned()));
    assert!(!headers.iter().any(|h| h.eq_ignore_ascii_case("host")));
}

#[test]
fn security_headers_are_set() {
    let t = template("prod");
    let Properties::ResponseHeadersPolicy(policy) = &resource(&t, ids::SECURITY_HEADERS).properties
    else {
        panic!("no response headers policy")
    };
    let headers = &policy
        .response_headers_policy_config
        .security_headers_config;
    assert!(
        headers
            .content_security_policy
            .content_security_policy
            .contains("frame-ancestors 'none'")
    );
    assert!(headers.strict_transport_security.access_control_max_age_sec >= 31_536_000);
    assert!(headers.content_type_options.r#override);
    assert_eq!(headers.frame_options.frame_option, "DENY");
}

#[test]
fn custom_domain_gets_aliases_certificate_and_tls_1_2() {
    let mut env = load("prod");
    env.domain = Some(env::Domain {
        name: "chat.example.com".into(),
        certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/abc".into(),
    });
    let t = stack::template(&env);
    let config = &distribution(&t).distribution_config;
    assert_eq!(config.aliases, ["chat.example.com"]);
    assert_eq!(
        config
            .viewer_certificate
            .minimum_protocol_version
            .as_deref(),
        Some("TLSv1.2_2021")
    );
    assert_eq!(
        config.viewer_certificate.acm_certificate_arn.as_deref(),
        Some("arn:aws:acm:us-east-1:123456789012:certificate/abc")
    );
    let site_url = &t.outputs.iter().find(|(id, _)| id == "SiteUrl").unwrap().1;
    assert_eq!(site_url.value, Expr::Str("https://chat.example.com".into()));
    let skips = &resource(&t, ids::DISTRIBUTION).checkov_skips;
    assert!(!skips.iter().any(|s| s.id == "CKV_AWS_174"));
}

// ---- IAM ----

#[test]
fn no_iam_statement_has_a_wildcard_action() {
    for name in ENVS {
        let t = template(name);
        let statements = statements(&t);
        assert!(statements.len() >= 6);
        // A wildcard in a Deny narrows access; only what is allowed must be exact.
        for statement in statements.into_iter().filter(|s| s.effect == Effect::Allow) {
            for action in &statement.action {
                assert!(!action.contains('*'), "{name}: action {action}");
            }
            for resource in &statement.resource {
                assert_ne!(resource, &Expr::Str("*".into()), "{name}");
            }
        }
    }
}

#[test]
fn bedrock_actions_name_only_the_allowlisted_models() {
    let t = template("dev");
    let bedrock: Vec<&Statement> = statements(&t)
        .into_iter()
        .filter(|s| s.action.iter().any(|a| a.starts_with("bedrock:")))
        .collect();
    assert_eq!(bedrock.len(), 1);
    assert_eq!(
        bedrock[0].action,
        [
            "bedrock:InvokeModel",
            "bedrock:InvokeModelWithResponseStream"
        ]
    );
    assert_eq!(
        bedrock[0].resource,
        [
            sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"
            ),
            sub(
                "arn:${AWS::Partition}:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
            ),
            sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/amazon.nova-lite-v1:0"
            ),
        ]
    );
}

#[test]
fn bedrock_resources_follow_each_env_files_models() {
    for name in ENVS {
        let env = load(name);
        let resources = stack::bedrock_resources(&env);
        for resource in &resources {
            let Expr::Sub(arn) = resource else {
                panic!("{resource:?}")
            };
            let id = arn.rsplit('/').next().unwrap();
            assert!(
                env.models
                    .iter()
                    .any(|m| m.id == id || m.id.ends_with(&format!(".{id}"))),
                "{name}: {arn} is not for an allowlisted model"
            );
        }
        let profiles = env
            .models
            .iter()
            .filter(|m| m.id.starts_with("us."))
            .count();
        assert_eq!(resources.len(), env.models.len() + profiles, "{name}");
    }
}

#[test]
fn the_function_may_call_exactly_the_table_operations_the_store_uses() {
    for name in ENVS {
        let t = template(name);
        let dynamodb: Vec<&Statement> = statements(&t)
            .into_iter()
            .filter(|s| s.action.iter().any(|a| a.starts_with("dynamodb:")))
            .collect();
        assert_eq!(dynamodb.len(), 1, "{name}");
        let expected: Vec<String> = chatbot_contract::table::OPERATIONS
            .iter()
            .map(|op| format!("dynamodb:{op}"))
            .collect();
        assert_eq!(dynamodb[0].action, expected, "{name}");
        // The two the store never calls.
        for unused in ["dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"] {
            assert!(!dynamodb[0].action.iter().any(|a| a == unused), "{name}");
        }
    }
}

#[test]
fn function_role_reaches_only_its_own_table_and_log_group() {
    let t = template("dev");
    for statement in statements(&t) {
        if statement.action.iter().any(|a| a.starts_with("dynamodb:")) {
            assert_eq!(
                statement.resource,
                [
                    Expr::GetAtt(ids::TABLE.into(), "Arn".into()),
                    Expr::Sub(format!(
                        "${{{}.Arn}}/index/{}",
                        ids::TABLE,
                        chatbot_contract::table::OWNER_INDEX
                    )),
                ]
            );
        }
        if statement.action.iter().any(|a| a.starts_with("logs:")) {
            assert_eq!(
                statement.resource,
                [Expr::GetAtt(ids::FUNCTION_LOGS.into(), "Arn".into())]
            );
        }
    }
}

// ---- function and API ----

#[test]
fn function_settings_come_from_the_env_file() {
    for name in ENVS {
        let env = load(name);
        let t = stack::template(&env);
        let f = function(&t);
        assert_eq!(f.memory_size, env.function.memory_mb);
        assert_eq!(f.timeout, env.function.timeout_seconds);
        assert_eq!(
            f.reserved_concurrent_executions,
            env.function.reserved_concurrency
        );
        assert_eq!(f.architectures, [env.function.architecture.as_str()]);
        assert_eq!(f.runtime, "provided.al2023");
        assert_eq!(f.handler, "bootstrap");
        assert_eq!(
            f.code_uri.bucket,
            Expr::Ref(stack::PARAM_CODE_BUCKET.into())
        );
        assert_eq!(f.code_uri.key, Expr::Ref(stack::PARAM_CODE_KEY.into()));
        assert_eq!(f.logging_config.log_format, "JSON");
    }
}

#[test]
fn function_environment_in_the_template_is_function_environment_plus_table_and_secret() {
    let env = load("staging");
    let t = stack::template(&env);
    let variables = &function(&t).environment.variables;
    for name in env_vars::ALL {
        assert!(variables.contains_key(name), "{name} is not set");
    }
    assert_eq!(
        variables.len(),
        env_vars::ALL.len() + 1,
        "staging has a dollar budget and no guardrail"
    );
    assert_eq!(
        variables[env_vars::DAILY_COST_BUDGET_MICRO_USD],
        Expr::Str("10000000".into())
    );
    assert_eq!(
        variables[env_vars::TABLE_NAME],
        Expr::Ref(ids::TABLE.into())
    );
    assert_eq!(variables[env_vars::ORIGIN_SECRET], origin::sent_value());
    assert_eq!(
        variables[env_vars::ORIGIN_SECRET_PREVIOUS],
        origin::previous_value()
    );
    for (name, value) in stack::function_environment(&env) {
        assert_eq!(variables[name], Expr::Str(value));
    }
}

#[test]
fn staging_and_prod_differ_from_dev_where_their_env_files_say() {
    let dev = template("dev");
    for name in ["staging", "prod"] {
        let env = load(name);
        let t = stack::template(&env);
        let stage = |t: &Template| match &resource(t, ids::API_STAGE).properties {
            Properties::Stage(s) => s.method_settings[0].clone(),
            _ => panic!("no stage"),
        };
        assert_ne!(stage(&t), stage(&dev), "{name}");
        assert_eq!(stage(&t).throttling_rate_limit, env.api.throttle_rate);
        assert_eq!(stage(&t).throttling_burst_limit, env.api.throttle_burst);
        assert_ne!(
            function(&t).deployment_preference,
            function(&dev).deployment_preference,
            "{name}"
        );
        assert_ne!(
            function(&t).reserved_concurrent_executions,
            function(&dev).reserved_concurrent_executions
        );
        assert_ne!(
            function(&t).environment.variables[env_vars::MODELS],
            function(&dev).environment.variables[env_vars::MODELS]
        );
        assert!(
            table_of(&t)
                .1
                .point_in_time_recovery_specification
                .point_in_time_recovery_enabled
        );
        let retention = |t: &Template| match &resource(t, ids::FUNCTION_LOGS).properties {
            Properties::LogGroup(g) => g.retention_in_days,
            _ => panic!("no log group"),
        };
        assert_eq!(retention(&t), env.log_retention_days);
        assert_ne!(retention(&t), retention(&dev));
    }
    assert_eq!(function(&template("prod")).memory_size, 512);
    assert_eq!(function(&dev).memory_size, 256);
}

#[test]
fn every_route_is_a_streaming_lambda_proxy() {
    let t = template("dev");
    let Properties::RestApi(api) = &resource(&t, ids::REST_API).properties else {
        panic!("no RestApi")
    };
    let body = serde_json::to_value(&api.body).unwrap();
    for route in chatbot_contract::ROUTES {
        let operation = &body["paths"][route.path][route.method.to_ascii_lowercase()];
        let integration = &operation["x-amazon-apigateway-integration"];
        assert_eq!(integration["type"], "aws_proxy", "{}", route.path);
        assert_eq!(integration["httpMethod"], "POST");
        assert_eq!(integration["responseTransferMode"], "STREAM");
        // The alias, through a variable SAM resolves to the generated alias's ARN.
        assert_eq!(
            integration["uri"]["Fn::Sub"][0],
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${FunctionAlias}/response-streaming-invocations"
        );
        assert_eq!(
            integration["uri"]["Fn::Sub"][1]["FunctionAlias"],
            serde_json::json!({"Ref": "Function.Alias"})
        );
    }
    let paths = body["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|m| m.as_object().unwrap().len()).sum();
    assert_eq!(operations, chatbot_contract::ROUTES.len());
}

#[test]
fn stage_has_access_logs_and_a_deployment_named_by_the_routes() {
    let t = template("dev");
    let Properties::Stage(stage) = &resource(&t, ids::API_STAGE).properties else {
        panic!("no stage")
    };
    assert_eq!(
        stage.access_log_setting.destination_arn,
        Expr::GetAtt(ids::API_ACCESS_LOGS.into(), "Arn".into())
    );
    let Expr::Ref(deployment) = &stage.deployment_id else {
        panic!("DeploymentId is not a Ref")
    };
    assert!(deployment.starts_with(ids::API_DEPLOYMENT_PREFIX));
    // Same routes, same deployment in every environment with the same timeout.
    let staging = template("staging");
    let Properties::Stage(other) = &resource(&staging, ids::API_STAGE).properties else {
        panic!("no stage")
    };
    assert_ne!(other.deployment_id, stage.deployment_id, "timeouts differ");
}

/// A session id is the only key to a conversation: the API's logs record the route template,
/// never the path that carries the id.
#[test]
fn api_logs_record_the_route_template_never_the_path() {
    // Variables whose value is or contains the request path or its parameters (`contains`
    // below also catches longer names that start with these).
    const PATH_VARIABLES: [&str; 5] = [
        "$context.path",
        "$context.requestOverride.path",
        "$method.request.path",
        "$input.params",
        "$request.path",
    ];
    for name in ENVS {
        let t = template(name);
        let Properties::Stage(stage) = &resource(&t, ids::API_STAGE).properties else {
            panic!("no stage")
        };
        let format: serde_json::Value = serde_json::from_str(&stage.access_log_setting.format)
            .expect("the access log format is one JSON object");
        let fields = format.as_object().unwrap();
        assert_eq!(fields["route"], "$context.resourcePath", "{name}");
        for (field, value) in fields {
            let value = value.as_str().unwrap();
            for variable in PATH_VARIABLES {
                assert!(
                    !value.contains(variable),
                    "{name}: access log field {field} records {variable}"
                );
            }
        }
        for setting in &stage.method_settings {
            // INFO execution logs write the method request path and its parameters; execution
            // logging is off altogether (the access log keeps the errors).
            assert_eq!(setting.logging_level, "OFF", "{name}");
            assert!(!setting.data_trace_enabled, "{name}");
        }
    }
}

// ---- origin secret: API keys at API Gateway, the origin header in the function ----

/// `{{resolve:secretsmanager:<ARN of the slot's secret>:SecretString}}`, written out.
fn secret_reference(secret: &str) -> Expr {
    Expr::Join(
        String::new(),
        vec![
            Expr::Str("{{resolve:secretsmanager:".into()),
            Expr::Ref(secret.into()),
            Expr::Str(":SecretString}}".into()),
        ],
    )
}

fn openapi_body(t: &Template) -> serde_json::Value {
    let Properties::RestApi(api) = &resource(t, ids::REST_API).properties else {
        panic!("no RestApi")
    };
    serde_json::to_value(&api.body).unwrap()
}

#[test]
fn each_slot_has_a_long_header_safe_generated_secret() {
    for name in ENVS {
        let t = template(name);
        for (id, condition) in [
            ("OriginSecret", "OriginSecretSlotA"),
            ("OriginSecretB", "OriginSecretSlotB"),
        ] {
            let r = resource(&t, id);
            let Properties::Secret(secret) = &r.properties else {
                panic!("{name}: {id} is a {}", r.properties.type_name())
            };
            assert!(secret.generate_secret_string.password_length >= 32);
            assert!(secret.generate_secret_string.exclude_punctuation);
            assert_eq!(r.condition.as_deref(), Some(condition), "{name} {id}");
            assert!(r.checkov_skips.iter().any(|s| s.id == "CKV_AWS_149"));
        }
    }
    assert_eq!(
        origin::secret_value(origin::Slot::A),
        secret_reference("OriginSecret")
    );
    assert_eq!(
        origin::secret_value(origin::Slot::B),
        secret_reference("OriginSecretB")
    );
}

#[test]
fn every_operation_requires_cloudfronts_api_key_from_the_header() {
    for name in ENVS {
        let body = openapi_body(&template(name));
        assert_eq!(
            body["x-amazon-apigateway-api-key-source"], "HEADER",
            "{name}"
        );
        assert_eq!(
            body["components"]["securitySchemes"]["cloudfront_key"],
            serde_json::json!({"type": "apiKey", "name": "x-api-key", "in": "header"})
        );
        assert_eq!(chatbot_contract::API_KEY_HEADER, "x-api-key");
        let mut operations = 0;
        for (path, methods) in body["paths"].as_object().unwrap() {
            for (method, operation) in methods.as_object().unwrap() {
                operations += 1;
                assert_eq!(
                    operation["security"],
                    serde_json::json!([{"cloudfront_key": []}]),
                    "{name}: {method} {path} does not require the key"
                );
            }
        }
        assert_eq!(operations, chatbot_contract::ROUTES.len());
    }
}

/// A gateway response's JSON body, with API Gateway's `$context.error.messageString` (which
/// it writes as a JSON string) filled in.
fn gateway_body(response: &serde_json::Value) -> serde_json::Value {
    let template = response["responseTemplates"]["application/json"]
        .as_str()
        .unwrap()
        .replace("$context.error.messageString", r#""what API Gateway says""#);
    serde_json::from_str(&template).unwrap_or_else(|e| panic!("{template}: {e}"))
}

#[test]
fn api_gateway_refuses_a_missing_or_wrong_key_in_the_apis_own_error_shape() {
    let body = openapi_body(&template("prod"));
    let responses = &body["x-amazon-apigateway-gateway-responses"];
    let refused = &responses["INVALID_API_KEY"];
    assert_eq!(refused["statusCode"], "403");
    let error = gateway_body(refused);
    // The same answer the function gives when its own origin check refuses.
    assert_eq!(
        error,
        serde_json::json!({"error": {
            "code": chatbot_contract::forbidden::CODE,
            "message": chatbot_contract::forbidden::MESSAGE,
        }})
    );
    assert_eq!(
        refused["responseParameters"]["gatewayresponse.header.Cache-Control"],
        "'no-store'"
    );
    let throttled = &responses["THROTTLED"];
    assert_eq!(throttled["statusCode"], "429");
    assert_eq!(gateway_body(throttled)["error"]["code"], "throttled");
    assert_eq!(
        throttled["responseParameters"]["gatewayresponse.header.Retry-After"],
        "'1'"
    );
    let unknown = &responses["MISSING_AUTHENTICATION_TOKEN"];
    assert_eq!(unknown["statusCode"], "404");
    assert_eq!(gateway_body(unknown)["error"]["code"], "not_found");
    // Everything else API Gateway answers by itself keeps its status, in the same shape.
    for (kind, code) in [
        ("DEFAULT_4XX", "bad_request"),
        ("DEFAULT_5XX", "gateway_error"),
    ] {
        let response = &responses[kind];
        assert!(response.get("statusCode").is_none(), "{kind}");
        assert_eq!(
            gateway_body(response),
            serde_json::json!({"error": {"code": code, "message": "what API Gateway says"}})
        );
    }
}

#[test]
fn the_usage_plan_opens_the_stage_to_the_slots_keys_only() {
    let t = template("dev");
    let Properties::UsagePlan(plan) = &resource(&t, ids::USAGE_PLAN).properties else {
        panic!("no usage plan")
    };
    assert_eq!(plan.api_stages.len(), 1);
    assert_eq!(plan.api_stages[0].api_id, Expr::Ref(ids::REST_API.into()));
    assert_eq!(plan.api_stages[0].stage, Expr::Ref(ids::API_STAGE.into()));
    let mut keys = Vec::new();
    for (id, r) in &t.resources {
        match &r.properties {
            Properties::ApiKey(key) => {
                assert!(key.enabled, "{id}");
                keys.push((id.as_str(), r.condition.clone(), key.value.clone()));
            }
            Properties::UsagePlanKey(link) => {
                assert_eq!(link.usage_plan_id, Expr::Ref(ids::USAGE_PLAN.into()));
                assert_eq!(link.key_type, "API_KEY");
            }
            _ => {}
        }
    }
    assert_eq!(
        keys,
        [
            (
                "ApiKeyA",
                Some("OriginSecretSlotA".to_owned()),
                secret_reference("OriginSecret")
            ),
            (
                "ApiKeyB",
                Some("OriginSecretSlotB".to_owned()),
                secret_reference("OriginSecretB")
            ),
        ]
    );
    for (link, key, condition) in [
        ("UsagePlanKeyA", "ApiKeyA", "OriginSecretSlotA"),
        ("UsagePlanKeyB", "ApiKeyB", "OriginSecretSlotB"),
    ] {
        let r = resource(&t, link);
        let Properties::UsagePlanKey(usage) = &r.properties else {
            panic!("{link}")
        };
        assert_eq!(usage.key_id, Expr::Ref(key.into()));
        assert_eq!(r.condition.as_deref(), Some(condition));
    }
}

#[test]
fn the_stage_starts_requiring_the_key_only_after_cloudfront_sends_it() {
    let t = template("dev");
    assert!(
        resource(&t, ids::API_STAGE)
            .depends_on
            .contains(&ids::DISTRIBUTION.to_owned())
    );
}

#[test]
fn the_api_origin_sends_the_secret_as_api_key_and_origin_header_and_the_site_origin_does_not() {
    for name in ENVS {
        let t = template(name);
        let config = &distribution(&t).distribution_config;
        let api = config.origins.iter().find(|o| o.id == "api").unwrap();
        let headers: Vec<(&str, &Expr)> = api
            .origin_custom_headers
            .iter()
            .map(|h| (h.header_name.as_str(), &h.header_value))
            .collect();
        let sent = origin::sent_value();
        assert_eq!(
            headers,
            [("x-api-key", &sent), ("x-origin-verify", &sent)],
            "{name}"
        );
        let site = config.origins.iter().find(|o| o.id == "site").unwrap();
        assert!(site.origin_custom_headers.is_empty(), "{name}");
        // A viewer's own headers of these names are not passed on (CloudFront replaces them).
        let Properties::OriginRequestPolicy(policy) =
            &resource(&t, ids::API_ORIGIN_REQUEST).properties
        else {
            panic!("no origin request policy")
        };
        let forwarded = &policy.origin_request_policy_config.headers_config;
        assert_eq!(forwarded.header_behavior, "whitelist");
        for header in ["x-origin-verify", "x-api-key"] {
            assert!(
                !forwarded
                    .headers
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(header))
            );
        }
    }
}

#[test]
fn the_function_accepts_the_sent_secret_and_during_a_rotation_the_previous_one() {
    for name in ENVS {
        let t = template(name);
        let variables = &function(&t).environment.variables;
        assert_eq!(
            variables[env_vars::ORIGIN_SECRET],
            origin::sent_value(),
            "{name}"
        );
        assert_eq!(
            variables[env_vars::ORIGIN_SECRET_PREVIOUS],
            origin::previous_value(),
            "{name}"
        );
    }
}

/// Where the rendered template names `id`: the paths of each `Ref`, `Fn::GetAtt` or `Fn::Sub`
/// placeholder pointing at it.
fn uses_of(id: &str, value: &serde_yaml::Value, path: &str, found: &mut Vec<String>) {
    use serde_yaml::Value;
    match value {
        Value::Mapping(map) => {
            for (key, inner) in map {
                let key = key.as_str().unwrap_or_default();
                let names_it = match (key, inner) {
                    ("Ref", Value::String(target)) => target == id,
                    ("Fn::GetAtt", Value::Sequence(items)) => {
                        items.first().and_then(Value::as_str) == Some(id)
                    }
                    ("Fn::Sub", Value::String(text)) => {
                        text.contains(&format!("${{{id}}}")) || text.contains(&format!("${{{id}."))
                    }
                    _ => false,
                };
                if names_it {
                    found.push(path.to_owned());
                }
                uses_of(id, inner, &format!("{path}/{key}"), found);
            }
        }
        Value::Sequence(items) => {
            for (i, inner) in items.iter().enumerate() {
                uses_of(id, inner, &format!("{path}/{i}"), found);
            }
        }
        Value::Tagged(tagged) => uses_of(id, &tagged.value, path, found),
        _ => {}
    }
}

#[test]
fn only_the_api_keys_the_api_origin_and_the_function_read_the_origin_secrets() {
    for name in ENVS {
        let t = template(name);
        let value = cfn::to_value(&t).unwrap();
        for (secret, key) in [("OriginSecret", "ApiKeyA"), ("OriginSecretB", "ApiKeyB")] {
            let mut found = Vec::new();
            uses_of(secret, &value, "", &mut found);
            let readers: std::collections::BTreeSet<&str> = found
                .iter()
                .map(|path| path.split('/').nth(2).unwrap())
                .collect();
            assert_eq!(
                readers.into_iter().collect::<Vec<_>>(),
                [key, "Distribution", "Function"],
                "{name} {secret}: {found:#?}"
            );
            for path in &found {
                assert!(
                    path.contains("/Value/Fn::Join/")
                        || path.contains("/OriginCustomHeaders/")
                        || path.contains("/Variables/CHATBOT_ORIGIN_SECRET"),
                    "{name}: {path}"
                );
            }
        }
        // No role may read them: CloudFormation resolves the references when it deploys.
        for statement in statements(&t) {
            for action in &statement.action {
                assert!(!action.starts_with("secretsmanager:"), "{name}: {action}");
            }
        }
    }
}

// ---- origin secret: the template in each state of the OriginSecrets parameter ----

/// A condition of `t` evaluated for the parameter value `slots`.
fn holds(t: &Template, condition: &str, slots: &str) -> bool {
    let expr = &t
        .conditions
        .iter()
        .find(|(name, _)| name == condition)
        .unwrap_or_else(|| panic!("no condition {condition}"))
        .1;
    evaluate(expr, slots)
}

fn evaluate(expr: &Expr, slots: &str) -> bool {
    let Expr::Map(map) = expr else {
        panic!("not a condition: {expr:?}")
    };
    let (function, Expr::List(arguments)) = map.iter().next().unwrap() else {
        panic!("{expr:?}")
    };
    match function.as_str() {
        "Fn::Equals" => {
            assert_eq!(arguments[0], Expr::Ref("OriginSecrets".into()));
            arguments[1] == Expr::Str(slots.into())
        }
        "Fn::Or" => arguments.iter().any(|a| evaluate(a, slots)),
        "Fn::Not" => !evaluate(&arguments[0], slots),
        other => panic!("{other}"),
    }
}

/// `expr` with every `Fn::If` decided for `slots`.
fn decide(t: &Template, expr: &Expr, slots: &str) -> Expr {
    match expr {
        Expr::If(condition, then, otherwise) => {
            if holds(t, condition, slots) {
                decide(t, then, slots)
            } else {
                decide(t, otherwise, slots)
            }
        }
        other => other.clone(),
    }
}

/// The secrets a value refers to (empty for "").
fn secret_of(value: &Expr) -> Option<String> {
    match value {
        Expr::Join(_, parts) => match &parts[1] {
            Expr::Ref(secret) => Some(secret.clone()),
            other => panic!("{other:?}"),
        },
        Expr::Str(s) if s.is_empty() => None,
        other => panic!("{other:?}"),
    }
}

/// What the template does for one value of `OriginSecrets`: the secrets that exist, the one
/// CloudFront sends, the ones API Gateway's keys accept and the ones the function accepts.
#[derive(Debug, PartialEq)]
struct Deployed {
    secrets: Vec<String>,
    sent: String,
    gateway_accepts: Vec<String>,
    function_accepts: Vec<String>,
}

fn deployed(t: &Template, slots: &str) -> Deployed {
    let exists = |id: &str| {
        resource(t, id)
            .condition
            .as_ref()
            .is_none_or(|c| holds(t, c, slots))
    };
    let secrets: Vec<String> = ["OriginSecret", "OriginSecretB"]
        .into_iter()
        .filter(|id| exists(id))
        .map(str::to_owned)
        .collect();
    let api = &distribution(t).distribution_config.origins[1];
    let sent: Vec<Option<String>> = api
        .origin_custom_headers
        .iter()
        .map(|h| secret_of(&decide(t, &h.header_value, slots)))
        .collect();
    assert_eq!(sent[0], sent[1], "both headers carry the same value");
    let mut gateway_accepts = Vec::new();
    for (key, link) in [("ApiKeyA", "UsagePlanKeyA"), ("ApiKeyB", "UsagePlanKeyB")] {
        assert_eq!(exists(key), exists(link));
        if exists(key) {
            let Properties::ApiKey(k) = &resource(t, key).properties else {
                panic!()
            };
            gateway_accepts.push(secret_of(&k.value).unwrap());
        }
    }
    let variables = &function(t).environment.variables;
    let function_accepts = [env_vars::ORIGIN_SECRET, env_vars::ORIGIN_SECRET_PREVIOUS]
        .into_iter()
        .filter_map(|v| secret_of(&decide(t, &variables[v], slots)))
        .collect();
    Deployed {
        secrets,
        sent: sent[0].clone().unwrap(),
        gateway_accepts,
        function_accepts,
    }
}

#[test]
fn each_state_of_the_origin_secrets_deploys_what_it_says() {
    let t = template("prod");
    let (a, b) = ("OriginSecret".to_owned(), "OriginSecretB".to_owned());
    let cases = [
        ("A", vec![&a], &a, vec![&a], vec![&a]),
        ("B", vec![&b], &b, vec![&b], vec![&b]),
        ("A+B", vec![&a, &b], &a, vec![&a, &b], vec![&a, &b]),
        ("B+A", vec![&a, &b], &b, vec![&a, &b], vec![&b, &a]),
    ];
    for (slots, secrets, sent, gateway, function) in cases {
        let state = origin::OriginSecrets::parse(slots).unwrap();
        assert_eq!(state.parameter_value(), slots);
        assert_eq!(
            deployed(&t, slots),
            Deployed {
                secrets: secrets.into_iter().cloned().collect(),
                sent: sent.clone(),
                gateway_accepts: gateway.into_iter().cloned().collect(),
                function_accepts: function.into_iter().cloned().collect(),
            },
            "OriginSecrets = {slots}"
        );
    }
    let parameter = &t
        .parameters
        .iter()
        .find(|(id, _)| id == origin::PARAM_ORIGIN_SECRETS)
        .unwrap()
        .1;
    assert_eq!(parameter.default.as_deref(), Some("A"));
    assert_eq!(parameter.allowed_values, ["A", "B", "A+B", "B+A"]);
    assert_eq!(origin::OriginSecrets::parse("C"), None);
}

/// During one deploy API Gateway, the function and each CloudFront edge move from the old
/// state to the new one each at its own moment: every value sent before or after must be
/// accepted by both, before and after.
fn step_is_safe(t: &Template, from: &str, to: &str) -> bool {
    let (before, after) = (deployed(t, from), deployed(t, to));
    [&before.sent, &after.sent].into_iter().all(|sent| {
        [&before, &after].into_iter().all(|state| {
            state.gateway_accepts.contains(sent) && state.function_accepts.contains(sent)
        })
    })
}

#[test]
fn a_rotation_never_sends_a_value_that_is_not_accepted_and_ends_on_a_new_one() {
    let t = template("dev");
    for start in origin::OriginSecrets::ALL {
        let steps = start.rotation();
        let mut at = start;
        for step in &steps {
            assert!(
                step_is_safe(&t, at.parameter_value(), step.parameter_value()),
                "{} → {} could refuse requests",
                at.parameter_value(),
                step.parameter_value()
            );
            at = *step;
        }
        let end = steps.last().unwrap();
        assert_eq!(end.also_accepted, None, "a rotation ends with one value");
        // The value sent at the end belongs to a slot created during the rotation.
        let created =
            steps
                .iter()
                .zip(std::iter::once(&start).chain(&steps))
                .any(|(step, before)| {
                    step.accepted().contains(&end.sent) && !before.accepted().contains(&end.sent)
                });
        assert!(created, "from {}: {steps:?}", start.parameter_value());
    }
    // Two steps would not do: sending B before it is accepted refuses requests.
    assert!(!step_is_safe(&t, "A", "B+A"));
    assert_eq!(
        origin::OriginSecrets::FIRST
            .rotation()
            .iter()
            .map(|s| s.parameter_value())
            .collect::<Vec<_>>(),
        ["A+B", "B+A", "B"]
    );
}

// ---- the template as a whole ----

#[test]
fn parameters_and_outputs_are_the_contract() {
    let t = template("dev");
    let parameters: Vec<&str> = t.parameters.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        parameters,
        [
            stack::PARAM_CODE_BUCKET,
            stack::PARAM_CODE_KEY,
            origin::PARAM_ORIGIN_SECRETS
        ]
    );
    let mut outputs: Vec<&str> = t.outputs.iter().map(|(id, _)| id.as_str()).collect();
    outputs.sort();
    assert_eq!(
        outputs,
        [
            stack::OUTPUT_API_URL,
            stack::OUTPUT_DISTRIBUTION_ID,
            stack::OUTPUT_FUNCTION,
            stack::OUTPUT_SITE_BUCKET,
            stack::OUTPUT_SITE_URL,
            stack::OUTPUT_TABLE,
        ]
    );
}

#[test]
fn every_checkov_skip_has_a_reason() {
    for name in ENVS {
        for (id, r) in &template(name).resources {
            for skip in &r.checkov_skips {
                assert!(skip.id.starts_with("CKV"), "{id}");
                assert!(
                    skip.comment.len() > 20,
                    "{id} skips {} without a reason",
                    skip.id
                );
            }
        }
    }
}

#[test]
fn rendering_is_deterministic_with_header_and_long_form_intrinsics() {
    for name in ENVS {
        let env = load(name);
        let first = stack::render(&env).unwrap();
        assert_eq!(first, stack::render(&env).unwrap());
        assert!(first.starts_with(&format!(
            "# Generated by `cargo xtask synth` from envs/{name}.toml, do not edit by hand.\n"
        )));
        assert!(first.contains("Fn::GetAtt:"));
        assert!(!first.contains("!GetAtt") && !first.contains("!Ref") && !first.contains("!Sub"));
    }
}

#[test]
fn the_function_code_location_is_not_in_the_template() {
    // Only the parameters change when only the code changes.
    let text = stack::render(&load("dev")).unwrap();
    assert_eq!(text.matches("CodeUri:").count(), 1);
    assert!(text.contains(
        "CodeUri:\n        Bucket:\n          Ref: CodeBucket\n        Key:\n          Ref: CodeKey\n"
    ));
}

// ---- the model's checks ----

fn log_group(name: &str) -> Resource {
    Resource::new(Properties::LogGroup(xtask::cfn::resources::LogGroup {
        log_group_name: Expr::Str(name.into()),
        retention_in_days: 7,
    }))
}

fn with_output(value: Expr) -> Template {
    Template {
        description: "test".into(),
        resources: vec![("Logs".into(), log_group("a"))],
        outputs: vec![(
            "Out".into(),
            cfn::Output {
                description: "d".into(),
                value,
            },
        )],
        ..Template::default()
    }
}

#[track_caller]
fn check_render_error(t: &Template, message: &str) {
    assert_eq!(cfn::render(t).unwrap_err().to_string(), message);
}

#[test]
fn model_rejects_duplicate_ids() {
    let mut t = with_output(Expr::Ref("Logs".into()));
    t.resources.push(("Logs".into(), log_group("b")));
    check_render_error(&t, "resource id \"Logs\" is used twice");
}

#[test]
fn model_rejects_invalid_ids() {
    let mut t = with_output(Expr::Ref("Logs".into()));
    t.resources.push(("Log-Group".into(), log_group("b")));
    check_render_error(
        &t,
        "resource id \"Log-Group\" is not valid: logical IDs are 1 to 255 letters and digits",
    );
}

#[test]
fn model_rejects_dangling_references() {
    check_render_error(
        &with_output(Expr::Ref("Nothing".into())),
        "output Out refers to \"Nothing\", which is not in the template",
    );
    check_render_error(
        &with_output(Expr::GetAtt("Nothing".into(), "Arn".into())),
        "output Out refers to \"Nothing\", which is not in the template",
    );
    check_render_error(
        &with_output(Expr::Sub("${Logs.Arn}/${Missing}".into())),
        "output Out refers to \"Missing\", which is not in the template",
    );
    let mut t = with_output(Expr::Ref("Logs".into()));
    t.resources[0].1 = log_group("a").depends_on("Gone");
    check_render_error(
        &t,
        "resource Logs refers to \"Gone\", which is not in the template",
    );
}

#[test]
fn model_rejects_unknown_attributes_and_conditions() {
    check_render_error(
        &with_output(Expr::GetAtt("Logs".into(), "Url".into())),
        "output Out reads attribute \"Url\" of \"Logs\", which a AWS::Logs::LogGroup does not have",
    );
    check_render_error(
        &with_output(Expr::If(
            "IsProd".into(),
            Box::new(Expr::Str("a".into())),
            Box::new(Expr::Str("b".into())),
        )),
        "output Out uses condition \"IsProd\", which is not defined",
    );
}

#[test]
fn model_accepts_pseudo_parameters_literals_and_sub_variables() {
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("Name".to_owned(), Expr::Ref("Logs".into()));
    let t = with_output(Expr::Join(
        "/".into(),
        vec![
            Expr::Sub("${AWS::Region}-${!Literal}-${Logs}".into()),
            Expr::SubWith("${Name}".into(), vars),
            Expr::Ref("AWS::StackName".into()),
        ],
    ));
    let text = cfn::render(&t).unwrap();
    assert_eq!(
        text,
        "AWSTemplateFormatVersion: 2010-09-09
Description: test
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: a
      RetentionInDays: 7
Outputs:
  Out:
    Description: d
    Value:
      Fn::Join:
      - /
      - - Fn::Sub: ${AWS::Region}-${!Literal}-${Logs}
        - Fn::Sub:
          - ${Name}
          - Name:
              Ref: Logs
        - Ref: AWS::StackName
"
    );
}

#[test]
fn dashboard_body_is_json_once_substituted() {
    let t = template("dev");
    let Properties::Dashboard(dashboard) = &resource(&t, ids::DASHBOARD).properties else {
        panic!("no dashboard")
    };
    let Expr::Sub(body) = &dashboard.dashboard_body else {
        panic!("DashboardBody is not a Fn::Sub")
    };
    let substituted = body
        .replace("${Function}", "fn")
        .replace("${Table}", "table")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${AWS::StackName}", "chatbot-dev");
    let json: serde_json::Value = serde_json::from_str(&substituted).unwrap();
    assert_eq!(json["widgets"].as_array().unwrap().len(), 10);
    assert!(substituted.contains(r#"["Chatbot","BudgetUsedPercent","Environment","dev""#));
    assert!(substituted.contains(r#"["Chatbot","FeedbackPositive","Environment","dev""#));
    assert!(substituted.contains(r#"["Chatbot","FeedbackNegative","Environment","dev""#));
    // Spend in dollars: the cost metric (micro-dollars) divided by a million.
    assert!(substituted.contains(r#"["Chatbot","CostMicroUsd","Environment","dev",{"id":"m1""#));
    assert!(substituted.contains(r#""expression":"m1 / 1000000""#));
}

// ---- SAM: the function, its alias and its rollout ----

#[test]
fn stateful_resources_keep_their_logical_ids() {
    // Renaming any of these replaces it: a new table (history gone), bucket, secret or log
    // group. They are spelled out here, not taken from `ids`, so a rename fails this test.
    let pinned = [
        ("Table", "AWS::DynamoDB::Table"),
        ("SiteBucket", "AWS::S3::Bucket"),
        ("OriginSecret", "AWS::SecretsManager::Secret"),
        ("FunctionLogGroup", "AWS::Logs::LogGroup"),
        ("ApiAccessLogGroup", "AWS::Logs::LogGroup"),
    ];
    for name in ENVS {
        let t = template(name);
        for (id, type_name) in pinned {
            assert_eq!(resource(&t, id).properties.type_name(), type_name, "{name}");
        }
        let log_groups = t
            .resources
            .iter()
            .filter(|(_, r)| r.properties.type_name() == "AWS::Logs::LogGroup")
            .count();
        assert_eq!(log_groups, 2, "{name}: every log group is pinned above");
    }
}

#[test]
fn the_template_is_sam_and_the_function_a_serverless_function() {
    for name in ENVS {
        let t = template(name);
        assert_eq!(
            t.transform.as_deref(),
            Some("AWS::Serverless-2016-10-31"),
            "{name}"
        );
        assert_eq!(
            resource(&t, ids::FUNCTION).properties.type_name(),
            "AWS::Serverless::Function"
        );
        let text = stack::render(&load(name)).unwrap();
        assert!(
            text.contains("\nTransform: AWS::Serverless-2016-10-31\n"),
            "{name}"
        );
        // Only the function is SAM; the rest stays plain CloudFormation.
        let serverless = t
            .resources
            .iter()
            .filter(|(_, r)| r.properties.type_name().starts_with("AWS::Serverless::"))
            .count();
        assert_eq!(serverless, 1, "{name}");
    }
}

#[test]
fn the_function_publishes_a_version_and_moves_its_alias_on_every_change() {
    for name in ENVS {
        let t = template(name);
        let f = function(&t);
        assert_eq!(f.auto_publish_alias.as_deref(), Some(stack::ALIAS_NAME));
        assert_eq!(stack::ALIAS_NAME, "live");
        assert!(f.auto_publish_alias_all_properties, "{name}");
        // Its own role: SAM makes none, so no AWSLambdaBasicExecutionRole on every log group.
        assert_eq!(
            f.role,
            Expr::GetAtt(ids::FUNCTION_ROLE.into(), "Arn".into())
        );
        let Properties::Role(role) = &resource(&t, ids::FUNCTION_ROLE).properties else {
            panic!("FunctionRole is not a role")
        };
        assert!(role.managed_policy_arns.is_empty(), "{name}");
    }
}

#[test]
fn api_gateway_invokes_the_alias_and_may_invoke_only_the_alias() {
    let alias = Expr::Ref("Function.Alias".into());
    assert_eq!(stack::alias_reference(), alias);
    for name in ENVS {
        let t = template(name);
        let Properties::Permission(permission) = &resource(&t, ids::FUNCTION_PERMISSION).properties
        else {
            panic!("no permission")
        };
        assert_eq!(permission.function_name, alias, "{name}");
        assert_eq!(permission.principal, "apigateway.amazonaws.com");
        let Properties::RestApi(api) = &resource(&t, ids::REST_API).properties else {
            panic!("no RestApi")
        };
        let body = serde_json::to_string(&api.body).unwrap();
        assert!(
            !body.contains("Function.Arn"),
            "{name}: no route invokes the function itself"
        );
        assert_eq!(
            body.matches(r#"{"Ref":"Function.Alias"}"#).count(),
            chatbot_contract::ROUTES.len(),
            "{name}"
        );
    }
}

#[test]
fn each_environment_rolls_out_as_its_env_file_says() {
    let dev = template("dev");
    assert_eq!(function(&dev).deployment_preference, None);
    assert!(
        !dev.resources
            .iter()
            .any(|(id, _)| id == ids::CODE_DEPLOY_ROLE),
        "all-at-once needs no CodeDeploy"
    );
    for (name, kind) in [
        ("staging", DeploymentType::Linear10PercentEvery1Minute),
        ("prod", DeploymentType::Canary10Percent5Minutes),
    ] {
        let t = template(name);
        let preference = function(&t).deployment_preference.clone().unwrap();
        assert_eq!(preference.kind, kind, "{name}");
        assert_eq!(
            preference.alarms,
            [
                Expr::Ref(ids::FUNCTION_ERRORS_ALARM.into()),
                Expr::Ref(ids::FUNCTION_THROTTLES_ALARM.into())
            ]
        );
        assert_eq!(
            preference.role,
            Expr::GetAtt(ids::CODE_DEPLOY_ROLE.into(), "Arn".into())
        );
    }
    assert_eq!(
        DeploymentType::Canary10Percent5Minutes.as_str(),
        "Canary10Percent5Minutes"
    );
}

#[test]
fn code_deploy_may_move_only_this_alias_and_read_only_the_rollback_alarms() {
    let t = template("prod");
    let Properties::Role(role) = &resource(&t, ids::CODE_DEPLOY_ROLE).properties else {
        panic!("CodeDeployRole is not a role")
    };
    assert!(role.managed_policy_arns.is_empty());
    assert_eq!(
        role.assume_role_policy_document.statement[0].principal,
        Some(Principal::Service("codedeploy.amazonaws.com".into()))
    );
    let statements = &role.policies[0].policy_document.statement;
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[0].action,
        [
            "lambda:GetAlias",
            "lambda:GetProvisionedConcurrencyConfig",
            "lambda:UpdateAlias"
        ]
    );
    assert_eq!(
        statements[0].resource,
        [
            Expr::GetAtt("Function".into(), "Arn".into()),
            sub("${Function.Arn}:*")
        ]
    );
    assert_eq!(statements[1].action, ["cloudwatch:DescribeAlarms"]);
    assert_eq!(
        statements[1].resource,
        [
            Expr::GetAtt("FunctionErrorsAlarm".into(), "Arn".into()),
            Expr::GetAtt("FunctionThrottlesAlarm".into(), "Arn".into())
        ]
    );
}

#[test]
fn rollback_alarms_count_per_minute_what_goes_through_the_live_alias() {
    for name in ENVS {
        let env = load(name);
        let t = stack::template(&env);
        for (id, metric, threshold) in [
            (
                ids::FUNCTION_ERRORS_ALARM,
                "Errors",
                env.alarms.function_errors,
            ),
            (
                ids::FUNCTION_THROTTLES_ALARM,
                "Throttles",
                env.alarms.function_throttles,
            ),
        ] {
            let Properties::Alarm(alarm) = &resource(&t, id).properties else {
                panic!("{id} is not an alarm")
            };
            assert_eq!(alarm.metric_name, metric);
            assert_eq!(
                alarm.period, 60,
                "{name} {id}: fires within a canary's 5 minutes"
            );
            assert_eq!(alarm.evaluation_periods, 1);
            assert_eq!(alarm.threshold, i64::from(threshold));
            assert_eq!(alarm.treat_missing_data, "notBreaching");
            let dimensions: Vec<(&str, &Expr)> = alarm
                .dimensions
                .iter()
                .map(|d| (d.name.as_str(), &d.value))
                .collect();
            assert_eq!(
                dimensions,
                [
                    ("FunctionName", &Expr::Ref("Function".into())),
                    ("Resource", &sub("${Function}:live")),
                ],
                "{name} {id}"
            );
        }
    }
    // The others keep their 5-minute periods.
    let t = template("prod");
    let Properties::Alarm(latency) = &resource(&t, "ApiLatencyAlarm").properties else {
        panic!("no latency alarm")
    };
    assert_eq!(latency.period, 300);
}

// ---- what the environment stacks leave to the account ----

#[test]
fn no_environment_stack_sets_account_wide_api_gateway_settings() {
    for name in ENVS {
        let t = template(name);
        assert!(
            !t.resources
                .iter()
                .any(|(_, r)| r.properties.type_name() == "AWS::ApiGateway::Account"),
            "{name}"
        );
        for statement in statements(&t) {
            assert_ne!(
                statement.principal,
                Some(Principal::Service("apigateway.amazonaws.com".into())),
                "{name}"
            );
        }
    }
}

#[test]
fn account_wide_names_carry_stack_and_region() {
    let global = |suffix: &str| sub(&format!("${{AWS::StackName}}-${{AWS::Region}}{suffix}"));
    for name in ENVS {
        let t = template(name);
        let Properties::OriginAccessControl(oac) =
            &resource(&t, ids::ORIGIN_ACCESS_CONTROL).properties
        else {
            panic!("no OAC")
        };
        assert_eq!(oac.origin_access_control_config.name, global("-site"));
        let Properties::ResponseHeadersPolicy(headers) =
            &resource(&t, ids::SECURITY_HEADERS).properties
        else {
            panic!("no headers policy")
        };
        assert_eq!(
            headers.response_headers_policy_config.name,
            global("-security-headers")
        );
        let Properties::OriginRequestPolicy(request) =
            &resource(&t, ids::API_ORIGIN_REQUEST).properties
        else {
            panic!("no origin request policy")
        };
        assert_eq!(request.origin_request_policy_config.name, global("-api"));
        let Properties::Dashboard(dashboard) = &resource(&t, ids::DASHBOARD).properties else {
            panic!("no dashboard")
        };
        assert_eq!(dashboard.dashboard_name, global(""));
    }
}

#[test]
fn the_stack_leaves_no_execution_log_group_behind_and_the_access_log_keeps_errors() {
    for name in ENVS {
        let t = template(name);
        let Properties::Stage(stage) = &resource(&t, ids::API_STAGE).properties else {
            panic!("no stage")
        };
        assert_eq!(stage.method_settings[0].logging_level, "OFF", "{name}");
        assert!(!stage.method_settings[0].data_trace_enabled);
        let format = &stage.access_log_setting.format;
        for field in [
            "$context.status",
            "$context.error.message",
            "$context.error.responseType",
            "$context.integrationErrorMessage",
        ] {
            assert!(format.contains(field), "{name}: {field}");
        }
        let json: serde_json::Value = serde_json::from_str(format).unwrap();
        assert!(json.is_object());
    }
}

#[test]
fn cloudfront_waits_for_the_api_as_long_as_the_env_file_says() {
    for name in ENVS {
        let env = load(name);
        let t = stack::template(&env);
        let config = &distribution(&t).distribution_config;
        let api = config.origins.iter().find(|o| o.id == "api").unwrap();
        let custom = api.custom_origin_config.as_ref().unwrap();
        assert_eq!(
            custom.origin_read_timeout,
            env.api.origin_read_timeout_seconds
        );
        assert!(env.function.timeout_seconds <= custom.origin_read_timeout);
    }
}

// ---- the model's SAM checks ----

fn serverless_function(alias: Option<&str>) -> Resource {
    let t = template("dev");
    let mut f = function(&t).clone();
    f.auto_publish_alias = alias.map(str::to_owned);
    f.deployment_preference = None;
    f.role = Expr::Str("arn:aws:iam::123456789012:role/r".into());
    f.environment.variables.clear();
    f.logging_config.log_group = Expr::Str("logs".into());
    f.code_uri.bucket = Expr::Str("bucket".into());
    f.code_uri.key = Expr::Str("key".into());
    Resource::new(Properties::ServerlessFunction(f))
}

fn sam_template(alias: Option<&str>, output: Expr) -> Template {
    let mut t = with_output(output);
    t.transform = Some(cfn::resources::serverless::TRANSFORM.to_owned());
    t.resources.push(("Fn".into(), serverless_function(alias)));
    t
}

#[test]
fn model_accepts_sam_references_to_a_function_with_an_alias() {
    for output in [
        Expr::Ref("Fn.Alias".into()),
        Expr::Ref("Fn.Version".into()),
        Expr::Sub("${Fn.Alias}".into()),
        Expr::GetAtt("Fn".into(), "Arn".into()),
    ] {
        cfn::render(&sam_template(Some("live"), output)).unwrap();
    }
}

#[test]
fn model_rejects_sam_references_sam_cannot_resolve() {
    check_render_error(
        &sam_template(None, Expr::Ref("Fn.Alias".into())),
        "output Out reads attribute \"Alias\" of \"Fn\", which a AWS::Serverless::Function does not have",
    );
    check_render_error(
        &sam_template(Some("live"), Expr::GetAtt("Fn".into(), "Alias".into())),
        "output Out reads attribute \"Alias\" of \"Fn\", which a AWS::Serverless::Function does not have",
    );
    check_render_error(
        &sam_template(Some("live"), Expr::Ref("Logs.Alias".into())),
        "output Out reads attribute \"Alias\" of \"Logs\", which a AWS::Logs::LogGroup does not have",
    );
    check_render_error(
        &sam_template(Some("live"), Expr::Ref("Gone.Alias".into())),
        "output Out refers to \"Gone\", which is not in the template",
    );
}

#[test]
fn model_requires_the_transform_for_sam_resources() {
    let mut t = sam_template(Some("live"), Expr::Ref("Fn".into()));
    t.transform = None;
    check_render_error(
        &t,
        "resource Fn is an AWS::Serverless::Function, which needs `Transform: AWS::Serverless-2016-10-31`",
    );
    t.transform = Some(cfn::resources::serverless::TRANSFORM.to_owned());
    let text = cfn::render(&t).unwrap();
    assert!(text.starts_with(
        "AWSTemplateFormatVersion: 2010-09-09\nTransform: AWS::Serverless-2016-10-31\n"
    ));
}

// ---- guardrail ----

use xtask::cfn::resources::{Guardrail, GuardrailVersion};
use xtask::env::{FilterCategory, PiiAction};

fn guardrail_of(t: &Template) -> Option<&Guardrail> {
    t.resources.iter().find_map(|(id, r)| match &r.properties {
        Properties::Guardrail(g) if id == ids::GUARDRAIL => Some(g),
        _ => None,
    })
}

fn guardrail_version_of(t: &Template) -> Option<&GuardrailVersion> {
    t.resources.iter().find_map(|(id, r)| match &r.properties {
        Properties::GuardrailVersion(v) if id == ids::GUARDRAIL_VERSION => Some(v),
        _ => None,
    })
}

#[test]
fn only_environments_with_a_guardrail_section_get_a_guardrail() {
    for name in ENVS {
        let env = load(name);
        let t = stack::template(&env);
        assert_eq!(env.guardrail.is_some(), name == "prod", "{name}");
        assert_eq!(
            guardrail_of(&t).is_some(),
            env.guardrail.is_some(),
            "{name}"
        );
        assert_eq!(
            guardrail_version_of(&t).is_some(),
            env.guardrail.is_some(),
            "{name}"
        );
        let bedrock_types = t
            .resources
            .iter()
            .filter(|(_, r)| r.properties.type_name().starts_with("AWS::Bedrock::"))
            .count();
        assert_eq!(
            bedrock_types,
            if env.guardrail.is_some() { 2 } else { 0 },
            "{name}"
        );
    }
}

#[test]
fn the_guardrail_has_the_env_files_policies_and_messages() {
    let env = load("prod");
    let settings = env.guardrail.as_ref().unwrap();
    let t = stack::template(&env);
    let g = guardrail_of(&t).unwrap();
    assert_eq!(g.name, sub("${AWS::StackName}-guardrail"));
    assert_eq!(g.blocked_input_messaging, settings.blocked_input_message);
    assert_eq!(g.blocked_outputs_messaging, settings.blocked_output_message);

    let filters = &g.content_policy_config.as_ref().unwrap().filters_config;
    assert_eq!(filters.len(), settings.content_filters.len());
    for (config, filter) in filters.iter().zip(&settings.content_filters) {
        assert_eq!(config.kind, filter.category.as_str());
        assert_eq!(config.input_strength, filter.strength.as_str());
        let output = if filter.category == FilterCategory::PromptAttack {
            "NONE"
        } else {
            filter.strength.as_str()
        };
        assert_eq!(config.output_strength, output, "{}", config.kind);
    }
    assert!(filters.iter().any(|f| f.kind == "PROMPT_ATTACK"));

    let topics = &g.topic_policy_config.as_ref().unwrap().topics_config;
    assert_eq!(topics.len(), settings.denied_topics.len());
    for (config, topic) in topics.iter().zip(&settings.denied_topics) {
        assert_eq!(
            (
                config.name.as_str(),
                config.definition.as_str(),
                config.kind.as_str()
            ),
            (topic.name.as_str(), topic.definition.as_str(), "DENY")
        );
        assert_eq!(config.examples, topic.examples);
    }

    let pii = &g
        .sensitive_information_policy_config
        .as_ref()
        .unwrap()
        .pii_entities_config;
    assert_eq!(pii.len(), settings.pii.len());
    for (config, entity) in pii.iter().zip(&settings.pii) {
        assert_eq!(config.kind, entity.entity);
        match entity.action {
            PiiAction::Block => {
                assert_eq!(config.action, "BLOCK");
                assert_eq!(config.input_enabled, None, "blocked in prompts too");
            }
            PiiAction::Mask => {
                assert_eq!(config.action, "ANONYMIZE");
                assert_eq!(config.output_action.as_deref(), Some("ANONYMIZE"));
                assert_eq!(config.input_enabled, Some(false), "prompts may hold it");
            }
        }
    }
    assert!(
        pii.iter()
            .any(|p| p.kind == "CREDIT_DEBIT_CARD_NUMBER" && p.action == "BLOCK")
    );

    let words = g.word_policy_config.as_ref().unwrap();
    assert_eq!(
        words
            .managed_word_lists_config
            .iter()
            .map(|w| w.kind.as_str())
            .collect::<Vec<_>>(),
        ["PROFANITY"]
    );
    assert!(words.words_config.is_empty());
}

#[test]
fn calls_name_a_published_version_that_a_changed_guardrail_replaces() {
    let env = load("prod");
    let t = stack::template(&env);
    let version = guardrail_version_of(&t).unwrap();
    assert_eq!(
        version.guardrail_identifier,
        Expr::GetAtt(ids::GUARDRAIL.into(), "GuardrailId".into())
    );
    // The same settings publish the same version; any change, a new one (the description is
    // create-only, so CloudFormation replaces the version resource).
    assert_eq!(guardrail_version_of(&stack::template(&env)), Some(version));
    let mut changed = env.clone();
    changed.guardrail.as_mut().unwrap().blocked_output_message = "No.".into();
    let other = stack::template(&changed);
    assert_ne!(
        guardrail_version_of(&other).unwrap().description,
        version.description
    );
    let mut changed = env.clone();
    changed.guardrail.as_mut().unwrap().profanity_filter = false;
    assert_ne!(
        guardrail_version_of(&stack::template(&changed))
            .unwrap()
            .description,
        version.description
    );
}

#[test]
fn the_function_names_the_published_version_and_may_apply_that_guardrail_only() {
    let env = load("prod");
    let settings = env.guardrail.as_ref().unwrap();
    let t = stack::template(&env);
    let variables = &function(&t).environment.variables;
    assert_eq!(
        variables[env_vars::GUARDRAIL_ID],
        Expr::GetAtt(ids::GUARDRAIL_VERSION.into(), "GuardrailId".into())
    );
    assert_eq!(
        variables[env_vars::GUARDRAIL_VERSION],
        Expr::GetAtt(ids::GUARDRAIL_VERSION.into(), "Version".into())
    );
    assert_eq!(
        variables[env_vars::GUARDRAIL_STREAM_PROCESSING],
        Expr::Str("sync".into())
    );
    assert_eq!(
        variables[env_vars::GUARDRAIL_BLOCKED_INPUT_MESSAGE],
        Expr::Str(settings.blocked_input_message.clone())
    );
    assert_eq!(
        variables[env_vars::GUARDRAIL_BLOCKED_OUTPUT_MESSAGE],
        Expr::Str(settings.blocked_output_message.clone())
    );
    assert_eq!(
        variables.len(),
        env_vars::ALL.len() + env_vars::GUARDRAIL.len() + 1,
        "and the dollar budget"
    );
    // Not in the literal environment `cargo xtask dev` starts from: locally there is no
    // guardrail unless one is named.
    let literal = stack::function_environment(&env);
    for name in env_vars::GUARDRAIL {
        assert!(!literal.contains_key(name), "{name}");
    }

    let applying: Vec<&Statement> = statements(&t)
        .into_iter()
        .filter(|s| {
            s.action
                .iter()
                .any(|a| a.starts_with("bedrock:ApplyGuardrail"))
        })
        .collect();
    assert_eq!(applying.len(), 1);
    assert_eq!(applying[0].action, [stack::guardrail::APPLY_GUARDRAIL]);
    assert_eq!(
        applying[0].resource,
        [Expr::GetAtt(ids::GUARDRAIL.into(), "GuardrailArn".into())]
    );

    for name in ["dev", "staging"] {
        let t = template(name);
        let variables = &function(&t).environment.variables;
        for var in env_vars::GUARDRAIL {
            assert!(!variables.contains_key(var), "{name}: {var}");
        }
        assert!(
            statements(&t)
                .iter()
                .all(|s| !s.action.iter().any(|a| a.contains("Guardrail"))),
            "{name}"
        );
    }
}

#[test]
fn the_dashboard_shows_blocked_turns_where_there_is_a_guardrail() {
    for name in ENVS {
        let t = template(name);
        let Properties::Dashboard(dashboard) = &resource(&t, ids::DASHBOARD).properties else {
            panic!("no dashboard")
        };
        let Expr::Sub(body) = &dashboard.dashboard_body else {
            panic!("the dashboard body is not a Fn::Sub")
        };
        assert_eq!(
            body.contains(&format!(
                "\"{}\"",
                chatbot_contract::metrics::GUARDRAIL_BLOCKED
            )),
            name == "prod",
            "{name}"
        );
    }
}
