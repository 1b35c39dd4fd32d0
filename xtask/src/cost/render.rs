//! The estimate as a person reads it; `--json` prints the same [`Estimate`] as JSON.

use chatbot_contract::pricing::{Usd, divide_rounding_half_up};

use super::estimate::{Estimate, grouped};
use super::prices::PriceTable;
use crate::review::Palette;

/// Services with their monthly cost and lines, the total, the cost of a chat per model, the
/// assumptions and the prices' dates and sources.
pub fn render_estimate(estimate: &Estimate, table: &PriceTable, palette: Palette) -> String {
    let mut out = String::new();
    out.push_str(&palette.bold(&format!(
        "Monthly estimate for {} ({}), {} chats a day",
        estimate.environment,
        estimate.region,
        grouped(estimate.workload.chats_per_day)
    )));
    out.push_str("\n\n");
    let item_width = estimate
        .services
        .iter()
        .flat_map(|s| s.lines.iter().map(|l| l.item.chars().count() + 2))
        .chain(estimate.services.iter().map(|s| s.service.chars().count()))
        .max()
        .unwrap_or(20)
        .min(56);
    let quantity_width = estimate
        .services
        .iter()
        .flat_map(|s| s.lines.iter())
        .map(|l| l.quantity.chars().count() + 1 + l.unit.chars().count())
        .max()
        .unwrap_or(10);
    for service in &estimate.services {
        out.push_str(&format!(
            "  {:<width$}  {:>qw$}  {:>12}\n",
            palette.bold(service.service),
            "",
            palette.bold(&cents(service.micro_usd)),
            width = item_width + palette_padding(palette, service.service),
            qw = quantity_width
        ));
        for line in &service.lines {
            let item = shorten(&line.item, item_width - 2);
            out.push_str(&format!(
                "    {:<iw$}  {:>qw$}  {:>12}  {}\n",
                item,
                format!("{} {}", line.quantity, line.unit),
                cents(line.micro_usd),
                palette.dim(&line.price),
                iw = item_width - 2,
                qw = quantity_width
            ));
        }
    }
    out.push_str(&format!(
        "  {:<width$}  {:>qw$}  {:>12}\n",
        palette.bold("Total"),
        "",
        palette.bold(&cents(estimate.total_micro_usd)),
        width = item_width + palette_padding(palette, "Total"),
        qw = quantity_width
    ));

    out.push_str("\nA chat with each allowed model (model tokens only)\n");
    for model in &estimate.per_chat {
        out.push_str(&format!(
            "  {:<28} {} a chat, {} a month\n",
            model.name,
            Usd(model.micro_usd_per_chat),
            cents(model.micro_usd_per_month)
        ));
    }

    out.push_str("\nAssumptions\n");
    for assumption in &estimate.assumptions {
        out.push_str(&format!("  - {assumption}\n"));
    }
    if !estimate.free.is_empty() {
        out.push_str(&format!(
            "  - free by themselves: {}\n",
            estimate.free.join(", ")
        ));
    }
    if !estimate.absent.is_empty() {
        out.push_str(&format!(
            "  - not created with the template's parameters at their defaults, so not priced: {}\n",
            estimate.absent.join(", ")
        ));
    }
    if !estimate.not_priced.is_empty() {
        out.push_str(&format!(
            "  - {}\n",
            palette.yellow(&format!(
                "not priced (a resource type this estimate does not know): {}",
                estimate.not_priced.join(", ")
            ))
        ));
    }

    let mut dates: Vec<&str> = table.prices.values().map(|p| p.as_of.as_str()).collect();
    dates.sort_unstable();
    dates.dedup();
    out.push_str(&format!(
        "\nPrices: {} ({} prices read {}), models from envs/{}.toml\n",
        table.file,
        table.prices.len(),
        match (dates.first(), dates.last()) {
            (Some(first), Some(last)) if first != last => format!("{first} to {last}"),
            (Some(first), _) => (*first).to_owned(),
            _ => "never".to_owned(),
        },
        estimate.environment
    ));
    let mut sources: Vec<&str> = table.prices.values().map(|p| p.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    for source in sources {
        out.push_str(&format!("  {}\n", palette.dim(source)));
    }
    out
}

/// Micro-dollars as dollars rounded to the cent (halves up); `<$0.01` for a little more than
/// nothing.
fn cents(micro: u64) -> String {
    if micro > 0 && micro < 5_000 {
        return "<$0.01".to_owned();
    }
    let cents = divide_rounding_half_up(u128::from(micro), 10_000);
    Usd(u64::try_from(cents * 10_000).unwrap_or(u64::MAX)).to_string()
}

/// The extra characters ANSI codes add to `text`, so padding still lines up.
fn palette_padding(palette: Palette, text: &str) -> usize {
    palette.bold(text).len() - text.len()
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
