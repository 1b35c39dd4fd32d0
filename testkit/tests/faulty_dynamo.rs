//! The failing DynamoDB endpoint with the real SDK client in front and moto_server behind:
//! forwarded requests work, each fault reaches the client as DynamoDB's own error, rules are
//! consumed per operation and count, and a down endpoint cannot be reached.

use aws_sdk_dynamodb as dynamo;
use dynamo::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use testkit::faulty_dynamo::{Fault, FaultyDynamo, Operation};
use testkit::moto::MotoServer;
use testkit::partition_meter::PartitionLimits;

fn client(endpoint: &str, attempts: u32) -> dynamo::Client {
    let config = dynamo::Config::builder()
        .behavior_version(dynamo::config::BehaviorVersion::latest())
        .region(dynamo::config::Region::new("us-east-1"))
        .credentials_provider(dynamo::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .retry_config(dynamo::config::retry::RetryConfig::standard().with_max_attempts(attempts))
        .build();
    dynamo::Client::from_conf(config)
}

async fn create_table(client: &dynamo::Client) {
    client
        .create_table()
        .table_name("t")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("the table is created through the proxy");
}

async fn put(client: &dynamo::Client, key: &str) -> Result<(), String> {
    client
        .put_item()
        .table_name("t")
        .item("pk", AttributeValue::S(key.to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(|err| {
            use dynamo::error::ProvideErrorMetadata;
            err.code().map_or_else(
                || {
                    format!(
                        "{}",
                        aws_smithy_types::error::display::DisplayErrorContext(&err)
                    )
                },
                str::to_owned,
            )
        })
}

async fn exists(client: &dynamo::Client, key: &str) -> bool {
    client
        .get_item()
        .table_name("t")
        .key("pk", AttributeValue::S(key.to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

#[tokio::test]
async fn forwards_fails_on_demand_and_goes_down() {
    let moto = MotoServer::start().unwrap();
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    // One attempt per call, so every fault reaches the caller as it was sent.
    let once = client(&proxy.endpoint(), 1);
    create_table(&once).await;
    assert_eq!(put(&once, "a").await, Ok(()));
    assert!(exists(&once, "a").await, "forwarded writes reach moto");

    let cases = [
        (Fault::Throughput, "ProvisionedThroughputExceededException"),
        (Fault::Throttling, "ThrottlingException"),
        (
            Fault::ConditionalCheckFailed,
            "ConditionalCheckFailedException",
        ),
        (Fault::InternalServerError, "InternalServerError"),
    ];
    for (fault, code) in cases {
        proxy.fail_next(Operation::PutItem, fault, 1);
        // A rule for PutItem leaves other operations alone.
        assert!(exists(&once, "a").await);
        assert_eq!(put(&once, "b").await, Err(code.to_owned()), "{fault:?}");
        assert!(
            !exists(&once, "b").await,
            "{fault:?}: the failed write was not forwarded"
        );
    }
    proxy.fail_next(Operation::PutItem, Fault::Drop, 1);
    let dropped = put(&once, "b").await.unwrap_err();
    assert!(!dropped.is_empty());
    assert_eq!(put(&once, "b").await, Ok(()), "rules are used up");
    assert_eq!(proxy.faults_served(), 5);

    // The SDK's own retries absorb two throttled attempts of three; a third fails the call.
    let retrying = client(&proxy.endpoint(), 3);
    proxy.fail_next(Operation::Any, Fault::Throughput, 2);
    assert_eq!(put(&retrying, "c").await, Ok(()));
    proxy.fail_next(Operation::PutItem, Fault::Throughput, 3);
    assert_eq!(
        put(&retrying, "d").await,
        Err("ProvisionedThroughputExceededException".to_owned())
    );
    let last: Vec<_> = proxy
        .handled()
        .iter()
        .rev()
        .take(3)
        .map(|h| h.fault)
        .collect();
    assert_eq!(last, [Some(Fault::Throughput); 3]);

    proxy.set_down(true);
    let down = put(&once, "e").await.unwrap_err();
    assert!(!down.is_empty());
    proxy.set_down(false);
    assert_eq!(put(&once, "e").await, Ok(()));
}

#[tokio::test]
async fn a_partition_key_past_its_limit_is_throttled_as_dynamodb_throttles_it() {
    let moto = MotoServer::start().unwrap();
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    let client = client(&proxy.endpoint(), 1);
    create_table(&client).await;
    proxy.limit_partitions(PartitionLimits {
        writes: 5,
        reads: 3,
        // Long enough that the requests below fall in one window on a loaded machine.
        per: std::time::Duration::from_secs(60),
        key_attribute: "pk",
    });

    // Eight writes to one key within a window: five served, three refused with DynamoDB's
    // own error; another key is not held back by the hot one.
    let mut results = Vec::new();
    for _ in 0..8 {
        results.push(put(&client, "hot").await);
    }
    let refused = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(results[..5], [Ok(()), Ok(()), Ok(()), Ok(()), Ok(())]);
    assert_eq!(refused, 3, "{results:?}");
    assert_eq!(
        results[7],
        Err("ProvisionedThroughputExceededException".to_owned())
    );
    assert_eq!(put(&client, "cold").await, Ok(()));

    // Reads have their own limit per key.
    for _ in 0..3 {
        assert!(exists(&client, "cold").await);
    }
    let err = client
        .get_item()
        .table_name("t")
        .key("pk", AttributeValue::S("cold".to_owned()))
        .send()
        .await
        .unwrap_err();
    use dynamo::error::ProvideErrorMetadata;
    assert_eq!(err.code(), Some("ProvisionedThroughputExceededException"));

    let report = proxy.partition_report();
    assert_eq!(report.throttled, 4);
    assert_eq!(report.max_writes, Some(("hot".to_owned(), 8)));
    assert_eq!(report.max_served_writes, 5);
    assert_eq!(report.max_served_reads, 3);
}

#[tokio::test]
async fn each_exchange_is_recorded_with_when_it_arrived_and_was_answered() {
    let moto = MotoServer::start().unwrap();
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    let client = client(&proxy.endpoint(), 1);
    create_table(&client).await;
    let before = std::time::Instant::now();
    assert_eq!(put(&client, "a").await, Ok(()));
    let (second, third) = tokio::join!(put(&client, "b"), exists(&client, "a"));
    assert_eq!(second, Ok(()));
    assert!(third);
    let after = std::time::Instant::now();

    let exchanges = proxy.exchanges();
    let names: Vec<_> = exchanges.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(names[0], "CreateTable");
    assert_eq!(names[1], "PutItem");
    let mut together = names[2..].to_vec();
    together.sort_unstable();
    assert_eq!(together, ["GetItem", "PutItem"]);
    for exchange in &exchanges[1..] {
        assert!(before <= exchange.received && exchange.received <= exchange.answered);
        assert!(exchange.answered <= after);
    }
    // The lone write was answered before the pair sent together arrived.
    assert!(exchanges[1].answered <= exchanges[2].received);
    assert!(exchanges[1].answered <= exchanges[3].received);
}
