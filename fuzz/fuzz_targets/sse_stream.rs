//! The server-sent events the chat stream writes: any sequence of events carrying any text,
//! with heartbeats between them, reads back (by the HTML standard's event-stream rules) as
//! exactly those events, in order, with exactly that text.

#![no_main]

use arbitrary::Arbitrary;
use chatbot::http::sse;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// The event names the chat stream uses.
const NAMES: [&str; 4] = ["meta", "delta", "done", "error"];

#[derive(Debug, Arbitrary)]
struct Event {
    name: u8,
    text: String,
    heartbeat_before: bool,
}

/// An event stream parsed as the HTML standard says (9.2.6 "Interpreting an event stream"):
/// one leading BOM dropped, lines ending in CRLF, LF or CR, `field: value` with one optional
/// space, comments starting with `:`, a blank line dispatching the event when it has data, and
/// an unfinished event at the end of the stream discarded.
fn parse(stream: &str) -> Vec<(String, String)> {
    let stream = stream.strip_prefix('\u{feff}').unwrap_or(stream);
    let mut events = Vec::new();
    let mut kind = String::new();
    let mut data = String::new();
    let mut rest = stream;
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let next = if rest[end..].starts_with("\r\n") {
            end + 2
        } else {
            end + 1
        };
        rest = &rest[next..];
        if line.is_empty() {
            if !data.is_empty() {
                data.pop();
                let name = if kind.is_empty() {
                    "message"
                } else {
                    kind.as_str()
                };
                events.push((name.to_owned(), std::mem::take(&mut data)));
            }
            data.clear();
            kind.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => kind = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            _ => {}
        }
    }
    events
}

fuzz_target!(|events: Vec<Event>| {
    let mut stream = Vec::new();
    for event in &events {
        if event.heartbeat_before {
            stream.extend_from_slice(sse::HEARTBEAT);
        }
        let name = NAMES[usize::from(event.name) % NAMES.len()];
        stream.extend_from_slice(&sse::event(name, &json!({"text": event.text})));
    }
    let stream = String::from_utf8(stream).expect("the stream is UTF-8");
    let parsed = parse(&stream);
    assert_eq!(parsed.len(), events.len(), "{stream:?}");
    for (event, (name, data)) in events.iter().zip(&parsed) {
        assert_eq!(name, NAMES[usize::from(event.name) % NAMES.len()]);
        let data: Value = serde_json::from_str(data).expect("each event's data is JSON");
        assert_eq!(
            data["text"].as_str(),
            Some(event.text.as_str()),
            "{stream:?}"
        );
    }
});
