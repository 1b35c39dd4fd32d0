//! CloudWatch embedded-metric-format (EMF) lines, named as the template's alarms expect
//! ([`chatbot_contract::metrics`]). In Lambda each line goes to stdout, where CloudWatch Logs
//! turns it into metrics; tests keep the lines in memory to read them back.

use std::sync::{Arc, Mutex};

use chatbot_contract::metrics as names;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Metrics {
    environment: String,
    sink: Sink,
}

#[derive(Clone)]
enum Sink {
    Stdout,
    Discard,
    Memory(Arc<Mutex<Vec<Value>>>),
}

/// The unit CloudWatch records with a value.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Count,
    Milliseconds,
    Percent,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Percent => "Percent",
        }
    }
}

impl Metrics {
    /// Metrics written to stdout, one EMF JSON object a line.
    pub fn stdout(environment: &str) -> Self {
        Metrics {
            environment: environment.to_owned(),
            sink: Sink::Stdout,
        }
    }

    /// Metrics nobody reads (local runs, where nothing collects them).
    pub fn discard(environment: &str) -> Self {
        Metrics {
            environment: environment.to_owned(),
            sink: Sink::Discard,
        }
    }

    /// Metrics kept in memory; [`Metrics::recorded`] reads them back.
    pub fn in_memory(environment: &str) -> Self {
        Metrics {
            environment: environment.to_owned(),
            sink: Sink::Memory(Arc::default()),
        }
    }

    /// Every EMF object written so far (in-memory metrics only; empty otherwise).
    pub fn recorded(&self) -> Vec<Value> {
        match &self.sink {
            Sink::Stdout | Sink::Discard => Vec::new(),
            Sink::Memory(lines) => lines.lock().map(|l| l.clone()).unwrap_or_default(),
        }
    }

    /// Sum of the values recorded under `name` (in-memory metrics only).
    pub fn total(&self, name: &str) -> f64 {
        self.recorded()
            .iter()
            .filter_map(|line| line.get(name).and_then(Value::as_f64))
            .sum()
    }

    /// Writes one EMF object carrying `values`, each `(name, unit, value)`.
    pub fn put(&self, values: &[(&str, Unit, f64)]) {
        if values.is_empty() {
            return;
        }
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut line = json!({
            "_aws": {
                "Timestamp": crate::clock::now_ms(),
                "CloudWatchMetrics": [{
                    "Namespace": names::NAMESPACE,
                    "Dimensions": [[names::DIMENSION]],
                    "Metrics": definitions,
                }],
            },
            names::DIMENSION: self.environment,
        });
        for (name, _, value) in values {
            line[*name] = json!(value);
        }
        match &self.sink {
            Sink::Stdout => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                // A metric that cannot be written must not fail the request it describes.
                let _ = writeln!(out, "{line}");
            }
            Sink::Discard => {}
            Sink::Memory(lines) => {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        }
    }

    pub fn count(&self, name: &str) {
        self.put(&[(name, Unit::Count, 1.0)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_emf_with_the_environment_dimension() {
        let metrics = Metrics::in_memory("dev");
        metrics.put(&[
            (names::INPUT_TOKENS, Unit::Count, 12.0),
            (names::MODEL_LATENCY, Unit::Milliseconds, 340.0),
        ]);
        let line = &metrics.recorded()[0];
        assert_eq!(line["Environment"], "dev");
        assert_eq!(line["InputTokens"], 12.0);
        let spec = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "Chatbot");
        assert_eq!(spec["Dimensions"], json!([["Environment"]]));
        assert_eq!(
            spec["Metrics"][1],
            json!({"Name": "ModelLatency", "Unit": "Milliseconds"})
        );
        assert_eq!(metrics.total(names::INPUT_TOKENS), 12.0);
    }
}
