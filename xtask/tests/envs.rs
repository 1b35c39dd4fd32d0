//! `envs/*.toml`: the checked-in files load, and each class of mistake is refused with a
//! message naming the file, the key and what is allowed.

use std::path::{Path, PathBuf};

use xtask::env::{self, Architecture, EnvError, Rollout};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn dev_text() -> String {
    std::fs::read_to_string(root().join("envs/dev.toml")).unwrap()
}

/// Loads dev.toml with `from` replaced by `to` and expects `message`.
#[track_caller]
fn check_error(from: &str, to: &str, message: &str) {
    let text = dev_text();
    assert!(text.contains(from), "dev.toml has no {from:?}");
    let text = text.replacen(from, to, 1);
    match env::parse("dev", "envs/dev.toml", &text) {
        Ok(_) => panic!("accepted dev.toml with {to:?}"),
        Err(err) => assert_eq!(err.to_string(), message),
    }
}

#[test]
fn checked_in_environments_load() {
    assert_eq!(env::names(&root()).unwrap(), ["dev", "prod", "staging"]);
    for name in ["dev", "staging", "prod"] {
        let env = env::load(&root(), name).unwrap();
        assert_eq!(env.name, name);
        assert_eq!(env.stack_name, format!("chatbot-{name}"));
        assert!(env.models.iter().any(|m| m.id == env.default_model));
    }
}

#[test]
fn dev_values_are_read_into_their_fields() {
    let dev = env::load(&root(), "dev").unwrap();
    assert_eq!(dev.region, "us-east-1");
    assert_eq!(dev.account_id, None);
    assert_eq!(
        dev.models.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        [
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "amazon.nova-lite-v1:0"
        ]
    );
    assert_eq!(dev.function.memory_mb, 256);
    assert_eq!(dev.function.architecture, Architecture::Arm64);
    assert_eq!(dev.rate_limit.requests, 20);
    assert_eq!(dev.rate_limit.window_seconds, 60);
    assert_eq!(dev.log_retention_days, 7);
    assert!(!dev.table.point_in_time_recovery);
    assert_eq!(dev.domain, None);
}

#[test]
fn optional_keys_are_read() {
    let text = dev_text()
        .replace(
            "# account_id = \"123456789012\"",
            "account_id = \"123456789012\"",
        )
        .replace(
            "# email = \"you@example.com\"",
            "email = \"ops@example.com\"",
        )
        + "\n[domain]\nname = \"chat.example.com\"\ncertificate_arn = \"arn:aws:acm:us-east-1:123456789012:certificate/abc\"\n";
    let env = env::parse("dev", "envs/dev.toml", &text).unwrap();
    assert_eq!(env.account_id.as_deref(), Some("123456789012"));
    assert_eq!(env.alarms.email.as_deref(), Some("ops@example.com"));
    assert_eq!(env.domain.unwrap().name, "chat.example.com");
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let err = env::load(&root(), "qa").unwrap_err();
    assert!(matches!(err, EnvError::NotFound { .. }));
    assert_eq!(
        err.to_string(),
        "no environment `qa`: envs/qa.toml does not exist (environments: dev, prod, staging)"
    );
    let err = env::load(&root(), "../Cargo").unwrap_err();
    assert!(matches!(err, EnvError::NotFound { .. }));
}

#[test]
fn unknown_key() {
    check_error(
        "memory_mb = 256",
        "memory_mb = 256\nmemroy_mb = 512",
        "envs/dev.toml:25: function.memroy_mb: unknown key, expected one of `memory_mb`, `timeout_seconds`, `reserved_concurrency`, `architecture`, `rollout`",
    );
}

#[test]
fn unknown_top_level_key() {
    check_error(
        "region = \"us-east-1\"",
        "region = \"us-east-1\"\nzone = \"a\"",
        "envs/dev.toml:6: zone: unknown key, expected one of `stack_name`, `region`, `account_id`, `models`, `chat`, `function`, `api`, `logs`, `alarms`, `table`, `site`, `domain`",
    );
}

#[test]
fn missing_key() {
    check_error(
        "history_days = 7",
        "",
        "envs/dev.toml:15: chat.history_days: missing key",
    );
}

#[test]
fn wrong_type() {
    check_error(
        "memory_mb = 256",
        "memory_mb = \"256\"",
        "envs/dev.toml:24: function.memory_mb: invalid type: string \"256\", expected u32",
    );
}

#[test]
fn negative_number() {
    check_error(
        "reserved_concurrency = 5",
        "reserved_concurrency = -5",
        "envs/dev.toml:26: function.reserved_concurrency: invalid value: integer `-5`, expected u32",
    );
}

#[test]
fn unknown_architecture() {
    check_error(
        "architecture = \"arm64\"",
        "architecture = \"aarch64\"",
        "envs/dev.toml:27: function.architecture: unknown variant `aarch64`, expected `x86_64` or `arm64`",
    );
}

#[test]
fn invalid_toml() {
    check_error(
        "memory_mb = 256",
        "memory_mb = = 256",
        "envs/dev.toml:24: invalid TOML: extra `=`, expected nothing",
    );
}

#[test]
fn memory_too_small() {
    check_error(
        "memory_mb = 256",
        "memory_mb = 100",
        "envs/dev.toml: function.memory_mb: 100 is out of range, allowed: 128 to 10240 MB",
    );
}

#[test]
fn timeout_too_long() {
    check_error(
        "timeout_seconds = 60",
        "timeout_seconds = 901",
        "envs/dev.toml: function.timeout_seconds: 901 is out of range, allowed: 1 to 900 seconds",
    );
}

#[test]
fn log_retention_zero() {
    check_error(
        "retention_days = 7",
        "retention_days = 0",
        "envs/dev.toml: logs.retention_days: 0 is not a retention CloudWatch Logs offers, allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
    );
}

#[test]
fn history_days_zero() {
    check_error(
        "history_days = 7",
        "history_days = 0",
        "envs/dev.toml: chat.history_days: 0 is out of range, allowed: 1 to 3650 days",
    );
}

#[test]
fn empty_model_list() {
    let text = dev_text();
    let start = text.find("allowed = [").unwrap();
    let end = start + text[start..].find("]\n").unwrap() + 1;
    check_error(
        &text[start..end],
        "allowed = []",
        "envs/dev.toml: models.allowed: is empty, list at least one model as { id = \"...\", name = \"...\" }",
    );
}

#[test]
fn default_model_not_allowed() {
    check_error(
        "default = \"us.anthropic.claude-haiku-4-5-20251001-v1:0\"",
        "default = \"anthropic.claude-3-opus\"",
        "envs/dev.toml: models.default: \"anthropic.claude-3-opus\" is not allowed, expected one of models.allowed: us.anthropic.claude-haiku-4-5-20251001-v1:0, amazon.nova-lite-v1:0",
    );
}

#[test]
fn model_listed_twice() {
    check_error(
        "{ id = \"amazon.nova-lite-v1:0\", name = \"Amazon Nova Lite\" }",
        "{ id = \"amazon.nova-lite-v1:0\", name = \"Nova Lite\" }, { id = \"amazon.nova-lite-v1:0\", name = \"Again\" }",
        "envs/dev.toml: models.allowed[2].id: \"amazon.nova-lite-v1:0\" is listed twice",
    );
}

#[test]
fn malformed_model_id() {
    check_error(
        "{ id = \"amazon.nova-lite-v1:0\"",
        "{ id = \"nova lite\"",
        "envs/dev.toml: models.allowed[1].id: \"nova lite\" is not allowed, expected a Bedrock model or inference-profile id such as amazon.nova-lite-v1:0",
    );
}

#[test]
fn bad_region() {
    check_error(
        "region = \"us-east-1\"",
        "region = \"US East\"",
        "envs/dev.toml: region: \"US East\" is not allowed, expected an AWS region such as us-east-1",
    );
}

#[test]
fn bad_account_id() {
    check_error(
        "# account_id = \"123456789012\"",
        "account_id = \"1234\"",
        "envs/dev.toml: account_id: \"1234\" is not allowed, expected 12 digits",
    );
}

#[test]
fn bad_stack_name() {
    check_error(
        "stack_name = \"chatbot-dev\"",
        "stack_name = \"chatbot_dev\"",
        "envs/dev.toml: stack_name: \"chatbot_dev\" is not allowed, expected a letter then letters, digits and hyphens, at most 128 characters",
    );
}

#[test]
fn bad_alarm_email() {
    check_error(
        "# email = \"you@example.com\"",
        "email = \"you\"",
        "envs/dev.toml: alarms.email: \"you\" is not allowed, expected an email address such as ops@example.com",
    );
}

#[test]
fn percent_over_100() {
    check_error(
        "budget_used_percent = 90",
        "budget_used_percent = 120",
        "envs/dev.toml: alarms.budget_used_percent: 120 is out of range, allowed: 1 to 100 percent",
    );
}

#[test]
fn certificate_outside_us_east_1() {
    let text = dev_text()
        + "\n[domain]\nname = \"chat.example.com\"\ncertificate_arn = \"arn:aws:acm:eu-west-1:123456789012:certificate/abc\"\n";
    let err = env::parse("dev", "envs/dev.toml", &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "envs/dev.toml: domain.certificate_arn: \"arn:aws:acm:eu-west-1:123456789012:certificate/abc\" is not allowed, expected an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>), as CloudFront requires"
    );
}

// ---- rollouts ----

#[test]
fn each_environment_rolls_out_as_its_file_says() {
    let rollout = |name| env::load(&root(), name).unwrap().function.rollout;
    assert_eq!(rollout("dev"), Rollout::AllAtOnce);
    assert_eq!(rollout("staging"), Rollout::Linear10PercentEvery1Minute);
    assert_eq!(rollout("prod"), Rollout::Canary10Percent5Minutes);
    assert!(!Rollout::AllAtOnce.is_gradual());
    assert!(Rollout::Canary10Percent5Minutes.is_gradual());
}

#[test]
fn unknown_rollout() {
    check_error(
        "rollout = \"all-at-once\"",
        "rollout = \"blue-green\"",
        "envs/dev.toml:32: function.rollout: unknown variant `blue-green`, expected one of `all-at-once`, `canary-10-percent-5-minutes`, `linear-10-percent-every-1-minute`",
    );
}

// ---- CloudFront's read timeout against the function's timeout ----

#[test]
fn a_function_timeout_longer_than_cloudfront_waits_is_refused_with_the_reason() {
    check_error(
        "timeout_seconds = 60 ",
        "timeout_seconds = 120 ",
        "envs/dev.toml: function.timeout_seconds: 120 is longer than api.origin_read_timeout_seconds (60): CloudFront would stop waiting for a reply after 60 s and answer 504 while the function goes on (and spends tokens); lower function.timeout_seconds to 60 or less, or raise api.origin_read_timeout_seconds (above 60 only with CloudFront's quota raised)",
    );
}

#[test]
fn a_read_timeout_above_60_seconds_needs_the_quota_raised() {
    check_error(
        "origin_read_timeout_seconds = 60",
        "origin_read_timeout_seconds = 120",
        "envs/dev.toml: api.origin_read_timeout_seconds: 120 is above CloudFront's limit of 60 seconds: ask AWS to raise the CloudFront quota \"Response timeout per origin\" (up to 180), then add api.origin_read_timeout_quota_raised = true; or use 60 or less",
    );
    check_error(
        "origin_read_timeout_seconds = 60",
        "origin_read_timeout_seconds = 181\norigin_read_timeout_quota_raised = true",
        "envs/dev.toml: api.origin_read_timeout_seconds: 181 is out of range, allowed: 1 to 180 seconds (above 60 only with CloudFront's quota raised)",
    );
}

#[test]
fn with_the_quota_raised_the_function_may_run_as_long_as_cloudfront_waits() {
    let text = dev_text()
        .replacen("timeout_seconds = 60 ", "timeout_seconds = 120 ", 1)
        .replace(
            "origin_read_timeout_seconds = 60",
            "origin_read_timeout_seconds = 120\norigin_read_timeout_quota_raised = true",
        );
    let env = env::parse("dev", "envs/dev.toml", &text).unwrap();
    assert_eq!(env.function.timeout_seconds, 120);
    assert_eq!(env.api.origin_read_timeout_seconds, 120);
}

#[test]
fn shipped_environments_never_outlast_cloudfront() {
    for name in ["dev", "staging", "prod"] {
        let env = env::load(&root(), name).unwrap();
        assert!(
            env.function.timeout_seconds <= env.api.origin_read_timeout_seconds,
            "{name}"
        );
        assert!(
            env.api.origin_read_timeout_seconds <= 60,
            "{name}: no quota assumed"
        );
    }
}
