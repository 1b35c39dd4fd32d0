//! A chat service on a local port, with the real Bedrock SDK client pointed at the fake
//! Bedrock of `testkit`, an in-memory store and in-memory metrics.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime as sdk;
use aws_sdk_dynamodb as dynamo;
use bytes::Bytes;
use chatbot::metrics::Metrics;
use chatbot::model::{Bedrock, Model, bedrock_config};
use chatbot::store::{MemoryStore, Store};
use chatbot::{AppState, Config, Tuning};
use dynamo::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use testkit::bedrock::{FakeBedrock, Options};

pub const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
pub const OTHER_MODEL: &str = "amazon.nova-lite-v1:0";
pub const SYSTEM_PROMPT: &str = "You are a test assistant.";

/// The configuration the tests start from: two models, generous limits.
pub fn config() -> Config {
    let vars = HashMap::from([
        ("CHATBOT_ENVIRONMENT", "test".to_owned()),
        (
            "CHATBOT_MODELS",
            json!([{"id": MODEL, "name": "Claude 3 Haiku"}, {"id": OTHER_MODEL, "name": "Nova Lite"}])
                .to_string(),
        ),
        ("CHATBOT_DEFAULT_MODEL", MODEL.to_owned()),
        ("CHATBOT_SYSTEM_PROMPT", SYSTEM_PROMPT.to_owned()),
        ("CHATBOT_MAX_OUTPUT_TOKENS", "1000".to_owned()),
        ("CHATBOT_RATE_LIMIT", "1000".to_owned()),
        ("CHATBOT_RATE_WINDOW_SECONDS", "3600".to_owned()),
        ("CHATBOT_DAILY_TOKEN_BUDGET", "1000000".to_owned()),
        ("CHATBOT_HISTORY_DAYS", "7".to_owned()),
    ]);
    Config::from_lookup(|name| vars.get(name).cloned()).expect("the test configuration is valid")
}

/// Short delays, so retries and heartbeats happen quickly.
pub fn tuning() -> Tuning {
    Tuning {
        retry_base: Duration::from_millis(5),
        retry_max: Duration::from_millis(20),
        ..Tuning::default()
    }
}

/// A Bedrock client for the fake, with the service's own client settings.
pub fn bedrock_client(endpoint: &str) -> sdk::Client {
    let builder = sdk::Config::builder()
        .behavior_version(sdk::config::BehaviorVersion::latest())
        .region(sdk::config::Region::new("us-east-1"))
        .credentials_provider(sdk::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint);
    sdk::Client::from_conf(bedrock_config(builder).build())
}

pub struct Service {
    pub fake: FakeBedrock,
    pub state: Arc<AppState>,
    pub base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    /// The `code` of a contract error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body: {}", String::from_utf8_lossy(&self.body)))
            .to_owned()
    }

    /// Server-sent events as `(name, data)`, heartbeat comments as `(":", "")`.
    pub fn events(&self) -> Vec<(String, Value)> {
        parse_sse(&String::from_utf8_lossy(&self.body))
    }
}

pub fn parse_sse(text: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        if block.starts_with(':') {
            events.push((":".to_owned(), Value::Null));
            continue;
        }
        let mut name = String::from("message");
        let mut data = String::new();
        for line in block.lines() {
            if let Some(rest) = line.strip_prefix("event: ") {
                name = rest.to_owned();
            } else if let Some(rest) = line.strip_prefix("data: ") {
                data.push_str(rest);
            }
        }
        let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
        events.push((name, data));
    }
    events
}

/// The text of the `delta` events, joined.
pub fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, data)| data["text"].as_str().unwrap_or_default())
        .collect()
}

impl Service {
    pub async fn start() -> Service {
        Service::start_with(Options::default(), |_, _| {}).await
    }

    pub async fn start_with(
        options: Options,
        adjust: impl FnOnce(&mut Config, &mut Tuning),
    ) -> Service {
        let fake = FakeBedrock::start_with(options)
            .await
            .expect("the fake Bedrock starts");
        let mut config = config();
        let mut tuning = tuning();
        adjust(&mut config, &mut tuning);
        let model = Model::Bedrock(Bedrock::new(bedrock_client(&fake.endpoint())));
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
        let state = Arc::new(AppState {
            metrics: Metrics::in_memory(&config.environment),
            config,
            tuning,
            store: Store::Memory(MemoryStore::default()),
            model,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = chatbot::router(state.clone());
        let server = tokio::spawn(async move {
            let _ = chatbot::serve_local(listener, router, std::future::pending()).await;
        });
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        Service {
            fake,
            state,
            base,
            client,
            server,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body.into())).unwrap();
        let response = self
            .client
            .request(request)
            .await
            .expect("the service answers");
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .expect("the body is read whole")
            .to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// `POST /api/chat` asking for JSON.
    pub async fn chat(&self, body: Value) -> Reply {
        self.request(
            Method::POST,
            "/api/chat",
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    /// `POST /api/chat` asking for server-sent events.
    pub async fn chat_stream(&self, body: Value) -> Reply {
        self.request(
            Method::POST,
            "/api/chat",
            &[
                ("content-type", "application/json"),
                ("accept", "text/event-stream"),
            ],
            body.to_string(),
        )
        .await
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
        let response = self
            .client
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

    /// The stored messages of a session as `(role, content, incomplete)`.
    pub async fn history(&self, session: &str) -> Vec<(String, String, bool)> {
        let reply = self.get(&format!("/api/sessions/{session}/messages")).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_owned(),
                    m["content"].as_str().unwrap().to_owned(),
                    m["incomplete"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    pub fn metric(&self, name: &str) -> f64 {
        self.state.metrics.total(name)
    }
}

/// A DynamoDB client for a local endpoint that makes up to `attempts` attempts per call.
pub fn dynamo_client(endpoint: &str, attempts: u32) -> dynamo::Client {
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
        .attribute_definitions(attribute(chatbot::contract::table::OWNER_ATTRIBUTE))
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(chatbot::contract::table::ACTIVITY_ATTRIBUTE)
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            dynamo::types::GlobalSecondaryIndex::builder()
                .index_name(chatbot::contract::table::OWNER_INDEX)
                .key_schema(key(
                    chatbot::contract::table::OWNER_ATTRIBUTE,
                    KeyType::Hash,
                ))
                .key_schema(key(
                    chatbot::contract::table::ACTIVITY_ATTRIBUTE,
                    KeyType::Range,
                ))
                .projection(
                    dynamo::types::Projection::builder()
                        .projection_type(dynamo::types::ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
