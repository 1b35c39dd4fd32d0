//! What `diff` says about spend: each kind of change that can raise spend is marked, a change
//! that lowers spend is not, and the worst-case model spend per day before and after is worked
//! out exactly. Both sides are real templates: rendered from `envs/prod.toml` with one edit,
//! and (for a stack deployed before prices were passed to the function) the prod template as
//! it was then, checked in as a fixture.

use std::path::{Path, PathBuf};

use expect_test::expect_file;
use xtask::review::{self, Palette, SpendReview};
use xtask::{env, stack};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn prod_text() -> String {
    std::fs::read_to_string(root().join("envs/prod.toml")).unwrap()
}

/// The prod template with each `(from, to)` replaced once in envs/prod.toml.
fn prod_template(edits: &[(&str, &str)]) -> String {
    let mut text = prod_text();
    for (from, to) in edits {
        assert!(text.contains(from), "prod.toml has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let environment = env::parse("prod", "envs/prod.toml", &text).unwrap();
    stack::render(&environment).unwrap()
}

fn review_of(before: &str, after: &str) -> SpendReview {
    review::spend_review(before, after).expect("both are chatbot templates")
}

/// Going from prod as checked in to prod with `edits`: the settings that change, each with
/// whether it can raise spend.
#[track_caller]
fn check(edits: &[(&str, &str)], expect: &[(&str, bool)]) -> SpendReview {
    let review = review_of(&prod_template(&[]), &prod_template(edits));
    let got: Vec<(&str, bool)> = review
        .changes
        .iter()
        .map(|c| (c.setting.as_str(), c.raises))
        .collect();
    assert_eq!(got, expect);
    review
}

#[test]
fn a_higher_token_budget_raises_spend_and_a_lower_one_does_not() {
    check(
        &[(
            "daily_token_budget = 20_000_000",
            "daily_token_budget = 40_000_000",
        )],
        &[("daily token budget", true)],
    );
    check(
        &[(
            "daily_token_budget = 20_000_000",
            "daily_token_budget = 5_000_000",
        )],
        &[("daily token budget", false)],
    );
}

#[test]
fn a_higher_or_removed_dollar_budget_raises_spend() {
    check(
        &[(
            "daily_cost_budget_usd = 50.00",
            "daily_cost_budget_usd = 75.50",
        )],
        &[("daily dollar budget", true)],
    );
    let review = check(
        &[("daily_cost_budget_usd = 50.00", "")],
        &[("daily dollar budget", true)],
    );
    assert_eq!(review.changes[0].after, None);
    check(
        &[(
            "daily_cost_budget_usd = 50.00",
            "daily_cost_budget_usd = 10",
        )],
        &[("daily dollar budget", false)],
    );
}

#[test]
fn a_looser_rate_limit_raises_spend() {
    check(
        &[("rate_limit = 30", "rate_limit = 60")],
        &[("rate limit per client", true)],
    );
    // The same count in a shorter window is more requests a second.
    check(
        &[("rate_window_seconds = 60", "rate_window_seconds = 30")],
        &[("rate limit per client", true)],
    );
    // 60 per 120 s is 30 per 60 s: no more than before.
    check(
        &[
            ("rate_limit = 30", "rate_limit = 60"),
            ("rate_window_seconds = 60", "rate_window_seconds = 120"),
        ],
        &[("rate limit per client", false)],
    );
}

#[test]
fn more_concurrency_a_longer_answer_cap_and_a_faster_api_raise_spend() {
    check(
        &[("reserved_concurrency = 50", "reserved_concurrency = 200")],
        &[("reserved concurrency", true)],
    );
    check(
        &[("max_output_tokens = 2048", "max_output_tokens = 8192")],
        &[("output tokens per answer", true)],
    );
    check(
        &[
            ("throttle_rate = 50", "throttle_rate = 500"),
            ("throttle_burst = 100", "throttle_burst = 1000"),
        ],
        &[("API throttle (requests/s)", true), ("API burst", true)],
    );
    check(
        &[("memory_mb = 512", "memory_mb = 1024")],
        &[("function memory", true)],
    );
}

/// The last allowed model of envs/prod.toml and the end of the list.
const LAST_MODEL: &str = r#"    { id = "us.amazon.nova-lite-v1:0", name = "Amazon Nova Lite" },
]"#;
const SONNET: &str = r#"    { id = "us.amazon.nova-lite-v1:0", name = "Amazon Nova Lite" },
    { id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0", name = "Claude Sonnet 4.5" },
]"#;
const SONNET_PRICE: &str = r#"[models.prices."us.anthropic.claude-sonnet-4-5-20250929-v1:0"]
input = 3.30
output = 16.50
as_of = 2026-10-05

[chat]"#;
const MICRO: &str = r#"    { id = "us.amazon.nova-lite-v1:0", name = "Amazon Nova Lite" },
    { id = "us.amazon.nova-micro-v1:0", name = "Amazon Nova Micro" },
]"#;
const MICRO_PRICE: &str = r#"[models.prices."us.amazon.nova-micro-v1:0"]
input = 0.035
output = 0.14
as_of = 2026-09-03

[chat]"#;

#[test]
fn a_pricier_model_raises_spend_and_a_cheaper_one_does_not() {
    let review = check(
        &[(LAST_MODEL, SONNET), ("[chat]", SONNET_PRICE)],
        &[("model us.anthropic.claude-sonnet-4-5-20250929-v1:0", true)],
    );
    assert_eq!(
        review.changes[0].after.as_deref(),
        Some("allowed, $3.30 in / $16.50 out per M")
    );
    check(
        &[(LAST_MODEL, MICRO), ("[chat]", MICRO_PRICE)],
        &[("model us.amazon.nova-micro-v1:0", false)],
    );
    // A model dropped (with its price) lowers spend.
    let text = prod_text();
    let price = &text
        [text.find("# gpt-oss bills").unwrap()..text.find("# The price list gives Nova").unwrap()];
    check(
        &[
            (
                "    { id = \"openai.gpt-oss-120b-1:0\", name = \"gpt-oss-120b\" },\n",
                "",
            ),
            (price, ""),
        ],
        &[("model openai.gpt-oss-120b-1:0", false)],
    );
}

#[test]
fn a_higher_price_for_a_model_already_allowed_raises_spend() {
    check(
        &[("input = 0.15", "input = 0.20")],
        &[("price of openai.gpt-oss-120b-1:0", true)],
    );
    check(
        &[("output = 0.60", "output = 0.50")],
        &[("price of openai.gpt-oss-120b-1:0", false)],
    );
}

#[test]
fn removing_the_guardrail_raises_spend() {
    let text = prod_text();
    let guardrail = &text[text.find("[guardrail]").unwrap()..text.find("# [domain]").unwrap()];
    let review = check(&[(guardrail, "")], &[("guardrail", true)]);
    assert_eq!(
        review.changes[0].reason,
        "prompts it blocked now reach the model"
    );
}

#[test]
fn removing_an_alarm_raises_spend() {
    // The stack model renders every alarm; a template that lost one (a change to the model, or
    // a hand-edited template) is marked.
    let before = prod_template(&[]);
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&before).unwrap();
    let resources = doc["Resources"].as_mapping_mut().unwrap();
    resources.remove("BudgetAlarm").unwrap();
    resources.remove("ModelErrorsAlarm").unwrap();
    let after = serde_yaml::to_string(&doc).unwrap();
    let review = review_of(&before, &after);
    let got: Vec<(&str, bool, &str)> = review
        .changes
        .iter()
        .map(|c| (c.setting.as_str(), c.raises, c.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("alarm BudgetAlarm", true, "overspending would go unnoticed"),
            (
                "alarm ModelErrorsAlarm",
                true,
                "a failure would go unnoticed"
            ),
        ]
    );
}

#[test]
fn changes_that_lower_spend_are_not_marked() {
    let review = check(
        &[
            (
                "daily_token_budget = 20_000_000",
                "daily_token_budget = 10_000_000",
            ),
            (
                "daily_cost_budget_usd = 50.00",
                "daily_cost_budget_usd = 20",
            ),
            ("rate_limit = 30", "rate_limit = 10"),
            ("reserved_concurrency = 50", "reserved_concurrency = 10"),
            ("max_output_tokens = 2048", "max_output_tokens = 1024"),
            ("throttle_rate = 50", "throttle_rate = 20"),
            ("memory_mb = 512", "memory_mb = 256"),
        ],
        &[
            ("daily token budget", false),
            ("daily dollar budget", false),
            ("output tokens per answer", false),
            ("reserved concurrency", false),
            ("API throttle (requests/s)", false),
            ("function memory", false),
            ("rate limit per client", false),
        ],
    );
    assert!(!review.raises());
    let (before, after) = (
        review.before.unwrap().micro_usd_per_day.unwrap(),
        review.after.micro_usd_per_day.unwrap(),
    );
    assert!(after < before, "{after} < {before}");
    // An unchanged template: nothing to mark.
    assert!(check(&[], &[]).changes.is_empty());
}

#[test]
fn the_worst_case_per_day_is_worked_out_exactly() {
    let review = check(&[], &[]);
    // The dollar budget ($50) is below the token budget's 20,000,000 tokens at Claude Haiku
    // 4.5's dearest token ($5.50 per million out: $110). Turns in flight when it runs out:
    // up to 50 (reserved concurrency), each at most 2,048 tokens out at $5.50 per million
    // (11,264 micro-dollars) and the service's largest input, (60,000 + 8,000 + 37) / 4 =
    // 17,010 tokens, at the dearest input price, Haiku's cache write at $1.375 (23,388.75):
    // 34,652.75 micro-dollars a turn. Up to 50 more start on the budget total each instance
    // caches for a second (the API stage's 50 requests/s): 100 turns, 3,465,275; with the
    // budget 53,465,275.
    let after = &review.after;
    assert_eq!(after.micro_usd_per_day, Some(53_465_275));
    assert_eq!(
        after.usd_per_day.as_deref(),
        Some("$53.47"),
        "to the cent for people"
    );
    assert_eq!(
        after.reasoning,
        [
            "the $50.00 dollar budget stops the day first (the token budget allows $110.00 at $5.50 per M)",
            "plus up to 50 turns in flight when it does and 50 more started on the budget total cached for 1000 ms (the API stage's rate), at up to $0.034653 each (2,048 tokens out, 17,010 in)",
        ]
    );

    // Without the dollar budget the token budget decides: $110 + the same in flight.
    let review = check(
        &[("daily_cost_budget_usd = 50.00", "")],
        &[("daily dollar budget", true)],
    );
    assert_eq!(review.after.micro_usd_per_day, Some(113_465_275));
    assert_eq!(review.before.unwrap().micro_usd_per_day, Some(53_465_275));

    // A budget so high that the API's steady 1 request a second is the tighter bound:
    // 86,400 turns a day at 34,652.75 micro-dollars = 2,993,997,600 → $2,993.9976.
    let review = check(
        &[
            ("daily_cost_budget_usd = 50.00", ""),
            (
                "daily_token_budget = 20_000_000",
                "daily_token_budget = 1_000_000_000_000",
            ),
            ("throttle_rate = 50", "throttle_rate = 1"),
        ],
        &[
            ("daily token budget", true),
            ("daily dollar budget", true),
            ("API throttle (requests/s)", false),
        ],
    );
    assert_eq!(review.after.micro_usd_per_day, Some(2_993_997_600));
    assert_eq!(
        review.after.reasoning.last().unwrap(),
        "the API stage's 1 requests/s allow only $2,994.00 a day"
    );
}

#[test]
fn a_stack_deployed_before_prices_is_priced_with_the_new_ones() {
    let deployed = std::fs::read_to_string(
        root().join("xtask/tests/it/fixtures/template_prod_before_prices.yaml"),
    )
    .unwrap();
    let review = review_of(&deployed, &prod_template(&[]));
    let got: Vec<(&str, bool)> = review
        .changes
        .iter()
        .map(|c| (c.setting.as_str(), c.raises))
        .collect();
    // The dollar budget is new (a limit that appears limits); prices appear, which raises nothing.
    assert_eq!(
        got,
        [
            ("daily dollar budget", false),
            (
                "price of us.anthropic.claude-haiku-4-5-20251001-v1:0",
                false
            ),
            ("price of openai.gpt-oss-120b-1:0", false),
            ("price of us.amazon.nova-lite-v1:0", false),
        ]
    );
    let before = review.before.as_ref().unwrap();
    // No dollar budget then: the token budget's $110 plus the turns in flight.
    assert_eq!(before.micro_usd_per_day, Some(111_732_638));
    assert_eq!(
        before.reasoning[0],
        "priced with the new env file's prices: the deployed template carries none"
    );
    // A new stack has no "before".
    let created = review::spend_review("", &prod_template(&[])).unwrap();
    assert!(created.before.is_none() && created.changes.is_empty());
}

#[test]
fn the_spend_section_as_text_and_json() {
    let review = check(
        &[
            (
                "daily_token_budget = 20_000_000",
                "daily_token_budget = 40_000_000",
            ),
            (
                "daily_cost_budget_usd = 50.00",
                "daily_cost_budget_usd = 100",
            ),
            ("reserved_concurrency = 50", "reserved_concurrency = 20"),
            (LAST_MODEL, SONNET),
            ("[chat]", SONNET_PRICE),
        ],
        &[
            ("daily token budget", true),
            ("daily dollar budget", true),
            ("reserved concurrency", false),
            ("model us.anthropic.claude-sonnet-4-5-20250929-v1:0", true),
        ],
    );
    let text = review::render_spend(&review, Palette::PLAIN);
    expect_file!["snapshots/spend.txt"].assert_eq(&text);
    let json = serde_json::to_string_pretty(&review).unwrap();
    expect_file!["snapshots/spend.json"].assert_eq(&json);
}
