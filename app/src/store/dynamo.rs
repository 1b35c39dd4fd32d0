//! The DynamoDB store: one table, items as in docs/storage.md.
//!
//! ```text
//! pk                sk                                  attributes
//! S#<session>       M#<13-digit ms>#<10-digit seq>#<rand>  role, content, created_at, model?,
//!                                                        incomplete?, blocked?, expires_at;
//!                                                        answers: input_tokens?, tokens?
//!                                                        (output), cost_micro_usd?,
//!                                                        usage_estimated?, latency_ms?,
//!                                                        stop_reason?, feedback?
//! S#<session>       META                                created_at, updated_at, messages,
//!                                                        expires_at; users mode: owner
//!                                                        (U#<sub>), title, title_from?
//! UQ#<sub>          <yyyy-mm-dd>                        tokens, expires_at
//! RL#<client>       <window start, seconds>             n, expires_at
//! BUDGET            <yyyy-mm-dd>                        tokens, cost_micro_usd, expires_at
//! BUDGET#<shard>    <yyyy-mm-dd>                        tokens, cost_micro_usd, expires_at
//! ```
//!
//! The day's budget is spread over shards 0 to N-1 (see `budget.rs`): shard 0 keeps the
//! one-item layout's key `BUDGET`, so a day counted before the budget was sharded still
//! counts; each other shard has its own partition key, since DynamoDB's per-partition
//! throughput applies to a partition key, not to an item.
//!
//! In `users` mode a chat's `META` item names its owner, and the global secondary index
//! `owner-activity` (partition key `owner`, sort key `updated_at`; only `META` items with an
//! owner are in it) lists a person's chats newest first with one Query, no scan.
//!
//! A message's sort key is its [`MessageId`] with `#` between the parts, so messages sort as
//! their ids do.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, ReturnValue, WriteRequest,
};
use chatbot_contract::table::{
    ACTIVITY_ATTRIBUTE, OWNER_ATTRIBUTE, OWNER_INDEX, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE,
};

use super::budget::{self, BudgetLayout, BudgetShards};
use super::{
    Admission, AnswerDetails, Blocked, Feedback, FeedbackSaved, Message, MessageId, Owner,
    Ownership, Role, SessionCursor, SessionId, SessionPage, SessionSummary, Spend, StopReason,
    StopSaved, StoreError, WITHHELD_TITLE, Window, title_from,
};

/// BatchWriteItem takes at most this many requests.
const BATCH_WRITE_LIMIT: usize = 25;
/// BatchGetItem reads at most this many items.
const BATCH_GET_LIMIT: usize = 100;
/// How often unprocessed deletes or reads are sent again before the store reports throttling.
const BATCH_RETRIES: u32 = 6;
const META_SORT_KEY: &str = "META";
const MESSAGE_PREFIX: &str = "M#";
/// Sorts after every message's sort key (they go on with digits) and before `META`.
const AFTER_LAST_MESSAGE: &str = "M#~";
const BUDGET_PARTITION: &str = "BUDGET";

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    budget: BudgetShards,
}

impl DynamoStore {
    /// The store on `table`, with the day's budget in one uncached item until
    /// [`with_budget`](Self::with_budget) says otherwise.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            budget: BudgetShards::new(BudgetLayout::default()),
        }
    }

    /// Spreads and caches the day's budget as `layout` says.
    pub fn with_budget(self, layout: BudgetLayout) -> Self {
        Self {
            budget: BudgetShards::new(layout),
            ..self
        }
    }

    pub(super) async fn append_message(
        &self,
        session: SessionId,
        owner: Option<&Owner>,
        message: &Message,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            (PARTITION_KEY.to_owned(), s(session_key(session))),
            (SORT_KEY.to_owned(), s(message_sort_key(&message.id))),
            ("role".to_owned(), s(message.role.as_str())),
            ("content".to_owned(), s(&message.content)),
            ("created_at".to_owned(), n(message.created_at_ms)),
            (TTL_ATTRIBUTE.to_owned(), n(expires_at)),
        ]);
        if let Some(model) = &message.model {
            item.insert("model".to_owned(), s(model));
        }
        if let Some(details) = &message.details {
            item.insert("input_tokens".to_owned(), n(details.input_tokens));
            item.insert("tokens".to_owned(), n(details.output_tokens));
            item.insert("latency_ms".to_owned(), n(details.latency_ms));
            item.insert("stop_reason".to_owned(), s(&details.stop_reason));
            if let Some(cost) = details.cost_micro_usd {
                item.insert("cost_micro_usd".to_owned(), n(cost));
            }
            if details.usage_estimated {
                item.insert("usage_estimated".to_owned(), AttributeValue::Bool(true));
            }
        }
        if let Some(feedback) = message.feedback {
            item.insert("feedback".to_owned(), s(feedback.as_str()));
        }
        if message.incomplete {
            item.insert("incomplete".to_owned(), AttributeValue::Bool(true));
        }
        if let Some(blocked) = message.blocked {
            item.insert("blocked".to_owned(), s(blocked.as_str()));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send();
        let meta = self
            .update_item(session_key(session), META_SORT_KEY)
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_names("#updated", ACTIVITY_ATTRIBUTE)
            .expression_attribute_values(":now", n(message.created_at_ms))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":one", n(1));
        let common = "SET created_at = if_not_exists(created_at, :now), #updated = :now, \
                      #expires = :expires";
        let meta = match owner {
            None => meta.update_expression(format!("{common} ADD messages :one")),
            Some(owner) => {
                // A chat is its first writer's; nobody else's message gets in.
                let meta = meta
                    .condition_expression("attribute_not_exists(#pk) OR #owner = :owner")
                    .expression_attribute_names("#pk", PARTITION_KEY)
                    .expression_attribute_names("#owner", OWNER_ATTRIBUTE)
                    .expression_attribute_values(":owner", s(owner_key(owner)));
                if message.role == Role::User {
                    meta.update_expression(format!(
                        "{common}, #owner = :owner, title = if_not_exists(title, :title), \
                         title_from = if_not_exists(title_from, :id) ADD messages :one"
                    ))
                    .expression_attribute_values(":title", s(title_from(&message.content)))
                    .expression_attribute_values(":id", s(message.id.as_str()))
                } else {
                    meta.update_expression(format!("{common}, #owner = :owner ADD messages :one"))
                }
            }
        };
        if owner.is_some() {
            // The owner's claim first: a message is never written into someone else's chat.
            match meta.send().await {
                Ok(_) => {}
                Err(err) if is_condition_failure(&err) => return Err(StoreError::NotOwner),
                Err(err) => return Err(store_error("UpdateItem", err)),
            }
            put.await.map_err(|e| store_error("PutItem", e))?;
            return Ok(());
        }
        let (put, meta) = tokio::join!(put, meta.send());
        put.map_err(|e| store_error("PutItem", e))?;
        meta.map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }

    pub(super) async fn session_summary(
        &self,
        session: SessionId,
    ) -> Result<(Ownership, Option<SessionSummary>), StoreError> {
        let Some(item) = self.get_item(session_key(session), META_SORT_KEY).await? else {
            return Ok((Ownership::None, None));
        };
        let ownership = match item.get(OWNER_ATTRIBUTE).and_then(|v| v.as_s().ok()) {
            None => Ownership::Public,
            Some(key) => Ownership::Owned(Owner::new(
                key.strip_prefix(OWNER_PREFIX).unwrap_or(key).to_owned(),
            )),
        };
        Ok((ownership, Some(read_summary(session, &item)?)))
    }

    pub(super) async fn list_sessions(
        &self,
        owner: &Owner,
        limit: usize,
        after: Option<&SessionCursor>,
    ) -> Result<SessionPage, StoreError> {
        let start_key = after.map(|cursor| {
            HashMap::from([
                (PARTITION_KEY.to_owned(), s(session_key(cursor.session))),
                (SORT_KEY.to_owned(), s(META_SORT_KEY)),
                (OWNER_ATTRIBUTE.to_owned(), s(owner_key(owner))),
                (ACTIVITY_ATTRIBUTE.to_owned(), n(cursor.updated_at_ms)),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OWNER_INDEX)
            .key_condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", OWNER_ATTRIBUTE)
            .expression_attribute_values(":owner", s(owner_key(owner)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(|e| store_error("Query", e))?;
        let sessions = output
            .items()
            .iter()
            .map(|item| {
                let id = item
                    .get(PARTITION_KEY)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|key| key.strip_prefix("S#"))
                    .and_then(SessionId::parse)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("a chat's key is malformed: {item:?}"))
                    })?;
                read_summary(id, item)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // DynamoDB may say there is more when the page ended exactly at the last chat; the
        // next page is then empty, which the client reads as the end.
        let next = output
            .last_evaluated_key
            .is_some()
            .then(|| sessions.last())
            .flatten()
            .map(|last| SessionCursor {
                updated_at_ms: last.updated_at_ms,
                session: last.id,
            });
        Ok(SessionPage { sessions, next })
    }

    pub(super) async fn rename_session(
        &self,
        session: SessionId,
        owner: &Owner,
        title: &str,
    ) -> Result<Option<SessionSummary>, StoreError> {
        let result = self
            .update_item(session_key(session), META_SORT_KEY)
            .update_expression("SET title = :title REMOVE title_from")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", OWNER_ATTRIBUTE)
            .expression_attribute_values(":owner", s(owner_key(owner)))
            .expression_attribute_values(":title", s(title))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(read_summary(
                session,
                &output.attributes.unwrap_or_default(),
            )?)),
            Err(err) if is_condition_failure(&err) => Ok(None),
            Err(err) => Err(store_error("UpdateItem", err)),
        }
    }

    pub(super) async fn user_tokens(&self, owner: &Owner, day: &str) -> Result<u64, StoreError> {
        match self.get_item(quota_key(owner), day).await? {
            None => Ok(0),
            Some(item) => Ok(number(&item, "tokens")?.unwrap_or(0)),
        }
    }

    pub(super) async fn add_user_tokens(
        &self,
        owner: &Owner,
        day: &str,
        tokens: u64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.update_item(quota_key(owner), day)
            .update_expression("ADD tokens :tokens SET #expires = :expires")
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":tokens", n(tokens))
            .expression_attribute_values(":expires", n(expires_at))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }

    pub(super) async fn messages_before(
        &self,
        session: SessionId,
        before: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let last = before.map_or_else(|| AFTER_LAST_MESSAGE.to_owned(), message_sort_key);
        let mut messages = Vec::new();
        let mut start_key = None;
        // Newest first, page by page (a page stops at 1 MB), until `limit` are read. BETWEEN
        // includes `before` itself, which is skipped.
        while messages.len() < limit {
            let wanted = i32::try_from(limit - messages.len() + 1).unwrap_or(i32::MAX);
            let page = self
                .query_session(session)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
                .expression_attribute_values(":first", s(MESSAGE_PREFIX))
                .expression_attribute_values(":last", s(&last))
                .scan_index_forward(false)
                .limit(wanted)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            for item in page.items() {
                let message = read_message(item)?;
                if before != Some(&message.id) {
                    messages.push(message);
                }
            }
            start_key = page.last_evaluated_key;
            if start_key.is_none() {
                break;
            }
        }
        messages.truncate(limit);
        messages.reverse();
        Ok(messages)
    }

    pub(super) async fn withhold_message(
        &self,
        session: SessionId,
        id: &MessageId,
    ) -> Result<bool, StoreError> {
        let result = self
            .update_message(session, id, Role::User)
            .update_expression("SET content = :empty, blocked = :blocked")
            .expression_attribute_values(":empty", s(""))
            .expression_attribute_values(":blocked", s(Blocked::Input.as_str()))
            .send()
            .await;
        let found = match result {
            Ok(_) => true,
            Err(err) if is_condition_failure(&err) => false,
            Err(err) => return Err(store_error("UpdateItem", err)),
        };
        // A chat titled after the withheld message no longer shows its text.
        let retitle = self
            .update_item(session_key(session), META_SORT_KEY)
            .update_expression("SET title = :withheld")
            .condition_expression("title_from = :id")
            .expression_attribute_values(":withheld", s(WITHHELD_TITLE))
            .expression_attribute_values(":id", s(id.as_str()))
            .send()
            .await;
        match retitle {
            Ok(_) => {}
            Err(err) if is_condition_failure(&err) => {}
            Err(err) => return Err(store_error("UpdateItem", err)),
        }
        Ok(found)
    }

    /// An UpdateItem of the message `id` of `session`, on the condition that it exists (it is
    /// not recreated as a stub if the session was deleted meanwhile) and has `role`.
    fn update_message(
        &self,
        session: SessionId,
        id: &MessageId,
        role: Role,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.update_item(session_key(session), message_sort_key(id))
            .condition_expression("attribute_exists(#pk) AND #role = :role")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(role.as_str()))
    }

    pub(super) async fn truncate_session(
        &self,
        session: SessionId,
        from: &MessageId,
    ) -> Result<bool, StoreError> {
        let first = message_sort_key(from);
        let mut keys = Vec::new();
        let mut start_key = None;
        loop {
            let page = self
                .query_session(session)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
                .projection_expression("#pk, #sk, #role")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":first", s(&first))
                .expression_attribute_values(":last", s(AFTER_LAST_MESSAGE))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            if keys.is_empty() {
                let starts_with_the_prompt = page.items().first().is_some_and(|item| {
                    item.get(SORT_KEY).and_then(|v| v.as_s().ok()) == Some(&first)
                        && item
                            .get("role")
                            .and_then(|v| v.as_s().ok())
                            .map(String::as_str)
                            == Some(Role::User.as_str())
                });
                if !starts_with_the_prompt {
                    return Ok(false);
                }
            }
            keys.extend(page.items().iter().map(item_key));
            start_key = page.last_evaluated_key;
            if start_key.is_none() {
                break;
            }
        }
        for chunk in keys.chunks(BATCH_WRITE_LIMIT) {
            self.delete_keys(chunk).await?;
        }
        // The count is kept for people reading the table; a session deleted meanwhile is not
        // recreated for it.
        let count = self
            .update_item(session_key(session), META_SORT_KEY)
            .update_expression("ADD messages :dropped")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":dropped", n(-(keys.len() as i64)))
            .send()
            .await;
        match count {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(true),
            Err(err) => Err(store_error("UpdateItem", err)),
        }
    }

    pub(super) async fn set_feedback(
        &self,
        session: SessionId,
        id: &MessageId,
        feedback: Option<Feedback>,
    ) -> Result<FeedbackSaved, StoreError> {
        let update = self
            .update_message(session, id, Role::Assistant)
            .return_values(ReturnValue::UpdatedOld);
        let update = match feedback {
            Some(feedback) => update
                .update_expression("SET feedback = :feedback")
                .expression_attribute_values(":feedback", s(feedback.as_str())),
            None => update.update_expression("REMOVE feedback"),
        };
        match update.send().await {
            Ok(output) => {
                let old = output.attributes.unwrap_or_default();
                Ok(FeedbackSaved::Saved {
                    previous: old
                        .get("feedback")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|text| Feedback::parse(text)),
                })
            }
            Err(err) if is_condition_failure(&err) => Ok(FeedbackSaved::NoSuchAnswer),
            Err(err) => Err(store_error("UpdateItem", err)),
        }
    }

    pub(super) async fn stop_answer(
        &self,
        session: SessionId,
        id: &MessageId,
        chars: usize,
    ) -> Result<StopSaved, StoreError> {
        // Read, cut, and write on the condition that nothing changed the text meanwhile (a
        // second Stop for the same answer, say); then read again.
        for _ in 0..3 {
            let Some(item) = self
                .get_item(session_key(session), message_sort_key(id))
                .await?
            else {
                return Ok(StopSaved::NoSuchAnswer);
            };
            let answer = read_message(&item)?;
            if answer.role != Role::Assistant {
                return Ok(StopSaved::NoSuchAnswer);
            }
            let Some(kept) = super::first_chars(&answer.content, chars) else {
                return Ok(StopSaved::TooShort {
                    chars: answer.content.chars().count(),
                });
            };
            let result = self
                .update_message(session, id, Role::Assistant)
                .update_expression(
                    "SET content = :kept, incomplete = :true, stop_reason = :stopped",
                )
                .condition_expression("attribute_exists(#pk) AND #role = :role AND content = :was")
                .expression_attribute_values(":kept", s(kept))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":stopped", s(StopReason::STOPPED))
                .expression_attribute_values(":was", s(&answer.content))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match result {
                Ok(output) => {
                    return Ok(StopSaved::Saved(read_message(
                        &output.attributes.unwrap_or_default(),
                    )?));
                }
                Err(err) if is_condition_failure(&err) => continue,
                Err(err) => return Err(store_error("UpdateItem", err)),
            }
        }
        Err(StoreError::Throttled(
            "the answer kept changing while it was being cut".to_owned(),
        ))
    }

    pub(super) async fn delete_session(&self, session: SessionId) -> Result<bool, StoreError> {
        let mut found = false;
        let mut start_key = None;
        loop {
            let page = self
                .query_session(session)
                .key_condition_expression("#pk = :pk")
                .projection_expression("#pk, #sk")
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            let keys: Vec<_> = page.items().iter().map(item_key).collect();
            found |= !keys.is_empty();
            for chunk in keys.chunks(BATCH_WRITE_LIMIT) {
                self.delete_keys(chunk).await?;
            }
            start_key = page.last_evaluated_key;
            if start_key.is_none() {
                return Ok(found);
            }
        }
    }

    /// Deletes up to 25 items, sending what DynamoDB leaves unprocessed again with backoff.
    async fn delete_keys(
        &self,
        keys: &[HashMap<String, AttributeValue>],
    ) -> Result<(), StoreError> {
        let mut requests = keys
            .iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key.clone()))
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for attempt in 0..=BATCH_RETRIES {
            back_off(attempt).await;
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| store_error("BatchWriteItem", e))?;
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(&self.table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
        }
        Err(StoreError::Throttled(format!(
            "BatchWriteItem left {} deletes unprocessed after {BATCH_RETRIES} retries",
            requests.len()
        )))
    }

    pub(super) async fn admit_request(
        &self,
        client: &str,
        window_start: i64,
        limit: u32,
        expires_at: i64,
    ) -> Result<Window, StoreError> {
        let result = self
            .update_item(format!("RL#{client}"), window_start.to_string())
            .update_expression("ADD n :one SET #expires = :expires")
            .condition_expression("attribute_not_exists(n) OR n < :limit")
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n(expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Window {
                admission: Admission::Admitted,
                used: number(&output.attributes.unwrap_or_default(), "n")?.unwrap_or(1),
            }),
            Err(err) if is_condition_failure(&err) => Ok(Window {
                admission: Admission::Limited,
                used: limit,
            }),
            Err(err) => Err(store_error("UpdateItem", err)),
        }
    }

    pub(super) async fn add_spend(
        &self,
        day: &str,
        spend: Spend,
        expires_at: i64,
    ) -> Result<Spend, StoreError> {
        self.update_item(budget_partition(self.budget.pick()), day)
            .update_expression("ADD tokens :tokens, cost_micro_usd :cost SET #expires = :expires")
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":tokens", n(spend.tokens))
            .expression_attribute_values(":cost", n(spend.micro_usd))
            .expression_attribute_values(":expires", n(expires_at))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        self.budget.added(day, spend);
        self.spent(day).await
    }

    pub(super) async fn spent(&self, day: &str) -> Result<Spend, StoreError> {
        if let Some(total) = self.budget.cached(day) {
            return Ok(total);
        }
        let _reading = self.budget.read_alone().await;
        if let Some(total) = self.budget.cached(day) {
            return Ok(total);
        }
        let read_at = Instant::now();
        let keys: Vec<_> = (0..self.budget.layout().shards())
            .map(|shard| {
                HashMap::from([
                    (PARTITION_KEY.to_owned(), s(budget_partition(shard))),
                    (SORT_KEY.to_owned(), s(day)),
                ])
            })
            .collect();
        let mut total = Spend::default();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            for item in self.get_items(chunk).await? {
                // A day's item written before dollars were counted has no cost attribute.
                let shard = Spend {
                    tokens: number(&item, "tokens")?.unwrap_or(0),
                    micro_usd: number(&item, "cost_micro_usd")?.unwrap_or(0),
                };
                total = budget::add(total, shard);
            }
        }
        Ok(self.budget.store(day, total, read_at))
    }

    /// Reads up to 100 items with strong consistency, asking again with backoff for what
    /// DynamoDB leaves unprocessed. Items that do not exist are left out.
    async fn get_items(
        &self,
        keys: &[HashMap<String, AttributeValue>],
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut pending = budget_read(keys.to_vec())?;
        let mut items = Vec::new();
        for attempt in 0..=BATCH_RETRIES {
            back_off(attempt).await;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|e| store_error("BatchGetItem", e))?;
            items.extend(
                output
                    .responses
                    .and_then(|mut found| found.remove(&self.table))
                    .unwrap_or_default(),
            );
            match output
                .unprocessed_keys
                .and_then(|mut left| left.remove(&self.table))
                .filter(|left| !left.keys().is_empty())
            {
                Some(left) => pending = left,
                None => return Ok(items),
            }
        }
        Err(StoreError::Throttled(format!(
            "BatchGetItem left {} budget shards unread after {BATCH_RETRIES} retries",
            pending.keys().len()
        )))
    }

    /// A strongly consistent GetItem of the item with keys `pk` and `sk`; `None` when there
    /// is none.
    async fn get_item(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        Ok(output.item)
    }

    /// A strongly consistent Query of `session`'s items, with `#pk`, `#sk` and `:pk` (the
    /// session's partition key) set for the key condition.
    fn query_session(
        &self,
        session: SessionId,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":pk", s(session_key(session)))
    }

    /// An UpdateItem of the item with keys `pk` and `sk`.
    fn update_item(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
    }
}

/// Waits before a batch's `attempt`th try at what DynamoDB left unprocessed: nothing before the
/// first, then exponentially longer.
async fn back_off(attempt: u32) {
    if attempt > 0 {
        tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
    }
}

/// Shard 0 is the one-item layout's key.
fn budget_partition(shard: u32) -> String {
    match shard {
        0 => BUDGET_PARTITION.to_owned(),
        shard => format!("{BUDGET_PARTITION}#{shard}"),
    }
}

/// A strongly consistent read of budget shards' totals.
fn budget_read(
    keys: Vec<HashMap<String, AttributeValue>>,
) -> Result<KeysAndAttributes, StoreError> {
    KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(true)
        .projection_expression("#tokens, #cost")
        .expression_attribute_names("#tokens", "tokens")
        .expression_attribute_names("#cost", "cost_micro_usd")
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

const OWNER_PREFIX: &str = "U#";

/// The `owner` attribute of a person's chats.
fn owner_key(owner: &Owner) -> String {
    format!("{OWNER_PREFIX}{}", owner.as_str())
}

/// The partition of a person's daily token counts.
fn quota_key(owner: &Owner) -> String {
    format!("UQ#{}", owner.as_str())
}

/// A chat's summary from its `META` item.
fn read_summary(
    session: SessionId,
    item: &HashMap<String, AttributeValue>,
) -> Result<SessionSummary, StoreError> {
    let required = |name: &str| {
        number::<i64>(item, name)?
            .ok_or_else(|| StoreError::Corrupt(format!("the chat {session} has no {name}")))
    };
    Ok(SessionSummary {
        id: session,
        title: item
            .get("title")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        created_at_ms: required("created_at")?,
        updated_at_ms: required(ACTIVITY_ATTRIBUTE)?,
        messages: number::<i64>(item, "messages")?.unwrap_or(0).max(0) as u64,
        expires_at: required(TTL_ATTRIBUTE)?,
    })
}

fn session_key(session: SessionId) -> String {
    format!("S#{session}")
}

fn message_sort_key(id: &MessageId) -> String {
    format!("{MESSAGE_PREFIX}{}", id.as_str().replace('-', "#"))
}

/// The key attributes of `item`.
fn item_key(item: &HashMap<String, AttributeValue>) -> HashMap<String, AttributeValue> {
    item.iter()
        .filter(|(name, _)| *name == PARTITION_KEY || *name == SORT_KEY)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

fn is_condition_failure<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn read_message(item: &HashMap<String, AttributeValue>) -> Result<Message, StoreError> {
    let key = item
        .get(SORT_KEY)
        .and_then(|v| v.as_s().ok())
        .map_or("?", String::as_str);
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let role = match text("role").as_deref() {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        other => {
            return Err(StoreError::Corrupt(format!(
                "message {key} has role {other:?}, not \"user\" or \"assistant\""
            )));
        }
    };
    let content = text("content")
        .ok_or_else(|| StoreError::Corrupt(format!("message {key} has no text content")))?;
    let created_at_ms = number(item, "created_at")?
        .ok_or_else(|| StoreError::Corrupt(format!("message {key} has no created_at")))?;
    let id = key
        .strip_prefix(MESSAGE_PREFIX)
        .and_then(|rest| MessageId::parse(&rest.replace('#', "-")))
        .ok_or_else(|| StoreError::Corrupt(format!("message {key} has a malformed sort key")))?;
    // Answers saved before these were kept have only their output tokens: no details.
    let details = match (
        number(item, "input_tokens")?,
        number(item, "tokens")?,
        number(item, "latency_ms")?,
        text("stop_reason"),
    ) {
        (Some(input_tokens), Some(output_tokens), Some(latency_ms), Some(stop_reason)) => {
            Some(AnswerDetails {
                input_tokens,
                output_tokens,
                cost_micro_usd: number(item, "cost_micro_usd")?,
                usage_estimated: item
                    .get("usage_estimated")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false),
                latency_ms,
                stop_reason,
            })
        }
        _ => None,
    };
    let feedback = match text("feedback").as_deref() {
        None => None,
        Some(value) => Some(Feedback::parse(value).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "message {key} has feedback {value:?}, not \"up\" or \"down\""
            ))
        })?),
    };
    Ok(Message {
        id,
        role,
        content,
        created_at_ms,
        model: text("model"),
        details,
        feedback,
        incomplete: item
            .get("incomplete")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        blocked: match text("blocked").as_deref() {
            None => None,
            Some("input") => Some(Blocked::Input),
            Some("output") => Some(Blocked::Output),
            Some(other) => {
                return Err(StoreError::Corrupt(format!(
                    "message {key} is blocked by {other:?}, not \"input\" or \"output\""
                )));
            }
        },
    })
}

/// A number attribute, `None` when absent; an attribute of another type or out of range is
/// corrupt.
fn number<T: std::str::FromStr>(
    item: &HashMap<String, AttributeValue>,
    name: &str,
) -> Result<Option<T>, StoreError> {
    let Some(value) = item.get(name) else {
        return Ok(None);
    };
    value
        .as_n()
        .ok()
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is not a number: {value:?}")))
}

/// Throttling is worth telling apart (the caller answers 503 with a retry hint and counts it);
/// every other failure means the store could not be used.
fn store_error<E, R>(operation: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default().to_owned();
    let detail = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{operation}: {code}: {message}"),
        (Some(code), None) => format!("{operation}: {code}"),
        _ => format!(
            "{operation}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(&err)
        ),
    };
    match code.as_str() {
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => StoreError::Throttled(detail),
        _ => StoreError::Unavailable(detail),
    }
}
