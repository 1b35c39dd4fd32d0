//! The router behind `lambda_http`: API Gateway REST proxy events, as Lambda delivers them,
//! through the same adapter `bootstrap` runs with `run_with_streaming_response`.

use crate::support::{self, ConfigVars};
use std::sync::Arc;

use axum::Router;
use chatbot::contract::env_vars as var;
use chatbot::metrics::Metrics;
use chatbot::warm::Schedule;
use chatbot::{AppState, Config};
use futures_util::StreamExt;
use http::StatusCode;
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent, Service, StreamAdapter};
use serde_json::{Value, json};
use testkit::bedrock::FakeBedrock;

/// An API Gateway REST proxy event for `POST /api/chat` on stage `prod`, as CloudFront
/// forwards it: `sourceIp` is CloudFront's edge, the viewer is in `CloudFront-Viewer-Address`.
fn chat_event(viewer: Option<&str>, source_ip: &str, body: &Value, accept: &str) -> String {
    let mut headers = json!({
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "Content-Type": "application/json",
        "Accept": accept,
        "User-Agent": "Amazon CloudFront",
        "X-Forwarded-For": format!("10.1.2.3, {}, {source_ip}", viewer.unwrap_or("192.0.2.1")),
        "Via": "2.0 abcdef.cloudfront.net (CloudFront)",
    });
    if let Some(viewer) = viewer {
        headers["CloudFront-Viewer-Address"] = json!(format!("{viewer}:53421"));
    }
    support::rest_event("prod", source_ip, &headers, body)
}

async fn router(adjust: impl FnOnce(&mut Config)) -> (Router, FakeBedrock) {
    let fake = FakeBedrock::start().await.unwrap();
    let mut config = support::config();
    adjust(&mut config);
    let state = AppState {
        metrics: Metrics::in_memory(&config.environment),
        config,
        tuning: support::tuning(),
        store: support::memory_store(),
        model: support::fake_model(&fake),
    };
    (chatbot::router(Arc::new(state)), fake)
}

#[tokio::test]
async fn an_api_gateway_event_reaches_the_chat_route_despite_the_stage() {
    let (router, fake) = router(|_| {}).await;
    let event = chat_event(
        Some("198.51.100.7"),
        "130.176.1.1",
        &json!({"message": "from lambda"}),
        "application/json",
    );
    let (status, body) = support::through_lambda_json(&router, &event).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reply"], "Fake model reply to: from lambda");
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn the_rate_limit_counts_the_cloudfront_viewer_not_the_edge_or_x_forwarded_for() {
    let (router, _fake) = router(|config| config.rate_limit = 1).await;
    let hello = json!({"message": "hi"});
    let json = "application/json";

    let (first, _) = support::through_lambda_json(
        &router,
        &chat_event(Some("198.51.100.7"), "130.176.1.1", &hello, json),
    )
    .await;
    assert_eq!(first, StatusCode::OK);
    // Same viewer through another edge server: the same client.
    let (again, body) = support::through_lambda_json(
        &router,
        &chat_event(Some("198.51.100.7"), "130.176.9.9", &hello, json),
    )
    .await;
    assert_eq!(again, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another viewer through the first edge server: another client.
    let (other, _) = support::through_lambda_json(
        &router,
        &chat_event(Some("198.51.100.8"), "130.176.1.1", &hello, json),
    )
    .await;
    assert_eq!(other, StatusCode::OK);
    // Called directly (no CloudFront header): the caller's own address counts.
    let (direct, _) =
        support::through_lambda_json(&router, &chat_event(None, "203.0.113.9", &hello, json)).await;
    assert_eq!(direct, StatusCode::OK);
    let (direct_again, _) =
        support::through_lambda_json(&router, &chat_event(None, "203.0.113.9", &hello, json)).await;
    assert_eq!(direct_again, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_stream_goes_through_lambda_http_streaming_adapter() {
    let (router, _fake) = router(|_| {}).await;
    let event = chat_event(
        Some("198.51.100.7"),
        "130.176.1.1",
        &json!({"message": "stream through lambda"}),
        "text/event-stream",
    );
    let payload: LambdaRequest = serde_json::from_str(&event).unwrap();
    let mut adapter = StreamAdapter::from(chatbot::lambda::handler(router));
    let response = adapter
        .call(LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap();
    assert_eq!(response.metadata_prelude.status_code, StatusCode::OK);
    assert!(
        response.metadata_prelude.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = Vec::new();
    let mut stream = response.stream;
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    let events = support::parse_sse(&String::from_utf8(body).unwrap());
    assert_eq!(events.first().unwrap().0, "meta");
    assert_eq!(events.last().unwrap().0, "done");
    assert_eq!(
        support::streamed_text(&events),
        "Fake model reply to: stream through lambda"
    );
}

#[test]
fn the_warm_up_holds_init_back_only_when_lambda_initialises_ahead_of_demand() {
    let check = |value: Option<&str>, expect: Schedule| {
        assert_eq!(
            Schedule::for_initialization_type(value),
            expect,
            "{value:?}"
        );
    };
    check(Some("provisioned-concurrency"), Schedule::DuringInit);
    check(Some("on-demand"), Schedule::BesideFirstInvoke);
    check(
        Some("lambda-managed-instances"),
        Schedule::BesideFirstInvoke,
    );
    check(Some("snap-start"), Schedule::BesideFirstInvoke);
    check(Some(""), Schedule::BesideFirstInvoke);
    // A local run: nothing freezes the process.
    check(None, Schedule::BesideFirstInvoke);
}

/// `bootstrap` with one variable missing or malformed: it stops at start, naming it.
#[test]
fn bootstrap_refuses_to_start_with_a_missing_or_malformed_variable() {
    let base = ConfigVars::standard()
        .with(var::TABLE_NAME, "chatbot-test")
        .with(var::SYSTEM_PROMPT, "Be brief.")
        .with(var::MAX_OUTPUT_TOKENS, "100")
        .with(var::RATE_LIMIT, "5")
        .with(var::RATE_WINDOW_SECONDS, "60")
        .with(var::DAILY_TOKEN_BUDGET, "1000")
        .with(var::ORIGIN_SECRET, "a-test-origin-secret-of-32-chars");
    let cases = [
        (var::TABLE_NAME, None, "is not set"),
        // Local runs may go without it; the function never does.
        (var::ORIGIN_SECRET, None, "is not set"),
        (var::ORIGIN_SECRET, Some("short"), "is malformed"),
        (var::SYSTEM_PROMPT, None, "is not set"),
        (var::RATE_LIMIT, Some("ten"), "is malformed"),
        (var::DEFAULT_MODEL, Some("gpt-4"), "is malformed"),
        (var::IPV6_PREFIX_LENGTH, Some("129"), "is malformed"),
        // A guardrail setting without the guardrail it belongs to.
        (var::GUARDRAIL_VERSION, Some("1"), "is malformed"),
    ];
    for (name, value, problem) in cases {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        for (key, default) in base.iter() {
            command.env_remove(key);
            if key != name {
                command.env(key, default);
            }
        }
        if let Some(value) = value {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(name) && stderr.contains(problem),
            "{name}: {stderr}"
        );
    }
}
