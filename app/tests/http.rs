//! The chat service through HTTP, against the fake Bedrock over the real wire protocol and the
//! real SDK client.

mod common;

use std::time::Duration;

use bytes::Bytes;
use chatbot::contract::{ROUTES, metrics as names};
use common::{MODEL, OTHER_MODEL, SYSTEM_PROMPT, Service, streamed_text};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::bedrock::{Operation, Options};

fn session_of(reply: &common::Reply) -> String {
    reply.json()["session_id"].as_str().unwrap().to_owned()
}

// ---- happy paths -------------------------------------------------------------------------

#[tokio::test]
async fn json_chat_answers_and_saves_both_messages() {
    let service = Service::start().await;
    let reply = service.chat(json!({"message": "hello there"})).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["reply"], "Fake model reply to: hello there");
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["usage"]["output_tokens"], 6);
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let calls = service.fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].operation, Operation::Converse);
    assert_eq!(calls[0].model_id, MODEL);
    assert_eq!(calls[0].body["system"][0]["text"], SYSTEM_PROMPT);
    assert_eq!(calls[0].body["inferenceConfig"]["maxTokens"], 1000);
    assert_eq!(calls[0].body["messages"].as_array().unwrap().len(), 1);

    let session = session_of(&reply);
    assert_eq!(
        service.history(&session).await,
        [
            ("user".to_owned(), "hello there".to_owned(), false),
            (
                "assistant".to_owned(),
                "Fake model reply to: hello there".to_owned(),
                false
            ),
        ]
    );
    assert_eq!(service.metric(names::OUTPUT_TOKENS), 6.0);
    assert!(service.metric(names::INPUT_TOKENS) > 0.0);
    assert!(service.metric(names::BUDGET_USED_PERCENT) > 0.0);
}

#[tokio::test]
async fn streamed_chat_sends_meta_deltas_and_done() {
    let service = Service::start().await;
    let reply = service.chat_stream(json!({"message": "stream me"})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = reply.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"meta"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert!(
        names.iter().filter(|n| **n == "delta").count() > 1,
        "{names:?}"
    );
    assert_eq!(events[0].1["model"], MODEL);
    assert_eq!(streamed_text(&events), "Fake model reply to: stream me");
    let done = &events.last().unwrap().1;
    assert_eq!(done["stop_reason"], "end_turn");
    assert_eq!(done["usage"]["output_tokens"], 6, "one token a word");
    assert!(done["latency_ms"].is_u64());
    assert_eq!(service.fake.calls()[0].operation, Operation::ConverseStream);

    let session = events[0].1["session_id"].as_str().unwrap();
    let history = service.history(session).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].1, "Fake model reply to: stream me");
}

#[tokio::test]
async fn a_second_turn_sends_the_first_one_as_history() {
    let service = Service::start().await;
    let first = service.chat(json!({"message": "my name is Ada"})).await;
    let session = session_of(&first);
    let second = service
        .chat_stream(json!({"message": "what is my name", "session_id": session}))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.events()[0].1["session_id"], session.as_str());

    let calls = service.fake.calls();
    assert_eq!(calls.len(), 2);
    let messages = calls[1].body["messages"].as_array().unwrap();
    let sent: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap(),
                m["content"][0]["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("user", "my name is Ada"),
            ("assistant", "Fake model reply to: my name is Ada"),
            ("user", "what is my name"),
        ]
    );
    assert_eq!(service.history(&session).await.len(), 4);
}

#[tokio::test]
async fn the_model_comes_from_the_request_only_when_allowlisted() {
    let service = Service::start().await;
    let reply = service
        .chat(json!({"message": "hi", "model": OTHER_MODEL}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["model"], OTHER_MODEL);
    assert_eq!(service.fake.calls()[0].model_id, OTHER_MODEL);

    let refused = service
        .chat(json!({"message": "hi", "model": "anthropic.claude-3-opus-20240229-v1:0"}))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "invalid_request");
    assert_eq!(
        service.fake.calls().len(),
        1,
        "an unknown model reached Bedrock"
    );

    let models = service.get("/api/models").await.json();
    assert_eq!(models["default"], MODEL);
    assert_eq!(models["models"][1]["id"], OTHER_MODEL);
    assert_eq!(models["demo"], false);
}

// ---- faults ------------------------------------------------------------------------------

#[tokio::test]
async fn throttling_is_retried_before_the_first_byte() {
    let service = Service::start().await;
    let reply = service
        .chat(json!({"message": "busy [[throttle:2]]"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(service.fake.calls().len(), 3);
    assert_eq!(service.metric(names::MODEL_THROTTLES), 2.0);

    let streamed = service
        .chat_stream(json!({"message": "busy stream [[throttle:2]]"}))
        .await;
    assert_eq!(streamed.status, StatusCode::OK);
    assert_eq!(streamed.events().last().unwrap().0, "done");
    assert_eq!(service.fake.calls().len(), 6);
}

#[tokio::test]
async fn persistent_throttling_is_a_429_and_the_message_is_kept() {
    let service = Service::start().await;
    let session = uuid::Uuid::new_v4().to_string();
    let reply = service
        .chat(json!({"message": "busy [[throttle]]", "session_id": session}))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error_code(), "model_throttled");
    assert!(reply.headers.contains_key("retry-after"));
    assert_eq!(service.fake.calls().len(), 3, "three attempts in all");
    assert_eq!(service.metric(names::MODEL_ERRORS), 1.0);
    // The question was saved before the model was called.
    assert_eq!(
        service.history(&session).await,
        [("user".to_owned(), "busy [[throttle]]".to_owned(), false)]
    );

    let streamed = service
        .chat_stream(json!({"message": "busy [[throttle]]"}))
        .await;
    assert_eq!(streamed.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(streamed.error_code(), "model_throttled");

    // The next turn works and does not resend the unanswered question.
    let next = service
        .chat(json!({"message": "calm now", "session_id": session}))
        .await;
    assert_eq!(next.status, StatusCode::OK);
    let last = service.fake.calls().pop().unwrap();
    assert_eq!(last.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(service.history(&session).await.len(), 3);
}

#[tokio::test]
async fn model_errors_map_to_502_503_504() {
    let service = Service::start().await;
    let cases = [
        (
            "[[error:503]]",
            StatusCode::SERVICE_UNAVAILABLE,
            "model_unavailable",
            3,
        ),
        ("[[error:500]]", StatusCode::BAD_GATEWAY, "model_error", 3),
        (
            "[[error:408]]",
            StatusCode::GATEWAY_TIMEOUT,
            "model_timeout",
            1,
        ),
        (
            "[[error:403]]",
            StatusCode::BAD_GATEWAY,
            "model_not_allowed",
            1,
        ),
        ("[[error:424]]", StatusCode::BAD_GATEWAY, "model_error", 1),
    ];
    for (directive, status, code, calls) in cases {
        for stream in [false, true] {
            let before = service.fake.calls().len();
            let body = json!({"message": format!("fail {directive}")});
            let reply = if stream {
                service.chat_stream(body).await
            } else {
                service.chat(body).await
            };
            assert_eq!(reply.status, status, "{directive} stream={stream}");
            assert_eq!(reply.error_code(), code, "{directive} stream={stream}");
            assert_eq!(
                service.fake.calls().len() - before,
                calls,
                "{directive} stream={stream}: attempts"
            );
        }
    }
}

#[tokio::test]
async fn a_stream_broken_midway_ends_with_an_error_event_and_keeps_the_partial_answer() {
    let service = Service::start().await;
    let reply = service
        .chat_stream(json!({"message": "one two three four five six [[break:3]]"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let events = reply.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["meta", "delta", "delta", "delta", "error"]);
    let error = &events[4].1;
    assert_eq!(error["code"], "model_error");
    assert!(!error["message"].as_str().unwrap().is_empty());
    assert_eq!(
        service.fake.calls().len(),
        1,
        "no retry after bytes were sent"
    );

    let partial = streamed_text(&events);
    assert_eq!(partial, "Fake model reply ");
    let session = events[0].1["session_id"].as_str().unwrap();
    let history = service.history(session).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], ("assistant".to_owned(), partial, true));
    assert_eq!(service.metric(names::MODEL_ERRORS), 1.0);
    assert!(
        service.metric(names::OUTPUT_TOKENS) > 0.0,
        "a partial answer still counts"
    );
}

#[tokio::test]
async fn a_model_stream_error_midway_becomes_an_error_event() {
    let service = Service::start().await;
    let reply = service
        .chat_stream(json!({"message": "tell me [[stream-error:2]]"}))
        .await;
    let events = reply.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["meta", "delta", "delta", "error"]);
    let session = events[0].1["session_id"].as_str().unwrap();
    let history = service.history(session).await;
    assert!(history[1].2, "the partial answer is marked incomplete");

    // Throttling inside the stream before any text is retried: nothing reached the client.
    let reply = service
        .chat_stream(json!({"message": "again [[stream-error:0:throttling]]"}))
        .await;
    let events = reply.events();
    assert_eq!(events.last().unwrap().0, "error");
    assert_eq!(
        events.last().unwrap().1["code"],
        "model_throttled",
        "{events:?}"
    );
    assert_eq!(streamed_text(&events), "");
    assert_eq!(service.fake.calls().len(), 1 + 3);
}

#[tokio::test]
async fn history_is_trimmed_when_the_model_says_it_is_too_long() {
    let service = Service::start().await;
    let first = service.chat(json!({"message": "first"})).await;
    let session = session_of(&first);
    let second = service
        .chat(json!({"message": "second [[too-long]]", "session_id": session}))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.json());
    let calls = service.fake.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1].body["messages"].as_array().unwrap().len(), 3);
    assert_eq!(calls[2].body["messages"].as_array().unwrap().len(), 1);

    let refused = service
        .chat_stream(json!({"message": "never fits [[too-long:always]]"}))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "invalid_request");
}

#[tokio::test]
async fn slow_tokens_stream_with_heartbeats_in_between() {
    let service = Service::start_with(Options::default(), |_, tuning| {
        tuning.heartbeat = Duration::from_millis(20);
    })
    .await;
    let reply = service
        .chat_stream(json!({"message": "slowly [[first:400]] [[slow:150]] [[chunks:4]]"}))
        .await;
    let events = reply.events();
    assert_eq!(
        events[0].0, "meta",
        "the stream starts before the first token"
    );
    let first_delta = events.iter().position(|(n, _)| n == "delta").unwrap();
    assert!(
        events[1..first_delta].iter().any(|(n, _)| n == ":"),
        "no heartbeat while the model was silent: {events:?}"
    );
    assert_eq!(streamed_text(&events), "t1 t2 t3 t4");
    assert_eq!(events.last().unwrap().0, "done");
}

#[test]
fn the_bedrock_client_has_no_stalled_stream_cutoff_and_no_sdk_retries() {
    let client = common::bedrock_client("http://127.0.0.1:9");
    let config = client.config();
    assert!(!config.stalled_stream_protection().unwrap().is_enabled());
    assert_eq!(config.retry_config().unwrap().max_attempts(), 1);
    assert!(config.timeout_config().unwrap().connect_timeout().is_some());
}

// ---- limits ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_simultaneous_requests_from_one_address_admit_exactly_ten() {
    let service = std::sync::Arc::new(
        Service::start_with(Options::default(), |config, _| config.rate_limit = 10).await,
    );
    let mut tasks = tokio::task::JoinSet::new();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(200));
    for i in 0..200 {
        let service = service.clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            service
                .chat(json!({"message": format!("request {i}")}))
                .await
        });
    }
    let mut admitted = 0;
    let mut limited = 0;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(reply.error_code(), "rate_limited");
                let retry_after: u64 = reply.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=3600).contains(&retry_after));
                limited += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((admitted, limited), (10, 190));
    assert_eq!(service.fake.calls().len(), 10);
    assert_eq!(service.metric(names::RATE_LIMITED), 190.0);
}

#[tokio::test]
async fn a_spent_daily_budget_refuses_with_503() {
    let service = Service::start_with(Options::default(), |config, _| {
        config.daily_token_budget = 20;
    })
    .await;
    let first = service
        .chat(json!({"message": "spend it [[tokens:30]]"}))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let second = service.chat_stream(json!({"message": "more"})).await;
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.error_code(), "budget_exhausted");
    assert_eq!(service.fake.calls().len(), 1);
    assert_eq!(service.metric(names::BUDGET_EXHAUSTED), 1.0);
    assert!(service.metric(names::BUDGET_USED_PERCENT) >= 100.0);
}

// ---- sessions and other routes -----------------------------------------------------------

#[tokio::test]
async fn sessions_can_be_read_and_deleted() {
    let service = Service::start().await;
    let session = session_of(&service.chat(json!({"message": "keep me"})).await);
    assert_eq!(service.history(&session).await.len(), 2);
    let messages = service
        .get(&format!("/api/sessions/{session}/messages"))
        .await
        .json();
    assert!(
        messages["messages"][0]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let path = format!("/api/sessions/{session}");
    let deleted = service
        .request(Method::DELETE, &path, &[], Bytes::new())
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    let gone = service.get(&format!("{path}/messages")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.error_code(), "not_found");
    let again = service
        .request(Method::DELETE, &path, &[], Bytes::new())
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_contract_route_is_served() {
    let service = Service::start().await;
    let chat = service.chat(json!({"message": "hi"})).await;
    let session = session_of(&chat);
    let answer = chat.json()["message_id"].as_str().unwrap().to_owned();
    for route in ROUTES {
        // The chat list and renaming are users mode's (tests/signin.rs); a public chatbot
        // answers them 404.
        if matches!(
            (route.method, route.path),
            ("GET", "/api/sessions") | ("PATCH", _)
        ) {
            assert_eq!(
                service
                    .request(
                        Method::from_bytes(route.method.as_bytes()).unwrap(),
                        &route.path.replace("{id}", &session),
                        &[],
                        ""
                    )
                    .await
                    .status,
                StatusCode::NOT_FOUND,
                "{} {}",
                route.method,
                route.path
            );
            continue;
        }
        let path = route
            .path
            .replace("{id}", &session)
            .replace("{message_id}", &answer);
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let json: &[(&str, &str)] = &[("content-type", "application/json")];
        let (headers, body): (&[(&str, &str)], &str) = match (route.method, route.path) {
            ("POST", "/api/chat") => (json, r#"{"message":"hi"}"#),
            ("POST", _) => (json, r#"{"chars":0}"#),
            ("PUT", _) => (json, r#"{"rating":"up"}"#),
            _ => (&[], ""),
        };
        let reply = service
            .request(method, &path, headers, body.to_owned())
            .await;
        assert!(
            reply.status.is_success(),
            "{} {path}: {}",
            route.method,
            reply.status
        );
    }
    let health = service.get("/api/health").await.json();
    assert_eq!(health["status"], "ok");
    let openapi = service.get("/api/openapi.json").await.json();
    assert!(openapi["paths"]["/api/sessions/{id}"]["delete"].is_object());
}

// ---- bad input ---------------------------------------------------------------------------

struct Case {
    name: &'static str,
    method: Method,
    path: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    status: u16,
}

fn case(
    name: &'static str,
    method: Method,
    path: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    status: u16,
) -> Case {
    Case {
        name,
        method,
        path,
        headers,
        body,
        status,
    }
}

#[tokio::test]
async fn malformed_requests_get_4xx_and_never_5xx() {
    let service = Service::start().await;
    let json_ct: &[(&'static str, &'static str)] = &[("content-type", "application/json")];
    let big_message = "x".repeat(8_001);
    let huge_body = format!(r#"{{"message":"{}"}}"#, "y".repeat(40_000));
    let cases = vec![
        case(
            "no content type",
            Method::POST,
            "/api/chat",
            vec![],
            br#"{"message":"hi"}"#.to_vec(),
            415,
        ),
        case(
            "text/plain",
            Method::POST,
            "/api/chat",
            vec![("content-type", "text/plain")],
            br#"{"message":"hi"}"#.to_vec(),
            415,
        ),
        case(
            "form",
            Method::POST,
            "/api/chat",
            vec![("content-type", "application/x-www-form-urlencoded")],
            b"message=hi".to_vec(),
            415,
        ),
        case(
            "latin1 charset",
            Method::POST,
            "/api/chat",
            vec![("content-type", "application/json; charset=iso-8859-1")],
            br#"{"message":"hi"}"#.to_vec(),
            415,
        ),
        case(
            "empty body",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            b"".to_vec(),
            400,
        ),
        case(
            "not JSON",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            b"hello".to_vec(),
            400,
        ),
        case(
            "truncated JSON",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi""#.to_vec(),
            400,
        ),
        case(
            "invalid UTF-8",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            b"{\"message\":\"\xff\xfe\"}".to_vec(),
            400,
        ),
        case(
            "lone surrogate escape",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"\ud800"}"#.to_vec(),
            400,
        ),
        case(
            "JSON array",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"["hi"]"#.to_vec(),
            400,
        ),
        case(
            "JSON string",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#""hi""#.to_vec(),
            400,
        ),
        case(
            "JSON null",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            b"null".to_vec(),
            400,
        ),
        case(
            "missing message",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"session_id":null}"#.to_vec(),
            400,
        ),
        case(
            "message is a number",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":42}"#.to_vec(),
            400,
        ),
        case(
            "message is null",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":null}"#.to_vec(),
            400,
        ),
        case(
            "message is an object",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":{"text":"hi"}}"#.to_vec(),
            400,
        ),
        case(
            "empty message",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":""}"#.to_vec(),
            400,
        ),
        case(
            "blank message",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"  \n\t "}"#.to_vec(),
            400,
        ),
        case(
            "NUL in message",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"a\u0000b"}"#.to_vec(),
            400,
        ),
        case(
            "message too long",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            format!(r#"{{"message":"{big_message}"}}"#).into_bytes(),
            400,
        ),
        case(
            "body too large",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            huge_body.into_bytes(),
            413,
        ),
        case(
            "unknown field",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","temperature":2}"#.to_vec(),
            400,
        ),
        case(
            "session id not a uuid",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","session_id":"abc"}"#.to_vec(),
            400,
        ),
        case(
            "session id braced uuid",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","session_id":"{0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10}"}"#.to_vec(),
            400,
        ),
        case(
            "session id simple uuid",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","session_id":"0b5e6f1c8d1a4c499c113f0d2d6e7a10"}"#.to_vec(),
            400,
        ),
        case(
            "session id number",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","session_id":7}"#.to_vec(),
            400,
        ),
        case(
            "unknown model",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","model":"gpt-4"}"#.to_vec(),
            400,
        ),
        case(
            "empty model",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","model":""}"#.to_vec(),
            400,
        ),
        case(
            "model is a list",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi","model":["a"]}"#.to_vec(),
            400,
        ),
        case(
            "deeply nested",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            400,
        ),
        case(
            "trailing garbage",
            Method::POST,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi"} x"#.to_vec(),
            400,
        ),
        case("GET chat", Method::GET, "/api/chat", vec![], vec![], 405),
        case(
            "PUT chat",
            Method::PUT,
            "/api/chat",
            json_ct.to_vec(),
            br#"{"message":"hi"}"#.to_vec(),
            405,
        ),
        case(
            "POST models",
            Method::POST,
            "/api/models",
            vec![],
            vec![],
            405,
        ),
        case(
            "unknown route",
            Method::GET,
            "/api/nothing",
            vec![],
            vec![],
            404,
        ),
        case(
            "path traversal",
            Method::GET,
            "/api/../../etc/passwd",
            vec![],
            vec![],
            404,
        ),
        case(
            "messages of a malformed id",
            Method::GET,
            "/api/sessions/not-a-uuid/messages",
            vec![],
            vec![],
            400,
        ),
        case(
            "messages of a percent-mangled id",
            Method::GET,
            "/api/sessions/%FF%FE/messages",
            vec![],
            vec![],
            400,
        ),
        case(
            "messages of an unknown id",
            Method::GET,
            "/api/sessions/0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10/messages",
            vec![],
            vec![],
            404,
        ),
        case(
            "delete a malformed id",
            Method::DELETE,
            "/api/sessions/1234",
            vec![],
            vec![],
            400,
        ),
        case(
            "delete an unknown id",
            Method::DELETE,
            "/api/sessions/0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10",
            vec![],
            vec![],
            404,
        ),
    ];
    assert!(cases.len() >= 30);
    for Case {
        name,
        method,
        path,
        headers,
        body,
        status: expected,
    } in cases
    {
        let reply = service.request(method, path, &headers, body).await;
        assert_eq!(
            reply.status.as_u16(),
            expected,
            "{name}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let error = reply.json();
        assert!(error["error"]["code"].is_string(), "{name}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.ends_with('.'),
            "{name}: {message}"
        );
    }
    assert!(
        service.fake.calls().is_empty(),
        "bad input reached the model"
    );

    let health = service.get("/api/health").await;
    assert_eq!(health.status, StatusCode::OK);
    let chat = service.chat(json!({"message": "still here?"})).await;
    assert_eq!(chat.status, StatusCode::OK);
    assert_eq!(
        chat.json()["reply"],
        Value::from("Fake model reply to: still here?")
    );
}
