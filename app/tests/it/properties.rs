//! Properties of everything that reads outside input, over generated cases: any request body
//! and any session path get a 4xx (never a 5xx), the SSE encoding survives any text, history
//! sent to the model keeps its shape, the rate limit admits exactly its limit, client
//! addresses ignore forged headers, and the configuration reader refuses rather than panics.
//! Case counts are small so the file runs in seconds; each property's count goes to the
//! reliability evidence.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::support::{self, ConfigVars, Harness, record_bad_input};
use chatbot::chat::history;
use chatbot::contract::env_vars as var;
use chatbot::http::sse;
use chatbot::model::{Demo, Model};
use chatbot::store::{Admission, Message, Role, SessionId};
use chatbot::{Config, Tuning};
use http::{Method, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunConfig, TestRunner};
use serde_json::{Value, json};

const EVIDENCE: &str = "properties";

/// Runs `test` over `cases` values of `strategy`, and writes how many ran to the evidence.
fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let ran = AtomicU64::new(0);
    let mut runner = TestRunner::new(RunConfig {
        cases,
        failure_persistence: None,
        ..RunConfig::default()
    });
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    if let Err(err) = result {
        panic!("{name}: {err}");
    }
    testkit::evidence::record(
        EVIDENCE,
        json!({"kind": "property", "name": name, "cases": ran.load(Ordering::Relaxed)}),
    );
}

fn config() -> Config {
    ConfigVars::standard()
        .with(
            var::MODELS,
            json!([{"id": "m1", "name": "One"}, {"id": "m2", "name": "Two"}]).to_string(),
        )
        .with(var::DEFAULT_MODEL, "m1")
        .with(var::SYSTEM_PROMPT, "Be brief.")
        .with(var::MAX_OUTPUT_TOKENS, "100")
        .with(var::RATE_LIMIT, "1000000")
        .with(var::DAILY_TOKEN_BUDGET, "1000000000")
        .with(var::HISTORY_DAYS, "1")
        .config()
}

/// A service with the demo model (no delays) and the in-memory store, on its own runtime.
fn service() -> (tokio::runtime::Runtime, Harness) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let harness = runtime.block_on(Harness::start(
        config(),
        Tuning {
            max_body_bytes: 2048,
            max_message_chars: 300,
            ..Tuning::default()
        },
        support::memory_store(),
        Model::Demo(Demo {
            word_delay: Duration::ZERO,
        }),
    ));
    (runtime, harness)
}

/// JSON values of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::hash_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Chat bodies close to valid ones: the right field names with values of any type, now and
/// then an extra field, a session id that may or may not be a UUID, a model that may or may
/// not be allowlisted.
fn near_chat_body() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![".{0,400}".prop_map(Value::from), json_value()],
        prop::option::of(prop_oneof![
            Just(Value::from(uuid::Uuid::new_v4().to_string())),
            "[0-9a-f-]{30,40}".prop_map(Value::from),
            json_value(),
        ]),
        prop::option::of(prop_oneof![
            Just(Value::from("m2")),
            ".{0,12}".prop_map(Value::from),
            json_value(),
        ]),
        prop::option::of(("[a-z]{1,8}", json_value())),
    )
        .prop_map(|(message, session, model, extra)| {
            let mut body = serde_json::Map::new();
            body.insert("message".into(), message);
            if let Some(session) = session {
                body.insert("session_id".into(), session);
            }
            if let Some(model) = model {
                body.insert("model".into(), model);
            }
            if let Some((name, value)) = extra {
                body.insert(name, value);
            }
            Value::Object(body).to_string().into_bytes()
        })
}

fn assert_client_error(name: &str, status: StatusCode) -> Result<(), TestCaseError> {
    prop_assert!(!status.is_server_error(), "{name}: answered with {status}");
    if status != StatusCode::OK {
        record_bad_input(EVIDENCE, name, status);
    }
    Ok(())
}

#[test]
fn any_chat_body_gets_an_answer_or_a_4xx_never_a_5xx() {
    let (runtime, service) = service();
    let content_types = prop_oneof![
        Just("application/json"),
        Just("application/json; charset=utf-8"),
        Just("text/plain"),
        Just(""),
    ];
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        near_chat_body(),
        json_value().prop_map(|v| v.to_string().into_bytes()),
    ];
    let stream = any::<bool>();
    check(
        "chat body",
        160,
        (content_types, bodies, stream),
        |(content_type, body, stream)| {
            let mut headers = Vec::new();
            if !content_type.is_empty() {
                headers.push(("content-type", content_type));
            }
            if stream {
                headers.push(("accept", "text/event-stream"));
            }
            let reply =
                runtime.block_on(service.request(Method::POST, "/api/chat", &headers, body));
            if reply.status != StatusCode::OK {
                let code = reply.error_code();
                prop_assert!(!code.is_empty(), "{}: not an error body", reply.status);
            }
            assert_client_error("generated chat body", reply.status)
        },
    );
}

#[test]
fn any_session_path_gets_a_400_or_404() {
    let (runtime, service) = service();
    let segment = prop_oneof![
        "[ -~]{0,60}",
        ".{1,20}",
        Just(uuid::Uuid::new_v4().to_string()),
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    ];
    let delete = any::<bool>();
    check(
        "session path",
        120,
        (segment, delete),
        |(segment, delete)| {
            let encoded: String = segment
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b == b'-' {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let (method, path) = if delete {
                (Method::DELETE, format!("/api/sessions/{encoded}"))
            } else {
                (Method::GET, format!("/api/sessions/{encoded}/messages"))
            };
            let reply = runtime.block_on(service.request(method, &path, &[], Vec::new()));
            prop_assert!(
                matches!(reply.status.as_u16(), 400 | 404 | 405),
                "{path}: {}",
                reply.status
            );
            assert_client_error("generated session path", reply.status)
        },
    );
}

/// Server-sent events as the HTML standard parses them: lines end with CRLF, LF or CR; a
/// blank line dispatches; `field: value` with one optional space; comments start with `:`.
fn parse_event_stream(text: &str) -> Vec<(String, String)> {
    let mut events = Vec::new();
    let (mut name, mut data) = (String::new(), Vec::<String>::new());
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.split('\n') {
        if line.is_empty() {
            if !data.is_empty() {
                let event = if name.is_empty() { "message" } else { &name };
                events.push((event.to_owned(), data.join("\n")));
            }
            name.clear();
            data.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = value.to_owned(),
            "data" => data.push(value.to_owned()),
            _ => {}
        }
    }
    events
}

#[test]
fn the_sse_encoding_carries_any_text_as_one_event() {
    check(
        "sse encoding",
        512,
        (
            prop_oneof![Just("delta"), Just("meta"), Just("done"), Just("error")],
            any::<String>(),
        ),
        |(name, text)| {
            let bytes = sse::event(name, &json!({"text": text}));
            let encoded = std::str::from_utf8(&bytes).unwrap();
            let events = parse_event_stream(encoded);
            prop_assert_eq!(events.len(), 1, "{:?}", encoded);
            prop_assert_eq!(&events[0].0, name);
            let data: Value = serde_json::from_str(&events[0].1).unwrap();
            prop_assert_eq!(data["text"].as_str(), Some(text.as_str()));
            // A heartbeat between events is a comment, and never an event itself.
            let with_heartbeat =
                format!("{}{encoded}", std::str::from_utf8(sse::HEARTBEAT).unwrap());
            prop_assert_eq!(parse_event_stream(&with_heartbeat).len(), 1);
            Ok(())
        },
    );
}

fn message(role: Role, content: String) -> Message {
    Message::new(role, content, 0)
}

#[test]
fn history_sent_to_the_model_alternates_and_fits() {
    let past = prop::collection::vec(
        (
            any::<bool>(),
            prop_oneof![".{0,30}", Just(String::new()), Just(" \n".into())],
        ),
        0..30,
    );
    check(
        "history shape",
        400,
        (past, 0usize..200),
        |(past, max_chars)| {
            let past: Vec<Message> = past
                .into_iter()
                .map(|(user, text)| message(if user { Role::User } else { Role::Assistant }, text))
                .collect();
            let turns = history(&past, max_chars);
            prop_assert!(turns.len().is_multiple_of(2), "{turns:?}");
            for (i, turn) in turns.iter().enumerate() {
                let expected = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                prop_assert_eq!(turn.role, expected);
                prop_assert!(!turn.text.trim().is_empty());
            }
            let total: usize = turns.iter().map(|t| t.text.chars().count()).sum();
            prop_assert!(total <= max_chars, "{total} > {max_chars}");
            // Trimming drops the oldest exchanges: what is kept is the end of the untrimmed one.
            let full = history(&past, usize::MAX);
            prop_assert!(full.ends_with(&turns));
            Ok(())
        },
    );
}

#[test]
fn session_ids_parse_only_their_own_form() {
    check(
        "session id parse",
        512,
        prop_oneof![
            any::<String>(),
            "[0-9a-fA-F-]{36}",
            any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        ],
        |text| {
            match SessionId::parse(&text) {
                Some(id) => {
                    prop_assert_eq!(text.len(), 36);
                    prop_assert_eq!(id.to_string(), text.to_ascii_lowercase());
                    prop_assert_eq!(SessionId::parse(&id.to_string()), Some(id));
                }
                None => prop_assert!(
                    text.len() != 36 || uuid::Uuid::try_parse(&text).is_err(),
                    "{text:?} is a UUID"
                ),
            }
            Ok(())
        },
    );
}

#[test]
fn the_rate_limit_admits_exactly_the_limit_per_client_and_window() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let requests = prop::collection::vec((0u8..4, 0i64..3), 0..80);
    check(
        "rate limit",
        200,
        (1u32..6, requests),
        |(limit, requests)| {
            let store = support::memory_store();
            let mut counts: HashMap<(u8, i64), u32> = HashMap::new();
            let mut admitted: HashMap<(u8, i64), u32> = HashMap::new();
            for (client, window) in requests {
                let answer = runtime
                    .block_on(store.admit_request(
                        &format!("10.0.0.{client}"),
                        window * 60,
                        limit,
                        0,
                    ))
                    .unwrap();
                *counts.entry((client, window)).or_default() += 1;
                if answer == Admission::Admitted {
                    *admitted.entry((client, window)).or_default() += 1;
                }
            }
            let mut total_admitted = 0;
            let mut total_allowed = 0;
            for (key, count) in counts {
                let got = admitted.get(&key).copied().unwrap_or(0);
                prop_assert_eq!(got, count.min(limit), "{:?}", key);
                total_admitted += got;
                total_allowed += count.min(limit);
            }
            testkit::evidence::record(
                EVIDENCE,
                json!({"kind": "admission", "check": "generated request sequence", "admitted": total_admitted, "limit": total_allowed}),
            );
            Ok(())
        },
    );
}

/// An IPv6 address that is not IPv4-mapped, and a prefix length.
fn ipv6_and_prefix() -> impl Strategy<Value = (u128, u8)> {
    (
        any::<u128>().prop_filter("not IPv4-mapped", |bits| bits >> 32 != 0xffff),
        1..=128u8,
    )
}

#[test]
fn every_address_of_one_ipv6_network_counts_as_one_client() {
    use chatbot::rate_bucket::{Ipv6Prefix, key};
    check(
        "IPv6 network keys: same network",
        500,
        (ipv6_and_prefix(), any::<u128>()),
        |((address, bits), other_low)| {
            let prefix = Ipv6Prefix::new(bits).unwrap();
            // Same first `bits` bits, anything after them.
            let host_mask = u128::MAX.checked_shr(u32::from(bits)).unwrap_or(0);
            let neighbour = (address & !host_mask) | (other_low & host_mask);
            prop_assume!(neighbour >> 32 != 0xffff);
            let a = key(std::net::Ipv6Addr::from(address).into(), prefix);
            let b = key(std::net::Ipv6Addr::from(neighbour).into(), prefix);
            prop_assert_eq!(&a, &b);
            prop_assert!(a.ends_with(&format!("/{bits}")), "{}", a);
            // The key names the network itself: every bit after the prefix is clear.
            let (network, _) = a.split_once('/').unwrap();
            let network: std::net::Ipv6Addr = network.parse().unwrap();
            prop_assert_eq!(u128::from(network), address & !host_mask);
            Ok(())
        },
    );
}

#[test]
fn ipv6_addresses_of_different_networks_are_different_clients() {
    use chatbot::rate_bucket::{Ipv6Prefix, key};
    check(
        "IPv6 network keys: different networks",
        500,
        (ipv6_and_prefix(), any::<u8>()),
        |((address, bits), flip)| {
            let prefix = Ipv6Prefix::new(bits).unwrap();
            // Flip one bit inside the prefix: another network.
            let bit = 127 - u32::from(flip) % u32::from(bits);
            let other = address ^ (1u128 << bit);
            prop_assume!(other >> 32 != 0xffff);
            prop_assert_ne!(
                key(std::net::Ipv6Addr::from(address).into(), prefix),
                key(std::net::Ipv6Addr::from(other).into(), prefix)
            );
            Ok(())
        },
    );
}

#[test]
fn ipv4_clients_count_per_address_in_either_notation() {
    use chatbot::rate_bucket::{Ipv6Prefix, key};
    check(
        "IPv4 keys",
        500,
        (any::<[u8; 4]>(), any::<[u8; 4]>(), 1..=128u8),
        |(a, b, bits)| {
            let prefix = Ipv6Prefix::new(bits).unwrap();
            let v4 = std::net::Ipv4Addr::from(a);
            let plain = key(v4.into(), prefix);
            prop_assert_eq!(&plain, &v4.to_string());
            prop_assert_eq!(&key(v4.to_ipv6_mapped().into(), prefix), &plain);
            let other = std::net::Ipv4Addr::from(b);
            prop_assert_eq!(plain == key(other.into(), prefix), a == b);
            Ok(())
        },
    );
}

#[test]
fn forged_forwarding_headers_never_change_the_client_address() {
    use chatbot::client_ip::from_api_gateway;
    check(
        "client address",
        400,
        (
            prop::option::of("[ -~]{0,50}"),
            "[ -~]{0,80}",
            prop::option::of(any::<[u8; 4]>()),
        ),
        |(viewer, forged, source)| {
            let source = source.map(|b| IpAddr::from(b).to_string());
            let mut headers = http::HeaderMap::new();
            if let Some(viewer) = &viewer
                && let Ok(value) = viewer.parse()
            {
                headers.insert("cloudfront-viewer-address", value);
            }
            let honest = from_api_gateway(&headers, source.as_deref());
            if let Ok(value) = http::HeaderValue::from_str(&forged) {
                for name in [
                    "x-forwarded-for",
                    "x-real-ip",
                    "forwarded",
                    "true-client-ip",
                ] {
                    headers.insert(name, value.clone());
                }
            }
            prop_assert_eq!(from_api_gateway(&headers, source.as_deref()), honest);
            Ok(())
        },
    );
}

#[test]
fn the_configuration_refuses_bad_values_without_panicking() {
    use chatbot::contract::env_vars;
    let values = prop::collection::vec(
        prop_oneof![".{0,20}", "[0-9]{1,25}", Just(String::new())],
        env_vars::ALL.len(),
    );
    check("configuration", 300, values, |values| {
        let vars: HashMap<&str, String> = env_vars::ALL.iter().copied().zip(values).collect();
        if let Err(err) = Config::from_lookup(|name| vars.get(name).cloned()) {
            let text = err.to_string();
            prop_assert!(
                env_vars::ALL.iter().any(|name| text.contains(name)),
                "the error names no variable: {text}"
            );
        }
        Ok(())
    });
}
