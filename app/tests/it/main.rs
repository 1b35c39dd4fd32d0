//! The service's integration tests, one binary: a chat service on a loopback port with the
//! real SDK clients pointed at local stand-ins (`testkit`'s fake Bedrock, `moto_server`, the
//! fault-injecting DynamoDB proxy), and the shared harness in `support/`.

mod support;

mod abuse;
mod conversation;
mod cost;
mod faults;
mod guardrail;
mod hot_key;
mod http;
mod https;
mod lambda;
mod logs;
mod origin;
mod owned_store;
mod properties;
mod signin;
mod store;
