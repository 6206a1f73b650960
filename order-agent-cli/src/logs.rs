//! Log output that never carries customers' personal data: every formatted line passes through
//! [`redact`] before it is written, whatever the format (text or JSON).
//!
//! The agent already keeps personal data out of its spans and events; this is the second line of
//! defence for what slips through (a vendor's error message quoting an email, a debug event of a
//! dependency).

use std::io::{self, Write};

use order_agent_core::redact::redact;
use tracing_subscriber::fmt::MakeWriter;

/// Makes a [`RedactedLine`] for each log event, writing to what `inner` makes.
#[derive(Debug, Clone)]
pub(crate) struct RedactingWriter<M> {
    inner: M,
}

impl<M> RedactingWriter<M> {
    /// Redacts what is written to the writers `inner` makes.
    pub(crate) fn new(inner: M) -> RedactingWriter<M> {
        RedactingWriter { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingWriter<M> {
    type Writer = RedactedLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedLine {
            buffer: Vec::with_capacity(256),
            inner: self.inner.make_writer(),
        }
    }
}

/// One log event: collected, then redacted and written in one piece when dropped (the formatter
/// drops it after the event), so that nothing is split between two writes.
#[derive(Debug)]
pub(crate) struct RedactedLine<W: Write> {
    buffer: Vec<u8>,
    inner: W,
}

impl<W: Write> RedactedLine<W> {
    fn write_out(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let result = self.inner.write_all(redact(&text).as_bytes());
        self.buffer.clear();
        result.and_then(|()| self.inner.flush())
    }
}

impl<W: Write> Write for RedactedLine<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A line is only complete when the formatter is done with it: see `Drop`.
        Ok(())
    }
}

impl<W: Write> Drop for RedactedLine<W> {
    fn drop(&mut self) {
        // Nowhere to report a failure to write a log line.
        let _ = self.write_out();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn logs(json: bool) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let builder = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(RedactingWriter::new(move || sink.clone()));
        let emit = || {
            let span = tracing::info_span!("handle_message", order = "ord_1001");
            let _entered = span.enter();
            tracing::warn!(
                error = "customer anna.mueller@example.ch at Bahnhofstrasse 12 not found",
                "lookup failed for +41 79 123 45 67, card 4111 1111 1111 1111, #1001 CHF 49.90"
            );
        };
        if json {
            tracing::subscriber::with_default(
                builder.json().with_current_span(true).finish(),
                emit,
            );
        } else {
            tracing::subscriber::with_default(builder.finish(), emit);
        }
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn text_and_json_lines_are_redacted_and_keep_order_numbers() {
        for json in [false, true] {
            let out = logs(json);
            for personal in [
                "anna.mueller@example.ch",
                "Bahnhofstrasse",
                "79 123 45 67",
                "4111 1111",
            ] {
                assert!(!out.contains(personal), "{out}");
            }
            for kept in [
                "[email]",
                "[address]",
                "[phone]",
                "[card]",
                "#1001 CHF 49.90",
                "ord_1001",
            ] {
                assert!(out.contains(kept), "{kept} missing in {out}");
            }
            assert_eq!(out.lines().count(), 1, "{out}");
            if json {
                let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
                assert_eq!(line["level"], "WARN");
            }
        }
    }
}
