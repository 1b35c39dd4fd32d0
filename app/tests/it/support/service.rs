//! A chat service on a local port, with the real Bedrock SDK client pointed at the fake
//! Bedrock of `testkit`, an in-memory store and in-memory metrics; the SDK clients the tests
//! point at local endpoints.

use std::ops::Deref;
use std::time::Duration;

use aws_sdk_bedrockruntime as sdk;
use aws_sdk_dynamodb as dynamo;
use bytes::Bytes;
use chatbot::contract::table;
use chatbot::https::{Https, RootSources, TrustedRoots};
use chatbot::model::{Bedrock, Model, bedrock_config};
use chatbot::store::{MemoryStore, Store};
use chatbot::{Config, Tuning};
use dynamo::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use testkit::bedrock::{FakeBedrock, Options};

use super::{Harness, Reply, config, parse_sse, tuning};

/// The service's HTTPS client, for a test's SDK clients. One per client: its connections
/// belong to the runtime of the test that made them. The stand-ins speak plain HTTP, so the
/// roots are only a placeholder.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    static ROOTS: std::sync::LazyLock<TrustedRoots> = std::sync::LazyLock::new(|| {
        let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/fixtures/roots/one.pem");
        TrustedRoots::load(&RootSources {
            cert_file: Some(bundle),
            ..RootSources::default()
        })
        .expect("the fixture bundle loads")
    });
    Https::new(&ROOTS).http_client()
}

/// A Bedrock client for the fake, with the service's own client settings.
pub fn bedrock_client(endpoint: &str) -> sdk::Client {
    let builder = sdk::Config::builder()
        .http_client(https_client())
        .behavior_version(sdk::config::BehaviorVersion::latest())
        .region(sdk::config::Region::new("us-east-1"))
        .credentials_provider(sdk::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint);
    sdk::Client::from_conf(bedrock_config(builder).build())
}

/// The service's Bedrock model, talking to `fake`.
pub fn fake_model(fake: &FakeBedrock) -> Model {
    Model::Bedrock(Bedrock::new(bedrock_client(&fake.endpoint())))
}

/// An empty in-memory store.
pub fn memory_store() -> Store {
    Store::Memory(MemoryStore::default())
}

/// A [`Harness`] with the fake Bedrock it calls and an in-memory store.
pub struct Service {
    pub fake: FakeBedrock,
    harness: Harness,
}

impl Deref for Service {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.harness
    }
}

impl Service {
    pub async fn start() -> Service {
        Service::start_with(Options::default(), |_, _| {}).await
    }

    pub async fn start_with(
        options: Options,
        adjust: impl FnOnce(&mut Config, &mut Tuning),
    ) -> Service {
        let mut config = config();
        let mut tuning = tuning();
        adjust(&mut config, &mut tuning);
        Service::start_configured(options, config, tuning).await
    }

    /// The service with `config` and `tuning` as given (a configuration built from
    /// [`ConfigVars`](super::ConfigVars), say).
    pub async fn start_configured(options: Options, config: Config, tuning: Tuning) -> Service {
        let fake = FakeBedrock::start_with(options)
            .await
            .expect("the fake Bedrock starts");
        let model = fake_model(&fake);
        Service::serve(fake, config, tuning, model).await
    }

    /// The service with the offline demo model of local runs (the fake Bedrock is started but
    /// never called).
    pub async fn start_demo() -> Service {
        let fake = FakeBedrock::start_with(Options::default())
            .await
            .expect("the fake Bedrock starts");
        let demo = chatbot::model::Demo {
            word_delay: Duration::ZERO,
        };
        Service::serve(fake, config(), tuning(), Model::Demo(demo)).await
    }

    async fn serve(fake: FakeBedrock, config: Config, tuning: Tuning, model: Model) -> Service {
        let harness = Harness::start(config, tuning, memory_store(), model).await;
        Service { fake, harness }
    }

    /// `POST /api/chat` asking for JSON.
    pub async fn chat(&self, body: Value) -> Reply {
        self.harness.chat(body, false).await
    }

    /// `POST /api/chat` asking for server-sent events.
    pub async fn chat_stream(&self, body: Value) -> Reply {
        self.harness.chat(body, true).await
    }

    /// `POST /api/chat` asking for server-sent events, read until `enough` says so for the
    /// events so far; then the connection is dropped, as a page's Stop does.
    pub async fn chat_stream_until(
        &self,
        body: Value,
        enough: impl Fn(&[(String, Value)]) -> bool,
    ) -> Vec<(String, Value)> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/api/chat", self.base))
            .header("content-type", "application/json")
            .header("accept", "text/event-stream")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let response = Client::builder(TokioExecutor::new())
            .build_http()
            .request(request)
            .await
            .expect("the service answers");
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        let mut text = String::new();
        loop {
            let frame = body
                .frame()
                .await
                .expect("the stream goes on until enough was read")
                .expect("the stream is readable");
            if let Ok(data) = frame.into_data() {
                text.push_str(std::str::from_utf8(&data).unwrap());
            }
            // Only whole events count.
            let whole = &text[..text.rfind("\n\n").map_or(0, |end| end + 2)];
            let events = parse_sse(whole);
            if enough(&events) {
                return events;
            }
        }
    }

    /// The stored messages of a session as the history route lists them.
    pub async fn history_json(&self, session: &str) -> Vec<Value> {
        let reply = self.get(&format!("/api/sessions/{session}/messages")).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()["messages"].as_array().unwrap().clone()
    }
}

/// A DynamoDB client for a local endpoint that makes up to `attempts` attempts per call.
pub fn dynamo_client(endpoint: &str, attempts: u32) -> dynamo::Client {
    let config = dynamo::Config::builder()
        .http_client(https_client())
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

/// The table as the stack defines it: string `pk` and `sk`, on demand, with the index of
/// each person's chats (`owner`, `updated_at`).
pub async fn create_table(client: &dynamo::Client, table: &str) {
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute(table::OWNER_ATTRIBUTE))
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(table::ACTIVITY_ATTRIBUTE)
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(table::OWNER_INDEX)
                .key_schema(key(table::OWNER_ATTRIBUTE, KeyType::Hash))
                .key_schema(key(table::ACTIVITY_ATTRIBUTE, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
