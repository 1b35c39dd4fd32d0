//! A smoke report as a table of checks with times, or as JSON, from the same data.

use crate::review::Palette;
use crate::terminal::Elapsed;

use super::{Outcome, Report};

/// The table, then one line saying whether all passed and, if not, which failed.
pub fn render_table(report: &Report, palette: Palette) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut out = format!("{} {}\n", palette.bold("Smoke test of"), report.site);
    for check in &report.checks {
        let outcome = format!("{:<4}", check.outcome.as_str());
        let outcome = match check.outcome {
            Outcome::Pass => palette.green(&outcome),
            Outcome::Fail => palette.red(&outcome),
        };
        out.push_str(&format!(
            "  {outcome}  {:<width$}  {:>8}  {}\n",
            check.name,
            Elapsed(check.elapsed).to_string(),
            check.detail
        ));
        out.push_str(&format!(
            "  {:<4}  {:<width$}  {:>8}  {}\n",
            "",
            "",
            "",
            palette.dim(&check.request)
        ));
    }
    let failed = report.failed();
    if failed.is_empty() {
        out.push_str(&format!(
            "{}\n",
            palette.green(&format!("All {} checks passed", report.checks.len()))
        ));
    } else {
        out.push_str(&format!(
            "{}\n",
            palette.red(&format!(
                "{} of {} checks failed: {}",
                failed.len(),
                report.checks.len(),
                failed.join(", ")
            ))
        ));
    }
    out
}

pub fn render_json(report: &Report) -> serde_json::Value {
    serde_json::json!({
        "site": report.site,
        "passed": report.passed(),
        "failed": report.failed(),
        "checks": report.checks.iter().map(|c| serde_json::json!({
            "name": c.name,
            "request": c.request,
            "outcome": match c.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "fail",
            },
            "detail": c.detail,
            "ms": u64::try_from(c.elapsed.as_millis()).unwrap_or(u64::MAX),
        })).collect::<Vec<_>>(),
    })
}
