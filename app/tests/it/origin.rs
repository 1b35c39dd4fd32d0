//! The origin secret: deployed, CloudFront adds `x-origin-verify` to every request it passes to
//! the API, and the service refuses any `/api` request without it, so a caller of the
//! `execute-api` address cannot skip CloudFront and choose the `CloudFront-Viewer-Address` the
//! rate limit counts. Each refusal is written to the reliability evidence.

use crate::support;
use std::sync::Arc;

use crate::support::{Harness, Logs, record_bad_input};
use bytes::Bytes;
use chatbot::config::OriginSecret;
use chatbot::contract::{ORIGIN_VERIFY_HEADER, metrics as names};
use chatbot::{AppState, Config};
use http::{Method, StatusCode};
use lambda_http::tower::ServiceExt;
use serde_json::json;
use testkit::bedrock::FakeBedrock;

const EVIDENCE: &str = "origin";
// Every test here captures logs, whether or not it reads them: the refusal's log line may be
// written first from any test's thread, and `tracing` caches per call site whether anyone
// listens, so a test without a subscriber could leave the others' captures empty.
const SECRET: &str = "Kx7mQ2vR9tLp4Wn8Zc3Hf6Jb1Ds5Gy0A";
const REFUSED_LOG: &str =
    "request refused: it did not come through CloudFront (origin header missing or wrong)";

async fn service(adjust: impl FnOnce(&mut Config)) -> (Harness, FakeBedrock) {
    let fake = FakeBedrock::start().await.expect("the fake Bedrock starts");
    let mut config = support::config();
    config.origin_secret = Some(OriginSecret::new(SECRET).unwrap());
    adjust(&mut config);
    let model = support::fake_model(&fake);
    let harness = Harness::start(config, support::tuning(), support::memory_store(), model).await;
    (harness, fake)
}

async fn chat(service: &Harness, origin: &[&str]) -> support::Reply {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(origin.iter().map(|value| (ORIGIN_VERIFY_HEADER, *value)));
    service
        .request(
            Method::POST,
            "/api/chat",
            &headers,
            json!({"message": "hello"}).to_string(),
        )
        .await
}

fn assert_forbidden(reply: &support::Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{what}");
    assert_eq!(reply.error_code(), "forbidden", "{what}");
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("through the chatbot's site"), "{message}");
    assert!(!message.contains(SECRET));
    assert!(reply.headers.contains_key("x-request-id"), "{what}");
}

#[tokio::test]
async fn a_chat_without_the_right_origin_header_is_refused_and_never_reaches_the_model() {
    let logs = Logs::capture();
    let (service, fake) = service(|_| {}).await;
    let wrong_same_length = "Kx7mQ2vR9tLp4Wn8Zc3Hf6Jb1Ds5Gy0B";
    let cases: [(&str, &[&str]); 5] = [
        ("missing origin header", &[]),
        ("wrong origin header", &["guess"]),
        (
            "origin header wrong in its last character",
            &[wrong_same_length],
        ),
        (
            "origin header with the secret and a guess",
            &[SECRET, "guess"],
        ),
        ("empty origin header", &[""]),
    ];
    for (name, origin) in cases {
        let reply = chat(&service, origin).await;
        assert_forbidden(&reply, name);
        record_bad_input(EVIDENCE, name, reply.status);
    }
    assert!(
        fake.calls().is_empty(),
        "a refused request reached the model"
    );
    assert_eq!(service.metric(names::ORIGIN_REFUSED), cases.len() as f64);
    let line = logs.expect(REFUSED_LOG);
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["span"]["route"], "/api/chat");
    assert_eq!(logs.expect("request answered")["status"], 403);
    for line in logs.lines() {
        let text = line.to_string();
        assert!(
            !text.contains(SECRET) && !text.contains(wrong_same_length),
            "{text}"
        );
    }

    let reply = chat(&service, &[SECRET]).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.json()["reply"], "Fake model reply to: hello");
    assert_eq!(fake.calls().len(), 1);
    assert_eq!(service.metric(names::ORIGIN_REFUSED), cases.len() as f64);
}

#[tokio::test]
async fn every_api_path_needs_the_origin_header_health_included() {
    let _logs = Logs::capture();
    let (service, _fake) = service(|_| {}).await;
    let session = "0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10";
    let paths = [
        (Method::GET, "/api/health".to_owned(), StatusCode::OK),
        (Method::GET, "/api/models".to_owned(), StatusCode::OK),
        (Method::GET, "/api/openapi.json".to_owned(), StatusCode::OK),
        (
            Method::GET,
            format!("/api/sessions/{session}/messages"),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            format!("/api/sessions/{session}"),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/nothing-here".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            "/api/chat".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, with_secret) in paths {
        let refused = service
            .request(method.clone(), &path, &[], Bytes::new())
            .await;
        assert_forbidden(&refused, &format!("{method} {path}"));
        record_bad_input(EVIDENCE, "API path without origin header", refused.status);
        let answered = service
            .request(
                method.clone(),
                &path,
                &[(ORIGIN_VERIFY_HEADER, SECRET)],
                Bytes::new(),
            )
            .await;
        assert_eq!(answered.status, with_secret, "{method} {path}");
    }
}

#[tokio::test]
async fn refusals_come_before_the_rate_limit_and_spend_none_of_it() {
    let _logs = Logs::capture();
    let (service, _fake) = service(|config| config.rate_limit = 1).await;
    for _ in 0..5 {
        assert_forbidden(&chat(&service, &["guess"]).await, "wrong origin header");
    }
    // The address's one request of the window is still there for the real page.
    assert_eq!(chat(&service, &[SECRET]).await.status, StatusCode::OK);
    let limited = chat(&service, &[SECRET]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.error_code(), "rate_limited");
    assert_eq!(service.metric(names::RATE_LIMITED), 1.0);
}

#[tokio::test]
async fn during_a_rotation_the_previous_secret_is_accepted_too_and_nothing_else() {
    let logs = Logs::capture();
    const PREVIOUS: &str = "Hb5Tn2Wq8Lx4Rc7Vm1Pz9Kd3Fs6Gj0YqWe";
    let (rotating, fake) = service(|config| {
        config.previous_origin_secret = Some(OriginSecret::new(PREVIOUS).unwrap());
    })
    .await;
    // Edges already sending the new value, and edges still sending the old one.
    assert_eq!(chat(&rotating, &[SECRET]).await.status, StatusCode::OK);
    assert_eq!(chat(&rotating, &[PREVIOUS]).await.status, StatusCode::OK);
    for (name, origin) in [
        ("missing origin header", &[][..]),
        ("a guess", &["guess"][..]),
        ("both values at once", &[SECRET, PREVIOUS][..]),
        (
            "the previous value cut short",
            &[&PREVIOUS[..PREVIOUS.len() - 1]][..],
        ),
    ] {
        let reply = chat(&rotating, origin).await;
        assert_forbidden(&reply, name);
        record_bad_input(EVIDENCE, name, reply.status);
    }
    assert_eq!(fake.calls().len(), 2);
    assert_eq!(rotating.metric(names::ORIGIN_REFUSED), 4.0);
    for line in logs.lines() {
        assert!(!line.to_string().contains(PREVIOUS), "{line}");
    }

    // After the rotation, the old value is refused.
    let (after, _fake) = service(|_| {}).await;
    assert_forbidden(
        &chat(&after, &[PREVIOUS]).await,
        "the previous value after the rotation",
    );
}

#[tokio::test]
async fn without_a_configured_secret_local_runs_need_no_header() {
    let _logs = Logs::capture();
    let (service, _fake) = service(|config| config.origin_secret = None).await;
    assert_eq!(chat(&service, &[]).await.status, StatusCode::OK);
    assert_eq!(chat(&service, &["anything"]).await.status, StatusCode::OK);
    assert_eq!(service.metric(names::ORIGIN_REFUSED), 0.0);
}

#[tokio::test]
async fn the_local_page_is_served_without_the_header_but_its_api_is_not() {
    let _logs = Logs::capture();
    let fake = FakeBedrock::start().await.unwrap();
    let mut config = support::config();
    config.origin_secret = Some(OriginSecret::new(SECRET).unwrap());
    let state = AppState {
        metrics: chatbot::metrics::Metrics::in_memory(&config.environment),
        config,
        tuning: support::tuning(),
        store: support::memory_store(),
        model: support::fake_model(&fake),
    };
    // A site folder of its own, so nothing else touching `frontend/` can change the answer.
    let site = std::env::temp_dir().join(format!("chatbot-origin-site-{}", std::process::id()));
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>chat</title>",
    )
    .unwrap();
    let router = chatbot::router_with_site(Arc::new(state), Some(site.clone()));
    let get = |path: &str| {
        http::Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let page = router.clone().oneshot(get("/")).await.unwrap();
    let health = router.oneshot(get("/api/health")).await.unwrap();
    let _ = std::fs::remove_dir_all(&site);
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(health.status(), StatusCode::FORBIDDEN);
}

// ---- in Lambda ---------------------------------------------------------------------------

/// An API Gateway REST event for `POST /api/chat` whose `CloudFront-Viewer-Address` is
/// `viewer`, with `x-origin-verify: origin` when given: through CloudFront it carries the
/// secret; a caller of the `execute-api` address writes both headers itself.
fn lambda_event(viewer: &str, origin: Option<&str>) -> String {
    let mut headers = json!({
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "Content-Type": "application/json",
        "CloudFront-Viewer-Address": format!("{viewer}:53421"),
        "Via": "2.0 abcdef.cloudfront.net (CloudFront)",
    });
    if let Some(origin) = origin {
        headers[ORIGIN_VERIFY_HEADER] = json!(origin);
    }
    support::rest_event(
        "live",
        "203.0.113.50",
        &headers,
        &json!({"message": "who am I"}),
    )
}

#[tokio::test]
async fn a_direct_caller_forging_the_viewer_address_is_refused_in_lambda() {
    let _logs = Logs::capture();
    const LIMIT: u32 = 2;
    let (service, fake) = service(|config| config.rate_limit = LIMIT).await;
    let router = chatbot::router(service.state.clone());

    // Fourteen forged viewer addresses, each a fresh rate bucket if it were believed.
    for i in 0..14u8 {
        let viewer = format!("198.51.100.{i}");
        for origin in [None, Some("guess")] {
            let (status, body) =
                support::through_lambda_json(&router, &lambda_event(&viewer, origin)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{viewer} {origin:?}: {body}");
            assert_eq!(body["error"]["code"], "forbidden");
            record_bad_input(
                EVIDENCE,
                "forged CloudFront-Viewer-Address without the origin secret",
                status,
            );
        }
    }
    assert!(fake.calls().is_empty());
    assert_eq!(service.metric(names::ORIGIN_REFUSED), 28.0);

    // Through CloudFront (the secret added), the viewer address counts, up to the limit.
    let mut statuses = Vec::new();
    for _ in 0..=LIMIT {
        let (status, _) =
            support::through_lambda_json(&router, &lambda_event("198.51.100.7", Some(SECRET)))
                .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(fake.calls().len(), LIMIT as usize);
}
