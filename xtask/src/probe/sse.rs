//! Server-sent events read as they arrive: bytes in, whole events out (`event:` name and
//! `data:` lines; comments such as `: keep-alive` skipped).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub data: String,
}

#[derive(Default)]
pub struct Parser {
    pending: Vec<u8>,
}

impl Parser {
    /// Adds `bytes`; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = find_blank_line(&self.pending) {
            let block: Vec<u8> = self.pending.drain(..end.0).collect();
            self.pending.drain(..end.1);
            if let Some(event) = parse_block(&String::from_utf8_lossy(&block)) {
                events.push(event);
            }
        }
        events
    }
}

/// Where the first event ends: (length of the block, length of the separator).
fn find_blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    for (i, _) in bytes.iter().enumerate() {
        let rest = &bytes[i..];
        if rest.starts_with(b"\r\n\r\n") {
            return Some((i, 4));
        }
        if rest.starts_with(b"\n\n") {
            return Some((i, 2));
        }
    }
    None
}

fn parse_block(block: &str) -> Option<Event> {
    let mut name = "message".to_owned();
    let mut data: Vec<&str> = Vec::new();
    let mut any = false;
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => {
                name = value.to_owned();
                any = true;
            }
            "data" => {
                data.push(value);
                any = true;
            }
            _ => {}
        }
    }
    any.then(|| Event {
        name,
        data: data.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_come_out_whole() {
        let mut parser = Parser::default();
        assert!(parser.feed(b"event: meta\ndata: {\"a\"").is_empty());
        let events =
            parser.feed(b":1}\n\n: keep-alive\n\nevent: delta\r\ndata: {}\r\n\r\nevent: do");
        assert_eq!(
            events,
            vec![
                Event {
                    name: "meta".into(),
                    data: "{\"a\":1}".into()
                },
                Event {
                    name: "delta".into(),
                    data: "{}".into()
                },
            ]
        );
        assert_eq!(
            parser.feed(b"ne\ndata: {}\n\n"),
            vec![Event {
                name: "done".into(),
                data: "{}".into()
            }]
        );
    }
}
