//! One log event, one line: text logged from outside the host (a guest's error message or
//! trap, a client-chosen actor name) can hold a newline or a control character, and would
//! then forge lines of its own in the human log. Every event is written through
//! [`OneLine`], which escapes the control characters inside it; the newline that ends it
//! stays. (JSON logs escape them already.)

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Makes writers that keep each event on its line.
pub(super) struct OneLineWriter {
    /// Whether the log is coloured: its escape sequences (ESC) are then the logger's own.
    pub(super) ansi: bool,
    /// Log to stderr (a verb whose stdout is its result) instead of stdout (a server).
    pub(super) stderr: bool,
}

impl<'a> MakeWriter<'a> for OneLineWriter {
    type Writer = OneLine<Box<dyn Write>>;

    fn make_writer(&'a self) -> Self::Writer {
        let inner: Box<dyn Write> = if self.stderr { Box::new(io::stderr()) } else { Box::new(io::stdout()) };
        OneLine { inner, ansi: self.ansi }
    }
}

/// Writes what it is given (one whole event per write, as the logger writes) with its
/// control characters escaped, but for the final newline.
pub(super) struct OneLine<W> {
    inner: W,
    ansi: bool,
}

impl<W: Write> OneLine<W> {
    fn escaped(&self, c: char) -> bool {
        c.is_control() && c != '\t' && !(self.ansi && c == '\u{1b}')
    }
}

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, event: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(event);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        if !body.chars().any(|c| self.escaped(c)) {
            self.inner.write_all(event)?;
            return Ok(event.len());
        }
        let mut line = String::with_capacity(body.len() + 16);
        for c in body.chars() {
            if self.escaped(c) {
                line.extend(c.escape_default());
            } else {
                line.push(c);
            }
        }
        line.push_str(end);
        self.inner.write_all(line.as_bytes())?;
        Ok(event.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(ansi: bool, event: &str) -> String {
        let mut line = OneLine { inner: Vec::new(), ansi };
        line.write_all(event.as_bytes()).unwrap();
        String::from_utf8(line.inner).unwrap()
    }

    #[test]
    fn an_event_stays_on_its_line_whatever_its_fields_hold() {
        let forged = "WARN invocation failed: boom\n2026-12-03T00:00:00Z ERROR forged\r\u{7}\n";
        assert_eq!(
            written(false, forged),
            "WARN invocation failed: boom\\n2026-12-03T00:00:00Z ERROR forged\\r\\u{7}\n"
        );
        assert_eq!(written(false, "plain\tline\n"), "plain\tline\n");
        assert_eq!(
            written(true, "\u{1b}[32m INFO\u{1b}[0m ok\n"),
            "\u{1b}[32m INFO\u{1b}[0m ok\n",
            "the logger's colours"
        );
        assert_eq!(written(false, "\u{1b}[2J\n"), "\\u{1b}[2J\n", "without colours, ESC is a guest's");
    }
}
