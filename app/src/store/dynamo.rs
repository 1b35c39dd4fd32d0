//! The DynamoDB store: items as in DESIGN.md ("DynamoDB items").

use super::{Admission, Message, SessionId, StoreError};

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn unbuilt(&self) -> StoreError {
        let _ = &self.client;
        StoreError::Unavailable(format!(
            "the DynamoDB store for table {} is not built yet",
            self.table
        ))
    }

    pub(super) async fn append_message(
        &self,
        _s: SessionId,
        _m: &Message,
        _e: i64,
    ) -> Result<(), StoreError> {
        Err(self.unbuilt())
    }

    pub(super) async fn recent_messages(
        &self,
        _s: SessionId,
        _l: usize,
    ) -> Result<Vec<Message>, StoreError> {
        Err(self.unbuilt())
    }

    pub(super) async fn delete_session(&self, _s: SessionId) -> Result<bool, StoreError> {
        Err(self.unbuilt())
    }

    pub(super) async fn admit_request(
        &self,
        _c: &str,
        _w: i64,
        _l: u32,
        _e: i64,
    ) -> Result<Admission, StoreError> {
        Err(self.unbuilt())
    }

    pub(super) async fn add_tokens(&self, _d: &str, _t: u64, _e: i64) -> Result<u64, StoreError> {
        Err(self.unbuilt())
    }

    pub(super) async fn tokens_spent(&self, _d: &str) -> Result<u64, StoreError> {
        Err(self.unbuilt())
    }
}
