//! The DynamoDB store: one table, items as ARCHITECTURE.md ("The table and its hot keys") lays them out.
//!
//! ```text
//! pk                sk                                  attributes
//! S#<session>       M#<13-digit ms>#<10-digit seq>#<rand>  role, content, created_at, model?,
//!                                                        tokens?, input_tokens?,
//!                                                        cost_micro_usd?, usage_estimated?,
//!                                                        incomplete?, blocked?, expires_at
//! S#<session>       META                                created_at, updated_at, messages,
//!                                                        expires_at
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
//! Message sort keys sort by time, then by the order this process wrote them (two messages in
//! the same millisecond keep their order), and end with a random part so two instances writing
//! to one session at once never overwrite each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, WriteRequest};
use chatbot_contract::table::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

use super::budget::{self, BudgetLayout, BudgetShards};
use super::{Admission, Blocked, Message, Role, SessionId, Spend, StoreError};

/// BatchWriteItem takes at most this many requests.
const BATCH_WRITE_LIMIT: usize = 25;
/// BatchGetItem reads at most this many items.
const BATCH_GET_LIMIT: usize = 100;
/// How often unprocessed deletes or reads are sent again before the store reports throttling.
const BATCH_RETRIES: u32 = 6;
const META_SORT_KEY: &str = "META";
const MESSAGE_PREFIX: &str = "M#";
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
        message: &Message,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            (PARTITION_KEY.to_owned(), s(session_key(session))),
            (
                SORT_KEY.to_owned(),
                s(message_sort_key(message.created_at_ms)),
            ),
            ("role".to_owned(), s(message.role.as_str())),
            ("content".to_owned(), s(&message.content)),
            ("created_at".to_owned(), n(message.created_at_ms)),
            (TTL_ATTRIBUTE.to_owned(), n(expires_at)),
        ]);
        if let Some(model) = &message.model {
            item.insert("model".to_owned(), s(model));
        }
        if let Some(tokens) = message.tokens {
            item.insert("tokens".to_owned(), n(tokens));
        }
        if let Some(tokens) = message.input_tokens {
            item.insert("input_tokens".to_owned(), n(tokens));
        }
        if let Some(cost) = message.cost_micro_usd {
            item.insert("cost_micro_usd".to_owned(), n(cost));
        }
        if message.usage_estimated {
            item.insert("usage_estimated".to_owned(), AttributeValue::Bool(true));
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
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(session_key(session)))
            .key(SORT_KEY, s(META_SORT_KEY))
            .update_expression(
                "SET created_at = if_not_exists(created_at, :now), updated_at = :now, \
                 #expires = :expires ADD messages :one",
            )
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(message.created_at_ms))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":one", n(1))
            .send();
        let (put, meta) = tokio::join!(put, meta);
        put.map_err(|e| store_error("PutItem", e))?;
        meta.map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }

    pub(super) async fn recent_messages(
        &self,
        session: SessionId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let mut messages = Vec::new();
        let mut start_key = None;
        // Newest first, page by page (a page stops at 1 MB), until `limit` are read.
        while messages.len() < limit {
            let wanted = i32::try_from(limit - messages.len()).unwrap_or(i32::MAX);
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_values(":pk", s(session_key(session)))
                .expression_attribute_values(":prefix", s(MESSAGE_PREFIX))
                .scan_index_forward(false)
                .limit(wanted)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            for item in page.items() {
                messages.push(read_message(item)?);
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
        created_at_ms: i64,
    ) -> Result<bool, StoreError> {
        // The sort keys of the messages written in that millisecond start alike.
        let written_then = format!("{MESSAGE_PREFIX}{:013}#", created_at_ms.max(0));
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":pk", s(session_key(session)))
            .expression_attribute_values(":prefix", s(written_then))
            .send()
            .await
            .map_err(|e| store_error("Query", e))?;
        let Some(key) = page.items().iter().rev().find_map(|item| {
            let is_user = item
                .get("role")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(Role::User.as_str());
            let sort_key = item.get(SORT_KEY)?;
            is_user.then(|| sort_key.clone())
        }) else {
            return Ok(false);
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(session_key(session)))
            .key(SORT_KEY, key)
            .update_expression("SET content = :empty, blocked = :blocked")
            // Not recreated as a stub if the session was deleted meanwhile.
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":empty", s(""))
            .expression_attribute_values(":blocked", s(Blocked::Input.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error("UpdateItem", err)),
        }
    }

    pub(super) async fn delete_session(&self, session: SessionId) -> Result<bool, StoreError> {
        let mut found = false;
        let mut start_key = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_values(":pk", s(session_key(session)))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            let keys: Vec<_> = page
                .items()
                .iter()
                .map(|item| {
                    let key: HashMap<_, _> = item
                        .iter()
                        .filter(|(name, _)| *name == PARTITION_KEY || *name == SORT_KEY)
                        .map(|(name, value)| (name.clone(), value.clone()))
                        .collect();
                    key
                })
                .collect();
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
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
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
    ) -> Result<Admission, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(format!("RL#{client}")))
            .key(SORT_KEY, s(window_start.to_string()))
            .update_expression("ADD n :one SET #expires = :expires")
            .condition_expression("attribute_not_exists(n) OR n < :limit")
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n(expires_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Admission::Admitted),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Admission::Limited)
            }
            Err(err) => Err(store_error("UpdateItem", err)),
        }
    }

    pub(super) async fn add_spend(
        &self,
        day: &str,
        spend: Spend,
        expires_at: i64,
    ) -> Result<Spend, StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(budget_partition(self.budget.pick())))
            .key(SORT_KEY, s(day))
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
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
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
}

/// Shard 0 is the one-item layout's key.
fn budget_partition(shard: u32) -> String {
    match shard {
        0 => BUDGET_PARTITION.to_owned(),
        shard => format!("{BUDGET_PARTITION}#{shard}"),
    }
}

impl DynamoStore {
    /// A read of the day's first budget shard, in one attempt: it only opens the connection,
    /// and a store that does not answer at once is left for the first request.
    pub(super) async fn open_connection(&self, day: &str) -> Result<(), StoreError> {
        let key = HashMap::from([
            (PARTITION_KEY.to_owned(), s(budget_partition(0))),
            (SORT_KEY.to_owned(), s(day)),
        ]);
        self.client
            .batch_get_item()
            .request_items(&self.table, budget_read(vec![key])?)
            .customize()
            .config_override(
                aws_sdk_dynamodb::Config::builder()
                    .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("BatchGetItem", e))
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

fn session_key(session: SessionId) -> String {
    format!("S#{session}")
}

fn message_sort_key(created_at_ms: i64) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 10_000_000_000;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{MESSAGE_PREFIX}{:013}#{seq:010}#{}",
        created_at_ms.max(0),
        &random[..8]
    )
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
    Ok(Message {
        role,
        content,
        created_at_ms,
        model: text("model"),
        tokens: number(item, "tokens")?,
        input_tokens: number(item, "input_tokens")?,
        cost_micro_usd: number(item, "cost_micro_usd")?,
        usage_estimated: item
            .get("usage_estimated")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
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
