//! What a person sees of a deploy, checked against fixtures shaped like CloudFormation's
//! documented answers (DescribeChangeSet with Replacement and Details, DescribeStackEvents with
//! rollback states, error responses). Snapshots live in `tests/it/snapshots/`; refresh them with
//! `UPDATE_EXPECT=1 cargo test -p xtask --test review` and read the diff before committing.

use std::collections::BTreeMap;

use expect_test::expect_file;
use xtask::review::{
    self, ChangeKind, Palette, Progress, Review, StackEvent, StackStatus,
    wire::{DescribeChangeSet, DescribeStackEvents, ErrorResponse},
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/it/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn change_set(name: &str) -> DescribeChangeSet {
    serde_json::from_str(&fixture(name)).expect("fixture is a DescribeChangeSet answer")
}

fn events(name: &str) -> Vec<StackEvent> {
    let answer: DescribeStackEvents =
        serde_json::from_str(&fixture(name)).expect("fixture is a DescribeStackEvents answer");
    answer.oldest_first()
}

/// The review `diff` builds for the update fixture: the change set, the deployed parameters,
/// and the deployed and new templates.
fn update_review() -> Review {
    let answer = change_set("change_set_update.json");
    let deployed_parameters = BTreeMap::from([
        (
            "CodeBucket".to_owned(),
            "chatbot-artifacts-123456789012-eu-west-1".to_owned(),
        ),
        (
            "CodeKey".to_owned(),
            "bootstrap/3f1c9a0d5e7b2c4a6f8e0d1b3a5c7e9f1b3d5f7a9c1e3a5b7d9f1a3c5e7b9d1f.zip"
                .to_owned(),
        ),
    ]);
    let before = fixture("template_before.yaml");
    let after = fixture("template_after.yaml");
    Review::new(
        "chatbot-dev",
        ChangeKind::Update,
        answer.resource_changes(),
        review::parameter_changes(&deployed_parameters, &answer.parameter_values()),
        review::diff_statements(&review::statements(&before), &review::statements(&after)),
        review::template_diff(&before, &after, "deployed", "templates/dev.yaml"),
    )
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn update_review_as_text() {
    let text = review::render_review(&update_review(), Palette::PLAIN);
    assert!(!text.contains('\x1b'), "plain output has no colour codes");
    expect_file!["snapshots/review_update.txt"].assert_eq(&text);
}

#[test]
fn update_review_in_colour_is_the_same_text_with_colours() {
    let review = update_review();
    let coloured = review::render_review(&review, Palette { color: true });
    assert!(coloured.contains("\x1b[32m+ "), "added lines are green");
    assert!(coloured.contains("\x1b[31m-/+"), "replacements are red");
    assert_eq!(
        strip_ansi(&coloured),
        review::render_review(&review, Palette::PLAIN)
    );
}

#[test]
fn update_review_counts_replacements() {
    let review = update_review();
    assert_eq!(
        review.summary.line(),
        "Plan: 1 to add, 3 to change, 1 to remove, 1 replacement (1 more conditional)"
    );
    assert!(review.has_changes());
}

#[test]
fn update_review_as_json() {
    let json = serde_json::to_string_pretty(&review::review_json(&update_review())).unwrap();
    expect_file!["snapshots/review_update.json"].assert_eq(&json);
}

#[test]
fn duplicate_details_merge_into_one_property_with_every_cause() {
    let changes = change_set("change_set_update.json").resource_changes();
    let function = changes
        .iter()
        .find(|c| c.logical_id == "ChatFunction")
        .expect("the function changes");
    let code: Vec<_> = function
        .details
        .iter()
        .filter(|d| d.path == "Code.S3Key")
        .collect();
    assert_eq!(code.len(), 1, "one line per property");
    assert_eq!(
        code[0].causes,
        ["ParameterReference CodeKey", "DirectModification"]
    );
    assert!(
        !code[0].dynamic,
        "a static evaluation wins over a dynamic one"
    );
    let table = function
        .details
        .iter()
        .find(|d| d.path == "Environment.Variables.CHATBOT_TABLE")
        .expect("the table reference shows");
    assert!(table.dynamic);
}

#[test]
fn new_stack_shows_everything_added() {
    let answer = change_set("change_set_create.json");
    let template = fixture("template_after.yaml");
    let review = Review::new(
        "chatbot-dev",
        ChangeKind::Create,
        answer.resource_changes(),
        review::parameter_changes(&BTreeMap::new(), &answer.parameter_values()),
        review::diff_statements(&[], &review::statements(&template)),
        review::template_diff("", &template, "deployed (none)", "templates/dev.yaml"),
    );
    assert_eq!(
        review.summary.line(),
        "Plan: 4 to add, 0 to change, 0 to remove, 0 replacements"
    );
    assert!(review.iam.iter().all(|change| change.added));
    let text = review::render_review(&review, Palette::PLAIN);
    assert!(
        text.lines()
            .filter(|l| l.starts_with("  +") && !l.starts_with("  +++"))
            .count()
            > 40,
        "every template line shows as added"
    );
    expect_file!["snapshots/review_create.txt"].assert_eq(&text);
}

#[test]
fn empty_change_set_is_recognised_and_reads_as_no_changes() {
    let answer = change_set("change_set_empty.json");
    assert!(answer.is_empty_change_set());
    assert!(!change_set("change_set_update.json").is_empty_change_set());
    let template = fixture("template_after.yaml");
    let review = Review::new(
        "chatbot-dev",
        ChangeKind::Update,
        answer.resource_changes(),
        Vec::new(),
        Vec::new(),
        review::template_diff(&template, &template, "deployed", "templates/dev.yaml"),
    );
    assert!(!review.has_changes());
    expect_file!["snapshots/review_none.txt"]
        .assert_eq(&review::render_review(&review, Palette::PLAIN));
}

#[test]
fn iam_changes_mark_what_broadens_access() {
    let before = review::statements(&fixture("template_before.yaml"));
    let after = review::statements(&fixture("template_after.yaml"));
    let changes = review::diff_statements(&before, &after);
    let summary: Vec<(bool, &str, &str, bool)> = changes
        .iter()
        .map(|c| {
            (
                c.added,
                c.statement.source.as_str(),
                c.statement.effect.as_str(),
                c.broadens,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (false, "ChatFunction", "Allow", false),
            (false, "SiteBucketPolicy", "Deny", true),
            (true, "ChatFunction", "Allow", true),
            (true, "ChatFunction", "Allow", true),
            (true, "ApiInvokePermission", "Allow", true),
        ]
    );
    assert!(
        changes[3].statement.has_wildcard(),
        "logs:* on * is a wildcard"
    );
    assert!(!changes[2].statement.has_wildcard());
    expect_file!["snapshots/iam.txt"].assert_eq(&review::render_iam(&changes, Palette::PLAIN));
}

#[test]
fn unchanged_policies_give_no_iam_changes() {
    let template = review::statements(&fixture("template_after.yaml"));
    assert_eq!(template.len(), 5);
    assert!(review::diff_statements(&template, &template).is_empty());
}

#[test]
fn events_render_one_line_each() {
    let text: String = events("stack_events_create_failed.json")
        .iter()
        .map(|e| review::render_event(e, Palette::PLAIN) + "\n")
        .collect();
    expect_file!["snapshots/events_create_failed.txt"].assert_eq(&text);
}

#[test]
fn failed_create_names_the_cause_not_the_cancellations() {
    let failures = review::failures(&events("stack_events_create_failed.json"));
    let names: Vec<&str> = failures.iter().map(|f| f.logical_id.as_str()).collect();
    assert_eq!(names, ["ChatFunction"]);
    assert!(failures[0].reason.contains("NoSuchKey"));
    let text = review::render_failures(
        "chatbot-dev",
        &StackStatus::parse("ROLLBACK_COMPLETE"),
        &failures,
        Palette::PLAIN,
    ) + &review::explain_rollback_complete("chatbot-dev");
    expect_file!["snapshots/failure_create.txt"].assert_eq(&text);
}

#[test]
fn failed_update_says_the_stack_was_rolled_back() {
    let failures = review::failures(&events("stack_events_update_rollback.json"));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].status.as_str(), "UPDATE_FAILED");
    let text = review::render_failures(
        "chatbot-dev",
        &StackStatus::parse("UPDATE_ROLLBACK_COMPLETE"),
        &failures,
        Palette::PLAIN,
    );
    expect_file!["snapshots/failure_update.txt"].assert_eq(&text);
}

#[test]
fn only_cancellations_still_name_the_resources() {
    let cancelled: Vec<StackEvent> = events("stack_events_create_failed.json")
        .into_iter()
        .filter(|e| e.logical_id != "ChatFunction")
        .collect();
    let failures = review::failures(&cancelled);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].logical_id, "SiteBucket");
    assert_eq!(failures[0].reason, "Resource creation cancelled");
}

#[test]
fn a_failure_without_failed_resources_gives_the_stack_reason() {
    // A stack that fails before touching a resource: no `*_FAILED` event, only the stack's
    // status reason in DescribeStacks.
    let started: Vec<StackEvent> = events("stack_events_update_rollback.json")
        .into_iter()
        .filter(|e| !e.status.as_str().ends_with("_FAILED"))
        .collect();
    let reason = "Parameter validation failed: parameter value chatbot-missing for parameter \
                  name CodeBucket does not exist.";
    let failures = review::failures_or_reason(
        &started,
        "chatbot-dev",
        &StackStatus::parse("UPDATE_ROLLBACK_COMPLETE"),
        Some(reason),
    );
    let text = review::render_failures(
        "chatbot-dev",
        &StackStatus::parse("UPDATE_ROLLBACK_COMPLETE"),
        &failures,
        Palette::PLAIN,
    );
    assert!(
        text.contains("✗ chatbot-dev (AWS::CloudFormation::Stack) UPDATE_ROLLBACK_COMPLETE")
            && text.contains(reason)
            && !text.contains("gave no reason"),
        "{text}"
    );

    // A delete that fails says so.
    let text = review::render_failures(
        "chatbot-dev",
        &StackStatus::parse("DELETE_FAILED"),
        &failures,
        Palette::PLAIN,
    );
    assert!(
        text.starts_with("Deleting chatbot-dev failed: the stack is DELETE_FAILED\n"),
        "{text}"
    );

    // Failed resources, where there are some, are the cause.
    let all = events("stack_events_update_rollback.json");
    let failures = review::failures_or_reason(
        &all,
        "chatbot-dev",
        &StackStatus::parse("UPDATE_ROLLBACK_COMPLETE"),
        Some(reason),
    );
    assert_eq!(failures, review::failures(&all));
    assert!(failures.iter().all(|f| f.logical_id != "chatbot-dev"));
}

#[test]
fn progress_counts_resources_by_their_latest_status() {
    let all = events("stack_events_update_rollback.json");
    let midway = &all[..3];
    let progress = Progress::from_events(
        "chatbot-dev",
        &StackStatus::parse("UPDATE_IN_PROGRESS"),
        midway,
        12.34,
    );
    assert_eq!(
        (progress.done, progress.in_progress, progress.failed),
        (1, 1, 0)
    );
    assert_eq!(
        review::render_progress(&progress, 3, Palette::PLAIN),
        "⠸ chatbot-dev UPDATE_IN_PROGRESS  1 done, 1 in progress  12.3s"
    );
    let failed = Progress::from_events(
        "chatbot-dev",
        &StackStatus::parse("UPDATE_ROLLBACK_IN_PROGRESS"),
        &all[..4],
        20.0,
    );
    assert_eq!(failed.failed, 1);
}

#[test]
fn error_responses_become_sentences_with_a_next_step() {
    let responses: Vec<ErrorResponse> =
        serde_json::from_str(&fixture("errors.json")).expect("fixture is a list of errors");
    let text: String = responses
        .iter()
        .map(|r| review::explain_api_error(&r.error.code, &r.error.message) + "\n")
        .collect();
    for line in text.lines() {
        assert!(!line.ends_with('.'), "no trailing period: {line}");
    }
    expect_file!["snapshots/errors.txt"].assert_eq(&text);
}

#[test]
fn colours_only_on_a_terminal_without_no_color() {
    assert!(Palette::new(true, None).color);
    assert!(Palette::new(true, Some("")).color);
    assert!(!Palette::new(true, Some("1")).color);
    assert!(!Palette::new(false, None).color);
}

// ---- SAM templates and gradual rollouts ----

/// A SAM template as `templates/prod.yaml` has its function, with `key` as its code.
fn sam_template(timeout: u32) -> String {
    format!(
        "AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Resources:
  Function:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri:
        Bucket:
          Ref: CodeBucket
        Key:
          Ref: CodeKey
      Timeout: {timeout}
      AutoPublishAlias: live
"
    )
}

fn sam_update_review() -> Review {
    let answer = change_set("change_set_sam_update.json");
    let (before, after) = (sam_template(60), sam_template(50));
    let mut changes = answer.resource_changes();
    review::mark_transform_resources(&mut changes, &[&before, &after]);
    Review::new(
        "chatbot-prod",
        ChangeKind::Update,
        changes,
        Vec::new(),
        review::diff_statements(&review::statements(&before), &review::statements(&after)),
        review::template_diff(
            &before,
            &after,
            "deployed chatbot-prod",
            "templates/prod.yaml",
        ),
    )
}

#[test]
fn a_sam_update_shows_the_source_text_and_the_expanded_resources() {
    let text = review::render_review(&sam_update_review(), Palette::PLAIN);
    expect_file!["snapshots/review_sam_update.txt"].assert_eq(&text);
}

#[test]
fn resources_only_the_transform_names_are_marked() {
    let review = sam_update_review();
    let marked: Vec<(&str, bool)> = review
        .changes
        .iter()
        .map(|c| (c.logical_id.as_str(), c.from_transform))
        .collect();
    assert_eq!(
        marked,
        [
            ("Function", false),
            ("FunctionVersion8d0e4b1c2a", true),
            ("FunctionAliaslive", true),
            ("FunctionVersion5b7c9d1e3f", true),
        ]
    );
    assert_eq!(
        review::review_json(&review)["changes"][1]["from_transform"],
        true
    );
}

fn stopped_deployment() -> review::RolloutEnd {
    let answer: review::wire::GetDeployment =
        serde_json::from_str(&fixture("codedeploy_deployment_stopped.json"))
            .expect("fixture is a GetDeployment answer");
    answer.deployment_info.to_review()
}

fn alarm(logical_id: &str, name: &str, state: &str) -> review::AlarmState {
    review::AlarmState {
        logical_id: logical_id.into(),
        name: name.into(),
        state: state.into(),
        reason: (state == "ALARM").then(|| {
            "Threshold Crossed: 1 datapoint [3.0 (01/05/26 12:04:00)] was greater than or equal to the threshold (1.0).".to_owned()
        }),
    }
}

fn rollout(status: &str, alias: &str, new: Option<&str>, percent: f64) -> review::RolloutState {
    review::RolloutState {
        deployment_id: "d-7XKQ2B9TL".into(),
        status: status.into(),
        alias_version: Some(alias.into()),
        new_version: new.map(str::to_owned),
        percent_new: percent,
        alarms: vec![
            alarm(
                "FunctionErrorsAlarm",
                "chatbot-prod-FunctionErrorsAlarm-1A2B3C4D5E6F",
                if status == "Stopped" { "ALARM" } else { "OK" },
            ),
            alarm(
                "FunctionThrottlesAlarm",
                "chatbot-prod-FunctionThrottlesAlarm-6F5E4D3C2B1A",
                "OK",
            ),
        ],
    }
}

#[track_caller]
fn check_rollout_line(state: review::RolloutState, line: &str) {
    let config = review::describe_config("Canary10Percent5Minutes");
    assert_eq!(
        review::render_rollout_state(&state, &config, Palette::PLAIN),
        line
    );
}

#[test]
fn rollout_lines_give_the_split_and_the_alarms() {
    check_rollout_line(
        rollout("InProgress", "6", Some("7"), 10.0),
        "Rollout d-7XKQ2B9TL (canary: 10 % for 5 minutes, then all) InProgress: 10 % on version 7, 90 % on version 6; alarms: FunctionErrorsAlarm OK, FunctionThrottlesAlarm OK",
    );
    check_rollout_line(
        rollout("InProgress", "6", Some("7"), 33.333),
        "Rollout d-7XKQ2B9TL (canary: 10 % for 5 minutes, then all) InProgress: 33.3 % on version 7, 66.7 % on version 6; alarms: FunctionErrorsAlarm OK, FunctionThrottlesAlarm OK",
    );
    check_rollout_line(
        rollout("Succeeded", "7", None, 0.0),
        "Rollout d-7XKQ2B9TL (canary: 10 % for 5 minutes, then all) Succeeded: 100 % on version 7; alarms: FunctionErrorsAlarm OK, FunctionThrottlesAlarm OK",
    );
    check_rollout_line(
        rollout("Stopped", "6", None, 0.0),
        "Rollout d-7XKQ2B9TL (canary: 10 % for 5 minutes, then all) Stopped: all traffic on version 6; alarms: FunctionErrorsAlarm ALARM, FunctionThrottlesAlarm OK",
    );
    assert_eq!(
        review::describe_config("Linear10PercentEvery1Minute"),
        "linear: 10 % more every minute"
    );
}

#[test]
fn codedeploys_answer_names_every_alarm_that_fired() {
    let end = stopped_deployment();
    assert_eq!(end.status, "Stopped");
    assert!(!end.succeeded());
    assert_eq!(end.error_code.as_deref(), Some("ALARM_ACTIVE"));
    assert_eq!(
        end.activated_alarms(),
        [
            "chatbot-prod-FunctionErrorsAlarm-1A2B3C4D5E6F",
            "chatbot-prod-FunctionThrottlesAlarm-6F5E4D3C2B1A"
        ]
    );
    assert_eq!(end.rollback_deployment_id.as_deref(), Some("d-4M7N1P3QR"));
}

#[test]
fn a_rollback_names_the_alarms_by_their_logical_ids_and_says_where_the_traffic_is() {
    let last = rollout("Stopped", "6", None, 0.0);
    let text = review::render_rollback(&stopped_deployment(), Some(&last), Palette::PLAIN);
    assert_eq!(
        text,
        "Automatic rollback: alarm FunctionErrorsAlarm (chatbot-prod-FunctionErrorsAlarm-1A2B3C4D5E6F) and alarm FunctionThrottlesAlarm (chatbot-prod-FunctionThrottlesAlarm-6F5E4D3C2B1A) fired, and CodeDeploy moved the traffic back
  FunctionErrorsAlarm: Threshold Crossed: 1 datapoint [3.0 (01/05/26 12:04:00)] was greater than or equal to the threshold (1.0).
  CodeDeploy deployment d-7XKQ2B9TL Stopped: ALARM_ACTIVE: One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the affected deployments have been stopped. Activated alarms: <chatbot-prod-FunctionErrorsAlarm-1A2B3C4D5E6F> <chatbot-prod-FunctionThrottlesAlarm-6F5E4D3C2B1A>
  Deployment d-7XKQ2B9TL terminated. Automatic rollback is triggered with a DeploymentId d-4M7N1P3QR.
  The live alias is back on version 6: the new version serves nothing
"
    );
}

#[test]
fn a_rollback_without_named_alarms_falls_back_to_those_in_alarm_or_the_status() {
    let mut end = stopped_deployment();
    end.error_message = Some("The deployment timed out".into());
    end.error_code = Some("TIMEOUT".into());
    let last = rollout("Stopped", "6", None, 0.0);
    let text = review::render_rollback(&end, Some(&last), Palette::PLAIN);
    assert!(text.starts_with(
        "Automatic rollback: alarm FunctionErrorsAlarm (chatbot-prod-FunctionErrorsAlarm-1A2B3C4D5E6F) fired"
    ), "{text}");
    let text = review::render_rollback(&end, None, Palette::PLAIN);
    assert!(
        text.starts_with("Automatic rollback: CodeDeploy stopped deployment d-7XKQ2B9TL\n"),
        "{text}"
    );
    assert!(text.contains("TIMEOUT: The deployment timed out"), "{text}");
}

// ---- answers no SDK can read ----

fn check_unreadable(status: u16, body: &[u8], endpoint: Option<&str>, expect: expect_test::Expect) {
    expect.assert_eq(&review::explain_unreadable_answer(
        &review::UnreadableAnswer {
            operation: "CloudFormation DescribeStacks",
            status,
            request_id: Some("7c1e9a2b-0d3f-4e5a-8b6c-9d0e1f2a3b4c"),
            body,
            endpoint,
        },
    ));
}

#[test]
fn json_where_xml_belongs_from_an_emulator() {
    check_unreadable(
        200,
        br#"{"DescribeStacksResponse": {"DescribeStacksResult": {"Stacks": []}}}"#,
        Some("http://localhost:4566"),
        expect_test::expect![[
            r#"CloudFormation DescribeStacks answered HTTP 200, request id 7c1e9a2b-0d3f-4e5a-8b6c-9d0e1f2a3b4c with a body it cannot read: `{"DescribeStacksResponse": {"DescribeStacksResult": {"Stacks": []}}}`; the environment points this service at http://localhost:4566 (AWS_ENDPOINT_URL…): check that the server there speaks the AWS API, or unset the variable"#
        ]],
    );
}

#[test]
fn html_page_from_a_proxy() {
    check_unreadable(
        403,
        b"<!DOCTYPE html>\n<html><head>\n<title>\n  Access blocked by corporate proxy\n</title></head><body>...</body></html>",
        None,
        expect_test::expect![[r#"CloudFormation DescribeStacks answered HTTP 403, request id 7c1e9a2b-0d3f-4e5a-8b6c-9d0e1f2a3b4c with a body it cannot read: `Access blocked by corporate proxy`; a proxy or captive portal answered instead of AWS: check HTTPS_PROXY and the network"#]],
    );
}

#[test]
fn empty_server_error() {
    check_unreadable(
        500,
        b"",
        None,
        expect_test::expect![
            "CloudFormation DescribeStacks answered HTTP 500, request id 7c1e9a2b-0d3f-4e5a-8b6c-9d0e1f2a3b4c with an empty body; AWS, or something between here and AWS, failed: run the command again in a minute"
        ],
    );
}

#[test]
fn long_bodies_are_cut_and_controls_removed() {
    let mut body = b"\x1b[2J\x1b]0;owned\x07start \xe2\x80\xae reversed ".to_vec();
    body.extend(std::iter::repeat_n(b'x', 500));
    let excerpt = review::body_excerpt(&body);
    assert_eq!(excerpt.chars().count(), 160, "{excerpt}");
    assert!(excerpt.ends_with('…'));
    assert!(
        !excerpt.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{excerpt:?}"
    );
    assert!(
        excerpt.starts_with("[2J ]0;owned start reversed xxx"),
        "{excerpt:?}"
    );
    assert_eq!(
        review::body_excerpt(b"<html><body><h1>Bad</h1>\n<p>Gateway</p></body></html>"),
        "Bad Gateway"
    );
}

#[test]
fn aws_error_messages_are_kept_to_one_printable_line() {
    assert_eq!(
        review::explain_api_error("ValidationError", "Template error:\n\tbad\u{1b}[31m value."),
        "ValidationError: Template error: bad [31m value"
    );
}

#[test]
fn sdk_errors_name_their_service_and_operation() {
    let operation = xtask::aws::errors::Operation::of::<
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError,
    >();
    assert_eq!(operation.name, "CloudFormation DescribeStacks");
    let operation = xtask::aws::errors::Operation::of::<
        aws_sdk_bedrock::operation::get_foundation_model_availability::GetFoundationModelAvailabilityError,
    >();
    assert_eq!(operation.name, "Bedrock GetFoundationModelAvailability");
}

#[test]
fn stack_statuses_are_read_once_and_unknown_ones_are_kept() {
    for text in [
        "CREATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "REVIEW_IN_PROGRESS",
        "DELETE_SKIPPED",
    ] {
        let status = StackStatus::parse(text);
        assert!(!matches!(status, StackStatus::Other(_)), "{text} is known");
        assert_eq!(status.as_str(), text);
        assert_eq!(status.to_string(), text);
    }
    let unknown = StackStatus::parse("EXPORT_FAILED");
    assert_eq!(unknown, StackStatus::Other("EXPORT_FAILED".to_owned()));
    assert_eq!(unknown.as_str(), "EXPORT_FAILED");
    assert!(unknown.is_failed() && !unknown.is_busy() && !unknown.is_updatable());
    assert_eq!(StackStatus::parse("").as_str(), "");
}

#[test]
fn what_each_stack_status_lets_a_task_do() {
    let check = |text: &str, busy: bool, updatable: bool, operation: &str| {
        let status = StackStatus::parse(text);
        assert_eq!(
            (status.is_busy(), status.is_updatable(), status.operation()),
            (busy, updatable, operation),
            "{text}"
        );
    };
    check("CREATE_COMPLETE", false, true, "another operation");
    check("UPDATE_ROLLBACK_COMPLETE", false, true, "another operation");
    check("IMPORT_ROLLBACK_COMPLETE", false, true, "another operation");
    check("ROLLBACK_COMPLETE", false, false, "another operation");
    check("REVIEW_IN_PROGRESS", false, false, "another operation");
    check("UPDATE_IN_PROGRESS", true, false, "an update");
    check(
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        true,
        false,
        "the clean-up after a rolled-back update",
    );
    check("SOME_NEW_IN_PROGRESS", true, false, "another operation");
    assert!(StackStatus::parse("CREATE_COMPLETE").is_deployed());
    assert!(!StackStatus::parse("UPDATE_ROLLBACK_COMPLETE").is_deployed());
}
