//! A Server-Sent Events parser, as the HTML standard defines one: lines
//! end in LF, CRLF or CR; `:` starts a comment; an empty line dispatches the
//! event gathered so far.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// `event:`, `message` when absent.
    pub(crate) event: String,
    /// Every `data:` line, joined by `\n`.
    pub(crate) data: String,
    /// The last `id:` seen so far in the stream.
    pub(crate) id: Option<String>,
}

/// Bytes in, events out.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    /// The start of a line whose end has not come yet.
    line: Vec<u8>,
    /// The last byte fed was a CR (an LF right after it ends nothing more).
    after_cr: bool,
    event: String,
    data: String,
    /// Whether a `data:` line came since the last dispatch.
    has_data: bool,
    last_id: Option<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events they completed.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_done(&String::from_utf8_lossy(&line)) {
                        events.push(event);
                    }
                }
                _ => {
                    self.after_cr = false;
                    self.line.push(byte);
                }
            }
        }
        events
    }

    fn line_done(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
        }
    }

    #[test]
    fn events_comments_and_ids() {
        let mut parser = SseParser::default();
        let events =
            parser.feed(b": keep-alive\n\nevent: attempt\nid: 7\ndata: {\"a\":1}\n\ndata:x\n\n");
        assert_eq!(
            events,
            [
                event("attempt", "{\"a\":1}", Some("7")),
                event("message", "x", Some("7"))
            ]
        );
    }

    #[test]
    fn lines_may_end_in_cr_crlf_or_lf_and_split_anywhere() {
        let whole = "event: a\r\ndata: 1\r\ndata: 2\r\rid\ndata: ø\n\n";
        for split in 0..whole.len() {
            let mut parser = SseParser::default();
            let (head, tail) = whole.as_bytes().split_at(split);
            let mut events = parser.feed(head);
            events.extend(parser.feed(tail));
            assert_eq!(
                events,
                [event("a", "1\n2", None), event("message", "ø", Some(""))],
                "split at {split}"
            );
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b"event: lagged\n\n").is_empty());
        assert_eq!(parser.feed(b"data\n\n"), [event("message", "", None)]);
    }
}
