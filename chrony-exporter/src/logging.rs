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

/// A kind of log line, and what it is about (a collector's name, or "").
pub type Cause = (&'static str, &'static str);

/// Rate limits repeated log lines per cause: a cause's first line is
/// logged, then at most one per [`Limiter::interval`], which says how many
/// were held back meanwhile. Anyone allowed to probe can make a new target
/// fail at every request: without this, each one would be a warning.
pub struct Limiter {
    interval: std::time::Duration,
    causes: std::sync::Mutex<std::collections::HashMap<Cause, (std::time::Instant, u64)>>,
}

impl Limiter {
    /// One line per cause and minute.
    pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

    pub fn new(interval: std::time::Duration) -> Limiter {
        Limiter {
            interval,
            causes: std::sync::Mutex::default(),
        }
    }

    /// Whether a line of `cause` may be logged now: `Some(n)` with the
    /// number of lines held back since the last one, `None` to hold this
    /// one back.
    pub fn allow(&self, cause: Cause) -> Option<u64> {
        let now = std::time::Instant::now();
        let mut causes = self.causes.lock().unwrap_or_else(|e| e.into_inner());
        match causes.get_mut(&cause) {
            Some((last, held)) if now.duration_since(*last) < self.interval => {
                *held += 1;
                None
            }
            Some((last, held)) => {
                *last = now;
                Some(std::mem::take(held))
            }
            None => {
                causes.insert(cause, (now, 0));
                Some(0)
            }
        }
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(Limiter::INTERVAL)
    }
}

#[cfg(test)]
mod limiter_tests {
    use super::Limiter;
    use std::time::Duration;

    #[test]
    fn one_line_per_cause_and_interval_with_the_count_held_back() {
        let l = Limiter::new(Duration::from_millis(200));
        assert_eq!(l.allow(("a", "")), Some(0));
        for _ in 0..5 {
            assert_eq!(l.allow(("a", "")), None);
        }
        // Another cause has its own budget, and so has another subject.
        assert_eq!(l.allow(("b", "")), Some(0));
        assert_eq!(l.allow(("a", "tracking")), Some(0));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(l.allow(("a", "")), Some(5));
        assert_eq!(l.allow(("a", "")), None);
    }
}
