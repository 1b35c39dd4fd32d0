//! The Markdown group: `frontend/tests/bench-markdown.mjs` times the page's renderer against the
//! one it replaced (`bench/markdown/renderer-before.js`) in headless Chromium, on the hostile
//! corpus of the browser tests and on streamed replies, and reports page weight and CommonMark
//! pass counts. It prints its own tables as it goes; its JSON report becomes rows here.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::report::{Limit, Row};
use crate::tools::{CHROMIUM, browser};

const GROUP: &str = "markdown";
/// A run the old renderer does not finish within this is stopped.
const TIMEOUT_MS: u32 = 10_000;

pub fn rows(root: &Path) -> Vec<Row> {
    match measure(root) {
        Ok(report) => report_rows(&report),
        Err(err) => vec![Row::not_measured(
            "markdown",
            GROUP,
            "Markdown renderer",
            format!("{err:#}"),
        )],
    }
}

fn measure(root: &Path) -> anyhow::Result<NodeReport> {
    let tests = browser::prepare_chromium_and_npm()?;
    let json: PathBuf = root.join("target/bench/markdown.json");
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let status = Command::new("node")
        .arg("bench-markdown.mjs")
        .arg("--json")
        .arg(&json)
        .args(["--timeout-ms", &TIMEOUT_MS.to_string()])
        .current_dir(&tests)
        .env("CHROMIUM_PATH", CHROMIUM.bin)
        .status()
        .context("could not start `node`: install Node.js 20 or newer")?;
    if !status.success() {
        bail!("bench-markdown.mjs failed with {status}");
    }
    let text =
        std::fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?;
    serde_json::from_str(&text).with_context(|| format!("reading {}", json.display()))
}

/// What bench-markdown.mjs writes.
#[derive(Debug, Deserialize)]
struct NodeReport {
    weight: Vec<Weight>,
    commonmark: Before<CommonMark>,
    small_reply_ms: Before<f64>,
    hostile: Vec<Timed>,
    streaming: Vec<Timed>,
}

#[derive(Debug, Deserialize)]
struct Before<T> {
    before: T,
    after: T,
}

#[derive(Debug, Deserialize)]
struct Weight {
    name: String,
    raw: f64,
    gzip: f64,
    brotli: f64,
}

#[derive(Debug, Deserialize)]
struct CommonMark {
    written: Option<f64>,
    deviated: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Timed {
    name: String,
    chars: u64,
    before: Measure,
    after: Measure,
}

#[derive(Debug, Deserialize)]
struct Measure {
    finished: bool,
    wall_ms: f64,
    cpu_ms: f64,
    #[serde(default)]
    error: Option<String>,
}

impl Measure {
    /// Why there is no figure, when there is none.
    fn missing(&self) -> Option<String> {
        match (&self.error, self.finished) {
            (Some(error), _) => Some(error.clone()),
            (None, false) => Some(format!("did not finish in {} s", TIMEOUT_MS / 1000)),
            (None, true) => None,
        }
    }
}

fn report_rows(report: &NodeReport) -> Vec<Row> {
    let mut rows = Vec::new();
    let weight = |name: &str| report.weight.iter().find(|w| w.name == name);
    if let (Some(before), Some(after)) = (weight("before"), weight("after")) {
        for (unit, value, old) in [
            ("raw", after.raw, before.raw),
            ("gzip", after.gzip, before.gzip),
            ("brotli", after.brotli, before.brotli),
        ] {
            rows.push(
                Row::new(
                    format!("markdown.weight.{unit}"),
                    GROUP,
                    format!("renderer scripts loaded with the page, {unit}"),
                    "KiB",
                )
                .value(value / 1024.0)
                .compare("before", Some(old / 1024.0)),
            );
        }
    }
    if let Some(highlighter) = weight("after, with the first code block") {
        rows.push(
            Row::new(
                "markdown.weight.highlighter",
                GROUP,
                "highlight.js, loaded with the first code block, gzip",
                "KiB",
            )
            .value(highlighter.gzip / 1024.0)
            .note(format!("{:.0} KiB raw", highlighter.raw / 1024.0)),
        );
    }
    for (id, figure, after, before) in [
        (
            "markdown.commonmark.as_written",
            "CommonMark examples passed as written (of 652)",
            report.commonmark.after.written,
            report.commonmark.before.written,
        ),
        (
            "markdown.commonmark.with_deviations",
            "CommonMark examples passed with the chat deviations (of 652)",
            report.commonmark.after.deviated,
            report.commonmark.before.deviated,
        ),
    ] {
        let row = Row::new(id, GROUP, figure, "examples");
        rows.push(match after {
            Some(value) => row.value(value).compare("before", before),
            None => row.note("not measured: the spec run failed"),
        });
    }
    rows.push(
        Row::new(
            "markdown.small_reply",
            GROUP,
            "2 KiB reply, warm page: build time",
            "ms",
        )
        .value(report.small_reply_ms.after)
        .baseline("before", Some(report.small_reply_ms.before)),
    );
    for timed in &report.hostile {
        rows.push(
            timed_row(timed, "hostile", "at once, to the next frame")
                .target("< 1 s", Limit::AtMost(1000.0)),
        );
    }
    for timed in &report.streaming {
        rows.push(timed_row(
            timed,
            "streamed",
            "in 32-character pieces, every piece rendered",
        ));
    }
    rows
}

fn timed_row(timed: &Timed, kind: &str, how: &str) -> Row {
    let row = Row::new(
        format!("markdown.{kind}.{}", slug(&timed.name)),
        GROUP,
        format!("{} ({} chars), {how}", timed.name, timed.chars),
        "ms",
    );
    if let Some(why) = timed.after.missing() {
        return row.note(format!("not measured: {why}"));
    }
    let row = row.value(timed.after.wall_ms);
    let cpu = format!("renderer CPU {:.0} ms", timed.after.cpu_ms);
    match timed.before.missing() {
        None => row
            .baseline("before", Some(timed.before.wall_ms))
            .note(format!("{cpu}, before {:.0} ms", timed.before.cpu_ms)),
        Some(why) => row.note(format!("{cpu}; before: {why}")),
    }
}

/// A stable id part from an input's name.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    slug.trim_end_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(finished: bool, wall_ms: f64, error: Option<&str>) -> Measure {
        Measure {
            finished,
            wall_ms,
            cpu_ms: wall_ms / 2.0,
            error: error.map(str::to_owned),
        }
    }

    fn check(before: Measure, after: Measure, expect: (Option<f64>, Option<f64>, &str)) {
        let timed = Timed {
            name: "1 MB of '['".into(),
            chars: 1_048_576,
            before,
            after,
        };
        let row = timed_row(&timed, "hostile", "at once");
        assert_eq!(row.id, "markdown.hostile.1_mb_of");
        assert_eq!((row.median, row.ratio), (expect.0, expect.1));
        assert!(
            row.note.as_deref().unwrap_or_default().contains(expect.2),
            "{:?}",
            row.note
        );
    }

    #[test]
    fn a_finished_baseline_gives_a_ratio() {
        check(
            measure(true, 900.0, None),
            measure(true, 90.0, None),
            (Some(90.0), Some(10.0), "before 450 ms"),
        );
    }

    #[test]
    fn a_baseline_that_did_not_finish_is_said_so() {
        check(
            measure(false, 10_000.0, None),
            measure(true, 50.0, None),
            (Some(50.0), None, "before: did not finish in 10 s"),
        );
        check(
            measure(
                false,
                30.0,
                Some("RangeError: Maximum call stack size exceeded"),
            ),
            measure(true, 50.0, None),
            (Some(50.0), None, "before: RangeError"),
        );
    }

    #[test]
    fn a_missing_figure_is_not_measured() {
        check(
            measure(true, 100.0, None),
            measure(false, 10_000.0, None),
            (None, None, "not measured: did not finish"),
        );
    }
}
