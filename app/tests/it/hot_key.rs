//! No hot key: a bounded load test of the chat service against a DynamoDB stand-in that
//! enforces DynamoDB's per-partition throughput, scaled down.
//!
//! Several service instances (each its own store and budget cache, as Lambda instances are)
//! share one table on moto_server behind `FaultyDynamo`, which answers
//! `ProvisionedThroughputExceededException` to any request that takes one partition key past
//! [`WRITES`] writes or [`READS`] reads in a second (DynamoDB's 1,000 and 3,000 divided by
//! 200). All turns start at once, each from its own loopback address (127.1.x.y: its own rate
//! window) and in its own new session. With the budget spread over shards no key reaches the
//! limit and every turn is answered; with the one-item budget the same load throttles that
//! item, which shows the test can fail.

use crate::support;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatbot::contract::metrics as names;
use chatbot::metrics::Metrics;
use chatbot::store::{BudgetLayout, DynamoStore, Store};
use chatbot::{AppState, Config};
use testkit::bedrock::FakeBedrock;
use testkit::faulty_dynamo::FaultyDynamo;
use testkit::moto::MotoServer;
use testkit::partition_meter::{PartitionLimits, PartitionReport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TABLE: &str = "chatbot";
/// Turns started at once.
const TURNS: usize = 240;
/// Service instances the turns are spread over.
const INSTANCES: usize = 8;
/// Per partition key per second: DynamoDB's 1,000 writes and 3,000 reads, divided by 200.
const WRITES: u32 = 5;
const READS: u32 = 15;
/// How long an instance reuses the budget total it read: at most `INSTANCES` reads of each
/// shard per window, within `READS`.
const CACHE: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_sharded_budget_keeps_every_key_under_dynamodbs_limit() {
    let run = run(64).await;
    println!("64 budget shards: {run}");
    assert_eq!(run.answered, TURNS, "every turn is answered: {run}");
    assert_eq!(run.report.throttled, 0, "no request was throttled: {run}");
    let (key, most) = run.report.max_writes.clone().unwrap();
    assert!(
        most <= WRITES,
        "{key} was asked for {most} writes in a second: {run}"
    );
    // Each answer's spend was added to the budget exactly once.
    assert_eq!(run.budget_tokens, run.tokens_answered, "{run}");
}

#[tokio::test]
async fn the_one_item_budget_is_throttled_under_the_same_load() {
    let run = run(1).await;
    println!("1 budget item: {run}");
    assert!(
        run.report.throttled > 0,
        "the hot item was throttled: {run}"
    );
    let (key, most) = run.report.max_writes.clone().unwrap();
    assert_eq!(key, "BUDGET", "{run}");
    assert!(most > WRITES, "{run}");
}

/// What one run showed.
struct Run {
    seconds: f64,
    answered: usize,
    refused: Vec<u16>,
    report: PartitionReport,
    tokens_answered: u64,
    budget_tokens: u64,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let max = |m: &Option<(String, u32)>| {
            m.as_ref()
                .map_or("none".to_owned(), |(key, n)| format!("{n} ({key})"))
        };
        write!(
            f,
            "{TURNS} turns over {INSTANCES} instances in {:.1} s: {} answered, refused {:?}; \
             {} requests throttled; most writes asked of one key in a second {}, reads {}; \
             limit {WRITES} writes and {READS} reads per key per second; the budget counted {} \
             of the {} tokens answered",
            self.seconds,
            self.answered,
            self.refused,
            self.report.throttled,
            max(&self.report.max_writes),
            max(&self.report.max_reads),
            self.budget_tokens,
            self.tokens_answered,
        )
    }
}

async fn run(shards: u32) -> Run {
    let moto = MotoServer::start().expect("moto_server starts");
    let proxy = FaultyDynamo::start(&moto.endpoint()).await.unwrap();
    let client = support::dynamo_client(&proxy.endpoint(), 3);
    support::create_table(&client, TABLE).await;
    let fake = FakeBedrock::start().await.expect("the fake Bedrock starts");
    let layout = BudgetLayout::new(shards, CACHE).unwrap();

    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        let config = Config {
            table_name: Some(TABLE.to_owned()),
            budget_shards: shards,
            ..support::config()
        };
        let state = Arc::new(AppState {
            metrics: Metrics::in_memory(&config.environment),
            config,
            tuning: support::tuning(),
            store: Store::Dynamo(DynamoStore::new(client.clone(), TABLE).with_budget(layout)),
            model: support::fake_model(&fake),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = chatbot::router(Arc::clone(&state));
        tokio::spawn(chatbot::serve_local(
            listener,
            router,
            std::future::pending(),
        ));
        instances.push((addr, state));
    }

    proxy.limit_partitions(PartitionLimits {
        writes: WRITES,
        reads: READS,
        per: Duration::from_secs(1),
        key_attribute: "pk",
    });
    let started = Instant::now();
    let turns = (0..TURNS).map(|i| {
        let (addr, _) = &instances[i % INSTANCES];
        turn(*addr, client_address(i), i)
    });
    let statuses = futures_util::future::join_all(turns).await;
    let seconds = started.elapsed().as_secs_f64();
    let report = proxy.partition_report();

    let answered = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.into_iter().filter(|s| *s != 200).collect();
    let metric = |name| -> f64 { instances.iter().map(|(_, s)| s.metrics.total(name)).sum() };
    let tokens_answered = (metric(names::INPUT_TOKENS) + metric(names::OUTPUT_TOKENS)) as u64;
    // The budget metric and its alarm's input are still written with every answer.
    assert!(metric(names::BUDGET_USED_PERCENT) > 0.0 || answered == 0);
    let exact = DynamoStore::new(support::dynamo_client(&moto.endpoint(), 3), TABLE)
        .with_budget(BudgetLayout::new(shards, Duration::ZERO).unwrap());
    let day = chatbot::clock::utc_day(chatbot::clock::now_ms().div_euclid(1000));
    let budget_tokens = Store::Dynamo(exact).spent(&day).await.unwrap().tokens;
    Run {
        seconds,
        answered,
        refused,
        report,
        tokens_answered,
        budget_tokens,
    }
}

/// 127.1.x.y: every turn its own client, so its own rate window.
fn client_address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

/// One `POST /api/chat` from `from`; the status answered.
async fn turn(service: SocketAddr, from: Ipv4Addr, i: usize) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(IpAddr::V4(from), 0))
        .expect("any 127.x address is loopback");
    let mut stream = socket.connect(service).await.expect("the service accepts");
    let body = format!(r#"{{"message":"turn {i}"}}"#);
    let request = format!(
        "POST /api/chat HTTP/1.1\r\nhost: {service}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}
