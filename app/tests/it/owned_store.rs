//! The store's contract for chats that belong to people (`users` mode), checked the same way on
//! both back ends: the DynamoDB store through the real SDK against a `moto_server` this file
//! starts (the table with its `owner-activity` index, as the stack defines it), and the
//! in-memory store. Listing newest activity first and paging, renaming, deleting, isolation
//! between people, the TTL attribute on every item, and each person's daily tokens.

use chatbot::store::{
    DynamoStore, Message, Owner, Ownership, Role, SessionCursor, SessionId, Store, StoreError,
    WITHHELD_TITLE,
};

use crate::support::{self, on_both};

const TABLE: &str = "chatbot-owned";
const EXPIRES_AT: i64 = 1_900_000_000;

/// A new chat of `owner` with a question at `at_ms` and its answer a second later.
async fn chat_of(store: &Store, owner: &Owner, question: &str, at_ms: i64) -> SessionId {
    let session = SessionId::new_random();
    let q = Message::new(Role::User, question, at_ms);
    store
        .append_owned_message(session, owner, &q, EXPIRES_AT)
        .await
        .unwrap();
    let a = Message::new(Role::Assistant, "An answer.", at_ms + 1_000);
    store
        .append_owned_message(session, owner, &a, EXPIRES_AT + 1)
        .await
        .unwrap();
    session
}

fn person(name: &str) -> Owner {
    // Unique per run, so the two back ends and the tests never share a person.
    Owner::new(format!("{name}-{}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn both_stores_keep_the_owned_chats_contract() {
    let (_moto, raw) = support::moto_with_table(TABLE).await;
    let dynamo = Store::Dynamo(DynamoStore::new(raw.clone(), TABLE));

    on_both(&dynamo, chats_are_listed_newest_activity_first).await;
    on_both(&dynamo, listing_pages_with_a_cursor).await;
    on_both(&dynamo, a_chat_is_renamed_by_its_owner_only).await;
    on_both(&dynamo, a_deleted_chat_leaves_the_list).await;
    on_both(&dynamo, people_never_see_or_write_each_others_chats).await;
    on_both(&dynamo, a_withheld_first_message_does_not_title_the_chat).await;
    on_both(&dynamo, each_persons_tokens_add_up_per_day).await;

    // What only DynamoDB can show: every item has its TTL attribute, and a chat's summary
    // item carries the index's keys.
    let items = support::all_items(&raw, TABLE).await;
    assert!(
        items
            .iter()
            .any(|item| item["pk"].as_s().unwrap().starts_with("UQ#"))
    );
    assert!(items.iter().any(|item| item.contains_key("owner")));
    for item in &items {
        let (pk, sk) = (item["pk"].as_s().unwrap(), item["sk"].as_s().unwrap());
        assert!(
            item.get("expires_at")
                .and_then(|v| v.as_n().ok())
                .is_some_and(|n| n.parse::<i64>().is_ok()),
            "item {pk} {sk} has no numeric expires_at"
        );
        if sk == "META" {
            // The public chat of one test has no owner, and so is not in the index.
            if let Some(owner) = item.get("owner") {
                assert!(owner.as_s().unwrap().starts_with("U#"), "{pk}");
            }
            assert!(item["updated_at"].as_n().is_ok(), "{pk}");
        }
    }
}

async fn chats_are_listed_newest_activity_first(backend: &'static str, store: &Store) {
    let alice = person("alice");
    let first = chat_of(store, &alice, "First question", 1_000_000).await;
    let second = chat_of(store, &alice, "Second question", 2_000_000).await;
    let third = chat_of(store, &alice, "Third question", 3_000_000).await;
    // New activity moves the first chat to the top.
    let later = Message::new(Role::User, "Back to the first", 4_000_000);
    store
        .append_owned_message(first, &alice, &later, EXPIRES_AT + 2)
        .await
        .unwrap();

    let page = store.list_sessions(&alice, 10, None).await.unwrap();
    let ids: Vec<SessionId> = page.sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids, [first, third, second], "{backend}");
    assert_eq!(page.next, None, "{backend}");
    let top = &page.sessions[0];
    assert_eq!(
        top.title, "First question",
        "{backend}: the first message titles it"
    );
    assert_eq!(top.messages, 3, "{backend}");
    assert_eq!(top.created_at_ms, 1_000_000, "{backend}");
    assert_eq!(top.updated_at_ms, 4_000_000, "{backend}");
    assert_eq!(
        top.expires_at,
        EXPIRES_AT + 2,
        "{backend}: the TTL follows the last message"
    );
}

async fn listing_pages_with_a_cursor(backend: &'static str, store: &Store) {
    let alice = person("alice");
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(chat_of(store, &alice, &format!("Chat {i}"), 10_000_000 + i * 10_000).await);
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<SessionCursor> = None;
    for _ in 0..10 {
        let page = store
            .list_sessions(&alice, 3, cursor.as_ref())
            .await
            .unwrap();
        assert!(page.sessions.len() <= 3, "{backend}");
        seen.extend(page.sessions.iter().map(|s| s.id));
        // A cursor travels as text.
        cursor = page
            .next
            .map(|c| SessionCursor::parse(&c.encode()).unwrap());
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, made, "{backend}: every chat once, newest first");
}

async fn a_chat_is_renamed_by_its_owner_only(backend: &'static str, store: &Store) {
    let alice = person("alice");
    let bob = person("bob");
    let chat = chat_of(store, &alice, "Untitled thoughts", 5_000_000).await;
    assert_eq!(
        store.rename_session(chat, &bob, "Mine now").await.unwrap(),
        None,
        "{backend}"
    );
    let renamed = store
        .rename_session(chat, &alice, "Trip to Lisbon")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.title, "Trip to Lisbon", "{backend}");
    assert_eq!(renamed.messages, 2, "{backend}");
    // A later message keeps the new title.
    let more = Message::new(Role::User, "And the hotels?", 6_000_000);
    store
        .append_owned_message(chat, &alice, &more, EXPIRES_AT)
        .await
        .unwrap();
    let page = store.list_sessions(&alice, 10, None).await.unwrap();
    assert_eq!(page.sessions[0].title, "Trip to Lisbon", "{backend}");
    assert_eq!(
        store
            .rename_session(SessionId::new_random(), &alice, "x")
            .await
            .unwrap(),
        None,
        "{backend}: no such chat"
    );
}

async fn a_deleted_chat_leaves_the_list(backend: &'static str, store: &Store) {
    let alice = person("alice");
    let kept = chat_of(store, &alice, "Keep me", 1_000).await;
    let gone = chat_of(store, &alice, "Delete me", 2_000).await;
    assert!(store.delete_session(gone).await.unwrap(), "{backend}");
    let page = store.list_sessions(&alice, 10, None).await.unwrap();
    let ids: Vec<SessionId> = page.sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids, [kept], "{backend}");
    assert_eq!(
        store.ownership(gone).await.unwrap(),
        Ownership::None,
        "{backend}"
    );
    assert!(
        store.recent_messages(gone, 10).await.unwrap().is_empty(),
        "{backend}"
    );
}

async fn people_never_see_or_write_each_others_chats(backend: &'static str, store: &Store) {
    let alice = person("alice");
    let bob = person("bob");
    let hers = chat_of(store, &alice, "Alice's secret", 1_000).await;
    let his = chat_of(store, &bob, "Bob's plan", 2_000).await;

    let listed = |page: chatbot::store::SessionPage| -> Vec<SessionId> {
        page.sessions.iter().map(|s| s.id).collect()
    };
    assert_eq!(
        listed(store.list_sessions(&alice, 10, None).await.unwrap()),
        [hers],
        "{backend}"
    );
    assert_eq!(
        listed(store.list_sessions(&bob, 10, None).await.unwrap()),
        [his],
        "{backend}"
    );
    assert_eq!(
        store.ownership(hers).await.unwrap(),
        Ownership::Owned(alice.clone()),
        "{backend}"
    );

    // Bob writing into Alice's chat is refused and changes nothing.
    let intrusion = Message::new(Role::User, "Bob was here", 3_000);
    let err = store
        .append_owned_message(hers, &bob, &intrusion, EXPIRES_AT)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotOwner), "{backend}: {err}");
    let messages = store.recent_messages(hers, 10).await.unwrap();
    assert_eq!(messages.len(), 2, "{backend}");
    assert!(
        messages.iter().all(|m| m.content != "Bob was here"),
        "{backend}"
    );

    // A chat of public mode is nobody's, and nobody can take it over.
    let public = SessionId::new_random();
    store
        .append_message(public, &Message::new(Role::User, "anon", 1), EXPIRES_AT)
        .await
        .unwrap();
    assert_eq!(
        store.ownership(public).await.unwrap(),
        Ownership::Public,
        "{backend}"
    );
    let err = store
        .append_owned_message(public, &alice, &intrusion, EXPIRES_AT)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotOwner), "{backend}: {err}");
    assert!(
        listed(store.list_sessions(&alice, 10, None).await.unwrap()) == [hers],
        "{backend}"
    );
}

async fn a_withheld_first_message_does_not_title_the_chat(backend: &'static str, store: &Store) {
    let alice = person("alice");
    let session = SessionId::new_random();
    let card = Message::new(Role::User, "My card is 4111 1111 1111 1111", 1_000);
    store
        .append_owned_message(session, &alice, &card, EXPIRES_AT)
        .await
        .unwrap();
    assert!(store.withhold_message(session, &card.id).await.unwrap());
    let page = store.list_sessions(&alice, 10, None).await.unwrap();
    assert_eq!(page.sessions[0].title, WITHHELD_TITLE, "{backend}");
}

async fn each_persons_tokens_add_up_per_day(backend: &'static str, store: &Store) {
    let alice = person("alice");
    let bob = person("bob");
    assert_eq!(
        store.user_tokens(&alice, "2026-12-03").await.unwrap(),
        0,
        "{backend}"
    );
    for tokens in [120, 80] {
        store
            .add_user_tokens(&alice, "2026-12-03", tokens, EXPIRES_AT)
            .await
            .unwrap();
    }
    store
        .add_user_tokens(&alice, "2026-12-04", 5, EXPIRES_AT)
        .await
        .unwrap();
    store
        .add_user_tokens(&bob, "2026-12-03", 7, EXPIRES_AT)
        .await
        .unwrap();
    assert_eq!(
        store.user_tokens(&alice, "2026-12-03").await.unwrap(),
        200,
        "{backend}"
    );
    assert_eq!(
        store.user_tokens(&alice, "2026-12-04").await.unwrap(),
        5,
        "{backend}"
    );
    assert_eq!(
        store.user_tokens(&bob, "2026-12-03").await.unwrap(),
        7,
        "{backend}"
    );
}
