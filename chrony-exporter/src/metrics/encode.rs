//! The two text encodings of a scrape: Prometheus text 0.0.4 and
//! OpenMetrics 1.0.0.

use super::out::Out;
use super::table::Kind;

/// The exposition format a scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
}

impl Format {
    /// The format for an `Accept` header: OpenMetrics when the scraper
    /// names `application/openmetrics-text` (with a q-value above 0),
    /// Prometheus text otherwise.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        for part in accept.split(',') {
            let mut params = part.split(';').map(str::trim);
            let media = params.next().unwrap_or("");
            if !media.eq_ignore_ascii_case("application/openmetrics-text") {
                continue;
            }
            let q = params
                .filter_map(|p| p.strip_prefix("q="))
                .filter_map(|q| q.parse::<f64>().ok())
                .next()
                .unwrap_or(1.0);
            if q > 0.0 {
                return Format::OpenMetrics;
            }
        }
        Format::Text
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

fn escape_help(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// 2^53: every whole f64 below it is exactly an i64 with these digits.
pub(super) const EXACT: f64 = 9_007_199_254_740_992.0;

/// Writes `v` in the shortest text that reads back as exactly `v`:
/// whole numbers below 2^53 (counts, states, info metrics: most samples)
/// as integers, other finite values by zmij (the digits Rust's `Display`
/// chooses; plain decimals for decimal exponents -5 to 15, an exponent
/// outside them: `0.00001`, `-1.5e-7`, `1e+300`), and `NaN`, `+Inf`,
/// `-Inf`. Both formats accept the exponent form.
pub(super) fn write_value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else if v.fract() == 0.0 && v.abs() < EXACT && !(v == 0.0 && v.is_sign_negative()) {
        // -0.0 keeps its sign through the general path.
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(zmij::Buffer::new().format_finite(v));
    }
}

/// Writes the metrics in the chosen format.
pub fn encode(out: &Out, format: Format) -> String {
    let families = out.families();
    let size: usize = families
        .iter()
        .map(|f| f.text.len() + f.def.help.len() + 3 * f.def.name.len() + 40)
        .sum();
    let mut s = String::with_capacity(size + 16);
    for f in families {
        if f.is_empty() {
            continue;
        }
        let d = f.def;
        // OpenMetrics names the family without the counter's `_total`.
        let family = match (format, d.kind) {
            (Format::OpenMetrics, Kind::Counter) => d.name.strip_suffix("_total").unwrap_or(d.name),
            _ => d.name,
        };
        s.push_str("# HELP ");
        s.push_str(family);
        s.push(' ');
        escape_help(d.help, &mut s);
        s.push('\n');
        s.push_str("# TYPE ");
        s.push_str(family);
        s.push(' ');
        s.push_str(d.kind.name());
        s.push('\n');
        if format == Format::OpenMetrics
            && !d.unit.is_empty()
            && family
                .strip_suffix(d.unit)
                .is_some_and(|f| f.ends_with('_'))
        {
            s.push_str("# UNIT ");
            s.push_str(family);
            s.push(' ');
            s.push_str(d.unit);
            s.push('\n');
        }
        // The sample lines, as added.
        s.push_str(&f.text);
    }
    if format == Format::OpenMetrics {
        s.push_str("# EOF\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::select_data::SELECT_SCORE;
    use crate::collector::server_stats::SERVERSTATS_NTP_HITS;
    use crate::collector::source_stats::SOURCESTATS_OFFSET;
    use crate::collector::sources::{SOURCES_LAST_SAMPLE, SOURCES_STATE_INFO, SOURCES_STRATUM};
    use crate::collector::tracking::{TRACKING_LAST_OFFSET, TRACKING_REF_TIME};
    use crate::collector::{COLLECTOR_SUCCESS, UP};
    use crate::metrics::out::Labels;
    use crate::metrics::{rank, Def};
    use std::fmt::Write as _;

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
        // What Prometheus 2.x sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; q=0, text/plain")),
            Format::Text
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
    }

    /// The encoder as first written (labels rendered per sample, kept in a
    /// list with a set of label texts, values through `Display`): the
    /// output the exporter's users have; [`encode`] must write the same
    /// bytes, but for the text of a value, which must read back as the
    /// same `f64` (see [`same_output`]).
    fn reference_encode(adds: &[(&'static Def, Vec<String>, f64)], format: Format) -> String {
        let mut families: Vec<(&'static Def, Vec<(String, f64)>)> = Vec::new();
        for (def, labels, value) in adds {
            let mut rendered = String::new();
            for (i, (k, v)) in def.labels.iter().zip(labels).enumerate() {
                if i > 0 {
                    rendered.push(',');
                }
                rendered.push_str(k);
                rendered.push_str("=\"");
                for c in v.chars() {
                    match c {
                        '\\' => rendered.push_str("\\\\"),
                        '"' => rendered.push_str("\\\""),
                        '\n' => rendered.push_str("\\n"),
                        c => rendered.push(c),
                    }
                }
                rendered.push('"');
            }
            let f = match families.iter().position(|(d, _)| d.name == def.name) {
                Some(i) => &mut families[i].1,
                None => {
                    families.push((def, Vec::new()));
                    &mut families.last_mut().unwrap().1
                }
            };
            if !f.iter().any(|(l, _)| *l == rendered) {
                f.push((rendered, *value));
            }
        }
        families.sort_by_key(|(d, _)| rank(d));
        let mut s = String::new();
        for (d, samples) in families {
            let family = match (format, d.kind) {
                (Format::OpenMetrics, Kind::Counter) => d.name.strip_suffix("_total").unwrap(),
                _ => d.name,
            };
            let help = d.help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(s, "# HELP {family} {help}");
            let _ = writeln!(s, "# TYPE {family} {}", d.kind.name());
            if format == Format::OpenMetrics
                && !d.unit.is_empty()
                && family.ends_with(&format!("_{}", d.unit))
            {
                let _ = writeln!(s, "# UNIT {family} {}", d.unit);
            }
            for (labels, v) in samples {
                s.push_str(d.name);
                if !labels.is_empty() {
                    let _ = write!(s, "{{{labels}}}");
                }
                let v = if v.is_nan() {
                    "NaN".to_string()
                } else if v == f64::INFINITY {
                    "+Inf".to_string()
                } else if v == f64::NEG_INFINITY {
                    "-Inf".to_string()
                } else {
                    format!("{v}")
                };
                let _ = writeln!(s, " {v}");
            }
        }
        if format == Format::OpenMetrics {
            s.push_str("# EOF\n");
        }
        s
    }

    /// Values that stress the number formatting: whole numbers around
    /// 2^53 and i64's range, signed zeros, subnormals, huge and tiny
    /// values, and pseudo-random bit patterns.
    fn values() -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -1.5e-7,
            64.0,
            0.25,
            1e15,
            1e16,
            -1e16,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_993.0,
            -9_007_199_254_740_992.0,
            4_294_967_295.0,
            18_446_744_073_709_551_615.0,
            9.223_372_036_854_776e18,
            -9.223_372_036_854_776e18,
            1e300,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1_796_131_644.123_456_7,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..4000 {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(f64::from_bits(x));
            // Whole numbers of every size, and their negatives.
            let whole = (x >> (i % 64)) as f64;
            v.push(if i % 2 == 0 { whole } else { -whole });
            v.push(((x % 2_000_001) as f64 - 1_000_000.0) / 8.0);
        }
        v
    }

    /// The significant digits of a decimal text (`-1.50e-7` -> `15`).
    fn digits(text: &str) -> String {
        let mantissa = text.split(['e', 'E']).next().unwrap();
        let d: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        d.trim_start_matches('0').trim_end_matches('0').to_string()
    }

    /// Whether `text` is a number as OpenMetrics' grammar writes it
    /// (`[-]digits[.digits][e[+-]digits]`, or NaN, +Inf, -Inf), which
    /// Prometheus text accepts too.
    fn is_number(text: &str) -> bool {
        if matches!(text, "NaN" | "+Inf" | "-Inf") {
            return true;
        }
        let t = text.strip_prefix('-').unwrap_or(text);
        let (mantissa, exp) = match t.split_once('e') {
            Some((m, e)) => (m, Some(e)),
            None => (t, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        all_digits(int)
            && frac.is_none_or(all_digits)
            && exp.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e)))
    }

    #[test]
    fn values_read_back_exactly_in_the_fewest_digits() {
        let mut exponents = 0;
        for v in values() {
            let mut s = String::new();
            write_value(v, &mut s);
            assert!(is_number(&s), "{s:?} for {v:e}");
            if v.is_nan() {
                assert_eq!(s, "NaN");
                continue;
            }
            let back = parse_value(&s).unwrap();
            // Bit for bit: the sign of zero too.
            assert_eq!(
                back.to_bits(),
                v.to_bits(),
                "{s:?} for {v:e} ({:#x})",
                v.to_bits()
            );
            if v.is_finite() {
                // The shortest digits that read back (Display's choice).
                assert_eq!(digits(&s), digits(&format!("{v}")), "{s:?} for {v:e}");
                exponents += usize::from(s.contains('e'));
                // Whole numbers below 2^53 are written as integers.
                if v.fract() == 0.0 && v.abs() < EXACT && v.to_bits() != (-0.0f64).to_bits() {
                    assert!(s.bytes().all(|b| b.is_ascii_digit() || b == b'-'), "{s:?}");
                }
            }
        }
        // Huge and tiny values take the short exponent form (Display
        // would write 1e300 with 301 digits).
        assert!(exponents > 100, "{exponents}");
        let mut s = String::new();
        write_value(1e300, &mut s);
        assert_eq!(s, "1e+300");
    }

    /// A sample value as both formats write it.
    fn parse_value(text: &str) -> Option<f64> {
        match text {
            "NaN" => Some(f64::NAN),
            "+Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            t => t.parse().ok(),
        }
    }

    /// Compares encoder output line by line: the same bytes, except that
    /// the value of a sample line may be any text that reads back as the
    /// same `f64`.
    fn same_output(got: &str, want: &str) -> Result<(), String> {
        let value = |t: &str| parse_value(t).map(f64::to_bits);
        let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
        for (a, b) in g.iter().zip(&w) {
            let same = a == b
                || (!a.starts_with('#')
                    && match (a.rsplit_once(' '), b.rsplit_once(' ')) {
                        (Some((sa, va)), Some((sb, vb))) => {
                            sa == sb && value(va).is_some() && value(va) == value(vb)
                        }
                        _ => false,
                    });
            if !same {
                return Err(format!("got  {a}\nwant {b}"));
            }
        }
        if g.len() != w.len() || got.ends_with('\n') != want.ends_with('\n') {
            return Err(format!("{} lines, want {}", g.len(), w.len()));
        }
        Ok(())
    }

    #[test]
    fn encoder_writes_the_bytes_of_the_reference_encoder() {
        let values = values();
        let mut adds: Vec<(&'static Def, Vec<String>, f64)> = Vec::new();
        let names = [
            "192.0.2.1",
            "2001:db8::123",
            "GPS0",
            "a \"q\" \\ \n end",
            "",
            "x\\",
            "ntp1.example.net",
        ];
        let mut k = 0;
        // Labelled families, per-source style, with duplicate label sets
        // (same address twice) and every value.
        for round in 0..3 {
            for (i, a) in names.iter().enumerate() {
                for def in [&SOURCES_STRATUM, &SOURCES_LAST_SAMPLE, &SELECT_SCORE] {
                    let n = names[(i + round) % names.len()];
                    adds.push((
                        def,
                        vec![a.to_string(), n.to_string()],
                        values[k % values.len()],
                    ));
                    k += 1;
                }
                adds.push((
                    &SOURCES_STATE_INFO,
                    vec![a.to_string(), a.to_string(), "sync".into(), "client".into()],
                    1.0,
                ));
            }
        }
        for (j, v) in values.iter().enumerate() {
            adds.push((
                &SOURCESTATS_OFFSET,
                vec![format!("10.0.{}.{}", j / 256, j % 256), "n".into()],
                *v,
            ));
        }
        // Unlabelled ones (a second sample is a duplicate), counters (their
        // OpenMetrics family name) and units, added out of table order.
        adds.push((&SERVERSTATS_NTP_HITS, vec![], 5.0));
        adds.push((&SERVERSTATS_NTP_HITS, vec![], 6.0));
        adds.push((&TRACKING_LAST_OFFSET, vec![], -1.5e-7));
        adds.push((&UP, vec![], 1.0));
        adds.push((&COLLECTOR_SUCCESS, vec!["tracking".into()], 1.0));
        adds.push((&COLLECTOR_SUCCESS, vec!["tracking".into()], 0.0));
        adds.push((&TRACKING_REF_TIME, vec![], 1_796_131_644.5));

        let mut out = Out::default();
        let mut refused = 0;
        for (def, labels, v) in &adds {
            let l: Vec<&str> = labels.iter().map(String::as_str).collect();
            if !out.add(def, &l, *v) {
                refused += 1;
            }
        }
        assert!(refused > 0);
        assert_eq!(out.duplicates, refused);
        for format in [Format::Text, Format::OpenMetrics] {
            let want = reference_encode(&adds, format);
            let got = encode(&out, format);
            if let Err(e) = same_output(&got, &want) {
                panic!("{format:?} output differs: {e}");
            }
        }
        // The samples read back as added.
        let got = out.get(&SOURCES_STRATUM);
        assert_eq!(got[0].values(), vec!["192.0.2.1", "192.0.2.1"]);
        assert_eq!(got[0].value.to_bits(), values[0].to_bits());

        // Labels rendered once (add_labels, as the per-source collectors
        // do) and families sized beforehand (expect): the same bytes and
        // the same duplicates.
        let mut fast = Out::default();
        fast.expect(3);
        let mut refused_fast = 0;
        for (def, labels, v) in &adds {
            let l: Vec<&str> = labels.iter().map(String::as_str).collect();
            let added = if def.labels == ["source_address", "source_name"] {
                fast.add_labels(def, &Labels::new(def.labels, &l), *v)
            } else {
                fast.add(def, &l, *v)
            };
            if !added {
                refused_fast += 1;
            }
        }
        assert_eq!(refused_fast, refused);
        assert_eq!(fast.duplicates, refused);
        for format in [Format::Text, Format::OpenMetrics] {
            // The same bytes as the first encoding, values too.
            assert_eq!(encode(&fast, format), encode(&out, format));
        }
    }

    #[test]
    fn encodings() {
        let mut out = Out::default();
        out.add(&UP, &[], 1.0);
        out.add(&SERVERSTATS_NTP_HITS, &[], 5.0);
        out.add(&SOURCES_STRATUM, &["192.0.2.1", "a \"q\" \\ \n"], 2.0);
        assert!(!out.add(&SOURCES_STRATUM, &["192.0.2.1", "a \"q\" \\ \n"], 3.0));
        out.add(&TRACKING_LAST_OFFSET, &[], -1.5e-7);
        out.add(&SELECT_SCORE, &["192.0.2.1", "x"], f64::INFINITY);
        assert_eq!(out.duplicates, 1);
        let text = encode(&out, Format::Text);
        assert!(text.contains("# TYPE chrony_serverstats_ntp_packets_received_total counter\nchrony_serverstats_ntp_packets_received_total 5\n"), "{text}");
        assert!(text.contains("chrony_sources_stratum{source_address=\"192.0.2.1\",source_name=\"a \\\"q\\\" \\\\ \\n\"} 2\n"), "{text}");
        assert!(
            text.contains("chrony_tracking_last_offset_seconds -1.5e-7\n"),
            "{text}"
        );
        assert!(text.contains("} +Inf\n"), "{text}");
        assert!(!text.contains("# EOF"));
        let om = encode(&out, Format::OpenMetrics);
        assert!(
            om.contains("# TYPE chrony_serverstats_ntp_packets_received counter\n"),
            "{om}"
        );
        assert!(
            om.contains("\nchrony_serverstats_ntp_packets_received_total 5\n"),
            "{om}"
        );
        assert!(
            om.contains("# UNIT chrony_tracking_last_offset_seconds seconds\n"),
            "{om}"
        );
        assert!(om.ends_with("# EOF\n"));
        // Table order, whatever the order of adding.
        assert!(text.find("chrony_up").unwrap() < text.find("chrony_tracking").unwrap());
    }
}
