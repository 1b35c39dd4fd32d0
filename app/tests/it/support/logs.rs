//! The service's JSON log lines, captured.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// JSON log lines written while the capture is alive, on this thread (a current-thread
/// runtime runs the service's tasks on the test's thread, so their logs land here too).
///
/// One capture at a time per test binary: tracing caches whether a log call is enabled per
/// call site, for every thread, and a capture starting or ending on another thread can make a
/// line written here go missing.
pub struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static CAPTURING: Mutex<()> = Mutex::new(());

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures logs the way `bootstrap` writes them (`chatbot::logging::init_json`).
    pub fn capture() -> Logs {
        let one_at_a_time = CAPTURING.lock().unwrap_or_else(|p| p.into_inner());
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || sink.clone())
            .finish();
        Logs {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
            _one_at_a_time: one_at_a_time,
        }
    }

    pub fn lines(&self) -> Vec<Value> {
        let bytes = self
            .buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The last line whose message is `message`, written since the last [`Logs::clear`].
    pub fn find(&self, message: &str) -> Option<Value> {
        self.lines()
            .into_iter()
            .rev()
            .find(|line| line["message"] == message)
    }

    /// Like [`Logs::find`], failing with every captured line when there is none.
    pub fn expect(&self, message: &str) -> Value {
        self.find(message).unwrap_or_else(|| {
            let lines: Vec<String> = self.lines().iter().map(Value::to_string).collect();
            panic!("no log line {message:?} in:\n{}", lines.join("\n"))
        })
    }

    pub fn clear(&self) {
        self.buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
