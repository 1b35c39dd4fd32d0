//! The page group: `frontend/tests/bench-page.mjs` loads the chat page now and the page of an
//! earlier revision (`--page-before`, `main` unless given) in headless Chromium, alternating,
//! on a desktop and on a throttled phone, empty and with a long chat open. It prints its own
//! table as it goes; its JSON report becomes rows here: page weight (gzip bytes on the wire)
//! and time to interactive, each against the earlier page.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::report::Row;
use crate::tools::{CHROMIUM, browser};

const GROUP: &str = "page";

/// Loads of each page per profile and scenario.
const RUNS: u32 = 5;

pub fn rows(root: &Path, before: &str) -> Vec<Row> {
    match measure(root, before) {
        Ok(report) => report_rows(&report),
        Err(err) => vec![Row::not_measured(
            "page",
            GROUP,
            "chat page load",
            format!("{err:#}"),
        )],
    }
}

fn measure(root: &Path, before: &str) -> anyhow::Result<NodeReport> {
    let tests = browser::prepare_chromium_and_npm()?;
    let json: PathBuf = root.join("target/bench/page.json");
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let status = Command::new("node")
        .arg("bench-page.mjs")
        .args(["--before", before])
        .args(["--runs", &RUNS.to_string()])
        .arg("--json")
        .arg(&json)
        .current_dir(&tests)
        .env("CHROMIUM_PATH", CHROMIUM.bin)
        .status()
        .context("could not start `node`: install Node.js 20 or newer")?;
    if !status.success() {
        bail!("bench-page.mjs failed with {status}");
    }
    let text =
        std::fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?;
    serde_json::from_str(&text).with_context(|| format!("reading {}", json.display()))
}

/// What bench-page.mjs writes.
#[derive(Debug, Deserialize)]
struct NodeReport {
    results: Vec<Loaded>,
}

/// The medians of one page's loads in one profile and scenario.
#[derive(Debug, Deserialize)]
struct Loaded {
    /// `now`, or `before (<revision>)`.
    page: String,
    profile: String,
    scenario: String,
    samples: usize,
    bytes: Option<f64>,
    requests: Option<f64>,
    tti_ms: Option<f64>,
    tbt_ms: Option<f64>,
}

fn report_rows(report: &NodeReport) -> Vec<Row> {
    let mut rows = Vec::new();
    for now in report.results.iter().filter(|r| r.page == "now") {
        let before = report
            .results
            .iter()
            .find(|r| r.page != "now" && r.profile == now.profile && r.scenario == now.scenario);
        let label = before.map_or("before", |b| b.page.as_str());
        let id = format!("page.{}.{}", now.profile, now.scenario.replace(' ', "_"));
        let place = format!("{}, {}", now.profile, now.scenario);
        let weight = Row::new(
            format!("{id}.weight"),
            GROUP,
            format!("{place}: bytes on the wire (gzip) until ready"),
            "KiB",
        );
        rows.push(match now.bytes {
            Some(bytes) => weight
                .value(bytes / 1024.0)
                .compare(label, before.and_then(|b| b.bytes).map(|b| b / 1024.0))
                .note(format!(
                    "{} requests, before {}",
                    now.requests.unwrap_or_default(),
                    before.and_then(|b| b.requests).unwrap_or_default()
                )),
            None => weight.note("not measured"),
        });
        let tti = Row::new(
            format!("{id}.tti"),
            GROUP,
            format!("{place}: time to interactive (median of {})", now.samples),
            "ms",
        );
        rows.push(match now.tti_ms {
            Some(ms) => tti
                .value(ms)
                .baseline(label, before.and_then(|b| b.tti_ms))
                .note(format!(
                    "total blocking time {:.0} ms, before {:.0} ms",
                    now.tbt_ms.unwrap_or_default(),
                    before.and_then(|b| b.tbt_ms).unwrap_or_default()
                )),
            None => tti.note("not measured"),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(page: &str, bytes: f64, tti_ms: f64) -> Loaded {
        Loaded {
            page: page.into(),
            profile: "phone".into(),
            scenario: "long chat".into(),
            samples: 5,
            bytes: Some(bytes),
            requests: Some(9.0),
            tti_ms: Some(tti_ms),
            tbt_ms: Some(10.0),
        }
    }

    #[test]
    fn each_figure_of_the_page_now_is_set_against_the_page_before() {
        let report = NodeReport {
            results: vec![
                loaded("now", 2048.0, 500.0),
                loaded("before (main)", 1024.0, 1000.0),
            ],
        };
        let rows = report_rows(&report);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["page.phone.long_chat.weight", "page.phone.long_chat.tti"]
        );
        assert_eq!(rows[0].median, Some(2.0));
        assert_eq!(rows[0].baseline.as_ref().unwrap().value, 1.0);
        assert_eq!(rows[0].ratio, None);
        assert_eq!(rows[1].median, Some(500.0));
        assert_eq!(rows[1].ratio, Some(2.0));
        assert_eq!(rows[1].baseline.as_ref().unwrap().label, "before (main)");
    }

    #[test]
    fn a_run_without_an_earlier_page_has_no_baseline() {
        let report = NodeReport {
            results: vec![loaded("now", 2048.0, 500.0)],
        };
        let rows = report_rows(&report);
        assert!(rows.iter().all(|r| r.baseline.is_none()));
    }
}
