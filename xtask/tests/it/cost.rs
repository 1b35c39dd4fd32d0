//! `cargo xtask cost`: the monthly estimate priced from the stack model and the checked-in price
//! tables, with exact figures for prod, the tables' own checks, and the command's output.

use std::path::{Path, PathBuf};
use std::process::Command;

use expect_test::expect_file;
use xtask::cost::{self, PriceTable, Workload, pico_dollars};
use xtask::review::Palette;
use xtask::{env, stack};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn estimate(name: &str, chats_per_day: u64) -> (cost::Estimate, PriceTable) {
    let environment = env::load(&root(), name).unwrap();
    estimate_of(&environment, &Workload::assume(chats_per_day))
}

fn estimate_of(
    environment: &env::Environment,
    workload: &Workload,
) -> (cost::Estimate, PriceTable) {
    let table = PriceTable::load(&root(), &environment.region).unwrap();
    let template = stack::template(environment);
    let estimate = cost::estimate(environment, &template, &table, workload).unwrap();
    (estimate, table)
}

/// Staging (`[auth] mode = "users"`, password sign-in) at 1,000 chats a day, with
/// `monthly_active_users` when given.
fn staging_with_users(monthly_active_users: Option<u64>) -> cost::Estimate {
    let environment = env::load(&root(), "staging").unwrap();
    let mut workload = Workload::assume(1_000);
    if let Some(users) = monthly_active_users {
        workload.monthly_active_users = users;
    }
    estimate_of(&environment, &workload).0
}

/// The lines of `service` as `(item, quantity, micro-dollars)`.
fn lines<'a>(estimate: &'a cost::Estimate, service: &str) -> Vec<(&'a str, &'a str, u64)> {
    estimate
        .services
        .iter()
        .find(|s| s.service == service)
        .map(|s| {
            s.lines
                .iter()
                .map(|l| (l.item.as_str(), l.quantity.as_str(), l.micro_usd))
                .collect()
        })
        .unwrap_or_default()
}

/// The monthly micro-dollars of each service.
fn by_service(estimate: &cost::Estimate) -> Vec<(&str, u64)> {
    estimate
        .services
        .iter()
        .map(|s| (s.service, s.micro_usd))
        .collect()
}

#[test]
fn prod_at_a_thousand_chats_a_day_to_the_micro_dollar() {
    let (estimate, _) = estimate("prod", 1_000);
    // 30,000 chats a month. Bedrock: 36,000,000 tokens in at $1.10 and 10,500,000 out at
    // $5.50 per million (Claude Haiku 4.5, the default): $39.60 + $57.75.
    // Guardrail: 3 text units a chat (a 300-character message, 1,400 characters of answer)
    // for content filters ($0.15), denied topics ($0.15) and PII ($0.10) per 1,000 units.
    // Lambda: 42,000 requests (30,000 chats and 12,000 other calls) at $0.20 per million,
    // (30,000 × 5,000 ms + 12,000 × 50 ms) × 512 MB = 75,300 GB-seconds at $0.0000133334.
    // CloudFront: 78,000 requests at $0.01 per 10,000 and 1.68 GB (6,000 page views of
    // 250 KB, 30,000 answers of 6 KB) at $0.085: $0.078 + $0.1428.
    // DynamoDB: 210,000 write units at $0.625 and 102,000 read units at $0.125 per million,
    // 0.09 GB (30 days of 1,000 chats of 3,000 bytes) at $0.25 and, for PITR, $0.20:
    // $0.13125 + $0.01275 + $0.0225 + $0.018.
    // CloudWatch: 17 alarms ($1.70), the dashboard ($3.00), 14 + 50 + 2 metrics ($19.80; five per
    // route and method, 10 routes), and
    // the logs: 0.0168 GB of access log and 0.0846 GB of function log at $0.50, kept 90 days
    // (three months' worth) at $0.03: $0.0084 + $0.001512 + $0.0423 + $0.007614.
    // S3: 180 GETs at $0.0004 per 1,000 and 0.001 GB at $0.023. SNS: 30 publishes at $0.50 per
    // million.
    assert_eq!(
        by_service(&estimate),
        [
            ("Amazon Bedrock", 97_350_000),
            ("Amazon Bedrock Guardrails", 36_000_000),
            ("Amazon CloudFront", 220_800),
            ("Amazon API Gateway", 147_000),
            ("AWS Lambda", 1_012_405),
            ("Amazon DynamoDB", 184_500),
            ("Amazon S3", 95),
            ("Amazon CloudWatch", 24_559_826),
            ("AWS Secrets Manager", 400_000),
            ("Amazon SNS", 15),
        ]
    );
    assert_eq!(
        estimate.total_micro_usd,
        by_service(&estimate).iter().map(|(_, m)| m).sum::<u64>()
    );
    let lambda = &estimate.services[4].lines[1];
    assert_eq!(lambda.quantity, "75,300");
    assert_eq!(lambda.unit, "GB-seconds");
    // 75,300 × $0.0000133334 = $1.00400502 → 1,004,005 micro-dollars.
    assert_eq!(lambda.micro_usd, 1_004_005);
    // A chat with each model, tokens only: 1,200 × 1.1 + 350 × 5.5 = 3,245 micro-dollars.
    let per_chat: Vec<(&str, u64)> = estimate
        .per_chat
        .iter()
        .map(|m| (m.name.as_str(), m.micro_usd_per_chat))
        .collect();
    assert_eq!(
        per_chat,
        [
            ("Claude Haiku 4.5", 3_245),
            ("gpt-oss-120b", 390),
            ("Amazon Nova Lite", 156)
        ]
    );
    // The second origin secret and its key exist only during a rotation.
    assert_eq!(
        estimate.absent,
        ["OriginSecretB", "ApiKeyB", "UsagePlanKeyB"]
    );
    assert!(estimate.not_priced.is_empty(), "{:?}", estimate.not_priced);
}

#[test]
fn what_an_environment_costs_idle() {
    // No chats: what the stack costs by being there. Dev has no guardrail and no PITR.
    let (estimate, _) = estimate("dev", 0);
    let services = by_service(&estimate);
    assert!(!services.iter().any(|(s, _)| s.contains("Guardrails")));
    let cloudwatch = services
        .iter()
        .find(|(s, _)| *s == "Amazon CloudWatch")
        .unwrap();
    // 17 alarms, the dashboard, 13 + 50 + 2 metrics: $1.70 + $3.00 + $19.50.
    assert_eq!(cloudwatch.1, 24_200_000);
    assert_eq!(
        services
            .iter()
            .find(|(s, _)| *s == "Amazon Bedrock")
            .unwrap()
            .1,
        0
    );
    assert_eq!(estimate.total_micro_usd, 24_200_000 + 400_000 + 95 + 15);
}

#[test]
fn a_user_pool_within_the_free_tier_costs_nothing() {
    // 30,000 chats a month at 20 a person: 1,500 people sign in, within Essentials' 10,000.
    let estimate = staging_with_users(None);
    assert_eq!(estimate.workload.monthly_active_users, 1_500);
    assert_eq!(
        lines(&estimate, "Amazon Cognito"),
        [("UserPool monthly active users", "1,500", 0)]
    );
    let line = &estimate
        .services
        .iter()
        .find(|s| s.service == "Amazon Cognito")
        .unwrap()
        .lines[0];
    assert_eq!(line.unit, "monthly active users");
    assert_eq!(
        line.price,
        "$0.015 per monthly active user beyond 10,000 free"
    );
    assert_eq!(line.price_key, "cognito.essentials.monthly_active_users");
    // The pool's other parts cost nothing by themselves; nothing of it is left unpriced.
    assert!(estimate.not_priced.is_empty(), "{:?}", estimate.not_priced);
    for kind in [
        "AWS::Cognito::UserPoolClient (1)",
        "AWS::Cognito::UserPoolDomain (1)",
        "AWS::Cognito::ManagedLoginBranding (1)",
    ] {
        assert!(estimate.free.iter().any(|f| f == kind), "{kind}");
    }
    assert!(
        estimate
            .assumptions
            .iter()
            .any(|a| a.starts_with("sign-in: 1,500 people sign in a month with a password")),
        "{:?}",
        estimate.assumptions
    );
}

#[test]
fn monthly_active_users_beyond_the_free_tier_are_priced_each() {
    // 25,000 people: 15,000 beyond the free 10,000 at $0.015 = $225.
    let estimate = staging_with_users(Some(25_000));
    assert_eq!(
        lines(&estimate, "Amazon Cognito"),
        [("UserPool monthly active users", "25,000", 225_000_000)]
    );
    // Exactly the free tier, and one more.
    assert_eq!(
        lines(&staging_with_users(Some(10_000)), "Amazon Cognito")[0].2,
        0
    );
    assert_eq!(
        lines(&staging_with_users(Some(10_001)), "Amazon Cognito")[0].2,
        15_000
    );
    let total = |e: &cost::Estimate| e.total_micro_usd;
    assert_eq!(
        total(&estimate) - total(&staging_with_users(Some(10_000))),
        // 1,500 more sign-up checks: $0.0003 of requests, $0.00025 of duration, $0.000318
        // of logs.
        225_000_000 + 300 + 250 + 318,
        "the pool's users and the sign-up check's 1,500 more runs"
    );
}

#[test]
fn people_signing_in_through_a_federated_provider_get_its_smaller_free_tier() {
    let mut environment = env::load(&root(), "staging").unwrap();
    if let env::Auth::Users(users) = &mut environment.auth {
        users.federation = Some(env::Federation {
            name: "Okta".into(),
            email_attribute: "email".into(),
            protocol: env::FederationProtocol::Saml {
                metadata_url: "https://idp.example.com/metadata.xml".into(),
            },
        });
    }
    let mut workload = Workload::assume(1_000);
    workload.monthly_active_users = 300;
    let (estimate, _) = estimate_of(&environment, &workload);
    // 250 beyond the federated 50 at $0.015 = $3.75.
    assert_eq!(
        lines(&estimate, "Amazon Cognito"),
        [("UserPool monthly active users", "300", 3_750_000)]
    );
    assert_eq!(
        estimate
            .services
            .iter()
            .find(|s| s.service == "Amazon Cognito")
            .unwrap()
            .lines[0]
            .price_key,
        "cognito.federated.monthly_active_users"
    );
    assert!(
        estimate
            .free
            .iter()
            .any(|f| f == "AWS::Cognito::UserPoolIdentityProvider (1)"),
        "{:?}",
        estimate.free
    );
    assert!(
        estimate
            .assumptions
            .iter()
            .any(|a| a.starts_with("sign-in: 300 people sign in a month through Okta")),
        "{:?}",
        estimate.assumptions
    );
}

#[test]
fn the_sign_up_check_runs_per_sign_up_not_per_request() {
    // 1,500 people, 10 in 100 of them new: 150 runs of 100 ms at 128 MB = 1.875 GB-seconds,
    // where every chat's request was counted before.
    let estimate = staging_with_users(None);
    let lambda = lines(&estimate, "AWS Lambda");
    assert_eq!(
        lambda[2..],
        [
            ("SignUpCheckFunction requests", "150", 30),
            ("SignUpCheckFunction duration at 128 MB", "1.875", 25),
        ]
    );
    // The chat function still serves every request: 30,000 chats and 12,000 other calls.
    assert_eq!(lambda[0], ("Function requests", "42,000", 8_400));
    // Its log: 150 checks of 400 bytes, 0.00006 GB at $0.50, kept 30 days at $0.03.
    let logs: Vec<_> = lines(&estimate, "Amazon CloudWatch")
        .into_iter()
        .filter(|(item, _, _)| item.contains("SignUpCheckLogGroup"))
        .collect();
    assert_eq!(
        logs,
        [
            ("logs ingested into SignUpCheckLogGroup", "<0.001", 30),
            ("logs stored in SignUpCheckLogGroup (30 days)", "<0.001", 2),
        ]
    );
}

#[test]
fn a_public_chatbot_has_no_user_pool_to_price() {
    let (estimate, _) = estimate("prod", 1_000);
    assert!(lines(&estimate, "Amazon Cognito").is_empty());
    assert!(
        !estimate
            .assumptions
            .iter()
            .any(|a| a.starts_with("sign-in:"))
    );
}

#[test]
fn the_estimate_as_text_and_json() {
    let (estimate, table) = estimate("prod", 1_000);
    expect_file!["snapshots/cost_prod.txt"].assert_eq(&cost::render_estimate(
        &estimate,
        &table,
        Palette::PLAIN,
    ));
    // With sign-in: the user pool's line, its free tier, and what the estimate assumes of it.
    let (staging, staging_table) = self::estimate("staging", 1_000);
    expect_file!["snapshots/cost_staging.txt"].assert_eq(&cost::render_estimate(
        &staging,
        &staging_table,
        Palette::PLAIN,
    ));
    let json: serde_json::Value = serde_json::to_value(&estimate).unwrap();
    assert_eq!(json["total_micro_usd"], 159_874_641);
    assert_eq!(
        json["services"][0]["lines"][0]["price_key"],
        "models.prices"
    );
    assert_eq!(json["workload"]["chats_per_day"], 1_000);
    assert!(json["assumptions"].as_array().unwrap().len() >= 6);
}

#[test]
fn price_tables_are_exact_dated_and_sourced() {
    assert_eq!(pico_dollars("0.20"), Some(200_000_000_000));
    assert_eq!(pico_dollars("0.0000133334"), Some(13_333_400));
    assert_eq!(pico_dollars("3"), Some(3_000_000_000_000));
    assert_eq!(pico_dollars("0.000000000001"), Some(1));
    for bad in ["", ".5", "1.", "-1", "1e3", "0.0000000000001", "1,50", " 1"] {
        assert_eq!(pico_dollars(bad), None, "{bad:?}");
    }
    // Each checked-in table reads, for its own region, with every price the estimate uses.
    for region in ["us-east-1", "us-west-2"] {
        let table = PriceTable::load(&root(), region).unwrap();
        assert_eq!(table.prices.len(), 24, "{region}");
        for price in table.prices.values() {
            assert!(
                !price.source.is_empty() && price.as_of.starts_with("2026-"),
                "{price:?}"
            );
        }
    }
    let check = |text: &str, message: &str| {
        let err = PriceTable::parse("prices/test.toml", "us-east-1", text).unwrap_err();
        assert_eq!(format!("{err:#}").lines().next().unwrap(), message);
    };
    let entry = "[[price]]\nkey = \"lambda.requests\"\nusd = \"0.20\"\nper = 1_000_000\nunit = \"request\"\nas_of = 2026-09-03\nsource = \"x\"\n";
    check(
        &format!("region = \"us-west-2\"\n{entry}"),
        "prices/test.toml: region: \"us-west-2\" is not \"us-east-1\"",
    );
    check(
        &format!("region = \"us-east-1\"\n{entry}{entry}"),
        "prices/test.toml: price[1] (lambda.requests): the key is listed twice",
    );
    check(
        &format!(
            "region = \"us-east-1\"\n{}",
            entry.replace("\"0.20\"", "\"twenty cents\"")
        ),
        "prices/test.toml: price[0] (lambda.requests): usd \"twenty cents\" is not an amount of dollars such as \"0.20\" (up to 12 decimals)",
    );
    check(
        &format!(
            "region = \"us-east-1\"\n{}",
            entry.replace("2026-09-03", "2026-09-03T10:00:00")
        ),
        "prices/test.toml: price[0] (lambda.requests): as_of must be a date such as 2026-09-03",
    );
    // A free tier, when a price has one: units a month not charged.
    let table = PriceTable::parse(
        "prices/test.toml",
        "us-east-1",
        &format!("region = \"us-east-1\"\n{entry}free = 1_000_000\n"),
    )
    .unwrap();
    assert_eq!(table.get("lambda.requests").unwrap().free, 1_000_000);
    let east = PriceTable::load(&root(), "us-east-1").unwrap();
    assert_eq!(
        east.get("cognito.essentials.monthly_active_users")
            .unwrap()
            .free,
        10_000
    );
    assert_eq!(
        east.get("cognito.federated.monthly_active_users")
            .unwrap()
            .free,
        50
    );
    let err = PriceTable::load(&root(), "eu-central-1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no price table for eu-central-1: prices/eu-central-1.toml does not exist (tables: us-east-1, us-west-2); copy one, check each price for eu-central-1 and set its date"
    );
}

#[test]
fn the_command_prints_the_estimate_or_its_json() {
    let xtask = env!("CARGO_BIN_EXE_xtask");
    let run = |args: &[&str]| {
        Command::new(xtask)
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = run(&["cost", "--env", "staging", "--chats-per-day", "200"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Monthly estimate for staging (us-east-1), 200 chats a day\n"),
        "{text}"
    );
    assert!(text.contains("\nAssumptions\n"), "{text}");
    assert!(
        text.contains("\n  Amazon Cognito ") && text.contains("UserPool monthly active users"),
        "{text}"
    );
    let out = run(&["cost", "--env", "staging", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["environment"], "staging");
    assert_eq!(json["workload"]["chats_per_day"], 1_000);
    assert_eq!(json["workload"]["monthly_active_users"], 1_500);
    let out = run(&[
        "cost",
        "--env",
        "staging",
        "--monthly-active-users",
        "25000",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["workload"]["monthly_active_users"], 25_000);
    let cognito = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "Amazon Cognito")
        .unwrap();
    assert_eq!(cognito["micro_usd"], 225_000_000);
    let out = run(&["cost", "--env", "staging", "--monthly-active-users", "many"]);
    assert_eq!(out.status.code(), Some(2));
    let error = String::from_utf8(out.stderr).unwrap();
    assert!(error.contains("--monthly-active-users"), "{error}");
    let out = run(&["cost", "--env", "nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    let error = String::from_utf8(out.stderr).unwrap();
    assert!(
        error.starts_with("error: no environment `nowhere`"),
        "{error}"
    );
}
