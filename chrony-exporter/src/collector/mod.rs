//! The collectors, one per report of the library's list (node_exporter's
//! layout: one file per collector, with its metrics and its update), and
//! the health metrics of a scrape.
//!
//! [`COLLECTORS`] is made from `chrony::each_report!`, the library's one list of
//! reports: a report added there does not compile here until it has a
//! module of its own (its metrics and update, or the decision to export
//! nothing), named after its field in the [`Snapshot`].
//!
//! Building is a pure function from a [`Snapshot`] to metrics, testable
//! with the testkit's fake records and no chronyd. The label rule of the
//! per-source reports is in [`labels`].

mod activity;
mod auth_data;
pub mod labels;
mod ntp_data;
mod rtc_data;
pub(crate) mod select_data;
pub(crate) mod server_stats;
mod smoothing;
pub(crate) mod source_stats;
pub(crate) mod sources;
pub(crate) mod tracking;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod units;

use crate::metrics::{declare, Def, Out};
use chrony::snapshot::Part;
use chrony::Snapshot;
pub use labels::{addresses, Ctx, Names};
use std::time::{Duration, Instant};

/// One collector: a report and its metrics.
pub struct Collector {
    /// The flag name (`--collector.NAME`), which is the report's name.
    pub name: &'static str,
    /// chronyd serves the report on its Unix socket only: on by default
    /// only when the address is a socket.
    pub unix_only: bool,
    /// The metrics it can write.
    pub metrics: &'static [&'static Def],
    /// Writes the metrics of its report in a snapshot; what became of it.
    collect: fn(&Snapshot, &mut Ctx<'_>, &mut Out) -> Status,
}

impl PartialEq for Collector {
    fn eq(&self, other: &Collector) -> bool {
        self.name == other.name
    }
}

impl Eq for Collector {}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! registry {
    ($($field:ident: $model:ty => $out:ty, $doc:literal;)*) => {
        /// Every collector, one per report of the library's list, in its
        /// order.
        pub static COLLECTORS: &[Collector] = &[$(
            Collector {
                name: <$model as chrony::FromRecord>::DESCRIPTOR.name,
                unix_only: $field::UNIX_ONLY,
                metrics: $field::METRICS,
                collect: |snap, ctx, out| $field::collect(&snap.$field, ctx, out),
            },
        )*];
    };
}
chrony::each_report!(registry);

/// The collector of the report `name`.
#[cfg(test)]
pub fn by_name(name: &str) -> Option<&'static Collector> {
    COLLECTORS.iter().find(|c| c.name == name)
}

/// What became of a collector's report in one scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Read; its metrics are in the output.
    Read,
    /// Read, and chronyd says the feature is off (no RTC, no smoothing):
    /// no metrics, success 1.
    NotAvailable,
    /// No data: the reason label (`unauthorized`, `timeout`, ...) and the
    /// library's message, which names the report.
    Absent { reason: String, message: String },
}

impl Status {
    pub fn success(&self) -> bool {
        !matches!(self, Status::Absent { .. })
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Read => None,
            Status::NotAvailable => Some("not_available"),
            Status::Absent { reason, .. } => Some(reason),
        }
    }

    fn absent<T>(part: &Part<T>) -> Status {
        match part.absence() {
            Some(a) => Status::Absent {
                reason: a.absent.clone(),
                message: a.message.clone(),
            },
            // Part may grow: an arm that is neither is data we did not read.
            None => Status::Absent {
                reason: "unknown".into(),
                message: "the library gave neither a report nor a reason".into(),
            },
        }
    }
}

/// A report that is one value: `update` writes it when present.
fn single<T>(part: &Part<T>, update: impl FnOnce(&T)) -> Status {
    match part.present() {
        Some(v) => {
            update(v);
            Status::Read
        }
        None => Status::absent(part),
    }
}

/// A report chronyd answers "not available" for when the feature is off
/// (rtcdata, smoothing): that is success with no metrics.
fn optional<T>(part: &Part<Option<T>>, update: impl FnOnce(&T)) -> Status {
    match part.present() {
        Some(Some(v)) => {
            update(v);
            Status::Read
        }
        Some(None) => Status::NotAvailable,
        None => Status::absent(part),
    }
}

declare! {
    HEALTH;
    UP: Gauge "chrony_up" [] unit "" report "exporter" since "" compat true
        "1 when chronyd answered this scrape (one report is enough), 0 when it did not (not running, frozen, silent, refused the connection, or no report finished within the scrape deadline).";
    COLLECTOR_SUCCESS: Gauge "chrony_scrape_collector_success" ["collector"] unit "" report "exporter" since "" compat false
        "1 when the collector's report was read (including chronyd saying the feature is off, as for rtcdata without an RTC), 0 when it was not.";
    COLLECTOR_DURATION: Gauge "chrony_scrape_collector_duration_seconds" ["collector"] unit "seconds" report "exporter" since "" compat false
        "Seconds the collector took in this scrape: the read of chronyd the scrape used (every report at once, shared by the scrapes that arrived while it ran) plus building the collector's metrics.";
    COLLECTOR_UNAVAILABLE: Gauge "chrony_scrape_collector_unavailable" ["collector", "reason"] unit "" report "exporter" since "" compat false
        "1 (one series) when the collector's report gave no data, with the reason: unauthorized (not served over UDP), disabled, not_available (no RTC, smoothing off; success stays 1), old_server, new_server, unexpected_status, bad_data, timeout (not finished within the scrape deadline), error, or no_answer (chronyd did not answer at all).";
    COLLECTOR_SKIPPED: Gauge "chrony_scrape_collector_records_skipped" ["collector", "reason"] unit "" report "exporter" since "" compat false
        "Records of the report left out of the per-source metrics in this scrape, by reason: unresolved (ID# sources), unspecified (no address) or duplicate (a label set already written).";
    BUILD_INFO: Gauge "chrony_exporter_build_info" ["version", "revision", "branch", "libchrony_version"] unit "" report "exporter" since "" compat false
        "Always 1: the exporter's version, the source revision and branch it was built from (unknown outside a git checkout), and the libchrony version it was built against.";
}

/// What one scrape built, with per-collector results for the health
/// metrics.
pub struct Built {
    pub out: Out,
    pub statuses: Vec<(&'static Collector, Status, Duration)>,
}

/// Builds the metrics of the enabled collectors from a snapshot (no health
/// metrics: see [`health`]).
pub fn build(snap: &Snapshot, enabled: &[&'static Collector], names: &Names) -> Built {
    let mut out = Out::default();
    let mut labels = labels::SourceLabels::default();
    let mut statuses = Vec::with_capacity(enabled.len());
    for &c in enabled {
        let start = Instant::now();
        let mut ctx = Ctx::new(names, &mut labels);
        let status = (c.collect)(snap, &mut ctx, &mut out);
        out.expect(0);
        for (reason, n) in ctx.skipped() {
            out.add(&COLLECTOR_SKIPPED, &[c.name, reason], n as f64);
        }
        statuses.push((c, status, start.elapsed()));
    }
    Built { out, statuses }
}

/// The statuses of a scrape where chronyd did not answer at all.
pub fn no_answer(
    enabled: &[&'static Collector],
    why: &str,
) -> Vec<(&'static Collector, Status, Duration)> {
    enabled
        .iter()
        .map(|&c| {
            let status = Status::Absent {
                reason: "no_answer".into(),
                message: why.to_string(),
            };
            (c, status, Duration::ZERO)
        })
        .collect()
}

/// The build of the running binary, for `chrony_exporter_build_info`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
    pub branch: &'static str,
    pub libchrony_version: &'static str,
}

impl BuildInfo {
    /// This binary's.
    pub const CURRENT: BuildInfo = BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        revision: env!("CHRONY_EXPORTER_REVISION"),
        branch: env!("CHRONY_EXPORTER_BRANCH"),
        libchrony_version: crate::LIBCHRONY_VERSION,
    };
}

/// The health metrics of a scrape: `chrony_up`, per collector success,
/// duration and unavailability, and the build info (when `build` is
/// given: `/metrics`, not `/probe`).
pub fn health(
    out: &mut Out,
    up: bool,
    read_time: Duration,
    statuses: &[(&'static Collector, Status, Duration)],
    build: Option<&BuildInfo>,
) {
    out.add(&UP, &[], b(up));
    for (c, st, build_time) in statuses {
        out.add(&COLLECTOR_SUCCESS, &[c.name], b(st.success()));
        out.add(
            &COLLECTOR_DURATION,
            &[c.name],
            (read_time + *build_time).as_secs_f64(),
        );
        if let Some(reason) = st.reason() {
            out.add(&COLLECTOR_UNAVAILABLE, &[c.name, reason], 1.0);
        }
    }
    if let Some(b) = build {
        out.add(
            &BUILD_INFO,
            &[b.version, b.revision, b.branch, b.libchrony_version],
            1.0,
        );
    }
}

/// A boolean as a sample value.
fn b(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}
