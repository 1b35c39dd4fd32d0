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
    assert_eq!(dev.rate_limit, 20);
    assert_eq!(dev.rate_window_seconds, 60);
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
        "envs/dev.toml:52: function.memroy_mb: unknown key, expected one of `memory_mb`, `timeout_seconds`, `reserved_concurrency`, `architecture`, `rollout`",
    );
}

#[test]
fn unknown_top_level_key() {
    check_error(
        "region = \"us-east-1\"",
        "region = \"us-east-1\"\nzone = \"a\"",
        "envs/dev.toml:6: zone: unknown key, expected one of `stack_name`, `region`, `account_id`, `models`, `chat`, `function`, `api`, `logs`, `alarms`, `table`, `site`, `domain`, `guardrail`, `auth`",
    );
}

#[test]
fn missing_key() {
    check_error(
        "history_days = 7",
        "",
        "envs/dev.toml:40: chat.history_days: missing key",
    );
}

#[test]
fn wrong_type() {
    check_error(
        "memory_mb = 256",
        "memory_mb = \"256\"",
        "envs/dev.toml:51: function.memory_mb: invalid type: string \"256\", expected u32",
    );
}

#[test]
fn negative_number() {
    check_error(
        "reserved_concurrency = 5",
        "reserved_concurrency = -5",
        "envs/dev.toml:53: function.reserved_concurrency: invalid value: integer `-5`, expected u32",
    );
}

#[test]
fn unknown_architecture() {
    check_error(
        "architecture = \"arm64\"",
        "architecture = \"aarch64\"",
        "envs/dev.toml:54: function.architecture: unknown variant `aarch64`, expected `x86_64` or `arm64`",
    );
}

#[test]
fn invalid_toml() {
    check_error(
        "memory_mb = 256",
        "memory_mb = = 256",
        "envs/dev.toml:51: invalid TOML: extra `=`, expected nothing",
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
fn ipv6_prefix_length_outside_1_to_128() {
    for bad in ["0", "129", "300"] {
        check_error(
            "ipv6_prefix_length = 64",
            &format!("ipv6_prefix_length = {bad}"),
            &format!(
                "envs/dev.toml: chat.ipv6_prefix_length: {bad} is out of range, allowed: 1 to 128 bits (64 counts each /64 network as one client)"
            ),
        );
    }
    check_error(
        "ipv6_prefix_length = 64",
        "ipv6_prefix_length = \"/64\"",
        "envs/dev.toml:45: chat.ipv6_prefix_length: invalid type: string \"/64\", expected u32",
    );
}

#[test]
fn ipv6_prefix_length_is_64_unless_set() {
    let text = dev_text();
    let set = text.replace("ipv6_prefix_length = 64", "ipv6_prefix_length = 56");
    let env = env::parse("dev", "envs/dev.toml", &set).unwrap();
    assert_eq!(env.ipv6_prefix_length, 56);
    let unset = text.replace("ipv6_prefix_length = 64", "");
    let env = env::parse("dev", "envs/dev.toml", &unset).unwrap();
    assert_eq!(
        env.ipv6_prefix_length,
        chatbot_contract::DEFAULT_IPV6_PREFIX_LENGTH
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
fn alarm_topic_in_another_region() {
    check_error(
        "# topic_arn = \"arn:aws:sns:us-east-1:123456789012:ops-alerts\"",
        "topic_arn = \"arn:aws:sns:eu-west-1:123456789012:ops-alerts\"",
        "envs/dev.toml: alarms.topic_arn: \"arn:aws:sns:eu-west-1:123456789012:ops-alerts\" is not allowed, expected the ARN of an SNS topic in the environment's region, arn:aws:sns:us-east-1:<account>:<name> (alarms notify topics of their own region only)",
    );
}

#[test]
fn alarm_topic_that_is_not_a_topic_arn() {
    for wrong in [
        "ops-alerts",
        "arn:aws:sqs:us-east-1:123456789012:ops-alerts",
        "arn:aws:sns:us-east-1:1234:ops-alerts",
        "arn:aws:sns:us-east-1:123456789012:",
        "arn:aws:sns:us-east-1:123456789012:ops alerts",
    ] {
        let text = dev_text().replacen(
            "# topic_arn = \"arn:aws:sns:us-east-1:123456789012:ops-alerts\"",
            &format!("topic_arn = {wrong:?}"),
            1,
        );
        let err = env::parse("dev", "envs/dev.toml", &text).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("envs/dev.toml: alarms.topic_arn: "),
            "{wrong}: {err}"
        );
    }
}

#[test]
fn alarm_destinations_and_whether_one_is_required() {
    use xtask::env::AlarmDestination;
    let dev = env::load(&root(), "dev").unwrap();
    assert!(dev.alarms.destinations().is_empty());
    assert!(!dev.alarms.require_destination);
    // Staging and prod say nothing, and so require one.
    for name in ["staging", "prod"] {
        let env = env::load(&root(), name).unwrap();
        assert!(env.alarms.require_destination, "{name}");
    }
    let text = dev_text()
        .replace(
            "# email = \"you@example.com\"",
            "email = \"ops@example.com\"",
        )
        .replace(
            "# topic_arn = \"arn:aws:sns:us-east-1:123456789012:ops-alerts\"",
            "topic_arn = \"arn:aws:sns:us-east-1:123456789012:ops-alerts\"",
        )
        .replace("require_destination = false", "");
    let env = env::parse("dev", "envs/dev.toml", &text).unwrap();
    assert!(
        env.alarms.require_destination,
        "true unless the file says false"
    );
    assert_eq!(
        env.alarms.destinations(),
        [
            AlarmDestination::Email("ops@example.com".into()),
            AlarmDestination::Topic("arn:aws:sns:us-east-1:123456789012:ops-alerts".into()),
        ]
    );
}

#[test]
fn new_alarm_thresholds_are_checked_like_the_others() {
    for key in [
        "api_4xx_errors",
        "api_throttled",
        "direct_calls_refused",
        "origin_refused",
        "store_errors",
        "budget_exhausted",
    ] {
        let text = dev_text();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("dev.toml has no {key}"));
        let err = env::parse(
            "dev",
            "envs/dev.toml",
            &text.replacen(line, &format!("{key} = 0"), 1),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "envs/dev.toml: alarms.{key}: 0 is out of range, allowed: 1 to 1000000 per 5 minutes"
            )
        );
    }
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
        "envs/dev.toml:59: function.rollout: unknown variant `blue-green`, expected one of `all-at-once`, `canary-10-percent-5-minutes`, `linear-10-percent-every-1-minute`",
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

// ---- [guardrail] ----

/// A small `[guardrail]` section to add to dev.toml.
const GUARDRAIL: &str = r#"
[guardrail]
blocked_input_message = "Not that."
blocked_output_message = "Cannot say."

[guardrail.content_filters]
hate = "high"
prompt_attack = "medium"

[guardrail.pii]
block = ["CREDIT_DEBIT_CARD_NUMBER"]
mask = ["EMAIL"]

[[guardrail.denied_topics]]
name = "Legal advice"
definition = "Advice on a person's legal situation."
examples = ["Can I sue my landlord?"]
"#;

/// dev.toml with [`GUARDRAIL`], `from` replaced by `to`, parsed.
fn with_guardrail(from: &str, to: &str) -> Result<env::Environment, EnvError> {
    let section = GUARDRAIL.replacen(from, to, 1);
    assert!(from.is_empty() || GUARDRAIL.contains(from), "no {from:?}");
    env::parse("dev", "envs/dev.toml", &(dev_text() + &section))
}

/// The line of dev.toml plus [`GUARDRAIL`] on which `text` starts (serde's errors name it).
fn guardrail_line(text: &str) -> usize {
    let whole = dev_text() + GUARDRAIL;
    whole[..whole.find(text).expect("in the section")]
        .matches('\n')
        .count()
        + 1
}

#[track_caller]
fn check_guardrail_error(from: &str, to: &str, message: &str) {
    match with_guardrail(from, to) {
        Ok(_) => panic!("accepted [guardrail] with {to:?}"),
        Err(err) => assert_eq!(err.to_string(), message),
    }
}

#[test]
fn a_guardrail_section_is_read() {
    use env::{FilterCategory, PiiAction, StreamProcessing, Strength};
    let g = with_guardrail("", "").unwrap().guardrail.unwrap();
    assert_eq!(g.blocked_input_message, "Not that.");
    assert_eq!(g.blocked_output_message, "Cannot say.");
    assert_eq!(
        g.stream_processing,
        StreamProcessing::Sync,
        "sync unless set"
    );
    assert_eq!(
        g.content_filters
            .iter()
            .map(|f| (f.category, f.strength))
            .collect::<Vec<_>>(),
        [
            (FilterCategory::Hate, Strength::High),
            (FilterCategory::PromptAttack, Strength::Medium)
        ]
    );
    assert_eq!(
        g.pii
            .iter()
            .map(|p| (p.entity.as_str(), p.action))
            .collect::<Vec<_>>(),
        [
            ("CREDIT_DEBIT_CARD_NUMBER", PiiAction::Block),
            ("EMAIL", PiiAction::Mask)
        ]
    );
    assert_eq!(g.denied_topics[0].name, "Legal advice");
    assert_eq!(g.denied_topics[0].examples, ["Can I sue my landlord?"]);
    assert!(!g.profanity_filter);
    // A filter set to "none" is off.
    let g = with_guardrail("hate = \"high\"", "hate = \"none\"")
        .unwrap()
        .guardrail
        .unwrap();
    assert_eq!(g.content_filters.len(), 1);
}

#[test]
fn the_checked_in_guardrail_is_prods_only() {
    assert!(env::load(&root(), "prod").unwrap().guardrail.is_some());
    assert!(env::load(&root(), "dev").unwrap().guardrail.is_none());
    assert!(env::load(&root(), "staging").unwrap().guardrail.is_none());
}

#[test]
fn guardrail_mistakes_name_their_key() {
    check_guardrail_error(
        "hate = \"high\"",
        "hatred = \"high\"",
        &format!(
            "envs/dev.toml:{}: guardrail.content_filters.hatred: unknown key, expected one of `hate`, `insults`, `sexual`, `violence`, `misconduct`, `prompt_attack`",
            guardrail_line("hate = ")
        ),
    );
    check_guardrail_error(
        "hate = \"high\"",
        "hate = \"extreme\"",
        &format!(
            "envs/dev.toml:{}: guardrail.content_filters.hate: unknown variant `extreme`, expected one of `none`, `low`, `medium`, `high`",
            guardrail_line("hate = ")
        ),
    );
    check_guardrail_error(
        "block = [\"CREDIT_DEBIT_CARD_NUMBER\"]",
        "block = [\"CREDIT_CARD\"]",
        &format!(
            "envs/dev.toml: guardrail.pii.block[0]: \"CREDIT_CARD\" is not allowed, expected one of {}",
            env::PII_ENTITY_TYPES.join(", ")
        ),
    );
    check_guardrail_error(
        "mask = [\"EMAIL\"]",
        "mask = [\"CREDIT_DEBIT_CARD_NUMBER\"]",
        "envs/dev.toml: guardrail.pii.mask[0]: \"CREDIT_DEBIT_CARD_NUMBER\" is listed twice in [guardrail.pii]",
    );
    check_guardrail_error(
        "blocked_output_message = \"Cannot say.\"",
        "blocked_output_message = \"Cannot say.\"\nstream_processing = \"async\"",
        "envs/dev.toml: guardrail.pii.mask: guardrails cannot mask streamed answers with stream_processing = \"async\"; use \"sync\" or block these instead",
    );
    check_guardrail_error(
        "blocked_output_message = \"Cannot say.\"",
        "blocked_output_message = \"Cannot say.\"\nstream_processing = \"later\"",
        &format!(
            "envs/dev.toml:{}: guardrail.stream_processing: unknown variant `later`, expected `sync` or `async`",
            guardrail_line("blocked_output_message") + 1
        ),
    );
    check_guardrail_error(
        "blocked_input_message = \"Not that.\"",
        "blocked_input_message = \" \"",
        "envs/dev.toml: guardrail.blocked_input_message: \" \" is not allowed, expected a message to show",
    );
    check_guardrail_error(
        "blocked_input_message = \"Not that.\"",
        &format!("blocked_input_message = \"{}\"", "x".repeat(501)),
        "envs/dev.toml: guardrail.blocked_input_message: 501 is out of range, allowed: 1 to 500 characters",
    );
    check_guardrail_error(
        "name = \"Legal advice\"",
        "name = \"Legal <advice>\"",
        "envs/dev.toml: guardrail.denied_topics[0].name: \"Legal <advice>\" is not allowed, expected 1 to 100 letters, digits, spaces and - _ ! ? .",
    );
    check_guardrail_error(
        "examples = [\"Can I sue my landlord?\"]",
        "examples = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]",
        "envs/dev.toml: guardrail.denied_topics[0].examples: 6 is out of range, allowed: 0 to 5 examples",
    );
    check_guardrail_error(
        "blocked_input_message",
        "colour = \"red\"\nblocked_input_message",
        &format!(
            "envs/dev.toml:{}: guardrail.colour: unknown key, expected one of `blocked_input_message`, `blocked_output_message`, `stream_processing`, `content_filters`, `denied_topics`, `pii`, `profanity_filter`, `blocked_words`",
            guardrail_line("blocked_input_message")
        ),
    );
}

#[test]
fn a_guardrail_needs_a_policy_and_a_short_enough_stack_name() {
    let bare = "\n[guardrail]\nblocked_input_message = \"a\"\nblocked_output_message = \"b\"\n";
    match env::parse("dev", "envs/dev.toml", &(dev_text() + bare)) {
        Err(err) => assert_eq!(
            err.to_string(),
            "envs/dev.toml: guardrail: configures no policy: set content_filters, denied_topics, pii, profanity_filter or blocked_words, or remove [guardrail]"
        ),
        Ok(_) => panic!("accepted a guardrail without a policy"),
    }
    let profanity_only = format!("{bare}profanity_filter = true\n");
    assert!(env::parse("dev", "envs/dev.toml", &(dev_text() + &profanity_only)).is_ok());
}

#[test]
fn rate_limit_keys_by_their_old_names_still_load_with_a_deprecation() {
    let old = dev_text()
        .replacen("rate_limit = ", "rate_limit_requests = ", 1)
        .replacen("rate_window_seconds = ", "rate_limit_window_seconds = ", 1);
    let env = env::parse("dev", "envs/dev.toml", &old).unwrap();
    let new = env::parse("dev", "envs/dev.toml", &dev_text()).unwrap();
    assert_eq!(
        (env.rate_limit, env.rate_window_seconds),
        (new.rate_limit, new.rate_window_seconds)
    );
    assert_eq!(
        env.deprecations,
        [
            "envs/dev.toml: chat.rate_limit_requests is the old name of chat.rate_limit: rename it \
             (the value means the same); the old name will stop being read in a later version",
            "envs/dev.toml: chat.rate_limit_window_seconds is the old name of \
             chat.rate_window_seconds: rename it (the value means the same); the old name will \
             stop being read in a later version",
        ]
    );
    assert!(new.deprecations.is_empty());
}

#[test]
fn a_key_set_by_both_its_names() {
    check_error(
        "rate_limit = 20",
        "rate_limit = 20\nrate_limit_requests = 20",
        "envs/dev.toml: chat.rate_limit_requests: is the old name of chat.rate_limit, which is \
         set too: keep only chat.rate_limit",
    );
}

#[test]
fn a_renamed_key_missing_by_both_names() {
    check_error(
        "rate_window_seconds = 60\n",
        "",
        "envs/dev.toml: chat.rate_window_seconds: missing key",
    );
}

#[test]
fn rate_limit_out_of_range() {
    check_error(
        "rate_limit = 20",
        "rate_limit = 0",
        "envs/dev.toml: chat.rate_limit: 0 is out of range, allowed: 1 to 100000",
    );
}

#[test]
fn model_prices_are_read_as_micro_dollars_per_million_tokens() {
    let dev = env::load(&root(), "dev").unwrap();
    let haiku = &dev.models[0].price;
    assert_eq!(
        (
            haiku.input,
            haiku.output,
            haiku.cache_read,
            haiku.cache_write
        ),
        (1_100_000, 5_500_000, Some(110_000), Some(1_375_000))
    );
    assert_eq!(haiku.as_of, "2026-10-05");
    let nova = &dev.models[1].price;
    assert_eq!(
        (nova.input, nova.output, nova.cache_read, nova.cache_write),
        (60_000, 240_000, Some(15_000), None)
    );
    assert_eq!(dev.daily_cost_budget_micro_usd, Some(2_000_000));
    for name in ["staging", "prod"] {
        let env = env::load(&root(), name).unwrap();
        assert!(env.daily_cost_budget_micro_usd.is_some(), "{name}");
    }
}

#[test]
fn starter_prompt_limits_are_the_services() {
    assert_eq!(
        env::STARTER_PROMPTS_MAX,
        chatbot_contract::STARTER_PROMPTS_MAX
    );
    assert_eq!(
        env::STARTER_PROMPT_MAX_CHARS,
        chatbot_contract::STARTER_PROMPT_MAX_CHARS
    );
}

#[test]
fn a_model_without_a_price_is_refused_naming_its_key() {
    let text = dev_text();
    let start = text
        .find("# The price list gives Nova")
        .expect("dev.toml prices Nova Lite");
    let end = start + text[start..].find("\n\n").unwrap();
    check_error(
        &text[start..end],
        "",
        "envs/dev.toml: models.prices.\"amazon.nova-lite-v1:0\": is missing: every allowed model needs its price, a table with input and output (US dollars per million tokens, cache_read and cache_write where the model has them) and as_of (the date they were taken from the AWS price list)",
    );
}

#[test]
fn a_price_for_a_model_that_is_not_allowed_is_refused() {
    check_error(
        "[models.prices.\"amazon.nova-lite-v1:0\"]",
        "[models.prices.\"amazon.nova-pro-v1:0\"]\ninput = 0.8\noutput = 3.2\nas_of = 2026-09-03\n\n[models.prices.\"amazon.nova-lite-v1:0\"]",
        "envs/dev.toml: models.prices.\"amazon.nova-pro-v1:0\": is the price of a model that is not allowed, expected one of models.allowed: us.anthropic.claude-haiku-4-5-20251001-v1:0, amazon.nova-lite-v1:0",
    );
}

#[test]
fn price_mistakes_name_their_key() {
    let key = "models.prices.\"us.anthropic.claude-haiku-4-5-20251001-v1:0\"";
    let allowed =
        "US dollars per million tokens: more than 0, at most 10000, with at most 6 decimals";
    for (from, to, message) in [
        ("input = 1.10", "input = 0", format!("{key}.input: 0 is not allowed, expected {allowed}")),
        ("input = 1.10", "input = -1.1", format!("{key}.input: -1.1 is not allowed, expected {allowed}")),
        ("output = 5.50", "output = 5.0000005", format!("{key}.output: 5.0000005 is not allowed, expected {allowed}")),
        ("output = 5.50", "output = 20000", format!("{key}.output: 20000 is not allowed, expected {allowed}")),
        ("cache_read = 0.11", "cache_read = nan", format!("{key}.cache_read: NaN is not allowed, expected {allowed}")),
        (
            "as_of = 2026-10-05",
            "as_of = 2026-10-05T10:00:00",
            format!("{key}.as_of: 2026-10-05T10:00:00 is not allowed, expected a date such as 2026-10-05, without a time"),
        ),
        (
            "daily_cost_budget_usd = 2.00",
            "daily_cost_budget_usd = 0.0000001",
            "chat.daily_cost_budget_usd: 0.0000001 is not allowed, expected US dollars per UTC day: more than 0, at most 1000000, with at most 6 decimals".to_owned(),
        ),
    ] {
        check_error(from, to, &format!("envs/dev.toml: {message}"));
    }
    // An integer is a price too, and six decimals convert exactly.
    let text = dev_text()
        .replacen("input = 1.10", "input = 3", 1)
        .replacen("output = 5.50", "output = 0.000001", 1)
        .replacen("cache_write = 1.375", "cache_write = 123.456789", 1);
    let env = env::parse("dev", "envs/dev.toml", &text).unwrap();
    let price = &env.models[0].price;
    assert_eq!(
        (price.input, price.output, price.cache_write),
        (3_000_000, 1, Some(123_456_789))
    );
    // Without a dollar budget only the token budget applies.
    let text = dev_text().replacen("daily_cost_budget_usd = 2.00", "", 1);
    let env = env::parse("dev", "envs/dev.toml", &text).unwrap();
    assert_eq!(env.daily_cost_budget_micro_usd, None);
}

#[test]
fn budget_shards_are_derived_from_the_stage_rate_unless_set() {
    let load = |edits: &[(&str, &str)]| env::parse("dev", "envs/dev.toml", &edited(edits)).unwrap();
    assert_eq!(load(&[]).table.budget_shards, 1);
    assert_eq!(
        load(&[("# budget_shards = 1", "budget_shards = 6")])
            .table
            .budget_shards,
        6
    );
    // 2,400 requests/s at half of a shard's 1,000 writes/s: 5 shards.
    let fast = load(&[
        ("throttle_rate = 5 ", "throttle_rate = 2400 "),
        (
            "reserved_concurrency = 5\n",
            "reserved_concurrency = 1000\n",
        ),
    ]);
    assert_eq!(fast.table.budget_shards, 5);
}

#[test]
fn budget_shards_out_of_range() {
    check_error(
        "# budget_shards = 1",
        "budget_shards = 0",
        "envs/dev.toml: table.budget_shards: 0 is out of range, allowed: 1 to 1000 shards",
    );
}

/// dev.toml with each `(from, to)` edit made once.
#[track_caller]
fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = dev_text();
    for (from, to) in edits {
        assert!(text.contains(from), "dev.toml has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Loads dev.toml with each edit made and expects `message`.
#[track_caller]
fn check_edits_error(edits: &[(&str, &str)], message: &str) {
    match env::parse("dev", "envs/dev.toml", &edited(edits)) {
        Ok(_) => panic!("accepted dev.toml with {edits:?}"),
        Err(err) => assert_eq!(err.to_string(), message),
    }
}

#[test]
fn a_stage_rate_above_the_budget_shards_ceiling() {
    check_edits_error(
        &[
            ("# budget_shards = 1", "budget_shards = 2"),
            ("throttle_rate = 5 ", "throttle_rate = 2500 "),
        ],
        "envs/dev.toml: table.budget_shards: 2 shard(s) x 1000 writes/s = 2000 answers/s, below \
         api.throttle_rate = 2500 requests/s: DynamoDB would throttle the budget before the API \
         throttles requests; set table.budget_shards to at least 3, or leave it out to derive it \
         from the rate",
    );
}

#[test]
fn reserved_concurrency_the_stage_can_never_keep_busy() {
    // 5 requests/s x 60 s + a burst of 10: 310 requests in flight at most.
    check_edits_error(
        &[("reserved_concurrency = 5\n", "reserved_concurrency = 311\n")],
        "envs/dev.toml: function.reserved_concurrency: 311 is more than the API stage can ever \
         keep busy: api.throttle_rate 5 requests/s x function.timeout_seconds 60 s + \
         api.throttle_burst 10 = 310 requests in flight at most; lower it to 310 or raise the \
         stage's rate",
    );
    let text = edited(&[("reserved_concurrency = 5\n", "reserved_concurrency = 310\n")]);
    assert!(env::parse("dev", "envs/dev.toml", &text).is_ok());
}

#[test]
fn a_task_warns_about_an_old_key_name_and_refuses_both_names() {
    let project = std::env::temp_dir().join(format!("xtask-old-key-names-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&project);
    std::fs::create_dir_all(project.join("envs")).unwrap();
    std::fs::create_dir_all(project.join("prices")).unwrap();
    for table in ["us-east-1.toml", "us-west-2.toml"] {
        std::fs::copy(
            root().join("prices").join(table),
            project.join("prices").join(table),
        )
        .unwrap();
    }
    let old = dev_text().replacen("rate_limit = ", "rate_limit_requests = ", 1);
    let run = |text: &str| {
        std::fs::write(project.join("envs/dev.toml"), text).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["cost", "--env", "dev", "--json", "--root"])
            .arg(&project)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&old);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        "warning: envs/dev.toml: chat.rate_limit_requests is the old name of chat.rate_limit: \
         rename it (the value means the same); the old name will stop being read in a later \
         version\n"
    );
    let (code, stderr) = run(&old.replacen(
        "rate_limit_requests = 20",
        "rate_limit_requests = 20\nrate_limit = 20",
        1,
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "error: envs/dev.toml: chat.rate_limit_requests: is the old name of chat.rate_limit, \
         which is set too: keep only chat.rate_limit\n"
    );
    std::fs::remove_dir_all(&project).unwrap();
}

#[test]
fn starter_prompts_are_read_in_order_and_optional() {
    let dev = env::load(&root(), "dev").unwrap();
    assert_eq!(
        dev.starter_prompts,
        [
            "Explain DynamoDB TTL in two sentences",
            "Write a Rust function that reverses a string",
            "Give me three ideas for a team lunch",
        ]
    );
    let start = dev_text().find("starter_prompts = [").unwrap();
    let end = start + dev_text()[start..].find("]\n").unwrap() + 2;
    let without = format!("{}{}", &dev_text()[..start], &dev_text()[end..]);
    let env = env::parse("dev", "envs/dev.toml", &without).unwrap();
    assert!(env.starter_prompts.is_empty());
}

#[test]
fn starter_prompt_mistakes_name_their_key() {
    let first = "    \"Explain DynamoDB TTL in two sentences\",";
    let long = "x".repeat(env::STARTER_PROMPT_MAX_CHARS + 1);
    for (to, message) in [
        (
            "    \"  \",".to_owned(),
            "envs/dev.toml: site.starter_prompts[0]: \"  \" is not allowed, expected a prompt of 1 to 200 characters on one line",
        ),
        (
            "    \"two\\nlines\",".to_owned(),
            "envs/dev.toml: site.starter_prompts[0]: \"two\\nlines\" is not allowed, expected a prompt of 1 to 200 characters on one line",
        ),
        (format!("    \"{long}\","), ""),
        (
            format!("{first}\n{first}"),
            "envs/dev.toml: site.starter_prompts[1]: \"Explain DynamoDB TTL in two sentences\" is listed twice",
        ),
        (
            format!("{first}\n    \"a\",\n    \"b\",\n    \"c\",\n    \"d\","),
            "envs/dev.toml: site.starter_prompts: has 7 prompts, allowed: at most 6",
        ),
    ] {
        let text = dev_text().replacen(first, &to, 1);
        let err = env::parse("dev", "envs/dev.toml", &text)
            .unwrap_err()
            .to_string();
        if message.is_empty() {
            assert!(
                err.starts_with("envs/dev.toml: site.starter_prompts[0]: "),
                "{err}"
            );
        } else {
            assert_eq!(err, message);
        }
    }
}

// ---- [auth] ----

/// A full `[auth]` in users mode, to put in dev.toml in place of its `mode = "public"`.
const USERS_AUTH: &str = r#"[auth]
mode = "users"
self_sign_up = true
allowed_email_domains = ["example.com", "example.org"]
domain_prefix = "acme-chat-dev"
rate_limit = 5
rate_window_seconds = 30
daily_tokens_per_user = 100000
"#;

const OIDC: &str = r#"
[auth.federation]
type = "oidc"
name = "EntraID"
issuer = "https://login.microsoftonline.com/tenant/v2.0"
client_id = "abc-123"
client_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:chatbot-idp-AbCdEf"
"#;

/// dev.toml with `section` as its `[auth]`.
fn with_auth(section: &str) -> Result<env::Environment, EnvError> {
    let text = dev_text();
    let public = "[auth]\nmode = \"public\"\n";
    assert!(text.contains(public), "dev.toml has no public [auth]");
    env::parse("dev", "envs/dev.toml", &text.replacen(public, section, 1))
}

/// `USERS_AUTH` with `from` replaced by `to` (plus `extra` after it) is refused with `message`.
#[track_caller]
fn check_auth_error(from: &str, to: &str, extra: &str, message: &str) {
    let section = format!("{USERS_AUTH}{extra}");
    assert!(section.contains(from), "[auth] has no {from:?}");
    match with_auth(&section.replacen(from, to, 1)) {
        Ok(_) => panic!("accepted [auth] with {to:?}"),
        Err(err) => assert_eq!(
            err.to_string(),
            format!("envs/dev.toml{message}"),
            "[auth] with {to:?}"
        ),
    }
}

/// Line of `text` in dev.toml with `USERS_AUTH` and `extra` in place of its `[auth]`.
fn auth_line(extra: &str, text: &str) -> usize {
    let public = "[auth]\nmode = \"public\"\n";
    let file = dev_text().replacen(public, &format!("{USERS_AUTH}{extra}"), 1);
    file.lines().position(|l| l.starts_with(text)).unwrap() + 1
}

#[test]
fn auth_is_public_unless_the_file_says_users() {
    for name in ["dev", "prod"] {
        let env = env::load(&root(), name).unwrap();
        assert_eq!(env.auth, env::Auth::Public);
        assert_eq!(env.auth.mode(), "public");
    }
    let without = dev_text().replacen("[auth]\nmode = \"public\"\n", "", 1);
    let env = env::parse("dev", "envs/dev.toml", &without).unwrap();
    assert_eq!(env.auth, env::Auth::Public);
    assert!(env.auth.users().is_none());
}

#[test]
fn staging_signs_users_in() {
    let staging = env::load(&root(), "staging").unwrap();
    assert_eq!(staging.auth.mode(), "users");
    let users = staging.auth.users().unwrap();
    assert!(!users.self_sign_up);
    assert_eq!(users.allowed_email_domains, ["example.com"]);
    assert_eq!(users.domain_prefix, None);
    assert_eq!(users.rate_limit, 20);
    assert_eq!(users.rate_window_seconds, 60);
    assert_eq!(users.daily_tokens_per_user, 200_000);
    assert_eq!(users.federation, None);
    assert_eq!(
        env::default_domain_prefix(&staging.stack_name),
        "chatbot-staging"
    );
}

#[test]
fn a_users_section_is_read_into_its_fields() {
    let env = with_auth(USERS_AUTH).unwrap();
    let users = env.auth.users().unwrap();
    assert!(users.self_sign_up);
    assert_eq!(users.allowed_email_domains, ["example.com", "example.org"]);
    assert_eq!(users.domain_prefix.as_deref(), Some("acme-chat-dev"));
    assert_eq!(
        (
            users.rate_limit,
            users.rate_window_seconds,
            users.daily_tokens_per_user
        ),
        (5, 30, 100_000)
    );
    let minimal = "[auth]\nmode = \"users\"\nrate_limit = 1\nrate_window_seconds = 1\ndaily_tokens_per_user = 1\n";
    let users = with_auth(minimal).unwrap().auth.users().cloned().unwrap();
    assert!(!users.self_sign_up);
    assert!(users.allowed_email_domains.is_empty());
    assert_eq!(users.domain_prefix, None);
}

#[test]
fn an_oidc_provider_is_read_with_default_scopes_and_email_claim() {
    let env = with_auth(&format!("{USERS_AUTH}{OIDC}")).unwrap();
    let federation = env.auth.users().unwrap().federation.clone().unwrap();
    assert_eq!(federation.name, "EntraID");
    assert_eq!(federation.email_attribute, "email");
    assert_eq!(
        federation.protocol,
        env::FederationProtocol::Oidc {
            issuer: "https://login.microsoftonline.com/tenant/v2.0".into(),
            client_id: "abc-123".into(),
            client_secret_arn:
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:chatbot-idp-AbCdEf".into(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
        }
    );
    let scoped = OIDC.to_owned() + "scopes = [\"openid\", \"email\"]\nemail_attribute = \"upn\"\n";
    let env = with_auth(&format!("{USERS_AUTH}{scoped}")).unwrap();
    let federation = env.auth.users().unwrap().federation.clone().unwrap();
    assert_eq!(federation.email_attribute, "upn");
    let env::FederationProtocol::Oidc { scopes, .. } = federation.protocol else {
        panic!("not oidc")
    };
    assert_eq!(scopes, ["openid", "email"]);
}

#[test]
fn a_saml_provider_is_read_with_the_standard_email_claim() {
    let saml = "\n[auth.federation]\ntype = \"saml\"\nname = \"Okta\"\nmetadata_url = \"https://example.okta.com/app/abc/sso/saml/metadata\"\n";
    let env = with_auth(&format!("{USERS_AUTH}{saml}")).unwrap();
    let federation = env.auth.users().unwrap().federation.clone().unwrap();
    assert_eq!(federation.name, "Okta");
    assert_eq!(
        federation.email_attribute,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
    );
    assert_eq!(
        federation.protocol,
        env::FederationProtocol::Saml {
            metadata_url: "https://example.okta.com/app/abc/sso/saml/metadata".into()
        }
    );
}

#[test]
fn users_keys_in_public_mode_are_refused() {
    check_auth_error(
        "mode = \"users\"",
        "mode = \"public\"",
        "",
        ": auth.self_sign_up: is read only with auth.mode = \"users\": set the mode or remove the key",
    );
    let only_limit = "[auth]\nrate_limit = 5\n";
    let err = with_auth(only_limit).unwrap_err();
    assert_eq!(
        err.to_string(),
        "envs/dev.toml: auth.rate_limit: is read only with auth.mode = \"users\": set the mode or remove the key"
    );
}

#[test]
fn unknown_mode_and_unknown_auth_key() {
    check_auth_error(
        "mode = \"users\"",
        "mode = \"everyone\"",
        "",
        &format!(
            ":{}: auth.mode: unknown variant `everyone`, expected `public` or `users`",
            auth_line("", "[auth]") + 1
        ),
    );
    check_auth_error(
        "self_sign_up = true",
        "self_signup = true",
        "",
        &format!(
            ":{}: auth.self_signup: unknown key, expected one of `mode`, `self_sign_up`, `allowed_email_domains`, `domain_prefix`, `rate_limit`, `rate_window_seconds`, `daily_tokens_per_user`, `federation`",
            auth_line("", "[auth]") + 2
        ),
    );
}

#[test]
fn users_mode_needs_its_limits() {
    check_auth_error(
        "daily_tokens_per_user = 100000\n",
        "",
        "",
        ": auth.daily_tokens_per_user: missing key (required with auth.mode = \"users\")",
    );
    check_auth_error(
        "rate_limit = 5\n",
        "",
        "",
        ": auth.rate_limit: missing key (required with auth.mode = \"users\")",
    );
}

#[test]
fn per_user_limits_are_ranged() {
    check_auth_error(
        "rate_limit = 5",
        "rate_limit = 0",
        "",
        ": auth.rate_limit: 0 is out of range, allowed: 1 to 100000 turns",
    );
    check_auth_error(
        "rate_window_seconds = 30",
        "rate_window_seconds = 86401",
        "",
        ": auth.rate_window_seconds: 86401 is out of range, allowed: 1 to 86400 seconds",
    );
    let budget = env::load(&root(), "dev").unwrap().daily_token_budget;
    check_auth_error(
        "daily_tokens_per_user = 100000",
        &format!("daily_tokens_per_user = {}", budget + 1),
        "",
        &format!(
            ": auth.daily_tokens_per_user: {} is out of range, allowed: 1 to {budget} tokens (chat.daily_token_budget: one person cannot spend more than everyone)",
            budget + 1
        ),
    );
}

#[test]
fn allowed_email_domains_are_dns_names() {
    check_auth_error(
        "\"example.org\"",
        "\"@example.org\"",
        "",
        ": auth.allowed_email_domains[1]: \"@example.org\" is not allowed, expected a domain without the @, such as example.com",
    );
    check_auth_error(
        "\"example.org\"",
        "\"Example.ORG\"",
        "",
        ": auth.allowed_email_domains[1]: \"Example.ORG\" is not allowed, expected a lowercase DNS name such as example.com",
    );
    check_auth_error(
        "\"example.org\"",
        "\"example.com\"",
        "",
        ": auth.allowed_email_domains[1]: \"example.com\" is listed twice",
    );
}

#[test]
fn domain_prefix_follows_cognitos_rules() {
    let expected = ": auth.domain_prefix: {:?} is not allowed, expected 1 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen, without the words aws, amazon or cognito";
    for bad in [
        "Acme",
        "-acme",
        "acme-",
        "my-aws-chat",
        "cognito-chat",
        "a.b",
        &"a".repeat(64),
    ] {
        check_auth_error(
            "domain_prefix = \"acme-chat-dev\"",
            &format!("domain_prefix = {bad:?}"),
            "",
            &expected.replace("{:?}", &format!("{bad:?}")),
        );
    }
}

#[test]
fn a_stack_name_that_makes_no_prefix_needs_one_set() {
    let text = dev_text()
        .replacen("stack_name = \"chatbot-dev\"", "stack_name = \"amazon-chatbot\"", 1)
        .replacen(
            "[auth]\nmode = \"public\"\n",
            "[auth]\nmode = \"users\"\nrate_limit = 1\nrate_window_seconds = 1\ndaily_tokens_per_user = 1\n",
            1,
        );
    let err = env::parse("dev", "envs/dev.toml", &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "envs/dev.toml: auth.domain_prefix: missing key: the default, the stack name \"amazon-chatbot\" and the account id, is no managed login prefix (at most 50 characters before the account id, without the words aws, amazon or cognito); set one"
    );
}

#[test]
fn federation_mistakes_name_their_key() {
    let check = |from: &str, to: &str, message: &str| {
        check_auth_error(from, to, OIDC, message);
    };
    check(
        "client_secret_arn = \"arn:aws:secretsmanager:us-east-1:",
        "client_secret_arn = \"arn:aws:secretsmanager:eu-west-1:",
        ": auth.federation.client_secret_arn: \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:chatbot-idp-AbCdEf\" is not allowed, expected a Secrets Manager secret ARN in us-east-1 (arn:aws:secretsmanager:us-east-1:<account>:secret:<name>) whose value is the client secret; the secret itself never goes in the env file",
    );
    check(
        "issuer = \"https://",
        "issuer = \"http://",
        ": auth.federation.issuer: \"http://login.microsoftonline.com/tenant/v2.0\" is not allowed, expected an https:// URL, the provider's issuer (its discovery document is at <issuer>/.well-known/openid-configuration)",
    );
    check(
        "client_id = \"abc-123\"\n",
        "",
        ": auth.federation.client_id: missing key (required with type = \"oidc\")",
    );
    check(
        "name = \"EntraID\"",
        "name = \"Cognito\"",
        ": auth.federation.name: \"Cognito\" is not allowed, expected 3 to 32 letters, digits, hyphens, underscores and periods, not starting with an underscore, and not Cognito",
    );
    check(
        "client_id = \"abc-123\"",
        "client_id = \"abc-123\"\nscopes = [\"email\"]",
        ": auth.federation.scopes: must include \"openid\": the user pool signs people in with OpenID Connect",
    );
    check(
        "client_id = \"abc-123\"",
        "client_id = \"abc-123\"\nmetadata_url = \"https://idp.example.com/metadata\"",
        ": auth.federation.metadata_url: is read only with type = \"saml\", not \"oidc\"",
    );
    check(
        "type = \"oidc\"",
        "type = \"saml\"",
        ": auth.federation.issuer: is read only with type = \"oidc\", not \"saml\"",
    );
    check(
        "type = \"oidc\"",
        "type = \"ldap\"",
        &format!(
            ":{}: auth.federation.type: unknown variant `ldap`, expected `oidc` or `saml`",
            auth_line(OIDC, "type = ")
        ),
    );
}
