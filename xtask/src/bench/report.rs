//! The benchmark table: rows of figures with their baseline, ratio and target, printed for a
//! person and written as JSON so the next run can show what changed.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One run of `cargo xtask bench`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub machine: Machine,
    pub command: String,
    pub rows: Vec<Row>,
}

/// Where the figures were measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub date_utc: String,
    pub commit: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    /// `/proc/loadavg` when the run started: other work on the machine skews the figures.
    pub load_average: String,
    pub rustc: String,
    pub python: String,
    pub boto3: String,
}

/// A figure: the median of its samples, their range, and what it is compared with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// Stable key (`cold_start.bootstrap.first_byte`), for comparing runs.
    pub id: String,
    pub group: String,
    pub figure: String,
    pub unit: String,
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub samples: usize,
    pub baseline: Option<Baseline>,
    /// `baseline ÷ median`: how many times smaller (faster) the figure is than its baseline.
    pub ratio: Option<f64>,
    pub target: Option<Target>,
    /// Why the figure is missing, or what to know when reading it.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub label: String,
    pub value: f64,
}

/// A target a figure is held to (BENCHMARKS.md's last column) and whether the figure keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Target {
    pub text: String,
    pub met: bool,
}

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub count: usize,
}

impl Stats {
    /// `None` for no samples.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Stats {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            count: n,
        })
    }
}

/// The `p`-th percentile (0–100) by the nearest-rank method; `None` for no samples.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The most a figure may be.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    AtMost(f64),
}

impl Row {
    pub fn new(id: impl Into<String>, group: &str, figure: impl Into<String>, unit: &str) -> Row {
        Row {
            id: id.into(),
            group: group.to_owned(),
            figure: figure.into(),
            unit: unit.to_owned(),
            median: None,
            min: None,
            max: None,
            samples: 0,
            baseline: None,
            ratio: None,
            target: None,
            note: None,
        }
    }

    /// The figure from samples; a row without samples says so in its note.
    pub fn stats(mut self, samples: &[f64]) -> Row {
        match Stats::of(samples) {
            Some(stats) => {
                self.median = Some(stats.median);
                self.min = Some(stats.min);
                self.max = Some(stats.max);
                self.samples = stats.count;
            }
            None => {
                self.note
                    .get_or_insert_with(|| "not measured: no samples".into());
            }
        }
        self
    }

    /// A figure measured once.
    pub fn value(self, value: f64) -> Row {
        self.stats(&[value])
    }

    /// Compares with `value`; the ratio is `value ÷ median`.
    pub fn baseline(mut self, label: impl Into<String>, value: Option<f64>) -> Row {
        if let Some(value) = value {
            self.ratio = self
                .median
                .filter(|m| *m > 0.0)
                .map(|median| value / median);
            self.baseline = Some(Baseline {
                label: label.into(),
                value,
            });
        }
        self
    }

    /// Shows `value` beside the figure without a ratio (for figures where "times faster"
    /// means nothing, such as latencies that include the model's own time).
    pub fn compare(mut self, label: impl Into<String>, value: Option<f64>) -> Row {
        if let Some(value) = value {
            self.baseline = Some(Baseline {
                label: label.into(),
                value,
            });
        }
        self
    }

    /// Checks the median against a limit.
    pub fn target(mut self, text: impl Into<String>, limit: Limit) -> Row {
        self.target = self.median.map(|m| Target {
            text: text.into(),
            met: match limit {
                Limit::AtMost(max) => m <= max,
            },
        });
        self
    }

    /// Checks the ratio against a minimum (`≥ 25×`).
    pub fn ratio_target(mut self, text: impl Into<String>, min_ratio: f64) -> Row {
        self.target = self.ratio.map(|r| Target {
            text: text.into(),
            met: r >= min_ratio,
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = Some(note.into());
        self
    }

    pub fn note_if(self, condition: bool, note: impl Into<String>) -> Row {
        if condition { self.note(note) } else { self }
    }

    /// A row for a figure that could not be measured, saying why.
    pub fn not_measured(
        id: impl Into<String>,
        group: &str,
        figure: impl Into<String>,
        why: impl std::fmt::Display,
    ) -> Row {
        Row::new(id, group, figure, "").note(format!("not measured: {why}"))
    }
}

impl Report {
    /// The previous run's report, if one was written.
    pub fn load(path: &Path) -> Option<Report> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("could not write {}", path.display()))
    }

    /// The table as plain text, with the previous run's median where one exists.
    pub fn table(&self, previous: Option<&Report>) -> String {
        let headers = [
            "figure",
            "median",
            "min–max",
            "baseline",
            "ratio",
            "target",
            "last run",
        ];
        let mut lines: Vec<[String; 7]> = Vec::new();
        let mut out = String::new();
        let mut group = "";
        let mut notes = Vec::new();
        for row in &self.rows {
            if row.group != group {
                group = &row.group;
                lines.push([
                    format!("[{group}]"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            let last = previous
                .and_then(|p| p.rows.iter().find(|r| r.id == row.id))
                .and_then(|r| r.median)
                .map(|m| match row.median {
                    Some(now) if m != 0.0 => {
                        format!("{} ({:+.0}%)", number(m), (now - m) / m * 100.0)
                    }
                    _ => number(m),
                })
                .unwrap_or_default();
            let median = match row.median {
                Some(m) => format!("{} {}", number(m), row.unit),
                None => "–".to_owned(),
            };
            let range = match (row.min, row.max, row.samples) {
                (Some(min), Some(max), n) if n > 1 => {
                    format!("{}–{}", number(min), number(max))
                }
                _ => String::new(),
            };
            let baseline = row
                .baseline
                .as_ref()
                .map(|b| format!("{} {} ({})", number(b.value), row.unit, b.label))
                .unwrap_or_default();
            let ratio = row.ratio.map(|r| format!("{r:.1}×")).unwrap_or_default();
            let target = row
                .target
                .as_ref()
                .map(|t| format!("{} {}", t.text, if t.met { "ok" } else { "MISSED" }))
                .unwrap_or_default();
            let mut figure = row.figure.clone();
            if let Some(note) = &row.note {
                let number = match notes.iter().position(|n| n == note) {
                    Some(i) => i + 1,
                    None => {
                        notes.push(note.clone());
                        notes.len()
                    }
                };
                figure.push_str(&format!(" [{number}]"));
            }
            lines.push([figure, median, range, baseline, ratio, target, last]);
        }
        let mut widths = headers.map(|h| h.chars().count());
        for line in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let render = |cells: &[String]| {
            let mut line = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.chars().count()));
            }
            line.trim_end().to_owned() + "\n"
        };
        out.push_str(&render(&headers.map(String::from)));
        for line in &lines {
            out.push_str(&render(line));
        }
        if !notes.is_empty() {
            out.push('\n');
            for (i, note) in notes.iter().enumerate() {
                out.push_str(&format!("[{}] {note}\n", i + 1));
            }
        }
        out
    }

    /// The rows whose target was missed.
    pub fn missed(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.target.as_ref().is_some_and(|t| !t.met))
            .collect()
    }
}

/// A figure with as many decimals as its size needs.
pub fn number(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_take_the_middle_of_sorted_samples() {
        let stats = Stats::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((stats.median, stats.min, stats.max), (3.0, 1.0, 5.0));
        assert_eq!(Stats::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50.0));
        assert_eq!(percentile(&samples, 99.0), Some(99.0));
        assert_eq!(percentile(&samples, 100.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn ratio_and_target_follow_the_median() {
        let row = Row::new("x", "g", "fig", "ms")
            .stats(&[2.0, 4.0, 3.0])
            .baseline("python", Some(90.0))
            .ratio_target("≥ 25×", 25.0);
        assert_eq!(row.ratio, Some(30.0));
        assert!(row.target.unwrap().met);
        let missed = Row::new("y", "g", "fig", "ms")
            .value(9.0)
            .target("≤ 8 ms", Limit::AtMost(8.0));
        assert!(!missed.target.unwrap().met);
    }

    #[test]
    fn the_table_shows_targets_notes_and_the_last_run() {
        let previous = Report {
            rows: vec![Row::new("a", "cold start", "bootstrap", "ms").value(4.0)],
            ..Report::default()
        };
        let report = Report {
            rows: vec![
                Row::new("a", "cold start", "bootstrap", "ms")
                    .stats(&[5.0, 6.0, 4.0])
                    .baseline("python", Some(200.0))
                    .target("≤ 8 ms", Limit::AtMost(8.0)),
                Row::not_measured("b", "deploy", "no-op deploy", "moto is missing"),
            ],
            ..Report::default()
        };
        let table = report.table(Some(&previous));
        let expected = "\
figure            median   min–max    baseline         ratio  target     last run
[cold start]
bootstrap         5.00 ms  4.00–6.00  200 ms (python)  40.0×  ≤ 8 ms ok  4.00 (+25%)
[deploy]
no-op deploy [1]  –

[1] not measured: moto is missing
";
        assert_eq!(table, expected);
        assert!(report.missed().is_empty());
    }
}
