//! The metric table: every metric the exporter can write, declared once
//! with [`declare!`] (name, type, unit, labels, report, chrony version,
//! drop-in, help) in the file of the collector that writes it. [`all`]
//! lists them in output order; the encoder, the README's metrics
//! reference and the tests read it.
//!
//! A metric marked `compat` keeps the name, type, unit and label names of
//! SuperQ's chrony_exporter, so its dashboards and alerts keep working.

use std::fmt::Write as _;
use std::sync::OnceLock;

/// Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// One metric of the table.
#[derive(Debug)]
pub struct Def {
    /// The full sample name (counters end in `_total`).
    pub name: &'static str,
    pub kind: Kind,
    /// Base unit (`seconds`, `ratio`, `bytes`), or "" for counts,
    /// booleans and info metrics.
    pub unit: &'static str,
    pub labels: &'static [&'static str],
    /// The collector (report) it comes from, or `exporter`, `probe`,
    /// `process`.
    pub report: &'static str,
    /// The first chrony version that sends it ("" = every version the
    /// exporter supports, 4.0 and later).
    pub since: &'static str,
    /// Same name, type, unit and labels as chrony_exporter.
    pub compat: bool,
    pub help: &'static str,
}

/// Declares a group of metrics: one `pub static` [`Def`] each, and the
/// group (`$group: &[&Def]`, in declaration order) for [`all`].
macro_rules! declare {
    ($group:ident; $(
        $id:ident: $kind:ident $name:literal [$($label:literal),*] unit $unit:literal
            report $report:literal since $since:literal compat $compat:literal
            $help:literal;
    )*) => {
        $(
            pub static $id: $crate::metrics::Def = $crate::metrics::Def {
                name: $name,
                kind: $crate::metrics::Kind::$kind,
                unit: $unit,
                labels: &[$($label),*],
                report: $report,
                since: $since,
                compat: $compat,
                help: $help,
            };
        )*
        /// This file's metrics, in output order.
        pub static $group: &[&$crate::metrics::Def] = &[$(&$id),*];
    };
}
pub(crate) use declare;

/// The groups of metrics in output order: the exporter's health, the
/// probe's two, each collector's in the registry's order, the process.
fn groups() -> impl Iterator<Item = &'static [&'static Def]> {
    [crate::collector::HEALTH, crate::probe::METRICS]
        .into_iter()
        .chain(crate::collector::COLLECTORS.iter().map(|c| c.metrics))
        .chain([crate::process::METRICS])
}

/// Every metric, in output order.
pub fn all() -> impl Iterator<Item = &'static Def> {
    groups().flat_map(|g| g.iter().copied())
}

/// The position of a metric in [`all`] (its output order).
pub fn rank(def: &Def) -> usize {
    static RANKS: OnceLock<rustc_hash::FxHashMap<&'static str, usize>> = OnceLock::new();
    let ranks = RANKS.get_or_init(|| all().enumerate().map(|(i, d)| (d.name, i)).collect());
    ranks.get(def.name).copied().unwrap_or(usize::MAX)
}

pub const REFERENCE_BEGIN: &str =
    "<!-- metrics-reference:begin (generated: chrony-exporter --print-metrics-reference) -->";
pub const REFERENCE_END: &str = "<!-- metrics-reference:end -->";

/// The metrics reference (Markdown), generated from [`all`].
pub fn reference() -> String {
    let mut s = String::new();
    s.push_str("| metric | type | unit | labels | report | chrony | drop-in | help |\n");
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for d in all() {
        let labels = d
            .labels
            .iter()
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            d.name,
            d.kind.name(),
            if d.unit.is_empty() { "-" } else { d.unit },
            if labels.is_empty() {
                "-".into()
            } else {
                labels
            },
            d.report,
            if d.since.is_empty() {
                "4.0+".to_string()
            } else {
                format!("{}+", d.since)
            },
            if d.compat { "same" } else { "new" },
            d.help.replace('|', "\\|"),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_follow_the_rules() {
        let mut names = HashSet::new();
        for d in all() {
            assert!(names.insert(d.name), "{} twice", d.name);
            assert!(
                d.name.starts_with("chrony_") || d.report == "process",
                "{}",
                d.name
            );
            assert!(
                d.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                d.name
            );
            assert_eq!(
                d.kind == Kind::Counter,
                d.name.ends_with("_total"),
                "{}: _total only on counters",
                d.name
            );
            if !d.unit.is_empty() && !d.compat {
                let base = d.name.trim_end_matches("_total");
                assert!(
                    base.ends_with(&format!("_{}", d.unit))
                        || base.contains(&format!("_{}_", d.unit)),
                    "{}: unit {} not in the name",
                    d.name,
                    d.unit
                );
            }
            assert!(!d.help.is_empty());
            let mut labels = HashSet::new();
            for l in d.labels {
                assert!(labels.insert(l), "{}: label {l} twice", d.name);
            }
        }
        // Each metric has its own rank.
        let ranks: HashSet<usize> = all().map(rank).collect();
        assert_eq!(ranks.len(), names.len());
    }

    /// chrony_exporter 0.13's 51 names (its `collector/*.go`), each
    /// written here with its type and label names.
    #[test]
    fn every_chrony_exporter_name_is_here() {
        let source = ["source_address", "source_name"];
        let mut want: Vec<(&str, Kind, &[&str])> = vec![
            ("chrony_up", Kind::Gauge, &[]),
            (
                "chrony_tracking_info",
                Kind::Gauge,
                &["tracking_address", "tracking_name", "tracking_refid"],
            ),
            (
                "chrony_sources_state_info",
                Kind::Gauge,
                &[
                    "source_address",
                    "source_name",
                    "source_state",
                    "source_mode",
                ],
            ),
        ];
        for n in [
            "last_offset_seconds",
            "reference_timestamp_seconds",
            "system_time_seconds",
            "remote_reference",
            "rms_offset_seconds",
            "root_delay_seconds",
            "root_dispersion_seconds",
            "frequency_ppms",
            "residual_frequency_ppms",
            "skew_ppms",
            "update_interval_seconds",
            "stratum",
        ] {
            want.push((
                Box::leak(format!("chrony_tracking_{n}").into_boxed_str()),
                Kind::Gauge,
                &[],
            ));
        }
        for n in [
            "sources_last_sample_age_seconds",
            "sources_reachability_ratio",
            "sources_reachability_success",
            "sources_last_sample_offset_seconds",
            "sources_last_sample_error_margin_seconds",
            "sources_polling_interval_seconds",
            "sources_stratum",
            "sources_peer_offset_seconds",
            "sources_peer_delay_seconds",
            "sources_peer_dispersion_seconds",
            "sources_peer_response_time_seconds",
            "sources_peer_jitter_asymmetry_seconds",
            "sourcestats_samples",
            "sourcestats_runs",
            "sourcestats_span_seconds",
            "sourcestats_stddev",
            "sourcestats_frequency_ppms",
            "sourcestats_frequency_skew_ppms",
            "sourcestats_offset",
        ] {
            want.push((
                Box::leak(format!("chrony_{n}").into_boxed_str()),
                Kind::Gauge,
                &source,
            ));
        }
        for (n, kind) in [
            ("ntp_packets_received_total", Kind::Counter),
            ("nts_ke_connections_accepted_total", Kind::Counter),
            ("command_packets_received_total", Kind::Counter),
            ("ntp_packets_dropped_total", Kind::Counter),
            ("nts_ke_connections_dropped_total", Kind::Counter),
            ("command_packets_dropped_total", Kind::Counter),
            ("client_log_records_dropped_total", Kind::Counter),
            ("authenticated_ntp_packets_total", Kind::Counter),
            ("interleaved_ntp_packets_total", Kind::Counter),
            ("ntp_timestamps_held", Kind::Gauge),
            ("ntp_timestamp_span_seconds", Kind::Gauge),
            ("ntp_daemon_rx_timestamps_total", Kind::Counter),
            ("ntp_daemon_tx_timestamps_total", Kind::Counter),
            ("ntp_kernel_rx_timestamps_total", Kind::Counter),
            ("ntp_kernel_tx_timestamps_total", Kind::Counter),
            ("ntp_hw_rx_timestamps_total", Kind::Counter),
            ("ntp_hw_tx_timestamps_total", Kind::Counter),
        ] {
            want.push((
                Box::leak(format!("chrony_serverstats_{n}").into_boxed_str()),
                kind,
                &[],
            ));
        }
        assert_eq!(want.len(), 51);
        for (name, kind, labels) in want {
            let d = all()
                .find(|d| d.name == name)
                .unwrap_or_else(|| panic!("{name} is not written"));
            assert_eq!((d.kind, d.labels), (kind, labels), "{name}");
            assert!(d.compat, "{name} is not marked as chrony_exporter's");
        }
        // And no other chrony_ name claims to be (process_* are client
        // libraries' names, which every Go exporter has too).
        let compat = all().filter(|d| d.compat && d.report != "process").count();
        assert_eq!(compat, 51);
    }
}
