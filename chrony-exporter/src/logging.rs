//! Structured logs on stderr: logfmt (`ts=... level=info msg="..." k=v`) or
//! JSON, at the chosen level.

use crate::cli::LogFormat;
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A logfmt value: bare when it is one plain word, quoted otherwise.
fn push_value(out: &mut String, v: &str) {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=' && c != '\\');
    if plain {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[derive(Default)]
struct Fields {
    msg: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg = value.to_string();
        } else {
            self.rest.push(' ');
            self.rest.push_str(field.name());
            self.rest.push('=');
            push_value(&mut self.rest, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ts = chrony::Timestamp::try_from(std::time::SystemTime::now())
            .map(|t| t.to_string())
            .unwrap_or_default();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = String::new();
        let _ = write!(
            line,
            "ts={ts} level={} msg=",
            event.metadata().level().as_str().to_ascii_lowercase()
        );
        push_value(&mut line, &fields.msg);
        line.push_str(&fields.rest);
        writeln!(w, "{line}")
    }
}

/// Installs the global subscriber.
pub fn init(level: tracing::Level, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        LogFormat::Logfmt => builder.event_format(Logfmt).init(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn logfmt_values() {
        let mut s = String::new();
        super::push_value(&mut s, "plain");
        s.push(' ');
        super::push_value(&mut s, "two words \"q\"");
        assert_eq!(s, "plain \"two words \\\"q\\\"\"");
    }
}
