//! What replies cost, to the micro-dollar: tokens × the model's price per million, rounded once
//! (halves up), for JSON and streamed answers, cache tokens, answers that broke off and answers
//! the reader stopped; the cost is saved with the answer, added to the day's spend (which a
//! dollar budget stops), and counted as a metric.
//!
//! The fake Bedrock counts `inputTokens` as the words of the system prompt and the messages
//! (directives included) and `outputTokens` as its chunks or `[[tokens:K]]`; the system prompt
//! here, "You are a test assistant.", is 5 words and 25 characters.

use std::time::Duration;

use crate::support::{MODEL, OTHER_MODEL, SYSTEM_PROMPT, Service, parse_sse};
use chatbot::config::Config;
use chatbot::cost::ModelPrice;
use chatbot::store::{SessionId, Spend};
use http::StatusCode;
use serde_json::{Value, json};
use testkit::bedrock::Options;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Claude Haiku 4.5 through a US inference profile: $1.10 in, $5.50 out, $0.11 cache read,
/// $1.375 cache write per million tokens.
fn haiku() -> ModelPrice {
    ModelPrice {
        input: 1_100_000,
        output: 5_500_000,
        cache_read: Some(110_000),
        cache_write: Some(1_375_000),
        as_of: "2026-10-05".into(),
    }
}

/// Amazon Nova Lite: $0.06 in, $0.24 out, $0.015 cache read per million tokens.
fn nova() -> ModelPrice {
    ModelPrice {
        input: 60_000,
        output: 240_000,
        cache_read: Some(15_000),
        cache_write: None,
        as_of: "2026-09-03".into(),
    }
}

fn priced(config: &mut Config) {
    for model in &mut config.models {
        model.price = Some(if model.id == MODEL { haiku() } else { nova() });
    }
}

async fn service() -> Service {
    Service::start_with(Options::default(), |config, _| priced(config)).await
}

/// What the store counted for today.
async fn spent_today(service: &Service) -> Spend {
    let today = chatbot::clock::utc_day(chatbot::clock::now_ms() / 1000);
    service.state.store.spent(&today).await.unwrap()
}

/// The history's last message (the answer) as JSON.
async fn saved_answer(service: &Service, session: &str) -> Value {
    let reply = service
        .get(&format!("/api/sessions/{session}/messages"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let messages = reply.json()["messages"].as_array().unwrap().clone();
    let last = messages.last().unwrap().clone();
    assert_eq!(last["role"], "assistant", "{messages:?}");
    last
}

/// `check(message, usage, cost)`: one JSON chat turn answers with exactly this usage and cost,
/// keeps them with the answer, and adds them to the day's spend.
async fn check_json(
    service: &Service,
    body: Value,
    usage: Value,
    micro_usd: u64,
    usd: &str,
) -> String {
    let before = spent_today(service).await;
    let reply = service.chat(body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["usage"], usage);
    assert_eq!(answer["cost"], json!({"micro_usd": micro_usd, "usd": usd}));
    let session = answer["session_id"].as_str().unwrap().to_owned();
    let saved = saved_answer(service, &session).await;
    assert_eq!(saved["cost"], answer["cost"], "kept for a reload");
    assert_eq!(saved["usage"]["input_tokens"], usage["input_tokens"]);
    assert_eq!(saved["usage"]["output_tokens"], usage["output_tokens"]);
    let after = spent_today(service).await;
    assert_eq!(after.micro_usd - before.micro_usd, micro_usd);
    session
}

#[tokio::test]
async fn a_json_answer_costs_its_tokens_at_its_models_price() {
    let service = service().await;
    // 5 + 3 words in, 500 tokens out: 8 × 1.1 + 500 × 5.5 = 8.8 + 2,750 = 2,758.8 → 2,759.
    check_json(
        &service,
        json!({"message": "price this [[tokens:500]]"}),
        json!({"input_tokens": 8, "output_tokens": 500}),
        2_759,
        "0.002759",
    )
    .await;
    // 5 + 5 words in, 9 chunks out ("Fake model reply to: a b c d e"):
    // 10 × 1.1 + 9 × 5.5 = 11 + 49.5 = 60.5 → 61, the half rounded up.
    check_json(
        &service,
        json!({"message": "a b c d e"}),
        json!({"input_tokens": 10, "output_tokens": 9}),
        61,
        "0.000061",
    )
    .await;
    // Cache tokens at their own prices: 8 × 1.1 + 100 × 5.5 + 2,000 × 0.11 + 300 × 1.375
    // = 8.8 + 550 + 220 + 412.5 = 1,191.3 → 1,191.
    check_json(
        &service,
        json!({"message": "cached [[tokens:100]] [[cache:2000:300]]"}),
        json!({"input_tokens": 8, "output_tokens": 100, "cache_read_input_tokens": 2_000, "cache_write_input_tokens": 300}),
        1_191,
        "0.001191",
    )
    .await;
    // Another model, another price: 7 × 0.06 + 1,000 × 0.24 = 0.42 + 240 = 240.42 → 240.
    check_json(
        &service,
        json!({"message": "nova [[tokens:1000]]", "model": OTHER_MODEL}),
        json!({"input_tokens": 7, "output_tokens": 1_000}),
        240,
        "0.00024",
    )
    .await;

    // The day's spend is the sum of the replies, to the micro-dollar, and so is the metric.
    let total = 2_759 + 61 + 1_191 + 240;
    assert_eq!(spent_today(&service).await.micro_usd, total);
    assert_eq!(
        spent_today(&service).await.tokens,
        508 + 19 + (108 + 2_300) + 1_007
    );
    assert_eq!(
        service.metric(chatbot::contract::metrics::COST),
        total as f64
    );
}

#[tokio::test]
async fn a_streamed_answer_ends_with_its_cost() {
    let service = service().await;
    let reply = service
        .chat_stream(json!({"message": "price this [[tokens:500]]"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let events = reply.events();
    let (name, done) = events.last().unwrap();
    assert_eq!(name, "done");
    assert_eq!(
        done["usage"],
        json!({"input_tokens": 8, "output_tokens": 500})
    );
    assert_eq!(done["cost"], json!({"micro_usd": 2_759, "usd": "0.002759"}));
    let session = events[0].1["session_id"].as_str().unwrap();
    let saved = saved_answer(&service, session).await;
    assert_eq!(saved["cost"], done["cost"]);
    assert_eq!(spent_today(&service).await.micro_usd, 2_759);
}

#[tokio::test]
async fn an_answer_that_broke_off_costs_the_estimate_of_what_was_spent() {
    let service = service().await;
    let message = "interrupted [[chunks:5]] [[break:3]]";
    let reply = service.chat_stream(json!({"message": message})).await;
    let events = reply.events();
    let (name, error) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    // Bedrock's count never arrived: the service estimates four characters a token.
    // In: the system prompt's 25 characters → 7, the message's 36 → 9; out: "t1 t2 t3 " → 3.
    assert_eq!(SYSTEM_PROMPT.chars().count(), 25);
    assert_eq!(message.chars().count(), 36);
    assert_eq!(
        error["usage"],
        json!({"input_tokens": 16, "output_tokens": 3, "estimated": true})
    );
    // 16 × 1.1 + 3 × 5.5 = 17.6 + 16.5 = 34.1 → 34.
    assert_eq!(
        error["cost"],
        json!({"micro_usd": 34, "usd": "0.000034", "estimated": true})
    );
    let session = events[0].1["session_id"].as_str().unwrap();
    let saved = saved_answer(&service, session).await;
    assert_eq!(saved["content"], "t1 t2 t3 ");
    assert_eq!(saved["incomplete"], true);
    assert_eq!(saved["cost"], error["cost"]);
    assert_eq!(
        saved["usage"],
        json!({"input_tokens": 16, "output_tokens": 3, "estimated": true})
    );
    assert_eq!(
        spent_today(&service).await,
        Spend {
            tokens: 19,
            micro_usd: 34
        }
    );
}

#[tokio::test]
async fn an_answer_the_reader_stopped_costs_what_streamed_until_then() {
    let service = Service::start_with(
        Options {
            token_delay: Duration::from_millis(150),
            ..Options::default()
        },
        |config, _| priced(config),
    )
    .await;
    let message = "stop me [[chunks:40]]";
    let session = stop_after_deltas(&service, message, 3).await;

    // The answer is saved with what had streamed when the service noticed the reader was
    // gone (a chunk or two after the third, depending on when the connection closed).
    let saved = wait_for_answer(&service, &session).await;
    assert_eq!(saved["incomplete"], true);
    let text = saved["content"].as_str().unwrap();
    assert!(text.starts_with("t1 t2 t3 "), "{text:?}");
    let output = (text.chars().count() as u64).div_ceil(4);
    // In: the system prompt (25 characters → 7) and the message (21 → 6).
    let input = 7 + (message.chars().count() as u64).div_ceil(4);
    assert_eq!(input, 13);
    assert_eq!(
        saved["usage"],
        json!({"input_tokens": input, "output_tokens": output, "estimated": true})
    );
    // input × 1.1 + output × 5.5 micro-dollars, in tenths to stay exact, rounded halves up.
    let tenths = input * 11 + output * 55;
    let micro_usd = tenths / 10 + u64::from(tenths % 10 >= 5);
    assert_eq!(saved["cost"]["micro_usd"], micro_usd);
    assert_eq!(saved["cost"]["estimated"], true);
    // The day's spend is added right after the answer is saved.
    let mut spent = spent_today(&service).await;
    for _ in 0..100 {
        if spent != Spend::default() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        spent = spent_today(&service).await;
    }
    assert_eq!(
        spent,
        Spend {
            tokens: input + output,
            micro_usd
        }
    );
}

#[tokio::test]
async fn the_dollar_budget_stops_the_day_before_the_token_budget() {
    let service = Service::start_with(Options::default(), |config, _| {
        priced(config);
        config.daily_cost_budget_micro_usd = Some(5_000);
        config.daily_token_budget = 1_000_000;
    })
    .await;
    let ask = || service.chat(json!({"message": "price this [[tokens:500]]"}));
    // 2,759 spent, then 5,518: the second answer is admitted with 2,759 < 5,000 spent.
    assert_eq!(ask().await.status, StatusCode::OK);
    assert_eq!(ask().await.status, StatusCode::OK);
    let refused = ask().await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.error_code(), "budget_exhausted");
    assert_eq!(
        service.fake.calls().len(),
        2,
        "the refusal reached no model"
    );
    assert_eq!(
        spent_today(&service).await,
        Spend {
            tokens: 1_016,
            micro_usd: 5_518
        }
    );
    let metrics = service.state.metrics.recorded();
    let used: Vec<f64> = metrics
        .iter()
        .filter_map(|m| m.get("BudgetUsedPercent").and_then(Value::as_f64))
        .collect();
    // The larger share is the dollars': 2,759 / 5,000 and 5,518 / 5,000.
    assert_eq!(used, [55.18, 110.36]);
    assert_eq!(
        service.metric(chatbot::contract::metrics::BUDGET_EXHAUSTED),
        1.0
    );
}

#[tokio::test]
async fn a_model_without_a_price_answers_without_a_cost() {
    let service = Service::start().await;
    let reply = service.chat(json!({"message": "hello"})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json().get("cost").is_none(), "{}", reply.json());
    let session = reply.json()["session_id"].as_str().unwrap().to_owned();
    let saved = saved_answer(&service, &session).await;
    // The history lists every key of a message, `null` where it does not apply.
    assert_eq!(saved["cost"], Value::Null, "{saved}");
    assert_eq!(saved["usage"]["output_tokens"], 5);
    assert_eq!(spent_today(&service).await.micro_usd, 0);
    let models = service.get("/api/models").await.json();
    assert!(models["models"][0].get("price").is_none());

    let priced = self::service().await;
    let models = priced.get("/api/models").await.json();
    assert_eq!(
        models["models"][0]["price"],
        json!({"input": 1_100_000, "output": 5_500_000, "cache_read": 110_000, "cache_write": 1_375_000, "as_of": "2026-10-05"})
    );
}

/// Asks for a streamed answer over a raw connection, reads until `deltas` delta events
/// arrived, then closes the connection; returns the session id from the `meta` event.
async fn stop_after_deltas(service: &Service, message: &str, deltas: usize) -> String {
    let address = service.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let body = json!({ "message": message }).to_string();
    let request = format!(
        "POST /api/chat HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\naccept: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = String::new();
    let mut buffer = [0u8; 4096];
    while received.matches("event: delta").count() < deltas {
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer))
            .await
            .expect("the stream goes on")
            .unwrap();
        assert!(read > 0, "the stream ended early: {received}");
        received.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    drop(socket);
    let events_start = received.find("event: meta").expect("a meta event");
    let events = parse_sse(&received[events_start..]);
    events[0].1["session_id"].as_str().unwrap().to_owned()
}

/// The session's answer once the service has saved it (it saves after noticing the reader left).
async fn wait_for_answer(service: &Service, session: &str) -> Value {
    let id = SessionId::parse(session).unwrap();
    for _ in 0..100 {
        let messages = service.state.store.recent_messages(id, 10).await.unwrap();
        if messages.len() == 2 {
            return saved_answer(service, session).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stopped answer was never saved");
}
