//! Faults injected under the chat service, and what a user sees of each: the status and error
//! code, the log line and metric the service writes, and that the user's message is in
//! history afterwards. The model is the fake Bedrock (faults chosen by directives in the
//! message) reached by the real SDK client; the store faults come from `FaultyDynamo` in front
//! of moto_server, with the DynamoDB store and the SDK's usual three attempts. Every outcome goes to the reliability evidence (`testkit::evidence`).

use crate::support;
use std::time::Duration;

use crate::support::{Harness, Logs, record_fault};
use chatbot::contract::metrics as names;
use chatbot::model::{Bedrock, Model};
use chatbot::store::{BudgetLayout, DynamoStore, Store};
use chatbot::warm;
use chatbot::{Config, Tuning};
use http::StatusCode;
use serde_json::json;
use testkit::bedrock::FakeBedrock;
use testkit::faulty_dynamo::{Fault, FaultyDynamo, Operation};
use testkit::moto::MotoServer;

const EVIDENCE: &str = "faults";

/// Model calls give up after this long without an answer (JSON) or a token (stream).
const MODEL_PATIENCE: Duration = Duration::from_millis(300);

fn tuning() -> Tuning {
    Tuning {
        model_timeout: MODEL_PATIENCE,
        model_idle_timeout: MODEL_PATIENCE,
        ..support::tuning()
    }
}

async fn with_fake_bedrock(config: Config, store: Store) -> (Harness, FakeBedrock) {
    let fake = FakeBedrock::start().await.expect("the fake Bedrock starts");
    let model = support::fake_model(&fake);
    (Harness::start(config, tuning(), store, model).await, fake)
}

/// A model fault and what the user must get for it.
struct ModelFault {
    name: &'static str,
    /// Text of the message, directives included.
    message: &'static str,
    stream: bool,
    /// HTTP status; for a stream that failed after it started, 200 and an `error` event.
    status: u16,
    /// The error `code` (of the body, or of the stream's last event); empty for a success.
    code: &'static str,
    /// The log line the service writes, and the value of its `kind` field.
    log: &'static str,
    kind: &'static str,
    /// Calls the fake receives (retries included).
    calls: usize,
    /// `ModelThrottles` and `ModelErrors` written.
    throttles: f64,
    errors: f64,
    /// Part of the answer was streamed, and is kept marked incomplete.
    partial_answer: bool,
}

const MODEL_FAULTS: &[ModelFault] = &[
    ModelFault {
        name: "bedrock_throttling_persistent",
        message: "busy [[throttle]]",
        stream: false,
        status: 429,
        code: "model_throttled",
        log: "model call failed",
        kind: "Throttled",
        calls: 3,
        throttles: 3.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_throttling_persistent_stream",
        message: "busy [[throttle]]",
        stream: true,
        status: 429,
        code: "model_throttled",
        log: "model call failed",
        kind: "Throttled",
        calls: 3,
        throttles: 3.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_throttling_absorbed_by_retries",
        message: "busy twice [[throttle:2]]",
        stream: false,
        status: 200,
        code: "",
        log: "model call failed, retrying",
        kind: "Throttled",
        calls: 3,
        throttles: 2.0,
        errors: 0.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_throttling_inside_the_stream_before_text",
        message: "busy stream [[stream-error:0:throttling]]",
        stream: true,
        status: 200,
        code: "model_throttled",
        log: "model stream failed",
        kind: "Throttled",
        calls: 3,
        throttles: 3.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_unavailable_503",
        message: "down [[error:503]]",
        stream: false,
        status: 503,
        code: "model_unavailable",
        log: "model call failed",
        kind: "Unavailable",
        calls: 3,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_internal_error_500",
        message: "broken [[error:500]]",
        stream: true,
        status: 502,
        code: "model_error",
        log: "model call failed",
        kind: "ServerError",
        calls: 3,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_model_timeout_408",
        message: "slow model [[error:408]]",
        stream: false,
        status: 504,
        code: "model_timeout",
        log: "model call failed",
        kind: "Timeout",
        calls: 1,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_silent_past_the_timeout",
        message: "silence [[first:3000]]",
        stream: false,
        status: 504,
        code: "model_timeout",
        log: "model call failed",
        kind: "Timeout",
        calls: 1,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_stream_silent_past_the_idle_timeout",
        message: "silence [[first:3000]]",
        stream: true,
        status: 200,
        code: "model_timeout",
        log: "model stream failed",
        kind: "Timeout",
        calls: 1,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: false,
    },
    ModelFault {
        name: "bedrock_stream_silent_midway",
        message: "one two three [[first:0]] [[chunks:4]] [[slow:3000]]",
        stream: true,
        status: 200,
        code: "model_timeout",
        log: "model stream failed",
        kind: "Timeout",
        calls: 1,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: true,
    },
    ModelFault {
        name: "bedrock_stream_cut_midway",
        message: "one two three four five six [[break:3]]",
        stream: true,
        status: 200,
        code: "model_error",
        log: "model stream failed",
        kind: "Connection",
        calls: 1,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: true,
    },
    ModelFault {
        name: "bedrock_stream_exception_midway",
        message: "tell me more [[stream-error:2]]",
        stream: true,
        status: 200,
        code: "model_error",
        log: "model stream failed",
        kind: "Failed",
        calls: 1,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: true,
    },
    ModelFault {
        name: "bedrock_connection_closed_without_answer",
        message: "hang up [[break:0]]",
        stream: false,
        status: 502,
        code: "model_error",
        log: "model call failed",
        kind: "Connection",
        calls: 3,
        throttles: 0.0,
        errors: 1.0,
        partial_answer: false,
    },
];

#[tokio::test]
async fn model_faults_answer_clearly_log_count_and_keep_the_message() {
    let logs = Logs::capture();
    let mut lost = Vec::new();
    for fault in MODEL_FAULTS {
        let (service, fake) = with_fake_bedrock(support::config(), support::memory_store()).await;
        logs.clear();
        let session = uuid::Uuid::new_v4().to_string();
        let reply = service
            .chat(
                json!({"message": fault.message, "session_id": session}),
                fault.stream,
            )
            .await;
        let name = fault.name;
        let body = String::from_utf8_lossy(&reply.body).into_owned();
        assert_eq!(reply.status.as_u16(), fault.status, "{name}: {body}");
        let code = if reply.status == StatusCode::OK && fault.stream {
            let (event, code) = reply.last_event();
            let expected = if fault.code.is_empty() {
                "done"
            } else {
                "error"
            };
            assert_eq!(event, expected, "{name}: {body}");
            code
        } else {
            reply.error_code()
        };
        assert_eq!(code, fault.code, "{name}: {body}");
        if matches!(fault.status, 429 | 503) {
            assert_eq!(
                reply.headers["retry-after"], "5",
                "{name}: a refusal for load says when to come back"
            );
        }

        let line = logs.expect(fault.log);
        assert_eq!(line["kind"], fault.kind, "{name}: {line}");
        assert!(
            line["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{name}: the log line says what failed: {line}"
        );
        assert!(
            line["span"]["request_id"].is_string(),
            "{name}: the log line carries the request id: {line}"
        );
        assert_eq!(fake.calls().len(), fault.calls, "{name}: model calls");
        assert_eq!(
            service.metric(names::MODEL_THROTTLES),
            fault.throttles,
            "{name}: {}",
            names::MODEL_THROTTLES
        );
        assert_eq!(
            service.metric(names::MODEL_ERRORS),
            fault.errors,
            "{name}: {}",
            names::MODEL_ERRORS
        );

        let history = service.history(&session).await;
        let saved = history
            .iter()
            .any(|(role, content, _)| role == "user" && content == fault.message);
        assert!(saved, "{name}: the user's message is not in {history:?}");
        let answers: Vec<_> = history
            .iter()
            .filter(|(r, _, _)| r == "assistant")
            .collect();
        if fault.partial_answer {
            assert_eq!(answers.len(), 1, "{name}: {history:?}");
            assert!(answers[0].2, "{name}: the cut answer is marked incomplete");
            assert!(!answers[0].1.is_empty());
        } else if fault.status == 200 && fault.code.is_empty() {
            assert_eq!(answers.len(), 1, "{name}: {history:?}");
            assert!(!answers[0].2);
        } else {
            assert!(answers.is_empty(), "{name}: {history:?}");
        }
        if record_fault(EVIDENCE, name, &reply, saved) {
            lost.push(name);
        }

        // The same service answers the next message normally.
        let next = service
            .chat(
                json!({"message": "are you back", "session_id": session}),
                false,
            )
            .await;
        assert_eq!(next.status, StatusCode::OK, "{name}: after the fault");
    }
    assert!(lost.is_empty(), "lost user messages: {lost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_storm_keeps_every_message_and_the_service_recovers() {
    let fake = FakeBedrock::start().await.expect("the fake Bedrock starts");
    let model = support::fake_model(&fake);
    // The usual model timeouts: forty requests at once on a small machine are slow ones.
    let service = Harness::start(
        support::config(),
        support::tuning(),
        support::memory_store(),
        model,
    )
    .await;
    let service = std::sync::Arc::new(service);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let service = service.clone();
        tasks.spawn(async move {
            let session = uuid::Uuid::new_v4().to_string();
            let message = format!("storm {i} [[throttle]]");
            let reply = service
                .chat(
                    json!({"message": message, "session_id": session}),
                    i % 2 == 0,
                )
                .await;
            (session, message, reply)
        });
    }
    let mut refused = 0;
    while let Some(joined) = tasks.join_next().await {
        let (session, message, reply) = joined.unwrap();
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.error_code(), "model_throttled");
        let saved = service.has_user_message(&session, &message).await;
        assert!(saved, "{message} is not in history");
        assert!(!record_fault(
            EVIDENCE,
            "bedrock_throttling_storm",
            &reply,
            saved
        ));
        refused += 1;
    }
    assert_eq!(refused, 40);
    assert_eq!(
        fake.calls().len(),
        40 * 3,
        "each request tried three times, no more"
    );
    assert_eq!(service.metric(names::MODEL_ERRORS), 40.0);
    assert_eq!(service.metric(names::MODEL_THROTTLES), 120.0);

    let calm = service.chat(json!({"message": "calm again"}), true).await;
    assert_eq!(calm.status, StatusCode::OK);
    assert_eq!(calm.last_event().0, "done");
}

#[tokio::test]
async fn bedrock_unreachable_is_a_502_and_the_message_is_kept() {
    let logs = Logs::capture();
    // A port that was just free and is closed now: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let model = Model::Bedrock(Bedrock::new(support::bedrock_client(&endpoint)));
    let service = Harness::start(support::config(), tuning(), support::memory_store(), model).await;
    for stream in [false, true] {
        logs.clear();
        let session = uuid::Uuid::new_v4().to_string();
        let reply = service
            .chat(
                json!({"message": "anyone there", "session_id": session}),
                stream,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "stream={stream}");
        assert_eq!(reply.error_code(), "model_error");
        let line = logs.expect("model call failed");
        assert_eq!(line["kind"], "Connection", "{line}");
        assert_eq!(line["attempts"], 3, "{line}");
        let saved = service.has_user_message(&session, "anyone there").await;
        assert!(saved);
        assert!(!record_fault(
            EVIDENCE,
            "bedrock_unreachable",
            &reply,
            saved
        ));
    }
    assert_eq!(service.metric(names::MODEL_ERRORS), 2.0);
}

/// The chat service over the DynamoDB store, with `FaultyDynamo` between it and moto_server.
/// The client retries as the deployed one does (three attempts).
struct OverFaultyDynamo {
    service: Harness,
    proxy: FaultyDynamo,
    fake: FakeBedrock,
    _moto: MotoServer,
}

async fn over_faulty_dynamo() -> OverFaultyDynamo {
    let moto = MotoServer::start().expect("moto_server starts");
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    let client = support::dynamo_client(&proxy.endpoint(), 3);
    support::create_table(&client, "chatbot").await;
    let store = Store::Dynamo(DynamoStore::new(client, "chatbot"));
    let (service, fake) = with_fake_bedrock(support::config(), store).await;
    OverFaultyDynamo {
        service,
        proxy,
        fake,
        _moto: moto,
    }
}

/// A store fault and what the user must get for it.
struct StoreFault {
    name: &'static str,
    operation: Operation,
    fault: Fault,
    /// How many of the next `operation` calls fail (the client makes up to three attempts).
    times: u32,
    status: u16,
    code: &'static str,
    /// The model was called: the fault came after the user's message was saved.
    model_called: bool,
}

const STORE_FAULTS: &[StoreFault] = &[
    StoreFault {
        name: "dynamodb_rate_window_throttled_once",
        operation: Operation::UpdateItem,
        fault: Fault::Throughput,
        times: 1,
        status: 200,
        code: "",
        model_called: true,
    },
    StoreFault {
        name: "dynamodb_rate_window_throttled",
        operation: Operation::UpdateItem,
        fault: Fault::Throughput,
        times: 3,
        status: 503,
        code: "store_unavailable",
        model_called: false,
    },
    StoreFault {
        name: "dynamodb_conditional_check_failed",
        operation: Operation::UpdateItem,
        fault: Fault::ConditionalCheckFailed,
        times: 1,
        status: 429,
        code: "rate_limited",
        model_called: false,
    },
    StoreFault {
        name: "dynamodb_budget_read_throttled",
        operation: Operation::BatchGetItem,
        fault: Fault::Throttling,
        times: 3,
        status: 503,
        code: "store_unavailable",
        model_called: false,
    },
    StoreFault {
        name: "dynamodb_history_read_failing",
        operation: Operation::Query,
        fault: Fault::InternalServerError,
        times: 3,
        status: 503,
        code: "store_unavailable",
        model_called: false,
    },
    StoreFault {
        name: "dynamodb_message_write_failing",
        operation: Operation::PutItem,
        fault: Fault::InternalServerError,
        times: 3,
        status: 503,
        code: "store_unavailable",
        model_called: false,
    },
    StoreFault {
        name: "dynamodb_connection_dropped",
        operation: Operation::Any,
        fault: Fault::Drop,
        // A turn's first three calls (rate window, budget, history) run at once: nine drops
        // fail every attempt of each of them.
        times: 9,
        status: 503,
        code: "store_unavailable",
        model_called: false,
    },
];

#[tokio::test]
async fn store_faults_answer_clearly_count_and_lose_nothing() {
    let logs = Logs::capture();
    let stack = over_faulty_dynamo().await;
    let service = &stack.service;
    let mut lost = Vec::new();
    for (i, fault) in STORE_FAULTS.iter().enumerate() {
        let name = fault.name;
        // A session with history, so the chat reads it (Query) before saving the new message.
        let session = uuid::Uuid::new_v4().to_string();
        let first = service
            .chat(json!({"message": "first", "session_id": session}), false)
            .await;
        assert_eq!(
            first.status,
            StatusCode::OK,
            "{name}: setting up: {:?}",
            first.body
        );
        logs.clear();
        let calls_before = stack.fake.calls().len();
        let errors_before = service.metric(names::STORE_ERRORS);
        let message = format!("message {i}");

        stack
            .proxy
            .fail_next(fault.operation, fault.fault, fault.times);
        let reply = service
            .chat(
                json!({"message": message, "session_id": session}),
                i % 2 == 0,
            )
            .await;
        stack.proxy.clear_faults();
        let body = String::from_utf8_lossy(&reply.body).into_owned();
        assert_eq!(reply.status.as_u16(), fault.status, "{name}: {body}");
        let code = if reply.status == StatusCode::OK {
            assert_eq!(reply.last_event().0, "done", "{name}: {body}");
            String::new()
        } else {
            reply.error_code()
        };
        assert_eq!(code, fault.code, "{name}: {body}");
        assert_eq!(
            stack.fake.calls().len() - calls_before,
            usize::from(fault.model_called),
            "{name}: model calls"
        );
        if fault.code == "store_unavailable" {
            assert_eq!(reply.headers["retry-after"], "2", "{name}");
            let line = logs.find("store operation failed").unwrap_or_else(|| {
                panic!(
                    "{name}: no log line \"store operation failed\": {:?}",
                    logs.lines()
                )
            });
            assert!(
                line["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{name}: the log line says what failed: {line}"
            );
            assert_eq!(
                service.metric(names::STORE_ERRORS) - errors_before,
                1.0,
                "{name}: {}",
                names::STORE_ERRORS
            );
        }

        let saved = service.has_user_message(&session, &message).await;
        assert_eq!(
            saved, fault.model_called,
            "{name}: a refused message is not half-saved, an accepted one is kept"
        );
        if record_fault(EVIDENCE, name, &reply, saved) {
            lost.push(name);
        }
        let next = service
            .chat(
                json!({"message": "still there", "session_id": session}),
                false,
            )
            .await;
        assert_eq!(next.status, StatusCode::OK, "{name}: after the fault");
    }
    assert!(lost.is_empty(), "lost user messages: {lost:?}");
}

#[tokio::test]
async fn the_spend_read_during_init_serves_the_first_turn_and_a_failed_one_costs_it_nothing() {
    let moto = MotoServer::start().expect("moto_server starts");
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    let client = support::dynamo_client(&proxy.endpoint(), 3);
    support::create_table(&client, "chatbot").await;
    // The service's budget: read back through its cache window.
    let layout = BudgetLayout::sharded(1).unwrap();
    let store = Store::Dynamo(DynamoStore::new(client, "chatbot").with_budget(layout));
    let (service, _fake) = with_fake_bedrock(support::config(), store).await;
    let reads = || {
        proxy
            .handled()
            .iter()
            .filter(|h| h.operation == Operation::BatchGetItem)
            .count()
    };
    assert_eq!(warm::read_spend(&service.state.store).await, Ok(()));
    assert_eq!(reads(), 1);
    let reply = service.chat(json!({"message": "hello"}), false).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reads(), 1, "the turn took the spend read during INIT");

    // A throttled store: the read fails (after the client's attempts), and the next turn,
    // once the cache window is over, reads the spend itself.
    tokio::time::sleep(layout.cache).await;
    proxy.fail_next(Operation::BatchGetItem, Fault::Throttling, 3);
    let refused = warm::read_spend(&service.state.store).await;
    proxy.clear_faults();
    assert!(refused.is_err(), "{refused:?}");
    let before = reads();
    let reply = service.chat(json!({"message": "hello again"}), false).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reads(), before + 1);
}

#[tokio::test]
async fn a_streamed_turn_whose_message_cannot_be_saved_is_refused_before_any_event() {
    let logs = Logs::capture();
    let stack = over_faulty_dynamo().await;
    let service = &stack.service;
    let session = uuid::Uuid::new_v4().to_string();
    let first = service
        .chat(json!({"message": "first", "session_id": session}), false)
        .await;
    assert_eq!(first.status, StatusCode::OK);
    logs.clear();
    let errors_before = service.metric(names::STORE_ERRORS);
    // The model's stream opens while the message is saved; the save fails all three tries.
    let message = "saved or refused [[first:100]]";
    stack
        .proxy
        .fail_next(Operation::PutItem, Fault::InternalServerError, 3);
    let reply = service
        .chat(json!({"message": message, "session_id": session}), true)
        .await;
    stack.proxy.clear_faults();
    let body = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(reply.error_code(), "store_unavailable");
    assert!(!reply.is_stream(), "no answer started: {body}");
    logs.expect("store operation failed");
    assert_eq!(service.metric(names::STORE_ERRORS) - errors_before, 1.0);
    let saved = service.has_user_message(&session, message).await;
    assert!(!saved, "a refused message is not half-saved");
    assert!(!record_fault(
        EVIDENCE,
        "dynamodb_message_write_failing_stream",
        &reply,
        saved
    ));
    let next = service
        .chat(
            json!({"message": "still there", "session_id": session}),
            true,
        )
        .await;
    assert_eq!(next.status, StatusCode::OK);
    assert_eq!(next.last_event().0, "done");
}

#[tokio::test]
async fn a_store_failing_after_the_answer_keeps_the_answer_flowing_and_the_message() {
    let logs = Logs::capture();
    let stack = over_faulty_dynamo().await;
    let service = &stack.service;
    // The first request of a client sets up its connections; that one is not under test.
    let warm_up = service.chat(json!({"message": "hello"}), false).await;
    assert_eq!(warm_up.status, StatusCode::OK);
    let session = uuid::Uuid::new_v4().to_string();
    // The model waits before its first token; by then the user's message is saved, and every
    // later write (the answer, the budget) fails.
    let message = "slow one [[first:150]]";
    let chat = service.chat(json!({"message": message, "session_id": session}), true);
    let break_store = async {
        // The user's message and its session's META item are written together.
        let arrived = |operation| {
            stack
                .proxy
                .handled()
                .iter()
                .filter(|h| h.operation == operation && h.fault.is_none())
                .count()
        };
        let (puts, updates) = (arrived(Operation::PutItem), arrived(Operation::UpdateItem));
        let written = async {
            while arrived(Operation::PutItem) == puts
                || arrived(Operation::UpdateItem) < updates + 2
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), written)
            .await
            .expect("the user's message reaches the store");
        stack
            .proxy
            .fail_next(Operation::PutItem, Fault::Throughput, 3);
        stack
            .proxy
            .fail_next(Operation::UpdateItem, Fault::Throughput, 6);
    };
    let (reply, ()) = tokio::join!(chat, break_store);
    stack.proxy.clear_faults();
    assert_eq!(reply.status, StatusCode::OK);
    let body = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(
        reply.last_event().0,
        "done",
        "the user gets the whole answer: {body}"
    );
    logs.expect("store operation failed");
    assert!(service.metric(names::STORE_ERRORS) >= 1.0);
    let history = service.history(&session).await;
    let saved = history
        .iter()
        .any(|(role, content, _)| role == "user" && content == message);
    assert!(saved, "{history:?}");
    assert!(!record_fault(
        EVIDENCE,
        "dynamodb_writes_failing_after_answer",
        &reply,
        saved
    ));
}

#[tokio::test]
async fn an_unreachable_store_is_a_503_everywhere_but_health() {
    let logs = Logs::capture();
    let stack = over_faulty_dynamo().await;
    let service = &stack.service;
    let session = uuid::Uuid::new_v4().to_string();
    stack.proxy.set_down(true);
    for stream in [false, true] {
        let reply = service
            .chat(json!({"message": "hello?", "session_id": session}), stream)
            .await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.error_code(), "store_unavailable");
        let line = logs.expect("store operation failed");
        assert!(
            line["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{line}"
        );
        logs.clear();
        assert!(!record_fault(
            EVIDENCE,
            "dynamodb_unreachable",
            &reply,
            false
        ));
    }
    let history = service
        .get(&format!("/api/sessions/{session}/messages"))
        .await;
    assert_eq!(history.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(history.error_code(), "store_unavailable");
    let deleted = service
        .request(
            http::Method::DELETE,
            &format!("/api/sessions/{session}"),
            &[],
            "",
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(service.get("/api/health").await.status, StatusCode::OK);
    assert_eq!(
        stack.fake.calls().len(),
        0,
        "no model call without the store"
    );

    stack.proxy.set_down(false);
    let back = service
        .chat(
            json!({"message": "hello again", "session_id": session}),
            false,
        )
        .await;
    assert_eq!(back.status, StatusCode::OK);
}
