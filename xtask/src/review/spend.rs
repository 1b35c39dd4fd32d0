//! Spend changes between two templates, the way [`super::iam`] marks access changes: every
//! setting that bounds what the stack can spend, before and after, whether the change can raise
//! spend, and the worst-case model spend per day each template allows.
//!
//! Read from the templates (the deployed one and the new one), like the IAM table, so the same
//! review appears for a stack that does not exist yet and against servers that return no
//! property values. The function's settings are its environment variables (whatever the
//! function's resource type), the throttling is the API stage's, the prices are the ones the
//! template passes the function; a deployed template from before prices were passed is priced
//! with the new template's prices for the same models, and says so.

use std::collections::{BTreeMap, BTreeSet};

use chatbot_contract::budget::CACHE_MILLIS;
use chatbot_contract::env_vars;
use chatbot_contract::limits::{MAX_HISTORY_CHARS, MAX_MESSAGE_CHARS};
use chatbot_contract::pricing::{
    TOKENS_PER_PRICE, TokenPrices, Usd, divide_rounding_half_up, grouped,
};
use serde::Serialize;
use serde_yaml::Value;

use super::Palette;
use super::table::Table;

/// Seconds in a day: the API stage's steady rate over a day bounds the turns it lets through.
const DAY_SECONDS: u128 = 86_400;

/// What `diff` shows about spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendReview {
    /// The spend settings that differ, in a fixed order.
    pub changes: Vec<SpendChange>,
    /// The worst case the deployed template allows; `None` for a new stack.
    pub before: Option<WorstCase>,
    pub after: WorstCase,
}

impl SpendReview {
    /// Whether any change can raise spend.
    pub fn raises(&self) -> bool {
        self.changes.iter().any(|c| c.raises)
    }
}

/// One setting that bounds spend, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendChange {
    /// `daily token budget`, `model us.anthropic...`, `alarm BudgetAlarm`, ...
    pub setting: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Can spend more than before.
    pub raises: bool,
    /// Why, in a few words.
    pub reason: String,
}

/// The most the stack's model calls can spend in one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorstCase {
    /// Micro-dollars per day; `None` when a model has no known price or nothing bounds spend.
    pub micro_usd_per_day: Option<u64>,
    /// The same in dollars rounded to the cent, for people.
    pub usd_per_day: Option<String>,
    /// How the figure comes about, one sentence per bound.
    pub reasoning: Vec<String>,
}

/// The settings of a template that bound spend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpendSettings {
    /// Allowed models in order, with their prices when the template carries them.
    pub models: Vec<(String, Option<TokenPrices>)>,
    pub max_output_tokens: Option<u64>,
    pub daily_token_budget: Option<u64>,
    pub daily_cost_budget_micro_usd: Option<u64>,
    /// Requests per client and the window's seconds.
    pub rate_limit: Option<(u64, u64)>,
    pub reserved_concurrency: Option<u64>,
    pub memory_mb: Option<u64>,
    /// The API stage's steady rate (requests per second) and burst, the highest of its
    /// method settings.
    pub api_throttle: Option<(u64, u64)>,
    pub guardrail: bool,
    /// Logical IDs of the alarms.
    pub alarms: BTreeSet<String>,
    /// Characters of the system prompt (sent with every turn).
    pub system_prompt_chars: u64,
    /// The service spreads its budget over shards and checks it through a per-instance cache
    /// (the template sets the shard count): turns can start on a total up to one cache window
    /// old.
    pub budget_cached: bool,
}

/// The spend settings of `template`; `None` when it is empty or not a template with a chat
/// function (a stack that does not exist yet).
pub fn spend_settings(template: &str) -> Option<SpendSettings> {
    let doc: Value = serde_yaml::from_str(template).ok()?;
    let resources = doc.get("Resources")?.as_mapping()?;
    let mut settings = SpendSettings::default();
    let mut found_function = false;
    for (id, resource) in resources {
        let id = id.as_str().unwrap_or_default();
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
        let props = resource.get("Properties");
        let get = |key: &str| props.and_then(|p| p.get(key));
        if kind == "AWS::CloudWatch::Alarm" {
            settings.alarms.insert(id.to_owned());
        }
        if kind == "AWS::Bedrock::Guardrail" {
            settings.guardrail = true;
        }
        if let Some(Value::Sequence(methods)) = get("MethodSettings") {
            for method in methods {
                let rate = method.get("ThrottlingRateLimit").and_then(number);
                let burst = method.get("ThrottlingBurstLimit").and_then(number);
                if let (Some(rate), Some(burst)) = (rate, burst) {
                    let (r, b) = settings.api_throttle.unwrap_or((0, 0));
                    settings.api_throttle = Some((r.max(rate), b.max(burst)));
                }
            }
        }
        let Some(variables) = props
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        let variable = |name: &str| variables.get(name);
        let Some(models) = variable(env_vars::MODELS).and_then(Value::as_str) else {
            continue;
        };
        found_function = true;
        settings.models = models_of(models);
        let count = |name: &str| variable(name).and_then(number);
        settings.max_output_tokens = count(env_vars::MAX_OUTPUT_TOKENS);
        settings.daily_token_budget = count(env_vars::DAILY_TOKEN_BUDGET);
        settings.daily_cost_budget_micro_usd = count(env_vars::DAILY_COST_BUDGET_MICRO_USD);
        settings.rate_limit = count(env_vars::RATE_LIMIT).zip(count(env_vars::RATE_WINDOW_SECONDS));
        settings.budget_cached = variable(env_vars::BUDGET_SHARDS).is_some();
        settings.guardrail |= variable(env_vars::GUARDRAIL_ID).is_some();
        settings.system_prompt_chars = variable(env_vars::SYSTEM_PROMPT)
            .and_then(Value::as_str)
            .map_or(0, |prompt| prompt.chars().count() as u64);
        settings.reserved_concurrency = get("ReservedConcurrentExecutions").and_then(number);
        settings.memory_mb = get("MemorySize").and_then(number);
    }
    found_function.then_some(settings)
}

/// The review of going from the `deployed` template (empty for a new stack) to `new`.
pub fn spend_review(deployed: &str, new: &str) -> Option<SpendReview> {
    let after = spend_settings(new)?;
    let before = spend_settings(deployed);
    let changes = before
        .as_ref()
        .map(|before| spend_changes(before, &after))
        .unwrap_or_default();
    Some(SpendReview {
        changes,
        before: before.as_ref().map(|b| worst_case(b, Some(&after))),
        after: worst_case(&after, None),
    })
}

/// The settings that differ between `before` and `after`, each marked when it can raise spend.
pub fn spend_changes(before: &SpendSettings, after: &SpendSettings) -> Vec<SpendChange> {
    let mut changes: Vec<SpendChange> = Vec::new();
    changes.extend(numeric_change(
        "daily token budget",
        before.daily_token_budget,
        after.daily_token_budget,
        "more tokens a day before chats stop",
        "",
    ));
    let (old_usd, new_usd) = (
        before.daily_cost_budget_micro_usd,
        after.daily_cost_budget_micro_usd,
    );
    if old_usd != new_usd {
        let raises = grows(old_usd, new_usd);
        changes.push(SpendChange {
            setting: "daily dollar budget".to_owned(),
            before: old_usd.map(|v| Usd(v).to_string()),
            after: new_usd.map(|v| Usd(v).to_string()),
            raises,
            reason: match (raises, new_usd) {
                (true, None) => "no dollar limit: only the token budget stops the day".to_owned(),
                (true, Some(_)) => "more dollars a day before chats stop".to_owned(),
                (false, _) => "lowers spend".to_owned(),
            },
        });
    }
    for (setting, old, new, more, unit) in [
        (
            "output tokens per answer",
            before.max_output_tokens,
            after.max_output_tokens,
            "longer, costlier answers",
            "",
        ),
        (
            "reserved concurrency",
            before.reserved_concurrency,
            after.reserved_concurrency,
            "more turns at once, and more in flight past the budget",
            "",
        ),
        (
            "API throttle (requests/s)",
            before.api_throttle.map(|t| t.0),
            after.api_throttle.map(|t| t.0),
            "more requests a second reach the function",
            "",
        ),
        (
            "API burst",
            before.api_throttle.map(|t| t.1),
            after.api_throttle.map(|t| t.1),
            "more requests at once reach the function",
            "",
        ),
        (
            "function memory",
            before.memory_mb,
            after.memory_mb,
            "Lambda bills memory × duration",
            " MB",
        ),
    ] {
        changes.extend(numeric_change(setting, old, new, more, unit));
    }
    if before.rate_limit != after.rate_limit {
        let describe = |limit: Option<(u64, u64)>| limit.map(|(n, s)| format!("{n} per {s} s"));
        // More requests per second: n₂/s₂ > n₁/s₁, compared without division.
        let raises = match (before.rate_limit, after.rate_limit) {
            (Some((n1, s1)), Some((n2, s2))) => {
                u128::from(n2) * u128::from(s1) > u128::from(n1) * u128::from(s2)
            }
            (Some(_), None) => true,
            _ => false,
        };
        changes.push(SpendChange {
            setting: "rate limit per client".to_owned(),
            before: describe(before.rate_limit),
            after: describe(after.rate_limit),
            raises,
            reason: if raises {
                "each client may chat more often".to_owned()
            } else {
                "lowers spend".to_owned()
            },
        });
    }
    model_changes(before, after, &mut changes);
    if before.guardrail != after.guardrail {
        changes.push(SpendChange {
            setting: "guardrail".to_owned(),
            before: Some(on_off(before.guardrail)),
            after: Some(on_off(after.guardrail)),
            // Removed: what it blocked now reaches the model. Added: Bedrock bills each text
            // unit it assesses.
            raises: true,
            reason: if after.guardrail {
                "Bedrock bills each 1,000 characters it assesses, per policy".to_owned()
            } else {
                "prompts it blocked now reach the model".to_owned()
            },
        });
    }
    for removed in before.alarms.difference(&after.alarms) {
        changes.push(SpendChange {
            setting: format!("alarm {removed}"),
            before: Some("on".to_owned()),
            after: None,
            raises: true,
            reason: if removed.contains("Budget") {
                "overspending would go unnoticed".to_owned()
            } else {
                "a failure would go unnoticed".to_owned()
            },
        });
    }
    changes
}

/// A limit that goes away, or grows, allows more; one that appears or shrinks limits.
fn grows(old: Option<u64>, new: Option<u64>) -> bool {
    match (old, new) {
        (Some(old), Some(new)) => new > old,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The change of a numeric setting, `None` when it is the same.
fn numeric_change(
    setting: &str,
    old: Option<u64>,
    new: Option<u64>,
    more: &str,
    unit: &str,
) -> Option<SpendChange> {
    if old == new {
        return None;
    }
    let raises = grows(old, new);
    Some(SpendChange {
        setting: setting.to_owned(),
        before: old.map(|v| format!("{}{unit}", grouped(v))),
        after: new.map(|v| format!("{}{unit}", grouped(v))),
        raises,
        reason: if raises {
            more.to_owned()
        } else {
            "lowers spend".to_owned()
        },
    })
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_owned()
}

/// Models allowed or dropped, and price changes of models kept.
fn model_changes(before: &SpendSettings, after: &SpendSettings, out: &mut Vec<SpendChange>) {
    let old: BTreeMap<&str, Option<TokenPrices>> = before
        .models
        .iter()
        .map(|(id, p)| (id.as_str(), *p))
        .collect();
    let costliest_before = before
        .models
        .iter()
        .filter_map(|(_, p)| p.map(|p| p.highest()))
        .max();
    for (id, price) in &after.models {
        match old.get(id.as_str()) {
            None => {
                // A model is as costly as its dearest token; a model of unknown price may be
                // dearer than anything.
                let raises = match (price, costliest_before) {
                    (Some(p), Some(before)) => p.highest() > before,
                    _ => true,
                };
                out.push(SpendChange {
                    setting: format!("model {id}"),
                    before: None,
                    after: Some(price.map_or("allowed, no price".to_owned(), |p| {
                        format!("allowed, {}", describe_price(&p))
                    })),
                    raises,
                    reason: if raises {
                        "dearer than any model allowed before".to_owned()
                    } else {
                        "no dearer than the models allowed before".to_owned()
                    },
                });
            }
            Some(old_price) if old_price != price => {
                let raises = match (old_price, price) {
                    (Some(o), Some(n)) => {
                        n.input > o.input
                            || n.output > o.output
                            || n.cache_read.unwrap_or(n.input) > o.cache_read.unwrap_or(o.input)
                            || n.cache_write.unwrap_or(n.input) > o.cache_write.unwrap_or(o.input)
                    }
                    // A price that appears says what was unknown; one that goes away hides it.
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => false,
                };
                out.push(SpendChange {
                    setting: format!("price of {id}"),
                    before: old_price.map(|p| describe_price(&p)),
                    after: price.map(|p| describe_price(&p)),
                    raises,
                    reason: if raises {
                        "each token costs more".to_owned()
                    } else {
                        "the same or less per token".to_owned()
                    },
                });
            }
            Some(_) => {}
        }
    }
    for (id, price) in &before.models {
        if !after.models.iter().any(|(other, _)| other == id) {
            out.push(SpendChange {
                setting: format!("model {id}"),
                before: Some(price.map_or("allowed".to_owned(), |p| {
                    format!("allowed, {}", describe_price(&p))
                })),
                after: None,
                raises: false,
                reason: "lowers spend".to_owned(),
            });
        }
    }
}

/// `$1.10 in / $5.50 out per M`.
fn describe_price(price: &TokenPrices) -> String {
    format!("{} in / {} out per M", Usd(price.input), Usd(price.output))
}

/// The most `settings` let the model calls spend in a day. `prices_from` prices the models
/// the template carries no price for (a deployed template from before prices were passed).
///
/// Chats stop once the day's spend reaches the token budget (at the dearest token of any
/// model) or the dollar budget, whichever is lower; turns already running when it does finish,
/// at most one per unit of reserved concurrency, each at most `max_output_tokens` out and the
/// service's largest input in (its history and message limits and the system prompt, at
/// four characters a token). The API stage's steady rate bounds the turns a day whatever the
/// budgets. Computed in pico-dollars, rounded once to the micro-dollar.
pub fn worst_case(settings: &SpendSettings, prices_from: Option<&SpendSettings>) -> WorstCase {
    let mut reasoning = Vec::new();
    let mut borrowed = false;
    let prices: Option<Vec<TokenPrices>> = settings
        .models
        .iter()
        .map(|(id, price)| {
            price.or_else(|| {
                let found = prices_from?
                    .models
                    .iter()
                    .find(|(other, _)| other == id)
                    .and_then(|(_, p)| *p);
                borrowed |= found.is_some();
                found
            })
        })
        .collect();
    let Some(prices) = prices.filter(|p| !p.is_empty()) else {
        return WorstCase {
            micro_usd_per_day: None,
            usd_per_day: None,
            reasoning: vec!["unknown: a model has no price".to_owned()],
        };
    };
    if borrowed {
        reasoning.push(
            "priced with the new env file's prices: the deployed template carries none".to_owned(),
        );
    }
    let dearest = prices.iter().map(TokenPrices::highest).max().unwrap_or(0);
    let dearest_out = prices.iter().map(|p| p.output).max().unwrap_or(0);
    let dearest_in = prices
        .iter()
        .map(|p| {
            [Some(p.input), p.cache_read, p.cache_write]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    // Pico-dollars: tokens × micro-dollars per million tokens.
    let input_ceiling =
        (MAX_HISTORY_CHARS as u64 + MAX_MESSAGE_CHARS as u64 + settings.system_prompt_chars)
            .div_ceil(4);
    let turn = settings.max_output_tokens.map(|out| {
        u128::from(out) * u128::from(dearest_out)
            + u128::from(input_ceiling) * u128::from(dearest_in)
    });
    let per_million = u128::from(TOKENS_PER_PRICE);
    let tokens_cap = settings
        .daily_token_budget
        .map(|tokens| u128::from(tokens) * u128::from(dearest));
    let dollars_cap = settings
        .daily_cost_budget_micro_usd
        .map(|micro| u128::from(micro) * per_million);
    let budget_cap = match (tokens_cap, dollars_cap) {
        (Some(t), Some(d)) => {
            reasoning.push(if d <= t {
                format!(
                    "the {} dollar budget stops the day first (the token budget allows {} at {} per M)",
                    per_day(d),
                    per_day(t),
                    Usd(dearest)
                )
            } else {
                format!(
                    "the token budget stops the day first: {} tokens at {} per M is {}",
                    grouped(settings.daily_token_budget.unwrap_or(0)),
                    Usd(dearest),
                    per_day(t)
                )
            });
            Some(t.min(d))
        }
        (Some(t), None) => {
            reasoning.push(format!(
                "the token budget stops the day: {} tokens at {} per M is {}",
                grouped(settings.daily_token_budget.unwrap_or(0)),
                Usd(dearest),
                per_day(t)
            ));
            Some(t)
        }
        (None, Some(d)) => {
            reasoning.push(format!("the {} dollar budget stops the day", per_day(d)));
            Some(d)
        }
        (None, None) => None,
    };
    // Turns started on a cached budget total, at most one cache window after it ran out.
    let cached_turns = match settings.api_throttle {
        Some((rate, _)) if settings.budget_cached => rate * CACHE_MILLIS / 1_000,
        _ => 0,
    };
    let overshoot = match (settings.reserved_concurrency, turn) {
        (Some(concurrency), Some(turn)) if budget_cap.is_some() => {
            let cached = if cached_turns > 0 {
                format!(
                    " and {cached_turns} more started on the budget total cached for {CACHE_MILLIS} ms (the API stage's rate)"
                )
            } else {
                String::new()
            };
            reasoning.push(format!(
                "plus up to {concurrency} turns in flight when it does{cached}, at up to {} each ({} tokens out, {} in)",
                usd(turn),
                grouped(settings.max_output_tokens.unwrap_or(0)),
                grouped(input_ceiling)
            ));
            Some(u128::from(concurrency + cached_turns) * turn)
        }
        _ => None,
    };
    let throughput = match (settings.api_throttle, turn) {
        (Some((rate, _)), Some(turn)) => Some(u128::from(rate) * DAY_SECONDS * turn),
        _ => None,
    };
    let bounded = budget_cap.map(|cap| cap + overshoot.unwrap_or(0));
    let worst = match (bounded, throughput) {
        (Some(b), Some(t)) if t < b => {
            reasoning.push(format!(
                "the API stage's {} requests/s allow only {} a day",
                settings.api_throttle.map_or(0, |t| t.0),
                per_day(t)
            ));
            Some(t)
        }
        (Some(b), _) => Some(b),
        (None, Some(t)) => {
            reasoning.push(format!(
                "no budget: the API stage's {} requests/s allow {} a day",
                settings.api_throttle.map_or(0, |t| t.0),
                per_day(t)
            ));
            Some(t)
        }
        (None, None) => None,
    };
    let micro = worst
        .map(|pico| u64::try_from(divide_rounding_half_up(pico, per_million)).unwrap_or(u64::MAX));
    if micro.is_none() {
        reasoning.push("nothing bounds it".to_owned());
    }
    WorstCase {
        micro_usd_per_day: micro,
        usd_per_day: micro.map(cents),
        reasoning,
    }
}

/// Pico-dollars as dollars, rounded to the cent: a day's figure.
fn per_day(pico: u128) -> String {
    let micro = divide_rounding_half_up(pico, u128::from(TOKENS_PER_PRICE));
    cents(u64::try_from(micro).unwrap_or(u64::MAX))
}

/// Micro-dollars as dollars rounded to the cent (halves up).
fn cents(micro: u64) -> String {
    let cents = divide_rounding_half_up(u128::from(micro), 10_000);
    Usd(u64::try_from(cents * 10_000).unwrap_or(u64::MAX)).to_string()
}

/// Pico-dollars as dollars, rounded to the micro-dollar.
fn usd(pico: u128) -> String {
    let micro = divide_rounding_half_up(pico, u128::from(TOKENS_PER_PRICE));
    Usd(u64::try_from(micro).unwrap_or(u64::MAX)).to_string()
}

/// `[{"id", "name", "price": {...}}]` from the function's environment.
fn models_of(json: &str) -> Vec<(String, Option<TokenPrices>)> {
    let Ok(serde_json::Value::Array(models)) = serde_json::from_str::<serde_json::Value>(json)
    else {
        return Vec::new();
    };
    models
        .iter()
        .filter_map(|model| {
            let id = model.get("id")?.as_str()?.to_owned();
            let price = model.get("price").and_then(|p| {
                Some(TokenPrices {
                    input: p.get("input")?.as_u64()?,
                    output: p.get("output")?.as_u64()?,
                    cache_read: p.get("cache_read").and_then(serde_json::Value::as_u64),
                    cache_write: p.get("cache_write").and_then(serde_json::Value::as_u64),
                })
            });
            Some((id, price))
        })
        .collect()
}

/// A whole number from a YAML number or a string holding one (environment variables are
/// strings).
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.ceil() as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The spend section of the review: the changed settings, then the worst case before and after.
pub fn render_spend(review: &SpendReview, palette: Palette) -> String {
    let mut out = String::new();
    if !review.changes.is_empty() {
        let mut table = Table::new(vec!["", "Setting", "Before", "After", "Spend"]);
        for change in &review.changes {
            let (symbol, paint): (&str, fn(Palette, &str) -> String) = if change.raises {
                ("▲", Palette::yellow)
            } else {
                ("▼", Palette::green)
            };
            let effect = if change.raises {
                format!("can raise: {}", change.reason)
            } else {
                change.reason.clone()
            };
            table.row(
                vec![
                    vec![symbol.to_owned()],
                    vec![change.setting.clone()],
                    vec![change.before.clone().unwrap_or_else(|| "-".to_owned())],
                    vec![change.after.clone().unwrap_or_else(|| "-".to_owned())],
                    vec![effect],
                ],
                Some(paint),
                Vec::new(),
            );
        }
        out.push_str(&table.render("  ", palette));
    }
    let figure = |worst: &WorstCase| {
        worst
            .usd_per_day
            .clone()
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let line = match &review.before {
        Some(before) => format!(
            "Worst-case model spend per day: {} → {}",
            figure(before),
            figure(&review.after)
        ),
        None => format!("Worst-case model spend per day: {}", figure(&review.after)),
    };
    let grows = match (&review.before, review.after.micro_usd_per_day) {
        (Some(before), Some(after)) => before.micro_usd_per_day.is_none_or(|b| after > b),
        (Some(_), None) => true,
        (None, _) => false,
    };
    out.push_str(&format!(
        "  {}\n",
        if grows {
            palette.yellow(&line)
        } else {
            palette.bold(&line)
        }
    ));
    for reason in &review.after.reasoning {
        out.push_str(&format!("    {}\n", palette.dim(reason)));
    }
    let raising = review.changes.iter().filter(|c| c.raises).count();
    if raising > 0 {
        out.push_str(&format!(
            "  {}\n",
            palette.yellow(&format!(
                "Raising spend: {raising} of {} spend {}; review them before deploying",
                review.changes.len(),
                if review.changes.len() == 1 {
                    "change"
                } else {
                    "changes"
                }
            ))
        ));
    }
    out
}
