//! The store's contract, checked the same way on both back ends: the DynamoDB store through
//! the real SDK against a `moto_server` this file starts, and the in-memory store. History
//! order and limits, paging past DynamoDB's 1 MB page, the TTL attribute on every item,
//! deletes, a conversation cut short to go on from an earlier question, ratings and stopped
//! answers, the exact rate limit under concurrency, the daily budget, unreadable items, and
//! DynamoDB's errors as the store reports them.

use crate::support::{self, on_both};
use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb as dynamo;
use chatbot::store::{
    Admission, AnswerDetails, Blocked, BudgetLayout, DynamoStore, Feedback, FeedbackSaved,
    MemoryStore, Message, MessageId, Role, SessionId, Spend, StopReason, StopSaved, Store,
    StoreError,
};
use dynamo::types::AttributeValue;
use testkit::faulty_dynamo::{Fault, FaultyDynamo, Operation};

const TABLE: &str = "chatbot-test";
const EXPIRES_AT: i64 = 1_900_000_000;

fn message(role: Role, content: &str, created_at_ms: i64) -> Message {
    Message::new(role, content, created_at_ms)
}

/// An answer with its details, as a chat turn saves it.
fn answer(content: &str, created_at_ms: i64) -> Message {
    Message {
        model: Some("amazon.nova-lite-v1:0".to_owned()),
        details: Some(AnswerDetails {
            input_tokens: 12,
            output_tokens: 7,
            cost_micro_usd: Some(44),
            usage_estimated: false,
            latency_ms: 345,
            stop_reason: "end_turn".to_owned(),
        }),
        ..message(Role::Assistant, content, created_at_ms)
    }
}

/// Writes `messages` to a new session, in order.
async fn session_of(store: &Store, messages: &[&Message]) -> SessionId {
    let session = SessionId::new_random();
    for m in messages {
        store.append_message(session, m, EXPIRES_AT).await.unwrap();
    }
    session
}

fn texts(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.content.as_str()).collect()
}

#[tokio::test]
async fn both_stores_keep_the_same_contract() {
    let (moto, raw) = support::moto_with_table(TABLE).await;
    // The store reaches moto through a proxy that records each operation it calls.
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    let dynamo = Store::Dynamo(DynamoStore::new(
        support::dynamo_client(&proxy.endpoint(), 3),
        TABLE,
    ));

    on_both(&dynamo, history_is_oldest_first_and_limited).await;
    on_both(&dynamo, messages_keep_every_field).await;
    on_both(&dynamo, history_pages_past_one_megabyte).await;
    on_both(&dynamo, deletes_remove_a_whole_session_only).await;
    on_both(&dynamo, a_withheld_prompt_keeps_its_place_but_not_its_text).await;
    on_both(
        &dynamo,
        history_before_a_message_leaves_it_and_later_ones_out,
    )
    .await;
    on_both(&dynamo, truncating_drops_a_question_and_everything_after_it).await;
    on_both(&dynamo, truncating_needs_a_question_of_the_session).await;
    on_both(&dynamo, ratings_are_saved_on_answers_only).await;
    on_both(&dynamo, a_stopped_answer_is_cut_to_what_the_reader_saw).await;
    on_both(&dynamo, rate_windows_admit_exactly_their_limit).await;
    on_both(&dynamo, budget_totals_add_up_under_concurrency).await;

    // What only DynamoDB can show: the attributes of the items themselves.
    let items = support::all_items(&raw, TABLE).await;
    assert!(!items.is_empty());
    for item in &items {
        let pk = item["pk"].as_s().unwrap();
        let sk = item["sk"].as_s().unwrap();
        assert!(
            item.get("expires_at")
                .and_then(|v| v.as_n().ok())
                .is_some_and(|n| n.parse::<i64>().is_ok()),
            "item {pk} {sk} has no numeric expires_at: {item:?}"
        );
        let kind = pk.split('#').next().unwrap();
        assert!(
            matches!(kind, "S" | "RL" | "BUDGET"),
            "unexpected item {pk} {sk}"
        );
        if kind == "S" {
            assert!(sk == "META" || sk.starts_with("M#"), "{pk} {sk}");
        }
    }
    let kinds: std::collections::BTreeSet<_> = items
        .iter()
        .map(|item| {
            let pk = item["pk"].as_s().unwrap();
            let sk = item["sk"].as_s().unwrap();
            match (pk.split('#').next().unwrap(), sk.as_str()) {
                ("S", "META") => "session meta",
                ("S", _) => "message",
                ("RL", _) => "rate window",
                _ => "budget",
            }
        })
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["budget", "message", "rate window", "session meta"]
    );

    // What the store called is exactly what the stack's IAM statement grants (both come from
    // the contract's list): nothing granted goes unused, nothing used is missing.
    let called: BTreeSet<String> = proxy.operation_names().into_iter().collect();
    let granted: BTreeSet<String> = chatbot_contract::table::OPERATIONS
        .iter()
        .map(|op| (*op).to_owned())
        .collect();
    assert_eq!(called, granted, "operations called vs granted");
}

async fn history_is_oldest_first_and_limited(backend: &'static str, store: &Store) {
    let session = SessionId::new_random();
    // Pairs written in the same millisecond keep the order they were written in.
    for turn in 0..15 {
        let at = 1_700_000_000_000 + turn / 2;
        let question = message(Role::User, &format!("question {turn}"), at);
        let answer = message(Role::Assistant, &format!("answer {turn}"), at);
        store
            .append_message(session, &question, EXPIRES_AT)
            .await
            .unwrap();
        store
            .append_message(session, &answer, EXPIRES_AT)
            .await
            .unwrap();
    }
    let last = store.recent_messages(session, 6).await.unwrap();
    let texts: Vec<_> = last.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        texts,
        [
            "question 12",
            "answer 12",
            "question 13",
            "answer 13",
            "question 14",
            "answer 14"
        ],
        "{backend}"
    );
    let all = store.recent_messages(session, 100).await.unwrap();
    assert_eq!(all.len(), 30, "{backend}");
    assert_eq!(all[0].content, "question 0", "{backend}");
    assert!(
        store
            .recent_messages(SessionId::new_random(), 10)
            .await
            .unwrap()
            .is_empty(),
        "{backend}: an unknown session has no history"
    );
}

async fn messages_keep_every_field(backend: &'static str, store: &Store) {
    let session = SessionId::new_random();
    let answer = Message {
        model: Some("amazon.nova-lite-v1:0".to_owned()),
        incomplete: true,
        blocked: Some(Blocked::Output),
        details: Some(AnswerDetails {
            input_tokens: 12_345,
            output_tokens: 4242,
            cost_micro_usd: Some(37_194),
            usage_estimated: true,
            latency_ms: 98_765,
            stop_reason: StopReason::ERROR.to_owned(),
        }),
        feedback: Some(Feedback::Down),
        ..message(
            Role::Assistant,
            "партиал ✂ <b>&amp;</b>\n\"quoted\"",
            1_700_000_123_456,
        )
    };
    let question = message(Role::User, "", 1_700_000_123_000);
    store
        .append_message(session, &question, EXPIRES_AT)
        .await
        .unwrap();
    store
        .append_message(session, &answer, EXPIRES_AT)
        .await
        .unwrap();
    assert_eq!(
        store.recent_messages(session, 10).await.unwrap(),
        [question, answer],
        "{backend}"
    );
}

/// A prompt the guardrail blocked: marked, its text dropped, everything else as it was.
async fn a_withheld_prompt_keeps_its_place_but_not_its_text(backend: &'static str, store: &Store) {
    let session = SessionId::new_random();
    let at = 1_700_000_500_000;
    let earlier = message(Role::User, "hello", at - 10);
    let blocked = message(Role::User, "my card is 4111 1111 1111 1111", at);
    // The guardrail's message, written in the same millisecond.
    let stand_in = Message {
        blocked: Some(Blocked::Input),
        ..message(Role::Assistant, "Not that.", at)
    };
    for m in [&earlier, &blocked, &stand_in] {
        store.append_message(session, m, EXPIRES_AT).await.unwrap();
    }
    assert!(
        store.withhold_message(session, &blocked.id).await.unwrap(),
        "{backend}"
    );
    let withheld = Message {
        content: String::new(),
        blocked: Some(Blocked::Input),
        ..blocked.clone()
    };
    assert_eq!(
        store.recent_messages(session, 10).await.unwrap(),
        [earlier, withheld, stand_in.clone()],
        "{backend}"
    );
    // No such message, not a question, or no such session: nothing is written.
    assert!(
        !store
            .withhold_message(session, &MessageId::new(at))
            .await
            .unwrap(),
        "{backend}"
    );
    assert!(
        !store.withhold_message(session, &stand_in.id).await.unwrap(),
        "{backend}"
    );
    let other = SessionId::new_random();
    assert!(
        !store.withhold_message(other, &blocked.id).await.unwrap(),
        "{backend}"
    );
    assert!(
        store.recent_messages(other, 10).await.unwrap().is_empty(),
        "{backend}"
    );
}

async fn history_before_a_message_leaves_it_and_later_ones_out(
    backend: &'static str,
    store: &Store,
) {
    let list: Vec<Message> = (0..8)
        .map(|i| message(Role::User, &format!("m{i}"), 1_700_000_000_000 + i / 3))
        .collect();
    let session = session_of(store, &list.iter().collect::<Vec<_>>()).await;
    let before = |id, limit| store.messages_before(session, Some(id), limit);
    assert_eq!(
        texts(&before(&list[5].id, 10).await.unwrap()),
        ["m0", "m1", "m2", "m3", "m4"],
        "{backend}"
    );
    assert_eq!(
        texts(&before(&list[5].id, 2).await.unwrap()),
        ["m3", "m4"],
        "{backend}"
    );
    assert!(
        before(&list[0].id, 10).await.unwrap().is_empty(),
        "{backend}"
    );
    // An id no message has still marks a place in time.
    let between = MessageId::parse(&format!(
        "{}-9999999999-ffffffff",
        list[4].id.as_str().split('-').next().unwrap()
    ))
    .unwrap();
    assert_eq!(
        texts(&before(&between, 10).await.unwrap()),
        ["m0", "m1", "m2", "m3", "m4", "m5"],
        "{backend}"
    );
    assert_eq!(
        texts(&store.messages_before(session, None, 3).await.unwrap()),
        ["m5", "m6", "m7"],
        "{backend}"
    );
}

async fn truncating_drops_a_question_and_everything_after_it(backend: &'static str, store: &Store) {
    let at = 1_700_000_200_000;
    let q1 = message(Role::User, "q1", at);
    let a1 = answer("a1", at);
    let q2 = message(Role::User, "q2", at + 1);
    let a2 = answer("a2", at + 1);
    let q3 = message(Role::User, "q3", at + 2);
    let session = session_of(store, &[&q1, &a1, &q2, &a2, &q3]).await;
    // More than one BatchWriteItem of 25 after the question.
    for i in 0..30 {
        let m = answer(&format!("more {i}"), at + 3 + i);
        store.append_message(session, &m, EXPIRES_AT).await.unwrap();
    }
    let other = session_of(store, &[&q2]).await;

    assert!(
        store.truncate_session(session, &q2.id).await.unwrap(),
        "{backend}"
    );
    assert_eq!(
        store.recent_messages(session, 100).await.unwrap(),
        [q1.clone(), a1.clone()],
        "{backend}"
    );
    // The conversation goes on after what is left.
    let q2b = message(Role::User, "q2, edited", at + 100);
    store
        .append_message(session, &q2b, EXPIRES_AT)
        .await
        .unwrap();
    assert_eq!(
        texts(&store.recent_messages(session, 100).await.unwrap()),
        ["q1", "a1", "q2, edited"],
        "{backend}"
    );
    // From the first question on, nothing is left; another session is untouched.
    assert!(
        store.truncate_session(session, &q1.id).await.unwrap(),
        "{backend}"
    );
    assert!(
        store.recent_messages(session, 10).await.unwrap().is_empty(),
        "{backend}"
    );
    assert_eq!(
        store.recent_messages(other, 10).await.unwrap(),
        [q2],
        "{backend}"
    );
}

async fn truncating_needs_a_question_of_the_session(backend: &'static str, store: &Store) {
    let at = 1_700_000_300_000;
    let q1 = message(Role::User, "q1", at);
    let a1 = answer("a1", at);
    let session = session_of(store, &[&q1, &a1]).await;
    for (what, session, id) in [
        ("an answer", session, a1.id.clone()),
        ("an id no message has", session, MessageId::new(at)),
        ("another session", SessionId::new_random(), q1.id.clone()),
    ] {
        assert!(
            !store.truncate_session(session, &id).await.unwrap(),
            "{backend}: {what}"
        );
    }
    assert_eq!(
        store.recent_messages(session, 10).await.unwrap(),
        [q1, a1],
        "{backend}: nothing was dropped"
    );
}

async fn ratings_are_saved_on_answers_only(backend: &'static str, store: &Store) {
    let at = 1_700_000_400_000;
    let q1 = message(Role::User, "q1", at);
    let a1 = answer("a1", at);
    let session = session_of(store, &[&q1, &a1]).await;
    let rate = |id, feedback| store.set_feedback(session, id, feedback);
    assert_eq!(
        rate(&a1.id, Some(Feedback::Up)).await.unwrap(),
        FeedbackSaved::Saved { previous: None },
        "{backend}"
    );
    assert_eq!(
        rate(&a1.id, Some(Feedback::Down)).await.unwrap(),
        FeedbackSaved::Saved {
            previous: Some(Feedback::Up)
        },
        "{backend}"
    );
    let rated = store.recent_messages(session, 10).await.unwrap();
    assert_eq!(rated[1].feedback, Some(Feedback::Down), "{backend}");
    assert_eq!(
        rated[1],
        Message {
            feedback: Some(Feedback::Down),
            ..a1.clone()
        },
        "{backend}: nothing else changed"
    );
    assert_eq!(
        rate(&a1.id, None).await.unwrap(),
        FeedbackSaved::Saved {
            previous: Some(Feedback::Down)
        },
        "{backend}"
    );
    assert_eq!(
        store.recent_messages(session, 10).await.unwrap(),
        [q1.clone(), a1.clone()],
        "{backend}: the rating is taken back"
    );
    // A question, an unknown id, another session: nothing is written, nothing created.
    for (what, session, id) in [
        ("a question", session, q1.id.clone()),
        ("an id no message has", session, MessageId::new(at)),
        ("another session", SessionId::new_random(), a1.id.clone()),
    ] {
        assert_eq!(
            store
                .set_feedback(session, &id, Some(Feedback::Up))
                .await
                .unwrap(),
            FeedbackSaved::NoSuchAnswer,
            "{backend}: {what}"
        );
        assert_eq!(
            store.recent_messages(session, 10).await.unwrap().len(),
            if what == "another session" { 0 } else { 2 },
            "{backend}: {what}"
        );
    }
}

async fn a_stopped_answer_is_cut_to_what_the_reader_saw(backend: &'static str, store: &Store) {
    let at = 1_700_000_500_000;
    let q1 = message(Role::User, "q1", at);
    // What the service saved when it noticed the reader had left: more than they saw.
    let saved = Message {
        incomplete: true,
        details: Some(AnswerDetails {
            stop_reason: StopReason::DISCONNECTED.to_owned(),
            ..answer("", at).details.unwrap()
        }),
        ..answer("Ça va très bien, merci 🙂 et vous", at)
    };
    let session = session_of(store, &[&q1, &saved]).await;
    let cut = Message {
        content: "Ça va très bien, merci 🙂".to_owned(),
        incomplete: true,
        details: Some(AnswerDetails {
            stop_reason: StopReason::STOPPED.to_owned(),
            ..saved.details.clone().unwrap()
        }),
        ..saved.clone()
    };
    // Characters, not bytes or UTF-16 units: the emoji is one.
    assert_eq!(
        store.stop_answer(session, &saved.id, 24).await.unwrap(),
        StopSaved::Saved(cut.clone()),
        "{backend}"
    );
    assert_eq!(
        store.recent_messages(session, 10).await.unwrap(),
        [q1.clone(), cut.clone()],
        "{backend}"
    );
    // A second Stop with the same count changes nothing; asking to keep more than there is
    // is refused.
    assert_eq!(
        store.stop_answer(session, &saved.id, 24).await.unwrap(),
        StopSaved::Saved(cut.clone()),
        "{backend}"
    );
    assert_eq!(
        store.stop_answer(session, &saved.id, 25).await.unwrap(),
        StopSaved::TooShort { chars: 24 },
        "{backend}"
    );
    assert_eq!(
        store.stop_answer(session, &q1.id, 1).await.unwrap(),
        StopSaved::NoSuchAnswer,
        "{backend}: a question"
    );
    assert_eq!(
        store
            .stop_answer(session, &MessageId::new(at), 0)
            .await
            .unwrap(),
        StopSaved::NoSuchAnswer,
        "{backend}: not saved (yet)"
    );
    // Stopped before any of it showed: nothing is kept.
    let empty = Message {
        content: String::new(),
        ..cut
    };
    assert_eq!(
        store.stop_answer(session, &saved.id, 0).await.unwrap(),
        StopSaved::Saved(empty),
        "{backend}"
    );
}

/// DynamoDB stops a query page at 1 MB; eleven 200 KB messages take three pages.
async fn history_pages_past_one_megabyte(backend: &'static str, store: &Store) {
    let session = SessionId::new_random();
    for i in 0..11 {
        let body = format!("{i:02}{}", "x".repeat(200_000));
        let m = message(Role::User, &body, 1_700_000_000_000 + i);
        store.append_message(session, &m, EXPIRES_AT).await.unwrap();
    }
    let all = store.recent_messages(session, 50).await.unwrap();
    let order: Vec<_> = all.iter().map(|m| &m.content[..2]).collect();
    assert_eq!(
        order,
        [
            "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10"
        ],
        "{backend}"
    );
    let last = store.recent_messages(session, 7).await.unwrap();
    assert_eq!(last.len(), 7, "{backend}");
    assert_eq!(&last[0].content[..2], "04", "{backend}");
}

async fn deletes_remove_a_whole_session_only(backend: &'static str, store: &Store) {
    let doomed = SessionId::new_random();
    let kept = SessionId::new_random();
    // More than one BatchWriteItem of 25.
    for i in 0..60 {
        let m = message(Role::User, &format!("m{i}"), 1_700_000_000_000 + i);
        store.append_message(doomed, &m, EXPIRES_AT).await.unwrap();
    }
    store
        .append_message(kept, &message(Role::User, "stay", 1), EXPIRES_AT)
        .await
        .unwrap();
    assert!(store.delete_session(doomed).await.unwrap(), "{backend}");
    assert!(
        store.recent_messages(doomed, 100).await.unwrap().is_empty(),
        "{backend}"
    );
    assert!(
        !store.delete_session(doomed).await.unwrap(),
        "{backend}: a second delete finds nothing"
    );
    assert_eq!(
        store.recent_messages(kept, 10).await.unwrap().len(),
        1,
        "{backend}"
    );
}

async fn rate_windows_admit_exactly_their_limit(backend: &'static str, store: &Store) {
    let client = format!("203.0.113.{}", rand_octet());
    let attempts = (0..200).map(|_| store.admit_request(&client, 1_700_000_000, 10, EXPIRES_AT));
    let outcomes = futures_util::future::join_all(attempts).await;
    let admitted = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Admission::Admitted)))
        .count();
    let limited = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Admission::Limited)))
        .count();
    assert_eq!((admitted, limited), (10, 190), "{backend}");
    // The next window and another client start from zero.
    assert_eq!(
        store
            .admit_request(&client, 1_700_000_060, 10, EXPIRES_AT)
            .await
            .unwrap(),
        Admission::Admitted,
        "{backend}"
    );
    assert_eq!(
        store
            .admit_request("198.51.100.7", 1_700_000_000, 1, EXPIRES_AT)
            .await
            .unwrap(),
        Admission::Admitted,
        "{backend}"
    );
    assert_eq!(
        store
            .admit_request("198.51.100.7", 1_700_000_000, 1, EXPIRES_AT)
            .await
            .unwrap(),
        Admission::Limited,
        "{backend}"
    );
}

async fn budget_totals_add_up_under_concurrency(backend: &'static str, store: &Store) {
    let day = format!("2026-11-{:02}", 1 + rand_octet() % 28);
    assert_eq!(
        store.spent(&day).await.unwrap(),
        Spend::default(),
        "{backend}"
    );
    let spend = Spend {
        tokens: 7,
        micro_usd: 24,
    };
    let adds = (0..50).map(|_| store.add_spend(&day, spend, EXPIRES_AT));
    let totals: Vec<Spend> = futures_util::future::join_all(adds)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    check_totals(backend, &totals, spend);
    assert_eq!(
        store.spent(&day).await.unwrap(),
        Spend {
            tokens: 350,
            micro_usd: 1_200
        },
        "{backend}"
    );
}

/// Each add's total counts at least its own addition and every add that finished before it,
/// tokens and micro-dollars together, and never more than all of them.
fn check_totals(backend: &str, totals: &[Spend], each: Spend) {
    let mut sorted = totals.to_vec();
    sorted.sort_unstable_by_key(|s| s.tokens);
    let adds = sorted.len() as u64;
    for (i, total) in (1..).zip(&sorted) {
        let at_least = i * each.tokens;
        assert!(
            (at_least..=adds * each.tokens).contains(&total.tokens),
            "{backend}: add {i} of {adds} saw {total:?}"
        );
        assert_eq!(
            total.tokens * each.micro_usd,
            total.micro_usd * each.tokens,
            "{backend}: tokens and micro-dollars are added together: {total:?}"
        );
    }
}

fn rand_octet() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}

#[tokio::test]
async fn unreadable_items_and_dynamodb_errors_are_reported_not_panicked() {
    let (moto, raw) = support::moto_with_table(TABLE).await;
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    // One attempt per call, so each fault reaches the store as DynamoDB sent it.
    let store = Store::Dynamo(DynamoStore::new(
        support::dynamo_client(&proxy.endpoint(), 1),
        TABLE,
    ));

    let session = SessionId::new_random();
    let put = |sk: &str, role: &str| {
        raw.put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S(format!("S#{session}")))
            .item("sk", AttributeValue::S(sk.to_owned()))
            .item("role", AttributeValue::S(role.to_owned()))
            .item("content", AttributeValue::S("hi".to_owned()))
            .item("created_at", AttributeValue::N("1".to_owned()))
            .send()
    };
    put("M#0000000000001#0000000000#aaaaaaaa", "robot")
        .await
        .unwrap();
    let err = store.recent_messages(session, 10).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("robot")),
        "{err}"
    );

    proxy.fail_next(Operation::UpdateItem, Fault::Throughput, 1);
    let err = store
        .admit_request("192.0.2.1", 1, 10, EXPIRES_AT)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Throttled(m) if m.contains("ProvisionedThroughputExceededException")),
        "{err}"
    );
    proxy.fail_next(Operation::PutItem, Fault::InternalServerError, 1);
    let err = store
        .append_message(session, &message(Role::User, "x", 2), EXPIRES_AT)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("InternalServerError")),
        "{err}"
    );
    // A conditional failure of the rate window is the limit being reached, not an error.
    proxy.fail_next(Operation::UpdateItem, Fault::ConditionalCheckFailed, 1);
    assert_eq!(
        store
            .admit_request("192.0.2.2", 1, 10, EXPIRES_AT)
            .await
            .unwrap(),
        Admission::Limited
    );
    proxy.set_down(true);
    let err = store.spent("2026-11-29").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    proxy.set_down(false);
    assert_eq!(store.spent("2026-11-29").await.unwrap(), Spend::default());
}

/// Builds another instance of one store (its own budget cache, the same data) with a layout.
type Instances<'a> = &'a dyn Fn(BudgetLayout) -> Store;

#[tokio::test]
async fn the_sharded_budget_keeps_the_contract_on_both_stores() {
    let (_moto, raw) = support::moto_with_table(TABLE).await;
    let memory = MemoryStore::default();
    let on_memory = |layout| Store::Memory(memory.instance().with_budget(layout));
    let on_dynamo =
        |layout| Store::Dynamo(DynamoStore::new(raw.clone(), TABLE).with_budget(layout));
    let backends: [(&str, Instances); 2] = [("memory", &on_memory), ("dynamodb", &on_dynamo)];

    for (backend, instances) in backends {
        let day = sharded_totals_are_exact_without_a_cache(backend, instances).await;
        // Every shard is its own item with its own partition key, and each expires.
        if backend == "dynamodb" {
            let shards: BTreeSet<String> = support::all_items(&raw, TABLE)
                .await
                .iter()
                .filter(|item| item["sk"].as_s().unwrap() == &day)
                .map(|item| {
                    assert_eq!(
                        item["expires_at"].as_n().unwrap(),
                        &EXPIRES_AT.to_string(),
                        "{item:?}"
                    );
                    item["pk"].as_s().unwrap().clone()
                })
                .collect();
            let expected: BTreeSet<String> = std::iter::once("BUDGET".to_owned())
                .chain((1..8).map(|i| format!("BUDGET#{i}")))
                .collect();
            assert_eq!(shards, expected);
        }
        a_cached_total_misses_only_what_others_added_within_its_window(backend, instances).await;
        a_day_counted_in_one_item_still_counts_once_sharded(backend, instances).await;
    }
}

/// Returns the day it counted.
async fn sharded_totals_are_exact_without_a_cache(
    backend: &str,
    instances: Instances<'_>,
) -> String {
    let day = format!("2026-10-{:02}", 1 + rand_octet() % 28);
    let layout = BudgetLayout::new(8, Duration::ZERO).unwrap();
    let each = Spend {
        tokens: 11,
        micro_usd: 5,
    };
    // Three instances at once, 40 adds each: 120 adds over 8 shards.
    let stores: Vec<Store> = (0..3).map(|_| instances(layout)).collect();
    let adds = stores
        .iter()
        .flat_map(|store| (0..40).map(|_| store.add_spend(&day, each, EXPIRES_AT)));
    let totals: Vec<Spend> = futures_util::future::join_all(adds)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    check_totals(backend, &totals, each);
    let exact = Spend {
        tokens: 120 * 11,
        micro_usd: 120 * 5,
    };
    for store in &stores {
        assert_eq!(store.spent(&day).await.unwrap(), exact, "{backend}");
    }
    assert_eq!(
        instances(layout).spent(&day).await.unwrap(),
        exact,
        "{backend}"
    );
    day
}

/// The bound the cache allows: an instance's total misses at most what other instances added
/// since its last read of the shards began, counts its own additions at once, and is exact
/// again once its window has passed.
async fn a_cached_total_misses_only_what_others_added_within_its_window(
    backend: &str,
    instances: Instances<'_>,
) {
    let day = format!("2026-09-{:02}", 1 + rand_octet() % 28);
    let spend = |tokens: u64| Spend {
        tokens,
        micro_usd: tokens * 3,
    };
    let long = instances(BudgetLayout::new(4, Duration::from_secs(3_600)).unwrap());
    let short = instances(BudgetLayout::new(4, Duration::from_millis(50)).unwrap());
    let other = instances(BudgetLayout::new(4, Duration::ZERO).unwrap());

    other.add_spend(&day, spend(100), EXPIRES_AT).await.unwrap();
    assert_eq!(long.spent(&day).await.unwrap(), spend(100), "{backend}");
    assert_eq!(short.spent(&day).await.unwrap(), spend(100), "{backend}");
    // Another instance adds within both windows: the cached totals miss exactly that.
    other.add_spend(&day, spend(40), EXPIRES_AT).await.unwrap();
    assert_eq!(long.spent(&day).await.unwrap(), spend(100), "{backend}");
    // The instance's own addition counts at once, on top of what it read.
    assert_eq!(
        long.add_spend(&day, spend(2), EXPIRES_AT).await.unwrap(),
        spend(102),
        "{backend}"
    );
    assert_eq!(long.spent(&day).await.unwrap(), spend(102), "{backend}");
    // Exact for an instance without a cache, and for one whose window has passed.
    assert_eq!(other.spent(&day).await.unwrap(), spend(142), "{backend}");
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(short.spent(&day).await.unwrap(), spend(142), "{backend}");
    // Another day is never answered from the cache.
    assert_eq!(
        long.spent("2000-01-01").await.unwrap(),
        Spend::default(),
        "{backend}"
    );
}

/// Shard 0 is the one-item layout's item: what was counted before the budget was sharded
/// still counts after.
async fn a_day_counted_in_one_item_still_counts_once_sharded(
    backend: &str,
    instances: Instances<'_>,
) {
    let day = format!("2026-08-{:02}", 1 + rand_octet() % 28);
    let spend = Spend {
        tokens: 9,
        micro_usd: 1,
    };
    let single = instances(BudgetLayout::default());
    single.add_spend(&day, spend, EXPIRES_AT).await.unwrap();
    let sharded = instances(BudgetLayout::new(16, Duration::ZERO).unwrap());
    assert_eq!(sharded.spent(&day).await.unwrap(), spend, "{backend}");
}
