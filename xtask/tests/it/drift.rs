//! What `diff` and `status` say about drift, against fixtures shaped like CloudFormation's
//! documented DescribeStackResourceDrifts answers (MODIFIED with PropertyDifferences, DELETED,
//! NOT_CHECKED, IN_SYNC). moto has no drift detection (it answers DetectStackDrift with HTTP
//! 500): the rehearsal checks that this is reported as "not checked", never as in sync.

use expect_test::{Expect, expect};
use xtask::review::{self, DescribeStackResourceDrifts, DriftCheck, Palette};

fn fixture() -> DescribeStackResourceDrifts {
    let path = format!(
        "{}/tests/it/fixtures/stack_resource_drifts.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).expect("a DescribeStackResourceDrifts answer")
}

/// The answer with only the resources of these statuses.
fn only(statuses: &[&str]) -> DescribeStackResourceDrifts {
    let mut answer = fixture();
    answer
        .stack_resource_drifts
        .retain(|d| statuses.contains(&d.stack_resource_drift_status.as_deref().unwrap_or("")));
    answer
}

fn check(check: &DriftCheck, drifted: bool, expect: Expect) {
    assert_eq!(check.has_drift(), drifted);
    expect.assert_eq(&review::render_drift(check, Palette::PLAIN));
}

#[test]
fn modified_deleted_and_unchecked_resources() {
    check(
        &DriftCheck::Checked(fixture().report(None)),
        true,
        expect![[r#"
            Drift: 2 resources changed outside CloudFormation (1 in sync)
              - AlarmTopic (AWS::SNS::Topic) DELETED [arn:aws:sns:us-east-1:123456789012:chatbot-dev-AlarmTopic-9Y8T7R6E5W4Q]
                  deleted outside CloudFormation: an update that changes it fails until it is put back or the template no longer has it
              ~ Function (AWS::Lambda::Function) MODIFIED [chatbot-dev-Function-8ZxKq2LmN3pR]
                  /MemorySize: 256 → 1024
                  /Environment/Variables/CHATBOT_RATE_LIMIT: 20 → 2000
                  /Tags/1: null → {"Key":"owner","Value":"someone-in-the-console"} (added outside the template)
                  /ReservedConcurrentExecutions: 5 → null (removed outside the template)
              Not checked (drift detection does not support them): FunctionAliaslive (AWS::Lambda::Alias)
        "#]],
    );
}

#[test]
fn in_sync_with_a_resource_type_drift_detection_skips() {
    check(
        &DriftCheck::Checked(only(&["IN_SYNC", "NOT_CHECKED"]).report(None)),
        false,
        expect![[r#"
            Drift: none found; 1 resource checked matches the template
              Not checked (drift detection does not support them): FunctionAliaslive (AWS::Lambda::Alias)
        "#]],
    );
}

#[test]
fn only_deleted() {
    check(
        &DriftCheck::Checked(only(&["DELETED"]).report(None)),
        true,
        expect![[r#"
            Drift: 1 resource changed outside CloudFormation (0 in sync)
              - AlarmTopic (AWS::SNS::Topic) DELETED [arn:aws:sns:us-east-1:123456789012:chatbot-dev-AlarmTopic-9Y8T7R6E5W4Q]
                  deleted outside CloudFormation: an update that changes it fails until it is put back or the template no longer has it
        "#]],
    );
}

#[test]
fn detection_that_failed_part_way_says_so() {
    check(
        &DriftCheck::Checked(only(&["IN_SYNC"]).report(Some(
            "Failed to detect drift on resource [Function]: the caller lacks lambda:GetFunction"
                .to_owned(),
        ))),
        false,
        expect![[r#"
            Drift: none found; 1 resource checked matches the template
              Detection incomplete: Failed to detect drift on resource [Function]: the caller lacks lambda:GetFunction
        "#]],
    );
}

#[test]
fn not_checked_is_never_in_sync() {
    check(
        &DriftCheck::NotChecked {
            reason: "DetectStackDrift failed: CloudFormation DetectStackDrift answered HTTP 500"
                .to_owned(),
        },
        false,
        expect![[r#"
            Drift: not checked: DetectStackDrift failed: CloudFormation DetectStackDrift answered HTTP 500
        "#]],
    );
    check(
        &DriftCheck::Skipped {
            reason: "--no-drift".to_owned(),
        },
        false,
        expect![[r#"
            Drift: not checked (--no-drift)
        "#]],
    );
}

#[test]
fn json_has_every_resource_and_the_whole_values() {
    let json = review::drift_json(&DriftCheck::Checked(fixture().report(None)));
    assert_eq!(json["checked"], true);
    assert_eq!(json["drifted"], true);
    let resources = json["resources"].as_array().unwrap();
    let order: Vec<&str> = resources
        .iter()
        .map(|r| r["logical_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["AlarmTopic", "Function", "FunctionAliaslive", "Table"]
    );
    assert_eq!(resources[1]["status"], "MODIFIED");
    assert_eq!(resources[1]["type"], "AWS::Lambda::Function");
    assert_eq!(
        resources[1]["differences"][0],
        serde_json::json!({"path": "/MemorySize", "expected": "256", "actual": "1024", "kind": "NOT_EQUAL"})
    );
    assert_eq!(resources[0]["status"], "DELETED");
    let not_checked = review::drift_json(&DriftCheck::NotChecked {
        reason: "no API".to_owned(),
    });
    assert_eq!(
        not_checked,
        serde_json::json!({"checked": false, "drifted": false, "skipped": false, "reason": "no API"})
    );
}

#[test]
fn a_long_value_is_cut_on_screen() {
    let mut answer = only(&["MODIFIED"]);
    let long = "x".repeat(400);
    answer.stack_resource_drifts[0].property_differences[0].actual_value = Some(long.clone());
    let check = DriftCheck::Checked(answer.report(None));
    let text = review::render_drift(&check, Palette::PLAIN);
    assert!(
        text.contains(&format!("/MemorySize: 256 → {}…", "x".repeat(159))),
        "{text}"
    );
    assert_eq!(
        review::drift_json(&check)["resources"][0]["differences"][0]["actual"],
        long.as_str()
    );
}
