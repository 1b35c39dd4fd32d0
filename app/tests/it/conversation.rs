//! What a reader does to a conversation, through the HTTP API against the fake Bedrock: each
//! answer keeps its details (id, model, tokens, time, stop reason) in history as the stream
//! told them; a question is replaced (edited, or asked again) and the messages after it go;
//! a turn that failed after its question was saved names it, so a retry replaces it; answers
//! are rated and counted; a stopped answer is cut to what the reader saw; the demo model
//! answers under its own name; and the page's settings come with the models.

use crate::support;
use std::time::Duration;

use crate::support::{Service, streamed_text};
use chatbot::contract::metrics as names;
use http::{Method, StatusCode};
use serde_json::{Value, json};

fn session_of(events: &[(String, Value)]) -> String {
    events[0].1["session_id"].as_str().unwrap().to_owned()
}

fn last_event<'a>(events: &'a [(String, Value)], name: &str) -> &'a Value {
    &events.iter().rev().find(|(n, _)| n == name).unwrap().1
}

/// The texts of the messages the fake Bedrock got in its last call.
fn last_call_texts(service: &Service) -> Vec<String> {
    let call = service.fake.calls().pop().unwrap();
    call.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"][0]["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_answer_keeps_in_history_the_details_its_stream_told() {
    let service = Service::start().await;
    let events = service
        .chat_stream(json!({"message": "hello there [[tokens:9]]"}))
        .await
        .events();
    let meta = &events[0].1;
    let done = last_event(&events, "done");
    let history = service.history_json(&session_of(&events)).await;
    assert_eq!(history.len(), 2);
    let (question, answer) = (&history[0], &history[1]);

    assert_eq!(question["id"], meta["user_message"]["id"]);
    assert_eq!(question["created_at"], meta["user_message"]["created_at"]);
    assert_eq!(question["role"], "user");
    assert_eq!(question["usage"], Value::Null);
    assert_eq!(question["stop_reason"], Value::Null);

    assert_eq!(answer["id"], meta["message_id"]);
    assert_ne!(answer["id"], question["id"]);
    assert_eq!(answer["content"], streamed_text(&events));
    assert_eq!(answer["model"], meta["model"]);
    assert_eq!(answer["model"], support::MODEL);
    assert_eq!(answer["usage"], done["usage"]);
    assert_eq!(answer["usage"]["output_tokens"], 9);
    assert_eq!(answer["latency_ms"], done["latency_ms"]);
    assert_eq!(answer["stop_reason"], "end_turn");
    assert_eq!(answer["stop_reason"], done["stop_reason"]);
    assert_eq!(answer["created_at"], done["created_at"]);
    assert_eq!(answer["incomplete"], false);
    assert_eq!(answer["feedback"], Value::Null);

    // The JSON answer tells the same.
    let reply = service
        .chat(json!({"message": "again [[tokens:4]]"}))
        .await
        .json();
    let history = service
        .history_json(reply["session_id"].as_str().unwrap())
        .await;
    assert_eq!(history[0]["id"], reply["user_message_id"]);
    assert_eq!(history[1]["id"], reply["message_id"]);
    assert_eq!(history[1]["usage"], reply["usage"]);
    assert_eq!(history[1]["latency_ms"], reply["latency_ms"]);
    assert_eq!(history[1]["created_at"], reply["created_at"]);
}

#[tokio::test]
async fn an_answer_broken_midway_is_saved_with_its_details_and_the_error_as_its_stop_reason() {
    let service = Service::start().await;
    let events = service
        .chat_stream(json!({"message": "one two three four five six [[break:3]]"}))
        .await
        .events();
    let error = last_event(&events, "error");
    let answer = &service.history_json(&session_of(&events)).await[1];
    assert_eq!(answer["incomplete"], true);
    assert_eq!(answer["stop_reason"], "error");
    assert_eq!(error["stop_reason"], "error");
    assert_eq!(answer["usage"], error["usage"]);
    assert_eq!(answer["latency_ms"], error["latency_ms"]);
    assert_eq!(answer["created_at"], error["created_at"]);
}

/// Sends `text` in `session` replacing `replaces`, and returns the stream's events.
async fn replace(
    service: &Service,
    session: &str,
    replaces: &Value,
    text: &str,
) -> Vec<(String, Value)> {
    let reply = service
        .chat_stream(json!({"message": text, "session_id": session, "replaces": replaces}))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.events()
}

#[tokio::test]
async fn a_replaced_question_takes_what_followed_it_along() {
    let service = Service::start().await;
    let first = service.chat_stream(json!({"message": "q1"})).await.events();
    let session = session_of(&first);
    service
        .chat_stream(json!({"message": "q2", "session_id": session}))
        .await;
    let third = service
        .chat_stream(json!({"message": "q3", "session_id": session}))
        .await
        .events();
    let history = service.history_json(&session).await;
    assert_eq!(history.len(), 6);

    // Edit the second question: the model sees q1, its answer and the new text only.
    let edited = replace(&service, &session, &history[2]["id"], "q2, better").await;
    assert_eq!(
        last_call_texts(&service),
        ["q1", "Fake model reply to: q1", "q2, better"]
    );
    let texts: Vec<Value> = service
        .history_json(&session)
        .await
        .iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(
        texts,
        json!([
            "q1",
            "Fake model reply to: q1",
            "q2, better",
            "Fake model reply to: q2, better"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    assert_ne!(edited[0].1["user_message"]["id"], history[2]["id"]);
    assert_ne!(third[0].1["message_id"], edited[0].1["message_id"]);

    // Another answer to the last question: the same text replacing it.
    let question = &service.history_json(&session).await[2]["id"];
    let again = replace(&service, &session, question, "q2, better").await;
    let history = service.history_json(&session).await;
    assert_eq!(history.len(), 4);
    assert_eq!(history[3]["id"], again[0].1["message_id"]);
    assert_eq!(last_call_texts(&service).len(), 3);

    // Replacing the first question leaves nothing before the new one.
    replace(&service, &session, &history[0]["id"], "start over").await;
    assert_eq!(last_call_texts(&service), ["start over"]);
    assert_eq!(service.history(&session).await.len(), 2);
}

#[tokio::test]
async fn replaces_names_a_question_of_the_conversation_or_is_refused() {
    let service = Service::start().await;
    let events = service.chat_stream(json!({"message": "q1"})).await.events();
    let session = session_of(&events);
    let question = events[0].1["user_message"]["id"].clone();
    let answer = events[0].1["message_id"].clone();
    let check = async |body: Value, status: StatusCode, says: &str| {
        let reply = service.chat(body.clone()).await;
        assert_eq!(reply.status, status, "{body}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(says), "{body}: {message}");
    };
    check(
        json!({"message": "x", "replaces": question}),
        StatusCode::BAD_REQUEST,
        "session_id",
    )
    .await;
    check(
        json!({"message": "x", "session_id": session, "replaces": "q1"}),
        StatusCode::BAD_REQUEST,
        "not a message id",
    )
    .await;
    check(
        json!({"message": "x", "session_id": session, "replaces": answer}),
        StatusCode::NOT_FOUND,
        "no question",
    )
    .await;
    check(
        json!({"message": "x", "session_id": session, "replaces": "1000000000000-0000000000-00000000"}),
        StatusCode::NOT_FOUND,
        "no question",
    )
    .await;
    assert_eq!(
        service.history(&session).await.len(),
        2,
        "nothing was dropped"
    );
}

#[tokio::test]
async fn a_turn_that_failed_after_saving_its_question_names_it_and_a_retry_replaces_it() {
    let service = Service::start().await;
    for stream in [false, true] {
        let body = json!({"message": "fail [[error:500]]"});
        let reply = if stream {
            service.chat_stream(body).await
        } else {
            service.chat(body).await
        };
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
        let error = &reply.json()["error"];
        let session = error["session_id"].as_str().unwrap().to_owned();
        assert_eq!(
            service.history(&session).await.len(),
            1,
            "the question is kept"
        );
        let retried = replace(&service, &session, &error["user_message_id"], "works now").await;
        assert_eq!(streamed_text(&retried), "Fake model reply to: works now");
        let history = service.history(&session).await;
        assert_eq!(
            history
                .iter()
                .map(|(role, content, _)| format!("{role}: {content}"))
                .collect::<Vec<_>>(),
            [
                "user: works now",
                "assistant: Fake model reply to: works now"
            ],
            "stream={stream}: one question, answered"
        );
    }
    // A refusal before the question is saved names none.
    let refused = service.chat(json!({"message": ""})).await.json();
    assert_eq!(refused["error"].get("session_id"), None);
}

#[tokio::test]
async fn model_errors_say_whether_sending_again_can_help() {
    let service = Service::start().await;
    for (directive, code) in [
        ("[[error:400]]", "model_refused"),
        ("[[error:403]]", "model_not_allowed"),
        ("[[error:404]]", "model_not_allowed"),
        ("[[error:500]]", "model_error"),
    ] {
        let reply = service
            .chat(json!({"message": format!("fail {directive}")}))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{directive}");
        assert_eq!(reply.error_code(), code, "{directive}");
    }
}

async fn rate(service: &Service, session: &str, id: &Value, body: &str) -> StatusCode {
    service
        .request(
            Method::PUT,
            &format!(
                "/api/sessions/{session}/messages/{}/feedback",
                id.as_str().unwrap()
            ),
            &[("content-type", "application/json")],
            body.to_owned(),
        )
        .await
        .status
}

#[tokio::test]
async fn ratings_are_saved_with_the_answer_and_counted_once_each() {
    let service = Service::start().await;
    let events = service.chat_stream(json!({"message": "q1"})).await.events();
    let session = session_of(&events);
    let answer = events[0].1["message_id"].clone();
    let feedback = async || service.history_json(&session).await[1]["feedback"].clone();

    assert_eq!(
        rate(&service, &session, &answer, r#"{"rating":"up"}"#).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(feedback().await, "up");
    assert_eq!(
        rate(&service, &session, &answer, r#"{"rating":"up"}"#).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        service.metric(names::FEEDBACK_POSITIVE),
        1.0,
        "the same rating again is not counted"
    );
    assert_eq!(
        rate(&service, &session, &answer, r#"{"rating":"down"}"#).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(feedback().await, "down");
    assert_eq!(service.metric(names::FEEDBACK_NEGATIVE), 1.0);
    assert_eq!(
        rate(&service, &session, &answer, r#"{"rating":null}"#).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(feedback().await, Value::Null);
    assert_eq!(service.metric(names::FEEDBACK_POSITIVE), 1.0);

    let question = events[0].1["user_message"]["id"].clone();
    for (id, body, status) in [
        (&question, r#"{"rating":"up"}"#, StatusCode::NOT_FOUND),
        (
            &json!("1000000000000-0000000000-00000000"),
            r#"{"rating":"up"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            &json!("not-an-id"),
            r#"{"rating":"up"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (&answer, r#"{"rating":"meh"}"#, StatusCode::BAD_REQUEST),
        (
            &answer,
            r#"{"rating":"up","extra":1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (&answer, r#"{}"#, StatusCode::BAD_REQUEST),
        (&answer, r#"up"#, StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(
            rate(&service, &session, id, body).await,
            status,
            "{id} {body}"
        );
    }
    let wrong_type = service
        .request(
            Method::PUT,
            &format!(
                "/api/sessions/{session}/messages/{}/feedback",
                answer.as_str().unwrap()
            ),
            &[("content-type", "text/plain")],
            r#"{"rating":"up"}"#,
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(feedback().await, Value::Null);
}

async fn stop(service: &Service, session: &str, id: &Value, chars: usize) -> support::Reply {
    service
        .request(
            Method::POST,
            &format!(
                "/api/sessions/{session}/messages/{}/stop",
                id.as_str().unwrap()
            ),
            &[("content-type", "application/json")],
            json!({"chars": chars}).to_string(),
        )
        .await
}

#[tokio::test]
async fn a_stopped_answer_is_saved_as_far_as_the_reader_saw_it() {
    let service = Service::start().await;
    let message = json!({"message": "[[chunks:200]] [[slow:40]]"});
    let three_deltas =
        |events: &[(String, Value)]| events.iter().filter(|(n, _)| n == "delta").count() >= 3;

    // The reader leaves without a word: the answer is saved as far as it got, marked.
    let events = service
        .chat_stream_until(message.clone(), three_deltas)
        .await;
    let session = session_of(&events);
    let answer = events[0].1["message_id"].clone();
    let saved = loop {
        if let Some(answer) = service.history_json(&session).await.get(1) {
            break answer.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(saved["id"], answer);
    assert_eq!(saved["stop_reason"], "disconnected");
    assert_eq!(saved["incomplete"], true);
    assert!(
        saved["content"]
            .as_str()
            .unwrap()
            .starts_with(&streamed_text(&events))
    );

    // Stop: what the reader saw is what is kept.
    let events = service.chat_stream_until(message, three_deltas).await;
    let session = session_of(&events);
    let answer = events[0].1["message_id"].clone();
    let seen = streamed_text(&events);
    let stopped = loop {
        let reply = stop(&service, &session, &answer, seen.chars().count()).await;
        if reply.status != StatusCode::NOT_FOUND {
            assert_eq!(reply.status, StatusCode::OK);
            break reply.json();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(stopped["content"], seen);
    assert_eq!(stopped["stop_reason"], "stopped");
    assert_eq!(stopped["incomplete"], true);
    let history = service.history_json(&session).await;
    assert_eq!(history[1], stopped);

    let longer = stop(&service, &session, &answer, seen.chars().count() + 1).await;
    assert_eq!(longer.status, StatusCode::CONFLICT);
    assert_eq!(longer.error_code(), "conflict");
    let question = &history[0]["id"];
    assert_eq!(
        stop(&service, &session, question, 0).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(service.history_json(&session).await[1], stopped);
}

#[tokio::test]
async fn the_demo_model_answers_under_its_own_name() {
    let service = Service::start_demo().await;
    let events = service.chat_stream(json!({"message": "hi"})).await.events();
    assert_eq!(events[0].1["model"], "offline-demo");
    let history = service.history_json(&session_of(&events)).await;
    assert_eq!(history[1]["model"], "offline-demo");
    let reply = service.chat(json!({"message": "hi"})).await.json();
    assert_eq!(reply["model"], "offline-demo");
    assert!(service.fake.calls().is_empty());
}

#[tokio::test]
async fn the_models_come_with_the_starter_prompts_and_the_limits() {
    let service = Service::start_with(Default::default(), |config, _| {
        config.starter_prompts = vec!["Plan a trip".to_owned(), "Explain TTL".to_owned()];
    })
    .await;
    let models = service.get("/api/models").await.json();
    assert_eq!(
        models["starter_prompts"],
        json!(["Plan a trip", "Explain TTL"])
    );
    assert_eq!(models["limits"]["message_chars"], 8000);
    assert_eq!(models["limits"]["request_bytes"], 32 * 1024);
}
