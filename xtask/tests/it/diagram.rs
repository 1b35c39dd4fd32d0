//! The architecture diagram is drawn from the stack model: what an environment turns on shows,
//! what it leaves off does not, the request path runs from the browser to Bedrock, and the
//! alarms reach who the env file names. Each case edits a checked-in env file once and looks
//! at the diagram drawn from it. The checked-in files under docs/diagrams/ are kept fresh.

use std::path::{Path, PathBuf};

use xtask::drawing::{self, Arrow, Diagram, Kind, Style};
use xtask::{env, stack};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The diagram of envs/`name`.toml with each `(from, to)` replaced once.
fn drawn(name: &str, edits: &[(&str, &str)]) -> Diagram {
    let file = format!("envs/{name}.toml");
    let mut text = std::fs::read_to_string(root().join(&file)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{file} has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let environment = env::parse(name, &file, &text).unwrap();
    drawing::diagram(&environment, &stack::template(&environment))
}

fn boxes_of(diagram: &Diagram, kind: Kind) -> Vec<Vec<String>> {
    diagram
        .boxes
        .iter()
        .filter(|b| b.kind == kind)
        .map(|b| b.label.clone())
        .collect()
}

/// The label of the one box of `kind`.
#[track_caller]
fn label_of(diagram: &Diagram, kind: Kind) -> Vec<String> {
    let boxes = boxes_of(diagram, kind);
    assert_eq!(boxes.len(), 1, "one {kind:?} box: {boxes:?}");
    boxes.into_iter().next().unwrap()
}

fn arrows(diagram: &Diagram) -> Vec<(&str, &str, &str, Style)> {
    diagram
        .arrows
        .iter()
        .map(
            |Arrow {
                 from,
                 to,
                 label,
                 style,
             }| { (from.as_str(), to.as_str(), label.as_str(), *style) },
        )
        .collect()
}

/// The chain of request arrows from the browser, following the first at each box.
fn request_path(diagram: &Diagram, start: &str) -> Vec<String> {
    let mut path = vec![start.to_owned()];
    while let Some(next) = diagram
        .arrows
        .iter()
        .find(|a| a.style == Style::Request && &a.from == path.last().unwrap())
        .filter(|a| !path.contains(&a.to))
    {
        path.push(next.to.clone());
    }
    path
}

#[test]
fn the_request_path_runs_from_the_browser_through_cloudfront_the_api_and_the_alias_to_bedrock() {
    let prod = drawn("prod", &[]);
    let requests: Vec<(&str, &str)> = arrows(&prod)
        .into_iter()
        .filter(|a| a.3 == Style::Request)
        .map(|a| (a.0, a.1))
        .collect();
    assert_eq!(
        requests,
        [
            ("Distribution", "RestApi"),
            ("Distribution", "SiteBucket"),
            ("Function", "Bedrock"),
            ("FunctionAlias", "Function"),
            ("RestApi", "FunctionAlias"),
            ("Viewer", "Distribution"),
        ]
    );
    assert_eq!(
        request_path(&prod, "Distribution")[1..],
        ["RestApi", "FunctionAlias", "Function", "Bedrock"]
    );
}

#[test]
fn the_data_stores_are_written_by_the_function() {
    let prod = drawn("prod", &[]);
    assert!(arrows(&prod).contains(&(
        "Function",
        "Table",
        "history, rate limits, budget",
        Style::Data
    )));
    assert_eq!(
        label_of(&prod, Kind::Table),
        ["DynamoDB Table", "on demand, TTL 30 days", "PITR on"]
    );
    let no_pitr = drawn(
        "prod",
        &[(
            "point_in_time_recovery = true",
            "point_in_time_recovery = false",
        )],
    );
    assert_eq!(label_of(&no_pitr, Kind::Table)[2], "PITR off");
    assert!(no_pitr.features.contains(&"PITR: off".to_owned()));
}

#[test]
fn the_models_box_lists_the_allowed_models() {
    let prod = drawn("prod", &[]);
    assert_eq!(
        label_of(&prod, Kind::Model),
        [
            "Bedrock models",
            "Claude Haiku 4.5",
            "gpt-oss-120b",
            "Amazon Nova Lite"
        ]
    );
}

#[test]
fn an_environment_with_a_guardrail_shows_it_and_one_without_does_not() {
    let prod = drawn("prod", &[]);
    assert_eq!(
        label_of(&prod, Kind::Guardrail),
        [
            "Bedrock guardrail",
            "content filters, denied topics, PII, words"
        ]
    );
    assert!(arrows(&prod).contains(&(
        "Function",
        "Guardrail",
        "names it in each call",
        Style::Control
    )));
    assert!(prod.features.contains(&"guardrail: on".to_owned()));

    let dev = drawn("dev", &[]);
    assert!(boxes_of(&dev, Kind::Guardrail).is_empty());
    assert!(!arrows(&dev).iter().any(|a| a.1 == "Guardrail"));
    assert!(dev.features.contains(&"guardrail: off".to_owned()));
}

#[test]
fn the_alarms_reach_the_address_and_the_topic_the_env_file_names() {
    let prod = drawn(
        "prod",
        &[
            (
                "# email = \"oncall@example.com\"",
                "email = \"oncall@example.com\"",
            ),
            (
                "# topic_arn = \"arn:aws:sns:us-west-2:123456789012:ops-alerts\"",
                "topic_arn = \"arn:aws:sns:us-west-2:123456789012:ops-alerts\"",
            ),
        ],
    );
    assert_eq!(
        boxes_of(&prod, Kind::Destination),
        [
            vec!["E-mail".to_owned(), "oncall@example.com".to_owned()],
            vec!["Existing SNS topic".to_owned(), "ops-alerts".to_owned()],
        ]
    );
    let notify: Vec<(&str, &str)> = arrows(&prod)
        .into_iter()
        .filter(|a| a.2 == "notify")
        .map(|a| (a.0, a.1))
        .collect();
    assert_eq!(
        notify,
        [
            ("AlarmTopic", "AlarmEmail"),
            ("Alarms", "AlarmExistingTopic"),
            ("Alarms", "AlarmTopic"),
        ]
    );
}

#[test]
fn alarms_without_a_destination_are_drawn_reaching_no_one() {
    let prod = drawn("prod", &[]);
    assert_eq!(
        boxes_of(&prod, Kind::Destination),
        [vec![
            "No one".to_owned(),
            "(no e-mail or topic set)".to_owned()
        ]]
    );
    assert!(arrows(&prod).contains(&(
        "AlarmTopic",
        "NoAlarmDestination",
        "notify",
        Style::Control
    )));
}

#[test]
fn the_alarms_box_counts_every_alarm_and_watches_the_function_api_and_table() {
    let prod = drawn("prod", &[]);
    let template = std::fs::read_to_string(root().join("templates/prod.yaml")).unwrap();
    let alarms = template.matches("Type: AWS::CloudWatch::Alarm").count();
    assert_eq!(
        label_of(&prod, Kind::Alarms)[0],
        format!("{alarms} CloudWatch alarms")
    );
    let watched: Vec<&str> = arrows(&prod)
        .into_iter()
        .filter(|a| a.0 == "Alarms" && a.2 == "watch")
        .map(|a| a.1)
        .collect();
    assert_eq!(watched, ["Function", "RestApi", "Table"]);
}

#[test]
fn a_gradual_rollout_shows_on_the_alias_with_its_rollback_alarms() {
    let prod = drawn("prod", &[]);
    assert_eq!(
        label_of(&prod, Kind::Alias),
        [
            "Lambda alias live",
            "canary rollout: 10% for 5 min",
            "rolled back by 2 alarms"
        ]
    );
    assert!(arrows(&prod).contains(&(
        "Alarms",
        "FunctionAlias",
        "roll back a new version",
        Style::Control
    )));
    assert!(
        prod.features
            .contains(&"rollout: canary-10-percent-5-minutes".to_owned())
    );

    let staging = drawn("staging", &[]);
    assert_eq!(
        label_of(&staging, Kind::Alias)[1],
        "linear rollout: +10% every 1 min"
    );
}

#[test]
fn all_at_once_has_the_alias_but_nothing_rolls_it_back() {
    let dev = drawn("dev", &[]);
    assert_eq!(
        label_of(&dev, Kind::Alias),
        ["Lambda alias live", "new versions all at once"]
    );
    assert!(
        !arrows(&dev)
            .iter()
            .any(|a| a.1 == "FunctionAlias" && a.0 == "Alarms")
    );
}

#[test]
fn a_custom_domain_shows_on_the_distribution_and_in_the_caption() {
    let plain = drawn("prod", &[]);
    assert_eq!(label_of(&plain, Kind::Cdn)[1], "*.cloudfront.net");
    assert!(plain.features.contains(&"custom domain: none".to_owned()));

    let named = drawn(
        "prod",
        &[
            ("# [domain]", "[domain]"),
            (
                "# name = \"chat.example.com\"",
                "name = \"chat.example.com\"",
            ),
            (
                "# certificate_arn = \"arn:aws:acm:us-east-1:123456789012:certificate/...\"",
                "certificate_arn = \"arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab\"",
            ),
        ],
    );
    assert_eq!(label_of(&named, Kind::Cdn)[1], "chat.example.com");
    assert!(
        named
            .features
            .contains(&"custom domain: chat.example.com".to_owned())
    );
}

#[test]
fn the_api_key_and_the_throttle_show_on_the_api() {
    let prod = drawn("prod", &[]);
    assert_eq!(
        label_of(&prod, Kind::Api),
        [
            "API Gateway RestApi",
            "REST, stage live: 50/s, burst 100",
            "API key required"
        ]
    );
    assert!(
        prod.features
            .contains(&"API key: CloudFront's, required".to_owned())
    );
    assert!(arrows(&prod).contains(&(
        "Distribution",
        "RestApi",
        "/api/* with the API key",
        Style::Request
    )));
    let faster = drawn("prod", &[("throttle_rate = 50", "throttle_rate = 80")]);
    assert_eq!(
        label_of(&faster, Kind::Api)[1],
        "REST, stage live: 80/s, burst 100"
    );
}

#[test]
fn the_caption_says_whether_people_sign_in() {
    assert!(
        drawn("prod", &[])
            .features
            .contains(&"sign-in: none (public)".to_owned())
    );
    assert!(
        drawn("staging", &[])
            .features
            .contains(&"sign-in: Cognito user pool".to_owned())
    );
}

#[test]
fn the_function_box_carries_its_settings() {
    let prod = drawn(
        "prod",
        &[
            ("memory_mb = 512", "memory_mb = 1024"),
            ("reserved_concurrency = 50", "reserved_concurrency = 20"),
        ],
    );
    assert_eq!(
        label_of(&prod, Kind::Function),
        [
            "Lambda Function",
            "Rust, arm64, 1024 MB, 60 s",
            "reserved concurrency 20"
        ]
    );
}

#[test]
fn the_sources_are_deterministic_and_carry_every_box_and_arrow() {
    let prod = drawn("prod", &[]);
    let dot = drawing::dot(&prod, "header");
    assert_eq!(dot, drawing::dot(&drawn("prod", &[]), "header"));
    let mermaid = drawing::mermaid(&prod, "header");
    for b in &prod.boxes {
        assert!(
            dot.contains(&format!("\"{}\" [label=", b.id)),
            "{} in DOT",
            b.id
        );
        assert!(
            mermaid.contains(&format!("    {}[\"", b.id)),
            "{} in Mermaid",
            b.id
        );
    }
    // An arrow drawn backwards for the layout keeps its label and points the right way.
    assert!(dot.contains("\"Function\" -> \"Alarms\" [label=\"watch\", style=dashed, dir=back];"));
    assert!(mermaid.contains("  Alarms -.->|\"watch\"| Function\n"));
    assert_eq!(
        prod.arrows.len(),
        dot.matches(" -> ").count(),
        "every arrow once in DOT"
    );
}

#[test]
fn the_checked_in_diagrams_are_fresh() {
    let root = root();
    for name in env::names(&root).unwrap() {
        let stale = drawing::stale_files(&root, &name).unwrap();
        assert!(
            stale.is_empty(),
            "{stale:?} not up to date: run `cargo xtask diagram --all` and commit"
        );
    }
}
