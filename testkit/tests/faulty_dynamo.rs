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
