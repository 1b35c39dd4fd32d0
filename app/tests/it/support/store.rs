//! What the store tests share: a `moto_server` with the service's table, the table's items read
//! straight from DynamoDB, and a check run on both back ends.

use std::collections::HashMap;

use aws_sdk_dynamodb as dynamo;
use chatbot::store::Store;
use dynamo::types::AttributeValue;
use testkit::moto::MotoServer;

use super::{create_table, dynamo_client, memory_store};

/// A `moto_server` with `table` in it as the stack defines it, and a client of it that makes up
/// to three attempts per call.
pub async fn moto_with_table(table: &str) -> (MotoServer, dynamo::Client) {
    let moto = MotoServer::start().expect("moto_server starts");
    let client = dynamo_client(&moto.endpoint(), 3);
    create_table(&client, table).await;
    (moto, client)
}

/// Every item in `table`, read straight from DynamoDB.
pub async fn all_items(
    client: &dynamo::Client,
    table: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Runs `check` on a new in-memory store and on `dynamo`, naming the back end when it fails.
pub async fn on_both(dynamo: &Store, check: impl AsyncFn(&'static str, &Store)) {
    check("memory", &memory_store()).await;
    check("dynamodb", dynamo).await;
}
