//! [`PlainFields`]: tracing-subscriber's default field format, written with less work.
//!
//! The fmt layer formats a span's fields when the span is created, whether or not a line that
//! shows them is ever printed, so their cost is paid on every invocation. tracing-subscriber's
//! default visitor writes each value through `{:?}` and each name through an ANSI painter even
//! when colours are off. This one writes the same text (the test below holds it to that) and
//! takes a shortcut for the common cases: strings that need no escaping, integers and booleans,
//! with colours off, gathered on the stack and handed to the writer at once (the writer is a
//! string that would otherwise grow several times). Everything else goes to the default
//! visitor.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// Formats fields exactly as [`tracing_subscriber::fmt::format::DefaultFields`] does, cheaper.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            plain: !writer.has_ansi_escapes(),
            writer,
            is_empty: true,
            result: Ok(()),
            pending: [0; PENDING],
            pending_len: 0,
        };
        fields.record(&mut visitor);
        visitor.result.and_then(|()| visitor.flush())
    }
}

/// Bytes of plain output gathered before they go to the writer.
const PENDING: usize = 256;

struct PlainVisitor<'a> {
    writer: Writer<'a>,
    /// Colours off: the shortcuts apply.
    plain: bool,
    /// Nothing written yet: no separating space before the next field.
    is_empty: bool,
    result: fmt::Result,
    /// Output not yet handed to the writer.
    pending: [u8; PENDING],
    pending_len: usize,
}

impl fmt::Write for PlainVisitor<'_> {
    /// Gathers `text`, or hands it on directly when it does not fit.
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.pending_len + text.len();
        if end <= PENDING {
            self.pending[self.pending_len..end].copy_from_slice(text.as_bytes());
            self.pending_len = end;
            Ok(())
        } else {
            self.flush()?;
            self.writer.write_str(text)
        }
    }
}

impl PlainVisitor<'_> {
    /// Whether `field` is written as `name=value` by the default visitor, with no special case.
    fn ordinary(&self, field: &Field) -> bool {
        let name = field.name();
        self.plain
            && self.result.is_ok()
            && name != "message"
            && !name.starts_with("r#")
            && !name.starts_with("log.")
    }

    /// Gathers `name=` after a separating space if one is due.
    fn name(&mut self, field: &Field) -> fmt::Result {
        if self.is_empty {
            self.is_empty = false;
        } else {
            self.write_char(' ')?;
        }
        self.write_str(field.name())?;
        self.write_char('=')
    }

    /// Hands the gathered output to the writer.
    fn flush(&mut self) -> fmt::Result {
        if self.pending_len > 0 {
            let pending = std::str::from_utf8(&self.pending[..self.pending_len])
                .expect("whole strings were gathered");
            self.writer.write_str(pending)?;
            self.pending_len = 0;
        }
        Ok(())
    }

    /// Hands `field` to the default visitor, which writes the separator itself.
    fn delegate(&mut self, field: &Field, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        // The default visitor skips `log.` fields (metadata of `log` records) and writes
        // nothing, not even a separator.
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        if let Err(error) = self.flush() {
            self.result = Err(error);
            return;
        }
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut visitor);
        self.result = tracing_subscriber::field::VisitOutput::finish(visitor);
        self.is_empty = false;
    }
}

/// Whether `{:?}` writes `value` as itself between quotes: printable ASCII, no quote or
/// backslash.
fn needs_no_escaping(value: &str) -> bool {
    value
        .bytes()
        .all(|byte| (0x20..0x7f).contains(&byte) && byte != b'"' && byte != b'\\')
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.ordinary(field) && needs_no_escaping(value) {
            self.result = self.name(field).and_then(|()| {
                self.write_char('"')?;
                self.write_str(value)?;
                self.write_char('"')
            });
        } else {
            self.delegate(field, |visitor| visitor.record_str(field, value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.ordinary(field) {
            self.result = self
                .name(field)
                .and_then(|()| self.write_str(if value { "true" } else { "false" }));
        } else {
            self.delegate(field, |visitor| visitor.record_bool(field, value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.ordinary(field) {
            self.result = self.name(field).and_then(|()| write!(self, "{value}"));
        } else {
            self.delegate(field, |visitor| visitor.record_u64(field, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.ordinary(field) && value >= 0 {
            self.record_u64(field, value.unsigned_abs());
        } else {
            self.delegate(field, |visitor| visitor.record_i64(field, value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.delegate(field, |visitor| visitor.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.delegate(field, |visitor| visitor.record_debug(field, value));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::prelude::*;

    use super::*;

    /// Collects what a fmt layer writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    #[derive(Debug)]
    struct Failure;

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("it failed")
        }
    }

    impl std::error::Error for Failure {}

    /// Logs a span and events with fields of every kind through a fmt layer using `fields`.
    fn logged<N>(fields: N, ansi: bool) -> String
    where
        N: for<'w> FormatFields<'w> + Send + Sync + 'static,
    {
        let captured = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .without_time()
            .with_ansi(ansi)
            .with_writer(captured.clone())
            .fmt_fields(fields);
        let subscriber = tracing_subscriber::registry().with(layer);
        // Longer than what is gathered before it goes to the writer.
        let long = "0123456789".repeat(30);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "invocation",
                service = "helloworld.Greeter",
                key = "",
                quoted = "say \"hi\"\n",
                unicode = "Grüße",
                invocation.id = "inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz",
                attempt = 3u32,
                big = u64::MAX,
                negative = -7i64,
                float = 1.5f64,
                restate.replaying = false,
                r#type = "raw",
                debugged = ?Some(1),
                shown = %"display",
                long = long.as_str(),
            );
            span.record("restate.replaying", true);
            let _entered = span.enter();
            tracing::info!(answer = 42, "plain message with \"quotes\"");
            tracing::warn!(
                error = &Failure as &(dyn std::error::Error + 'static),
                "failed"
            );
            tracing::info!(log.target = "skipped", after = "kept");
        });
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn writes_what_the_default_format_writes() {
        for ansi in [false, true] {
            let expected = logged(tracing_subscriber::fmt::format::DefaultFields::new(), ansi);
            let written = logged(PlainFields, ansi);
            assert_eq!(written, expected, "ansi {ansi}");
            assert!(
                ansi || written.contains(r#"key="" quoted="say \"hi\"\n""#),
                "{written}"
            );
        }
    }
}
