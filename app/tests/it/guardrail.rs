//! An environment with a Bedrock guardrail, against the fake Bedrock's guardrail interventions:
//! every model call names the guardrail and guards only the new message; a blocked prompt or
//! answer reaches the client as the configured message with its own `guardrail` code, in JSON
//! and in a stream, is counted, and is saved as blocked (a blocked prompt without its text),
//! never as an answer or as history sent to the model; a masked answer is an answer.

use crate::support;
use crate::support::{Harness, Logs, Reply};
use chatbot::contract::metrics as names;
use chatbot::guardrail::{GuardrailConfig, StreamProcessing};
use http::StatusCode;
use serde_json::{Value, json};
use testkit::bedrock::{FakeBedrock, Guardrail};

const ID: &str = "abcd1234efgh";
const VERSION: &str = "2";
/// What the service shows; the fake's own messages differ, so a test can tell them apart.
const BLOCKED_INPUT: &str = "That is not something this assistant can help with.";
const BLOCKED_OUTPUT: &str = "This answer was withheld by the content filter.";
const FAKE_INPUT: &str = "fake guardrail: input blocked";
const FAKE_OUTPUT: &str = "fake guardrail: output blocked";

fn guardrail(stream_processing: StreamProcessing) -> GuardrailConfig {
    GuardrailConfig {
        id: ID.to_owned(),
        version: VERSION.to_owned(),
        stream_processing,
        blocked_input_message: BLOCKED_INPUT.to_owned(),
        blocked_output_message: BLOCKED_OUTPUT.to_owned(),
    }
}

async fn start(guardrail: Option<GuardrailConfig>) -> (Harness, FakeBedrock) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.add_guardrail(Guardrail {
        blocked_input_message: FAKE_INPUT.to_owned(),
        blocked_output_message: FAKE_OUTPUT.to_owned(),
        ..Guardrail::new(ID, VERSION)
    });
    let mut config = support::config();
    config.guardrail = guardrail;
    let model = support::fake_model(&fake);
    let harness = Harness::start(config, support::tuning(), support::memory_store(), model).await;
    (harness, fake)
}

/// A session's stored messages as `(role, content, blocked)`.
async fn stored(service: &Harness, session: &str) -> Vec<(String, String, Value)> {
    let reply = service
        .get(&format!("/api/sessions/{session}/messages"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
                m["blocked"].clone(),
            )
        })
        .collect()
}

fn row(role: &str, content: &str, blocked: Value) -> (String, String, Value) {
    (role.to_owned(), content.to_owned(), blocked)
}

/// The `done` event of a stream.
fn done(reply: &Reply) -> Value {
    let events = reply.events();
    let (name, data) = events.last().cloned().unwrap();
    assert_eq!(name, "done", "{events:?}");
    data
}

#[tokio::test]
async fn a_blocked_prompt_gets_the_blocked_message_is_counted_and_its_text_not_kept() {
    let logs = Logs::capture();
    let (service, fake) = start(Some(guardrail(StreamProcessing::Sync))).await;
    let card = "my card is 4111 1111 1111 1111";
    let reply = service
        .chat(
            json!({"message": format!("{card} [[guardrail:input:pii]]")}),
            false,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["reply"], BLOCKED_INPUT);
    assert_eq!(body["stop_reason"], "guardrail_intervened");
    assert_eq!(body["guardrail"], "blocked_input");
    assert_eq!(service.metric(names::GUARDRAIL_BLOCKED), 1.0);

    // The call named the guardrail, with its trace, and guarded the new message only.
    let call = &fake.calls()[0].body;
    assert_eq!(
        call["guardrailConfig"],
        json!({"guardrailIdentifier": ID, "guardrailVersion": VERSION, "trace": "enabled"})
    );
    assert!(
        call["messages"][0]["content"][0]["guardContent"]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with(card)
    );

    let session = body["session_id"].as_str().unwrap();
    assert_eq!(
        stored(&service, session).await,
        [
            row("user", "", json!("input")),
            row("assistant", BLOCKED_INPUT, json!("input")),
        ]
    );
    let line = logs.expect("guardrail blocked the turn");
    assert_eq!(line["source"], "input");
    assert_eq!(line["policies"], "pii:CREDIT_DEBIT_CARD_NUMBER");
    for line in logs.lines() {
        assert!(
            !line.to_string().contains("4111 1111"),
            "the prompt reached the logs: {line}"
        );
    }
}

#[tokio::test]
async fn a_blocked_answer_gets_the_blocked_message_and_is_never_saved_or_logged() {
    let logs = Logs::capture();
    let (service, _fake) = start(Some(guardrail(StreamProcessing::Sync))).await;
    let reply = service
        .chat(
            json!({"message": "tell me [[reply:the forbidden recipe]] [[guardrail:output:topic]]"}),
            false,
        )
        .await;
    let body = reply.json();
    assert_eq!(body["reply"], BLOCKED_OUTPUT);
    assert_eq!(body["guardrail"], "blocked_output");
    assert_eq!(service.metric(names::GUARDRAIL_BLOCKED), 1.0);
    let session = body["session_id"].as_str().unwrap();
    let history = stored(&service, session).await;
    assert_eq!(
        history[1],
        row("assistant", BLOCKED_OUTPUT, json!("output"))
    );
    assert_eq!(history[0].2, Value::Null, "the question itself passed");
    let line = logs.expect("guardrail blocked the turn");
    assert_eq!(line["source"], "output");
    assert_eq!(line["policies"], "topic:Fake denied topic");
    for line in logs.lines() {
        assert!(!line.to_string().contains("forbidden recipe"), "{line}");
    }
}

#[tokio::test]
async fn streams_end_with_the_guardrail_code_and_the_message_that_replaces_what_streamed() {
    let (service, fake) = start(Some(guardrail(StreamProcessing::Sync))).await;

    let reply = service
        .chat(json!({"message": "hi [[guardrail:input]]"}), true)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let end = done(&reply);
    assert_eq!(end["stop_reason"], "guardrail_intervened");
    assert_eq!(end["guardrail"], "blocked_input");
    assert_eq!(end["message"], BLOCKED_INPUT);
    assert_eq!(
        fake.calls()[0].body["guardrailConfig"]["streamProcessingMode"],
        "sync"
    );

    // Two chunks the guardrail cleared, then the block: the message replaces all of it.
    let reply = service
        .chat(
            json!({"message": "[[reply:one two three]] [[guardrail:output:content:2]]"}),
            true,
        )
        .await;
    let events = reply.events();
    let streamed: String = events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, data)| data["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, format!("one two {FAKE_OUTPUT}"));
    let end = done(&reply);
    assert_eq!(end["guardrail"], "blocked_output");
    assert_eq!(end["message"], BLOCKED_OUTPUT);
    let session = reply.session().unwrap();
    assert_eq!(
        stored(&service, &session).await[1],
        row("assistant", BLOCKED_OUTPUT, json!("output"))
    );
    assert_eq!(service.metric(names::GUARDRAIL_BLOCKED), 2.0);
}

#[tokio::test]
async fn async_stream_processing_is_passed_on() {
    let (service, fake) = start(Some(guardrail(StreamProcessing::Async))).await;
    let reply = service.chat(json!({"message": "hello"}), true).await;
    assert_eq!(done(&reply)["stop_reason"], "end_turn");
    assert_eq!(
        fake.calls()[0].body["guardrailConfig"]["streamProcessingMode"],
        "async"
    );
}

#[tokio::test]
async fn a_masked_answer_is_an_answer() {
    let (service, _fake) = start(Some(guardrail(StreamProcessing::Sync))).await;
    let message = "[[reply:write to ada@example.com]] [[guardrail:mask]]";
    let body = service
        .chat(json!({"message": message}), false)
        .await
        .json();
    assert_eq!(body["reply"], "write to {EMAIL}");
    assert_eq!(body["guardrail"], "masked_output");
    let session = body["session_id"].as_str().unwrap();
    assert_eq!(
        stored(&service, session).await[1],
        row("assistant", "write to {EMAIL}", Value::Null)
    );
    let stream = service.chat(json!({"message": message}), true).await;
    let end = done(&stream);
    assert_eq!(end["guardrail"], "masked_output");
    assert!(end.get("message").is_none());
    assert_eq!(service.metric(names::GUARDRAIL_BLOCKED), 0.0);
}

#[tokio::test]
async fn what_was_blocked_is_never_sent_to_the_model_again() {
    let (service, fake) = start(Some(guardrail(StreamProcessing::Sync))).await;
    let first = service
        .chat(json!({"message": "first"}), false)
        .await
        .json();
    let session = first["session_id"].as_str().unwrap();
    let turn = |message: &str| json!({"message": message, "session_id": session});
    service.chat(turn("bad [[guardrail:input]]"), false).await;
    service
        .chat(turn("[[reply:bad answer]] [[guardrail:output]]"), true)
        .await;
    let reply = service.chat(turn("last"), false).await;
    assert_eq!(reply.json()["reply"], "Fake model reply to: last");

    let calls = fake.calls();
    assert_eq!(
        calls.last().unwrap().body["messages"],
        json!([
            {"role": "user", "content": [{"text": "first"}]},
            {"role": "assistant", "content": [{"text": "Fake model reply to: first"}]},
            {"role": "user", "content": [{"guardContent": {"text": {"text": "last"}}}]},
        ])
    );
}

#[tokio::test]
async fn without_a_guardrail_calls_name_none_and_nothing_is_blocked() {
    let (service, fake) = start(None).await;
    let body = service
        .chat(json!({"message": "hi [[guardrail:input]]"}), false)
        .await
        .json();
    assert_eq!(body["reply"], "Fake model reply to: hi");
    assert!(body.get("guardrail").is_none());
    let call = &fake.calls()[0].body;
    assert!(call.get("guardrailConfig").is_none());
    assert_eq!(
        call["messages"][0]["content"][0]["text"],
        "hi [[guardrail:input]]"
    );
}

#[tokio::test]
async fn a_guardrail_bedrock_does_not_know_fails_the_call_clearly() {
    let mut unknown = guardrail(StreamProcessing::Sync);
    unknown.version = "9".to_owned();
    let (service, _fake) = start(Some(unknown)).await;
    let reply = service.chat(json!({"message": "hello"}), false).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.error_code(), "model_refused");
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(
            "The guardrail identifier or version provided in the request does not exist."
        ),
        "{message}"
    );
}
