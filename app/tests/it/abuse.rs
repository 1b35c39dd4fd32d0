//! A public, anonymous endpoint under abuse: one address hammering, many addresses spending,
//! forged client-address headers, huge and slow bodies, guessed session ids. Each answer is
//! written to the reliability evidence (`testkit::evidence`).

use crate::support;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{Harness, record_bad_input};
use bytes::Bytes;
use chatbot::contract::metrics as names;
use chatbot::store::Store;
use chatbot::{Config, Tuning};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::bedrock::FakeBedrock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVIDENCE: &str = "abuse";

async fn service(
    adjust: impl FnOnce(&mut Config, &mut Tuning),
    store: Store,
) -> (Arc<Harness>, FakeBedrock) {
    let fake = FakeBedrock::start().await.expect("the fake Bedrock starts");
    let mut config = support::config();
    let mut tuning = support::tuning();
    adjust(&mut config, &mut tuning);
    let model = support::fake_model(&fake);
    (
        Arc::new(Harness::start(config, tuning, store, model).await),
        fake,
    )
}

fn memory() -> Store {
    support::memory_store()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Sleeps until `offset_ms` past the next multiple of `window` seconds on the wall clock, the
/// start of a rate window, and returns that window's start in seconds.
async fn start_of_next_window(window: i64, offset_ms: i64) -> i64 {
    let now = now_ms();
    let next = (now.div_euclid(window * 1000) + 1) * window * 1000;
    tokio::time::sleep(Duration::from_millis((next + offset_ms - now) as u64)).await;
    next / 1000
}

fn retry_after(reply: &support::Reply) -> i64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Sends `count` chat requests at once from `from`; returns the replies with the wall-clock
/// times (ms) just before the first was sent and just after the last came back.
async fn burst(
    service: &Arc<Harness>,
    from: IpAddr,
    count: usize,
    headers: &'static [(&'static str, &'static str)],
) -> (Vec<support::Reply>, i64, i64) {
    let sent = now_ms();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let service = service.clone();
        tasks.spawn(async move {
            let mut all = vec![("content-type", "application/json")];
            all.extend_from_slice(headers);
            service
                .request_from(
                    from,
                    Method::POST,
                    "/api/chat",
                    &all,
                    json!({"message": format!("request {i}")}).to_string(),
                )
                .await
        });
    }
    let mut replies = Vec::new();
    while let Some(reply) = tasks.join_next().await {
        replies.push(reply.unwrap());
    }
    (replies, sent, now_ms())
}

fn admitted(replies: &[support::Reply]) -> usize {
    for reply in replies {
        assert!(
            matches!(reply.status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS),
            "unexpected {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
    replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count()
}

fn record_admission(check: &str, admitted: usize, limit: u32, requests: usize) {
    testkit::evidence::record(
        EVIDENCE,
        json!({"kind": "admission", "check": check, "admitted": admitted, "limit": limit, "requests": requests}),
    );
}

// ---- one address hammering ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_exactly_the_limit_and_retry_after_reaches_the_next_window() {
    const LIMIT: u32 = 4;
    const WINDOW: i64 = 2;
    let (service, fake) = service(
        |config, _| {
            config.rate_limit = LIMIT;
            config.rate_window_seconds = WINDOW as u32;
        },
        memory(),
    )
    .await;
    let me = IpAddr::from([127, 0, 0, 1]);
    let mut window_start = start_of_next_window(WINDOW, 30).await;
    let mut calls = 0;
    for round in 0..3 {
        let (replies, sent, answered) = burst(&service, me, 12, &[]).await;
        let window_end = window_start + WINDOW;
        assert!(
            answered / 1000 < window_end,
            "round {round}: the burst outlasted its window; the machine is too slow for this test"
        );
        let ok = admitted(&replies);
        assert_eq!(ok, LIMIT as usize, "round {round}: admitted");
        record_admission("one address, one window", ok, LIMIT, replies.len());
        calls += ok;
        assert_eq!(
            fake.calls().len(),
            calls,
            "refused requests reached the model"
        );

        // Retry-After: the whole seconds left in the window as the service saw it, so a client
        // that waits that long after the answer is in the next window, and not a second later.
        for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
            assert_eq!(reply.error_code(), "rate_limited");
            let seconds = retry_after(reply);
            assert!(
                (window_end - answered / 1000..=window_end - sent / 1000).contains(&seconds),
                "round {round}: Retry-After {seconds} for a window ending at {window_end}, asked at {sent} ms, answered by {answered} ms"
            );
            assert!(answered + seconds * 1000 >= window_end * 1000);
        }
        let longest = replies
            .iter()
            .filter(|r| r.status != StatusCode::OK)
            .map(retry_after)
            .max()
            .unwrap();
        // A client that waits as told is in a new window, with its whole limit again.
        tokio::time::sleep(Duration::from_secs(longest as u64)).await;
        let now = now_ms();
        assert!(now >= window_end * 1000, "Retry-After was too short");
        window_start = now.div_euclid(1000 * WINDOW) * WINDOW;
    }
    assert_eq!(
        service.metric(names::RATE_LIMITED),
        (3 * (12 - LIMIT)) as f64
    );
}

// ---- many addresses ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_addresses_each_get_their_own_limit_at_once() {
    const LIMIT: u32 = 2;
    let (service, fake) = service(|config, _| config.rate_limit = LIMIT, memory()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30u8 {
        let service = service.clone();
        tasks.spawn(async move {
            let (replies, _, _) = burst(&service, IpAddr::from([127, 0, 0, 10 + i]), 4, &[]).await;
            replies
        });
    }
    let mut total = 0;
    while let Some(replies) = tasks.join_next().await {
        let replies = replies.unwrap();
        let ok = admitted(&replies);
        assert_eq!(ok, LIMIT as usize, "one address's share");
        record_admission("one of thirty addresses at once", ok, LIMIT, replies.len());
        total += ok;
    }
    assert_eq!(total, 30 * LIMIT as usize);
    assert_eq!(fake.calls().len(), total);
}

#[tokio::test]
async fn many_addresses_stop_spending_at_the_daily_budget() {
    const BUDGET: u64 = 300;
    let (service, fake) = service(|config, _| config.daily_token_budget = BUDGET, memory()).await;
    let today = chatbot::clock::utc_day(now_ms() / 1000);
    let mut cost = None;
    let mut answered = 0u64;
    let mut refused = 0;
    for i in 0..40u8 {
        let spent_before = service.state.store.spent(&today).await.unwrap().tokens;
        let reply = service
            .request_from(
                IpAddr::from([127, 0, 1, 10 + i]),
                Method::POST,
                "/api/chat",
                &[("content-type", "application/json")],
                json!({"message": "spend [[tokens:40]]"}).to_string(),
            )
            .await;
        if spent_before < BUDGET {
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "request {i} with {spent_before} spent"
            );
            let usage = &reply.json()["usage"];
            let tokens =
                usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap();
            cost.get_or_insert(tokens);
            answered += 1;
        } else {
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "request {i} with {spent_before} spent"
            );
            assert_eq!(reply.error_code(), "budget_exhausted");
            refused += 1;
        }
    }
    let cost = cost.expect("some requests were answered");
    // Answers are admitted while anything is left, so the last one may go past the budget.
    let allowed = BUDGET.div_ceil(cost);
    assert_eq!(answered, allowed);
    assert_eq!(refused, 40 - allowed as usize);
    assert_eq!(
        fake.calls().len() as u64,
        answered,
        "refused requests reached the model"
    );
    assert_eq!(service.metric(names::BUDGET_EXHAUSTED), refused as f64);
    testkit::evidence::record(
        EVIDENCE,
        json!({"kind": "admission", "check": "daily budget over forty addresses", "admitted": answered, "limit": allowed, "requests": 40}),
    );
}

// ---- forged client addresses -------------------------------------------------------------

const FORGED: [&str; 7] = [
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "true-client-ip",
    "cf-connecting-ip",
    "x-client-ip",
    "cloudfront-viewer-address",
];

fn forged_value(header: &str, i: u8) -> String {
    match header {
        "forwarded" => format!("for=203.0.113.{i};proto=https"),
        "cloudfront-viewer-address" => format!("198.51.100.{i}:44321"),
        "x-forwarded-for" => format!("203.0.113.{i}, 10.0.0.{i}"),
        _ => format!("203.0.113.{i}"),
    }
}

#[tokio::test]
async fn forged_address_headers_do_not_pick_a_bucket_locally() {
    const LIMIT: u32 = 3;
    let (service, _fake) = service(|config, _| config.rate_limit = LIMIT, memory()).await;
    let mut ok = 0;
    for i in 0..14u8 {
        let values: Vec<(String, String)> = FORGED
            .iter()
            .map(|h| (h.to_string(), forged_value(h, i)))
            .collect();
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        headers.extend(values.iter().map(|(h, v)| (h.as_str(), v.as_str())));
        let reply = service
            .request(
                Method::POST,
                "/api/chat",
                &headers,
                json!({"message": "who am I"}).to_string(),
            )
            .await;
        match reply.status {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(reply.error_code(), "rate_limited"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, LIMIT as usize, "forged headers opened new buckets");
    record_admission("forged address headers, local", ok, LIMIT, 14);
}

/// An API Gateway REST event for `POST /api/chat` through CloudFront from `viewer`, with
/// `extra` headers the client wrote.
fn lambda_event(viewer: &str, extra: &[(String, String)]) -> String {
    let mut headers = json!({
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "Content-Type": "application/json",
        "CloudFront-Viewer-Address": format!("{viewer}:53421"),
        "Via": "2.0 abcdef.cloudfront.net (CloudFront)",
    });
    for (name, value) in extra {
        headers[name.as_str()] = json!(value);
    }
    support::rest_event(
        "prod",
        "130.176.1.1",
        &headers,
        &json!({"message": "who am I"}),
    )
}

#[tokio::test]
async fn forged_address_headers_do_not_pick_a_bucket_in_lambda() {
    use lambda_http::tower::ServiceExt;
    const LIMIT: u32 = 3;
    let (service, _fake) = service(|config, _| config.rate_limit = LIMIT, memory()).await;
    let router = chatbot::router(service.state.clone());
    let mut ok = 0;
    for i in 0..14u8 {
        let extra: Vec<(String, String)> = FORGED
            .iter()
            .filter(|h| **h != "cloudfront-viewer-address")
            .map(|h| (h.to_string(), forged_value(h, i)))
            .collect();
        let request = lambda_http::request::from_str(&lambda_event("198.51.100.7", &extra))
            .expect("a valid API Gateway event");
        let response = chatbot::lambda::handler(router.clone())
            .oneshot(request)
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, LIMIT as usize, "forged headers opened new buckets");
    record_admission("forged address headers, Lambda", ok, LIMIT, 14);
}

// ---- one person, one window, over IPv6 ---------------------------------------------------

/// Sends one chat through Lambda as CloudFront would forward it from `viewer`; the status.
async fn chat_in_lambda(router: &axum::Router, viewer: &str) -> StatusCode {
    use lambda_http::tower::ServiceExt;
    let request = lambda_http::request::from_str(&lambda_event(viewer, &[]))
        .expect("a valid API Gateway event");
    chatbot::lambda::handler(router.clone())
        .oneshot(request)
        .await
        .unwrap()
        .status()
}

/// `2001:db8:<a>:<b>:<low>` with the 64 low bits from `i`: one of 2^64 addresses of the
/// network `2001:db8:<a>:<b>::/64`.
fn in_network(a: u16, b: u16, i: u64) -> String {
    let low = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    std::net::Ipv6Addr::from(
        (0x2001_0db8_u128 << 96) | (u128::from(a) << 80) | (u128::from(b) << 64) | u128::from(low),
    )
    .to_string()
}

#[tokio::test]
async fn one_ipv6_host_walking_its_64_gets_one_window_in_lambda() {
    const LIMIT: u32 = 3;
    let (service, fake) = service(|config, _| config.rate_limit = LIMIT, memory()).await;
    let router = chatbot::router(service.state.clone());
    let mut ok = 0;
    for i in 0..24 {
        match chat_in_lambda(&router, &in_network(1, 2, i)).await {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        ok, LIMIT as usize,
        "each address of one /64 opened a window"
    );
    assert_eq!(fake.calls().len(), ok, "refused requests reached the model");
    record_admission("24 addresses of one IPv6 /64, Lambda", ok, LIMIT, 24);

    // Neighbouring networks, in the same /48 and in another one, are other clients.
    for (a, b) in [(1, 3), (1, 0xffff), (2, 2)] {
        let mut admitted = 0;
        for i in 0..(LIMIT as u64 + 2) {
            if chat_in_lambda(&router, &in_network(a, b, i)).await == StatusCode::OK {
                admitted += 1;
            }
        }
        assert_eq!(
            admitted, LIMIT,
            "2001:db8:{a:x}:{b:x}::/64 has its own window"
        );
    }
    assert_eq!(
        service.metric(names::RATE_LIMITED),
        (24 - LIMIT + 3 * 2) as f64
    );
}

#[tokio::test]
async fn an_ipv4_client_keeps_its_window_when_written_as_ipv4_mapped_ipv6() {
    const LIMIT: u32 = 2;
    let (service, _fake) = service(|config, _| config.rate_limit = LIMIT, memory()).await;
    let router = chatbot::router(service.state.clone());
    let statuses = [
        chat_in_lambda(&router, "198.51.100.7").await,
        chat_in_lambda(&router, "::ffff:198.51.100.7").await,
        chat_in_lambda(&router, "::ffff:c633:6407").await,
        chat_in_lambda(&router, "198.51.100.7").await,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // IPv4 neighbours are separate people.
    assert_eq!(
        chat_in_lambda(&router, "198.51.100.8").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_configured_ipv6_prefix_length_sets_the_network_one_window_covers() {
    const LIMIT: u32 = 1;
    // A /56: the 256 /64s of one customer's delegated prefix are one client.
    let (wide, _fake) = service(
        |config, _| {
            config.rate_limit = LIMIT;
            config.ipv6_prefix = chatbot::rate_bucket::Ipv6Prefix::new(56).unwrap();
        },
        memory(),
    )
    .await;
    let router = chatbot::router(wide.state.clone());
    assert_eq!(
        chat_in_lambda(&router, &in_network(1, 0x0200, 1)).await,
        StatusCode::OK
    );
    assert_eq!(
        chat_in_lambda(&router, &in_network(1, 0x02ff, 2)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "another /64 of the same /56"
    );
    assert_eq!(
        chat_in_lambda(&router, &in_network(1, 0x0300, 3)).await,
        StatusCode::OK
    );

    // A /128: every address is a client, as before this setting existed.
    let (narrow, _fake) = service(
        |config, _| {
            config.rate_limit = LIMIT;
            config.ipv6_prefix = chatbot::rate_bucket::Ipv6Prefix::new(128).unwrap();
        },
        memory(),
    )
    .await;
    let router = chatbot::router(narrow.state.clone());
    for i in 0..4 {
        assert_eq!(
            chat_in_lambda(&router, &in_network(1, 2, i)).await,
            StatusCode::OK
        );
    }
}

// ---- huge and slow bodies ----------------------------------------------------------------

/// Writes `head` and `body` on a fresh connection without ever finishing the request, and
/// reads the answer's status and body. A server that waited for the rest would never answer:
/// after 20 seconds that is a failure.
async fn unfinished(addr: SocketAddr, head: &str, body: Vec<u8>, trickle: bool) -> (u16, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let writing = tokio::spawn(async move {
        if trickle {
            for byte in body {
                if writer.write_all(&[byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } else {
            let _ = writer.write_all(&body).await;
        }
        // Keep the request open: the server must answer without the rest.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(writer);
    });
    let read = async {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = reader.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buffer[..n]);
            if let Some(end) = find(&received, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if received.len() >= end + 4 + length {
                    break;
                }
            }
        }
        received
    };
    let received = tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the service waited for a body it should have refused");
    writing.abort();
    let end = find(&received, b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&received[..end]);
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_slice(&received[end + 4..]).unwrap_or(Value::Null);
    (status, body)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A request left unfinished: name, head, the part of the body sent, whether it trickles,
/// and the status and code it must get.
struct BodyCase(&'static str, String, Vec<u8>, bool, u16, &'static str);

#[tokio::test]
async fn huge_and_slow_bodies_are_refused_before_they_end() {
    let (service, fake) = service(
        |_, tuning| tuning.body_timeout = Duration::from_millis(300),
        memory(),
    )
    .await;
    let post = |extra: &str| {
        format!(
            "POST /api/chat HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n{extra}\r\n"
        )
    };
    let cases = [
        BodyCase(
            "a declared 100 MB body",
            post("content-length: 104857600\r\n"),
            br#"{"message":"#.to_vec(),
            false,
            413,
            "payload_too_large",
        ),
        BodyCase(
            "a chunked body past the limit",
            post("transfer-encoding: chunked\r\n"),
            (0..5)
                .flat_map(|_| {
                    let mut chunk = b"2000\r\n".to_vec();
                    chunk.extend(std::iter::repeat_n(b'x', 0x2000));
                    chunk.extend_from_slice(b"\r\n");
                    chunk
                })
                .collect(),
            false,
            413,
            "payload_too_large",
        ),
        BodyCase(
            "a body that stops arriving",
            post("content-length: 40\r\n"),
            br#"{"message":"#.to_vec(),
            false,
            408,
            "request_timeout",
        ),
        BodyCase(
            "a body trickling a byte at a time",
            post("content-length: 60\r\n"),
            br#"{"message":"this arrives one byte every tenth of a second"}"#.to_vec(),
            true,
            408,
            "request_timeout",
        ),
    ];
    for BodyCase(name, head, body, trickle, status, code) in cases {
        let (got, body) = unfinished(service.addr, &head, body, trickle).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        record_bad_input(EVIDENCE, name, StatusCode::from_u16(got).unwrap());
    }
    assert!(fake.calls().is_empty());
    let fine = service.chat(json!({"message": "still fine"}), false).await;
    assert_eq!(fine.status, StatusCode::OK);
}

// ---- guessed session ids -----------------------------------------------------------------

#[tokio::test]
async fn guessed_session_ids_get_one_404_that_tells_nothing() {
    let (service, _fake) = service(|_, _| {}, memory()).await;
    let real = service
        .chat(json!({"message": "my secret is 4417"}), false)
        .await
        .session()
        .unwrap();
    let deleted = service
        .chat(json!({"message": "forget me"}), false)
        .await
        .session()
        .unwrap();
    let gone = service
        .request(
            Method::DELETE,
            &format!("/api/sessions/{deleted}"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);

    let reference = service
        .get(&format!("/api/sessions/{deleted}/messages"))
        .await;
    assert_eq!(reference.status, StatusCode::NOT_FOUND);
    for _ in 0..50 {
        let guess = uuid::Uuid::new_v4().to_string();
        for (method, path) in [
            (Method::GET, format!("/api/sessions/{guess}/messages")),
            (Method::DELETE, format!("/api/sessions/{guess}")),
        ] {
            let reply = service
                .request(method.clone(), &path, &[], Bytes::new())
                .await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(
                reply.body, reference.body,
                "a guess and a deleted session must look the same"
            );
            assert!(!String::from_utf8_lossy(&reply.body).contains(&guess));
            assert!(!reply.headers.contains_key("set-cookie"));
            record_bad_input(EVIDENCE, "guessed session id", reply.status);
        }
    }

    let long = "a".repeat(5000);
    let probes = [
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "'%20OR%201=1%20--",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "S%23anything",
        "00000000-0000-0000-0000-00000000000g",
        long.as_str(),
    ];
    for probe in probes {
        let reply = service
            .get(&format!("/api/sessions/{probe}/messages"))
            .await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 404),
            "{probe}: {}",
            reply.status
        );
        let text = String::from_utf8_lossy(&reply.body);
        assert!(!text.contains("script") && !text.contains("passwd") && !text.contains(&long));
        assert!(!text.contains("4417"), "another session's content leaked");
        record_bad_input(EVIDENCE, "malformed session id", reply.status);
    }
    assert_eq!(
        service.history(&real).await.len(),
        2,
        "the real session is intact"
    );
}
