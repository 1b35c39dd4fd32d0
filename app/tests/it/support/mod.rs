//! What the integration tests share: a chat service on a loopback port ([`Harness`], and
//! [`Service`] with the fake Bedrock), its replies read whole, the test configuration, API
//! Gateway events, captured logs, a `moto_server` with the table for the store tests and the evidence for `cargo xtask test`'s summary.

#![allow(dead_code)]

mod api_gateway;
mod config;
mod evidence;
mod harness;
mod logs;
mod reply;
mod service;
mod store;

pub use api_gateway::{rest_event, through_lambda, through_lambda_json};
pub use config::{ConfigVars, MODEL, OTHER_MODEL, SYSTEM_PROMPT, config, tuning};
pub use evidence::{record_bad_input, record_fault};
pub use harness::Harness;
pub use logs::Logs;
pub use reply::{Reply, parse_sse, streamed_text};
pub use service::{Service, bedrock_client, create_table, dynamo_client, fake_model, memory_store};
pub use store::{all_items, moto_with_table, on_both};
