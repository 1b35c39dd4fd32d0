//! What the service writes to its logs about a conversation: ids, sizes, status and timings,
//! never the text of a message or an answer.

mod common;
mod reliability;

use chatbot::model::{Bedrock, Model};
use chatbot::store::{MemoryStore, Store};
use http::StatusCode;
use reliability::{Harness, Logs};
use serde_json::json;
use testkit::bedrock::FakeBedrock;

#[tokio::test]
async fn neither_messages_nor_answers_reach_the_logs() {
    let logs = Logs::capture();
    let fake = FakeBedrock::start().await.unwrap();
    let model = Model::Bedrock(Bedrock::new(common::bedrock_client(&fake.endpoint())));
    let service = Harness::start(
        common::config(),
        common::tuning(),
        Store::Memory(MemoryStore::default()),
        model,
    )
    .await;

    let secret_words = "my card number is 4111 1111 1111 1111";
    let json = service.chat(json!({"message": secret_words}), false).await;
    assert_eq!(json.status, StatusCode::OK);
    let session = json.json()["session_id"].as_str().unwrap().to_owned();
    let streamed = service
        .chat(
            json!({"message": format!("again: {secret_words}"), "session_id": session}),
            true,
        )
        .await;
    assert_eq!(streamed.status, StatusCode::OK);
    assert_eq!(service.history(&session).await.len(), 4);

    let lines = logs.lines();
    assert!(
        lines.iter().any(|l| l["message"] == "chat turn finished"),
        "no chat log line at all: {lines:?}"
    );
    for line in &lines {
        let text = line.to_string();
        assert!(!text.contains("4111"), "a message reached the logs: {text}");
        assert!(
            !text.contains("Fake model reply"),
            "an answer reached the logs: {text}"
        );
    }
}
