//! From a [`Snapshot`] to metrics: a pure function, testable with the
//! testkit's fake records and no chronyd.
//!
//! # Label rule for sources (every per-source report)
//!
//! - An NTP source is `source_address` = its IP address as chronyc prints
//!   it; `source_name` = its reverse DNS name with `--collector.dns-lookups`
//!   (when one was found within the scrape deadline), else the address.
//! - A reference clock is named by its reference ID's text (`GPS0`, `PPS`)
//!   in both labels (the hex form when the ID is not printable).
//! - A source chronyd has not resolved yet (`ID#0000000001`) and a record
//!   without an address (unspecified `0.0.0.0`/`::`, or authdata without
//!   its address) get no per-source series: they are counted in
//!   `chrony_scrape_collector_records_skipped{reason="unresolved"|"unspecified"}`
//!   (and the activity report counts unresolved sources).
//! - When two records of one report would get the same label set (the same
//!   address twice, as pool fallback can give), the first in chronyd's order
//!   is written and the others are counted in
//!   `chrony_scrape_collector_records_skipped{reason="duplicate"}`; the scrape
//!   never fails for it. As a last guard, the output drops any second
//!   sample with an identical label set ([`Out::add`]).

use crate::metrics::*;
use chrony::snapshot::Part;
use chrony::{LeapStatus, Snapshot, SourceId, SourceMode, SourceState};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The ten collectors, one per report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collector {
    Tracking,
    Sources,
    SourceStats,
    Activity,
    RtcData,
    Smoothing,
    ServerStats,
    SelectData,
    NtpData,
    AuthData,
}

impl Collector {
    pub const ALL: [Collector; 10] = [
        Collector::Tracking,
        Collector::Sources,
        Collector::SourceStats,
        Collector::Activity,
        Collector::RtcData,
        Collector::Smoothing,
        Collector::ServerStats,
        Collector::SelectData,
        Collector::NtpData,
        Collector::AuthData,
    ];

    /// The flag name (`--collector.NAME`), which is the report's name.
    pub fn name(self) -> &'static str {
        match self {
            Collector::Tracking => "tracking",
            Collector::Sources => "sources",
            Collector::SourceStats => "sourcestats",
            Collector::Activity => "activity",
            Collector::RtcData => "rtcdata",
            Collector::Smoothing => "smoothing",
            Collector::ServerStats => "serverstats",
            Collector::SelectData => "selectdata",
            Collector::NtpData => "ntpdata",
            Collector::AuthData => "authdata",
        }
    }

    /// chronyd serves the report on its Unix socket only: on by default
    /// only when the address is a socket.
    pub fn unix_only(self) -> bool {
        matches!(
            self,
            Collector::ServerStats
                | Collector::SelectData
                | Collector::NtpData
                | Collector::AuthData
        )
    }
}

/// What became of a collector's report in one scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Read; its metrics are in the output.
    Read,
    /// Read, and chronyd says the feature is off (no RTC, no smoothing):
    /// no metrics, success 1.
    NotAvailable,
    /// No data, with the reason label (`unauthorized`, `disabled`, ...).
    Absent(String),
}

impl Status {
    pub fn success(&self) -> bool {
        !matches!(self, Status::Absent(_))
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Read => None,
            Status::NotAvailable => Some("not_available"),
            Status::Absent(r) => Some(r),
        }
    }
}

fn part_status<T>(p: &Part<T>) -> Status {
    match p {
        Part::Present(_) => Status::Read,
        Part::Absent(a) => Status::Absent(a.absent.clone()),
        // Part may grow: an unknown arm is data we did not read.
        #[allow(unreachable_patterns)]
        _ => Status::Absent("unknown".into()),
    }
}

fn opt_status<T>(p: &Part<Option<T>>) -> Status {
    match p {
        Part::Present(None) => Status::NotAvailable,
        other => part_status(other),
    }
}

/// The status of one collector's report in a snapshot.
pub fn status(snap: &Snapshot, c: Collector) -> Status {
    match c {
        Collector::Tracking => part_status(&snap.tracking),
        Collector::Sources => part_status(&snap.sources),
        Collector::SourceStats => part_status(&snap.source_stats),
        Collector::Activity => part_status(&snap.activity),
        Collector::RtcData => opt_status(&snap.rtc_data),
        Collector::Smoothing => opt_status(&snap.smoothing),
        Collector::ServerStats => part_status(&snap.server_stats),
        Collector::SelectData => part_status(&snap.select_data),
        Collector::NtpData => part_status(&snap.ntp_data),
        Collector::AuthData => part_status(&snap.auth_data),
    }
}

/// Reverse DNS names found for addresses (empty without
/// `--collector.dns-lookups`).
pub type Names = HashMap<IpAddr, String>;

/// The label names of the per-source metrics.
const SOURCE: &[&str] = &["source_address", "source_name"];

/// The text of each address, formatted once per scrape (the per-source
/// reports name the same sources, and formatting an address costs more
/// than copying its text).
type AddrText = rustc_hash::FxHashMap<IpAddr, String>;

fn addr_text(addrs: &mut AddrText, ip: IpAddr) -> String {
    addrs.entry(ip).or_insert_with(|| ip.to_string()).clone()
}

/// What the collectors of one scrape share.
#[derive(Debug, Default)]
struct Scrape {
    addrs: AddrText,
    sources: SourceLabels,
}

/// The per-source label pair for a source, or why it has none.
fn label_pair(
    id: SourceId,
    names: &Names,
    addrs: &mut AddrText,
) -> Result<(String, String), &'static str> {
    match id {
        SourceId::Ip(ip) if ip.is_unspecified() => Err("unspecified"),
        SourceId::Ip(ip) => {
            let address = addr_text(addrs, ip);
            let name = names.get(&ip).cloned().unwrap_or_else(|| address.clone());
            Ok((address, name))
        }
        SourceId::Unresolved(_) => Err("unresolved"),
        SourceId::RefClock(r) => {
            let label = r.label();
            Ok((label.clone(), label))
        }
        // SourceId may grow.
        #[allow(unreachable_patterns)]
        _ => Err("unspecified"),
    }
}

/// One source's labels: its address and name, and the two rendered once
/// for the per-source metrics.
#[derive(Debug)]
struct SourceLabel {
    address: String,
    name: String,
    labels: Labels,
}

/// The labels of each source, made once per scrape: the five per-source
/// reports name the same sources, so each source is looked up, formatted
/// and rendered once, not once per report. Each source has one index,
/// which is how a report's duplicates (the same source twice) are found.
/// Two different sources share a label pair only in a corner no chronyd
/// setup reaches (an address's text is its own, and a refid's text is a
/// name or eight hex digits, never an address): should they, [`Out`]'s own
/// check on the rendered labels still drops the second series.
#[derive(Debug, Default)]
struct SourceLabels {
    ids: rustc_hash::FxHashMap<SourceId, Result<u32, &'static str>>,
    all: Vec<SourceLabel>,
}

impl SourceLabels {
    /// The index of the source's labels, or why it has none.
    fn of(
        &mut self,
        id: SourceId,
        names: &Names,
        addrs: &mut AddrText,
    ) -> Result<u32, &'static str> {
        if let Some(&known) = self.ids.get(&id) {
            return known;
        }
        let index = label_pair(id, names, addrs).map(|(address, name)| {
            let labels = Labels::new(SOURCE, &[&address, &name]);
            // Far fewer than 2^32 sources in one scrape.
            let i = self.all.len() as u32;
            self.all.push(SourceLabel {
                address,
                name,
                labels,
            });
            i
        });
        self.ids.insert(id, index);
        index
    }

    fn get(&self, i: u32) -> &SourceLabel {
        &self.all[i as usize]
    }
}

/// Every distinct IP address of NTP sources in the snapshot (for reverse
/// lookups before building).
pub fn addresses(snap: &Snapshot) -> Vec<IpAddr> {
    let mut set = HashSet::new();
    if let Some(t) = snap.tracking.present() {
        if let Some(ip) = t.address.and_then(|a| a.ip()) {
            set.insert(ip);
        }
    }
    for s in snap.sources.present().into_iter().flatten() {
        set.extend(s.address.ip());
    }
    for s in snap.source_stats.present().into_iter().flatten() {
        set.extend(s.address.ip());
    }
    let mut v: Vec<IpAddr> = set.into_iter().filter(|ip| !ip.is_unspecified()).collect();
    v.sort();
    v
}

/// Records skipped per reason, for one collector.
#[derive(Default)]
struct Skips {
    counts: Vec<(&'static str, usize)>,
}

impl Skips {
    fn add(&mut self, reason: &'static str) {
        match self.counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((reason, 1)),
        }
    }
}

/// Labels of each record of a per-source report, applying the label rule:
/// `None` for a record that gets no series.
fn per_source<T>(
    records: &[T],
    id: impl Fn(&T) -> Option<SourceId>,
    names: &Names,
    scrape: &mut Scrape,
    skips: &mut Skips,
) -> Vec<Option<u32>> {
    let mut seen = rustc_hash::FxHashSet::default();
    records
        .iter()
        .map(|r| {
            let labels = match id(r) {
                Some(id) => scrape.sources.of(id, names, &mut scrape.addrs),
                None => Err("unspecified"),
            };
            match labels {
                Ok(i) if seen.insert(i) => Some(i),
                Ok(_) => {
                    skips.add("duplicate");
                    None
                }
                Err(reason) => {
                    skips.add(reason);
                    None
                }
            }
        })
        .collect()
}

fn b(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}

fn secs(t: chrony::Timestamp) -> f64 {
    t.as_secs_f64()
}

fn leap_name(l: LeapStatus) -> String {
    l.name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("unknown_{}", l.raw()))
}

/// chrony_exporter's names of the selection states.
fn compat_state(s: SourceState) -> &'static str {
    match s {
        SourceState::Selected => "sync",
        SourceState::Nonselectable => "unreach",
        SourceState::Falseticker => "falseticket",
        SourceState::Jittery => "jittery",
        SourceState::Unselected => "candidate",
        SourceState::Selectable => "outlier",
        _ => "unknown",
    }
}

/// chrony_exporter's names of the source modes.
fn compat_mode(m: SourceMode) -> &'static str {
    match m {
        SourceMode::Client => "client",
        SourceMode::Peer => "peer",
        SourceMode::ReferenceClock => "ref",
        _ => "unknown",
    }
}

/// What one scrape built, with per-collector results for the health
/// metrics.
pub struct Built {
    pub out: Out,
    pub statuses: Vec<(Collector, Status, Duration)>,
}

/// Builds the metrics of the enabled collectors from a snapshot (no health
/// metrics: see [`health`]).
pub fn build(snap: &Snapshot, enabled: &[Collector], names: &Names) -> Built {
    let mut out = Out::default();
    let mut scrape = Scrape::default();
    let mut statuses = Vec::new();
    for &c in enabled {
        let start = Instant::now();
        let mut skips = Skips::default();
        let st = status(snap, c);
        if st == Status::Read {
            collector(snap, c, names, &mut scrape, &mut out, &mut skips);
            out.expect(0);
        }
        for (reason, n) in &skips.counts {
            out.add(&COLLECTOR_SKIPPED, &[c.name(), reason], *n as f64);
        }
        statuses.push((c, st, start.elapsed()));
    }
    Built { out, statuses }
}

fn collector(
    snap: &Snapshot,
    c: Collector,
    names: &Names,
    scrape: &mut Scrape,
    out: &mut Out,
    skips: &mut Skips,
) {
    match c {
        Collector::Tracking => {
            let Some(t) = snap.tracking.present() else {
                return;
            };
            let ip = t
                .address
                .and_then(|a| a.ip())
                .filter(|ip| !ip.is_unspecified());
            let address = ip.map(|ip| ip.to_string()).unwrap_or_default();
            let name = match ip {
                Some(ip) => names.get(&ip).cloned().unwrap_or_else(|| address.clone()),
                None => t.reference_id.label(),
            };
            let refid = t.reference_id.to_string();
            out.add(&TRACKING_INFO, &[&address, &name, &refid], 1.0);
            out.add(&TRACKING_LAST_OFFSET, &[], t.last_offset);
            out.add(&TRACKING_REF_TIME, &[], secs(t.reference_time));
            out.add(&TRACKING_SYSTEM_TIME, &[], t.current_correction);
            let local = t.reference_id == chrony::reports::tracking::LOCAL_REFERENCE_ID
                || ip == Some(IpAddr::from([127, 127, 1, 1]));
            out.add(&TRACKING_REMOTE, &[], b(!local));
            out.add(&TRACKING_RMS_OFFSET, &[], t.rms_offset);
            out.add(&TRACKING_ROOT_DELAY, &[], t.root_delay);
            out.add(&TRACKING_ROOT_DISPERSION, &[], t.root_dispersion);
            out.add(&TRACKING_FREQUENCY, &[], t.frequency_ppm);
            out.add(&TRACKING_RESIDUAL_FREQUENCY, &[], t.residual_frequency_ppm);
            out.add(&TRACKING_SKEW, &[], t.skew_ppm);
            out.add(
                &TRACKING_UPDATE_INTERVAL,
                &[],
                t.last_update_interval.as_secs_f64(),
            );
            out.add(&TRACKING_STRATUM, &[], f64::from(t.stratum));
            let current = leap_name(t.leap_status);
            let mut states: Vec<String> = LeapStatus::ALL.iter().map(|l| leap_name(*l)).collect();
            if !states.contains(&current) {
                states.push(current.clone());
            }
            for s in &states {
                out.add(&TRACKING_LEAP_STATUS, &[s], b(*s == current));
            }
            out.add(&TRACKING_SYNCHRONIZED, &[], b(t.is_synchronized()));
        }
        Collector::Sources => {
            let Some(v) = snap.sources.present() else {
                return;
            };
            let labels = per_source(v, |s| Some(s.address), names, scrape, skips);
            out.expect(v.len());
            for (s, l) in v.iter().zip(labels) {
                let Some(i) = l else { continue };
                let src = scrape.sources.get(i);
                let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
                if let Some(ago) = s.last_sample_ago {
                    out.add_labels(&SOURCES_LAST_RX, l, ago.as_secs_f64());
                }
                out.add_labels(
                    &SOURCES_REACH_RATIO,
                    l,
                    f64::from(s.reachability.count_ones()) / 8.0,
                );
                out.add_labels(&SOURCES_REACH_SUCCESS, l, f64::from(s.reachability & 1));
                out.add_labels(&SOURCES_LAST_SAMPLE, l, s.adjusted_offset);
                out.add_labels(&SOURCES_LAST_SAMPLE_ERR, l, s.error);
                out.add_labels(&SOURCES_POLL_INTERVAL, l, 2f64.powi(i32::from(s.poll)));
                out.add(
                    &SOURCES_STATE_INFO,
                    &[a, n, compat_state(s.state), compat_mode(s.mode)],
                    1.0,
                );
                out.add_labels(&SOURCES_STRATUM, l, f64::from(s.stratum));
                out.add_labels(&SOURCES_REACHABILITY, l, f64::from(s.reachability));
                out.add_labels(&SOURCES_ORIGINAL_OFFSET, l, s.original_offset);
            }
        }
        Collector::SourceStats => {
            let Some(v) = snap.source_stats.present() else {
                return;
            };
            let labels = per_source(v, |s| Some(s.address), names, scrape, skips);
            out.expect(v.len());
            for (s, l) in v.iter().zip(labels) {
                let Some(i) = l else { continue };
                let l = &scrape.sources.get(i).labels;
                out.add_labels(&SOURCESTATS_SAMPLES, l, f64::from(s.samples));
                out.add_labels(&SOURCESTATS_RUNS, l, f64::from(s.runs));
                out.add_labels(&SOURCESTATS_SPAN, l, s.span.as_secs_f64());
                out.add_labels(&SOURCESTATS_STDDEV, l, s.standard_deviation);
                out.add_labels(&SOURCESTATS_FREQUENCY, l, s.residual_frequency_ppm);
                out.add_labels(&SOURCESTATS_SKEW, l, s.skew_ppm);
                out.add_labels(&SOURCESTATS_OFFSET, l, s.offset);
                out.add_labels(&SOURCESTATS_OFFSET_ERROR, l, s.offset_error);
            }
        }
        Collector::Activity => {
            let Some(a) = snap.activity.present() else {
                return;
            };
            for (state, n) in [
                ("online", a.online_sources),
                ("offline", a.offline_sources),
                ("burst_online", a.burst_online_return_sources),
                ("burst_offline", a.burst_offline_return_sources),
                ("unresolved", a.unresolved_sources),
            ] {
                out.add(&ACTIVITY_SOURCES, &[state], f64::from(n));
            }
        }
        Collector::RtcData => {
            let Some(Some(r)) = snap.rtc_data.present() else {
                return;
            };
            out.add(&RTC_REF_TIME, &[], secs(r.reference_time));
            out.add(&RTC_SAMPLES, &[], f64::from(r.samples));
            out.add(&RTC_RUNS, &[], f64::from(r.runs));
            out.add(&RTC_SPAN, &[], r.span.as_secs_f64());
            out.add(&RTC_OFFSET, &[], r.offset);
            out.add(&RTC_FREQUENCY, &[], r.frequency_ppm / 1e6);
        }
        Collector::Smoothing => {
            let Some(Some(s)) = snap.smoothing.present() else {
                return;
            };
            out.add(&SMOOTHING_ACTIVE, &[], b(s.flags.active));
            out.add(&SMOOTHING_LEAP_ONLY, &[], b(s.flags.leap_only));
            out.add(&SMOOTHING_OFFSET, &[], s.offset);
            out.add(&SMOOTHING_FREQUENCY, &[], s.frequency_ppm / 1e6);
            out.add(&SMOOTHING_WANDER, &[], s.wander_ppm_per_second / 1e6);
            out.add(&SMOOTHING_LAST_UPDATE, &[], s.last_update_ago.as_secs_f64());
            out.add(&SMOOTHING_REMAINING, &[], s.remaining_time.as_secs_f64());
        }
        Collector::ServerStats => {
            let Some(s) = snap.server_stats.present() else {
                return;
            };
            // Only what this chronyd sends: a missing field is no series,
            // never a zero.
            for (def, v) in [
                (&SERVERSTATS_NTP_HITS, s.received_ntp_requests),
                (&SERVERSTATS_NKE_HITS, s.accepted_nts_ke_connections),
                (&SERVERSTATS_CMD_HITS, s.received_command_requests),
                (&SERVERSTATS_NTP_DROPS, s.dropped_ntp_requests),
                (&SERVERSTATS_NKE_DROPS, s.dropped_nts_ke_connections),
                (&SERVERSTATS_CMD_DROPS, s.dropped_command_requests),
                (&SERVERSTATS_LOG_DROPS, s.dropped_client_log_records),
                (
                    &SERVERSTATS_AUTH_HITS,
                    s.received_authenticated_ntp_requests,
                ),
                (
                    &SERVERSTATS_INTERLEAVED_HITS,
                    s.received_interleaved_ntp_requests,
                ),
                (&SERVERSTATS_TIMESTAMPS_HELD, s.held_ntp_timestamps),
                (
                    &SERVERSTATS_TIMESTAMP_SPAN,
                    s.ntp_timestamp_span.map(|d| d.as_secs()),
                ),
                (&SERVERSTATS_DAEMON_RX, s.served_daemon_rx_timestamps),
                (&SERVERSTATS_DAEMON_TX, s.served_daemon_tx_timestamps),
                (&SERVERSTATS_KERNEL_RX, s.served_kernel_rx_timestamps),
                (&SERVERSTATS_KERNEL_TX, s.served_kernel_tx_timestamps),
                (&SERVERSTATS_HW_RX, s.served_hardware_rx_timestamps),
                (&SERVERSTATS_HW_TX, s.served_hardware_tx_timestamps),
            ] {
                if let Some(v) = v {
                    out.add(def, &[], v as f64);
                }
            }
        }
        Collector::SelectData => {
            let Some(v) = snap.select_data.present() else {
                return;
            };
            let labels = per_source(v, |s| Some(s.address), names, scrape, skips);
            out.expect(v.len());
            for (s, l) in v.iter().zip(labels) {
                let Some(i) = l else { continue };
                let src = scrape.sources.get(i);
                let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
                let state = s
                    .state
                    .name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("unknown_{}", s.state.raw()));
                out.add(&SELECT_STATE_INFO, &[a, n, &state], 1.0);
                out.add(&SELECT_LEAP_INFO, &[a, n, &leap_name(s.leap_status)], 1.0);
                out.add(
                    &SELECT_OPTIONS_INFO,
                    &[
                        a,
                        n,
                        &s.configured_options.chronyc_string(),
                        &s.effective_options.chronyc_string(),
                    ],
                    1.0,
                );
                out.add_labels(&SELECT_AUTHENTICATED, l, b(s.authentication));
                if let Some(ago) = s.last_sample_ago {
                    out.add_labels(&SELECT_LAST_SAMPLE, l, ago.as_secs_f64());
                }
                out.add_labels(&SELECT_SCORE, l, s.score);
                out.add_labels(&SELECT_LOW, l, s.low_limit);
                out.add_labels(&SELECT_HIGH, l, s.high_limit);
            }
        }
        Collector::NtpData => {
            let Some(v) = snap.ntp_data.present() else {
                return;
            };
            let labels = per_source(v, |s| Some(s.address), names, scrape, skips);
            out.expect(v.len());
            for (s, l) in v.iter().zip(labels) {
                let Some(i) = l else { continue };
                let src = scrape.sources.get(i);
                let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
                let local = s
                    .local_address
                    .map(|ip| addr_text(&mut scrape.addrs, ip))
                    .unwrap_or_default();
                let mode = s
                    .mode
                    .name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("unknown_{}", s.mode.raw()));
                out.add(
                    &NTP_INFO,
                    &[
                        a,
                        n,
                        &local,
                        &s.remote_port.to_string(),
                        &s.version.to_string(),
                        &mode,
                        &leap_name(s.leap_status),
                    ],
                    1.0,
                );
                out.add_labels(&NTP_STRATUM, l, f64::from(s.stratum));
                out.add_labels(&NTP_POLL, l, 2f64.powi(i32::from(s.poll)));
                out.add_labels(&NTP_PRECISION, l, 2f64.powi(i32::from(s.precision)));
                out.add_labels(&NTP_ROOT_DELAY, l, s.root_delay);
                out.add_labels(&NTP_ROOT_DISPERSION, l, s.root_dispersion);
                out.add_labels(&NTP_REF_TIME, l, secs(s.reference_time));
                out.add_labels(&NTP_OFFSET, l, s.offset);
                out.add_labels(&NTP_PEER_DELAY, l, s.peer_delay);
                out.add_labels(&NTP_PEER_DISPERSION, l, s.peer_dispersion);
                out.add_labels(&NTP_RESPONSE_TIME, l, s.response_time);
                out.add_labels(&NTP_JITTER_ASYMMETRY, l, s.jitter_asymmetry);
                out.add_labels(&NTP_TESTS_PASSED, l, b(s.flags.all_tests_passed()));
                out.add_labels(&NTP_INTERLEAVED, l, b(s.flags.interleaved));
                out.add_labels(&NTP_AUTHENTICATED, l, b(s.flags.authenticated));
                out.add_labels(&NTP_TX, l, s.transmitted_messages as f64);
                out.add_labels(&NTP_RX, l, s.received_messages as f64);
                out.add_labels(&NTP_RX_VALID, l, s.received_valid_messages as f64);
                for (def, v) in [
                    (&NTP_RX_GOOD, s.received_good_messages),
                    (&NTP_KERNEL_TX, s.kernel_transmit_timestamps),
                    (&NTP_KERNEL_RX, s.kernel_receive_timestamps),
                    (&NTP_HW_TX, s.hardware_transmit_timestamps),
                    (&NTP_HW_RX, s.hardware_receive_timestamps),
                ] {
                    if let Some(v) = v {
                        out.add_labels(def, l, v as f64);
                    }
                }
            }
        }
        Collector::AuthData => {
            let Some(v) = snap.auth_data.present() else {
                return;
            };
            let labels = per_source(v, |s| s.address, names, scrape, skips);
            out.expect(v.len());
            for (s, l) in v.iter().zip(labels) {
                let Some(i) = l else { continue };
                let src = scrape.sources.get(i);
                let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
                let mode = s
                    .mode
                    .name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("unknown_{}", s.mode.raw()));
                let key = s
                    .key_type
                    .name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("unknown_{}", s.key_type.raw()));
                out.add(&AUTH_INFO, &[a, n, &mode, &key], 1.0);
                out.add_labels(&AUTH_KEY_ID, l, f64::from(s.key_id));
                out.add_labels(&AUTH_KEY_LENGTH, l, f64::from(s.key_length_bits) / 8.0);
                out.add_labels(
                    &AUTH_KE_ATTEMPTS,
                    l,
                    f64::from(s.key_establishment_attempts),
                );
                if let Some(ago) = s.last_key_establishment_ago {
                    out.add_labels(&AUTH_LAST_KE, l, ago.as_secs_f64());
                }
                out.add_labels(&AUTH_COOKIES, l, f64::from(s.cookies));
                out.add_labels(&AUTH_COOKIE_LENGTH, l, f64::from(s.cookie_length_bytes));
                out.add_labels(&AUTH_NAK, l, b(s.nak));
            }
        }
    }
}

/// The health metrics of a scrape: `chrony_up`, per collector success,
/// duration and unavailability, and the build info (when
/// `libchrony_version` is given: `/metrics`, not `/probe`).
pub fn health(
    out: &mut Out,
    up: bool,
    read_time: Duration,
    statuses: &[(Collector, Status, Duration)],
    libchrony_version: Option<&str>,
) {
    out.add(&UP, &[], b(up));
    for (c, st, build_time) in statuses {
        out.add(&COLLECTOR_SUCCESS, &[c.name()], b(st.success()));
        out.add(
            &COLLECTOR_DURATION,
            &[c.name()],
            (read_time + *build_time).as_secs_f64(),
        );
        if let Some(reason) = st.reason() {
            out.add(&COLLECTOR_UNAVAILABLE, &[c.name(), reason], 1.0);
        }
    }
    if let Some(libchrony_version) = libchrony_version {
        out.add(
            &BUILD_INFO,
            &[env!("CARGO_PKG_VERSION"), libchrony_version],
            1.0,
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::{encode, Format, ALL};
    use chrony::{
        Activity, AuthData, NtpData, SelectData, ServerStats, Source, SourceStats, Tracking,
    };
    use chrony_testkit::fake::{FakeRecord, FakeValue};
    use chrony_testkit::scenarios as sc;
    use serde_json::{json, Value};

    fn many<T: chrony::FromRecord + serde::Serialize>(records: &[FakeRecord]) -> Value {
        serde_json::to_value(sc::build::<T>(records).expect("valid records")).unwrap()
    }

    fn one<T: chrony::FromRecord + serde::Serialize>(record: FakeRecord) -> Value {
        many::<T>(&[record])[0].clone()
    }

    /// authdata records carry the address of their sourcestats record.
    fn paired(mut v: Value) -> Value {
        v[0]["address"] = json!("192.0.2.1");
        v
    }

    fn absent(reason: &str) -> Value {
        json!({"absent": reason, "message": format!("{reason} (test)")})
    }

    /// A snapshot of a Unix-socket chronyd with every report present,
    /// `patch` replacing reports by key.
    pub(crate) fn snapshot(patch: Value) -> Snapshot {
        let mut v = json!({
            "address": "/run/chrony/chronyd.sock",
            "transport": "unix",
            "tracking": one::<Tracking>(sc::tracking_synchronized()),
            "sources": many::<Source>(&[sc::source_selected(), sc::source_refclock(), sc::source_jittery()]),
            "source_stats": many::<SourceStats>(&[sc::sourcestats_ntp(), sc::sourcestats_refclock()]),
            "select_data": many::<SelectData>(&[sc::selectdata_refclock_best(), sc::selectdata_distant()]),
            "ntp_data": many::<NtpData>(&[sc::ntpdata_chronyd_4_6(), sc::ntpdata_refclock()]),
            "auth_data": paired(many::<AuthData>(&[sc::authdata_nts(), sc::authdata_refclock()])),
            "activity": one::<Activity>(sc::activity_mixed()),
            "server_stats": one::<ServerStats>(sc::serverstats_chronyd_4_6()),
            "smoothing": one::<chrony::Smoothing>(sc::smoothing_active()),
            "rtc_data": one::<chrony::RtcData>(sc::rtcdata_present()),
        });
        for (k, val) in patch.as_object().expect("an object") {
            v[k] = val.clone();
        }
        serde_json::from_value(v).expect("a valid snapshot")
    }

    fn names() -> Names {
        Names::new()
    }

    fn value(out: &Out, def: &crate::metrics::Def, labels: &[&str]) -> Option<f64> {
        out.get(def)
            .into_iter()
            .find(|s| {
                s.values()
                    .iter()
                    .map(String::as_str)
                    .eq(labels.iter().copied())
            })
            .map(|s| s.value)
    }

    /// No metric has two samples with one label set (checked on the
    /// samples themselves, not through Out's guard).
    fn assert_unique(out: &Out) {
        for f in out.families() {
            let mut seen = HashSet::new();
            for s in f.samples() {
                assert!(
                    seen.insert(s.labels.clone()),
                    "{}: {:?} twice",
                    f.def.name,
                    s.labels
                );
            }
        }
    }

    #[test]
    fn every_collector_builds_from_a_full_snapshot() {
        let snap = snapshot(json!({}));
        let built = build(&snap, &Collector::ALL, &names());
        for (c, st, _) in &built.statuses {
            assert_eq!(*st, Status::Read, "{}", c.name());
        }
        // Each collector wrote metrics of its own report.
        for c in Collector::ALL {
            let n = built
                .out
                .families()
                .iter()
                .filter(|f| f.def.report == c.name() && !f.is_empty())
                .count();
            assert!(n > 0, "{} wrote nothing", c.name());
        }
        let out = &built.out;
        let tracking = snap.tracking.present().unwrap();
        assert_eq!(
            value(out, &TRACKING_STRATUM, &[]),
            Some(f64::from(tracking.stratum))
        );
        assert_eq!(
            value(out, &TRACKING_LAST_OFFSET, &[]),
            Some(tracking.last_offset)
        );
        assert_eq!(value(out, &TRACKING_SYNCHRONIZED, &[]), Some(1.0));
        assert_eq!(value(out, &TRACKING_REMOTE, &[]), Some(1.0));
        let leap = out.get(&TRACKING_LEAP_STATUS);
        assert_eq!(leap.len(), 4);
        assert_eq!(leap.iter().filter(|s| s.value == 1.0).count(), 1);
        assert_eq!(value(out, &TRACKING_LEAP_STATUS, &["normal"]), Some(1.0));
        assert_eq!(
            value(out, &TRACKING_INFO, &["192.0.2.1", "192.0.2.1", "C0000201"]),
            Some(1.0)
        );
        // Sources: by address, the reference clock by its refid name.
        assert_eq!(
            value(out, &SOURCES_POLL_INTERVAL, &["192.0.2.1", "192.0.2.1"]),
            Some(64.0)
        );
        assert_eq!(
            value(out, &SOURCES_POLL_INTERVAL, &["GPS0", "GPS0"]),
            Some(16.0)
        );
        assert_eq!(
            value(out, &SOURCES_REACH_RATIO, &["192.0.2.1", "192.0.2.1"]),
            Some(1.0)
        );
        assert_eq!(
            value(
                out,
                &SOURCES_STATE_INFO,
                &["192.0.2.1", "192.0.2.1", "sync", "client"]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                out,
                &SOURCES_STATE_INFO,
                &["GPS0", "GPS0", "outlier", "ref"]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                out,
                &SOURCES_STATE_INFO,
                &["2001:db8::123", "2001:db8::123", "jittery", "client"]
            ),
            Some(1.0)
        );
        // serverstats of 4.6: all 17 counters and gauges.
        let serverstats = out
            .families()
            .iter()
            .filter(|f| f.def.report == "serverstats")
            .count();
        assert_eq!(serverstats, 17);
        assert!(value(out, &ACTIVITY_SOURCES, &["unresolved"]).is_some());
        assert_unique(out);
    }

    #[test]
    fn unresolved_unspecified_and_duplicate_sources_get_no_series() {
        let unspecified = sc::source_selected().with_value("address", FakeValue::text("0.0.0.0"));
        let snap = snapshot(json!({
            "sources": many::<Source>(&[
                sc::source_selected(),
                sc::source_unresolved(),
                unspecified,
                // Pool fallback: the same server twice, with other values.
                sc::source_selected().with_value("stratum", FakeValue::Uinteger(9)),
                sc::source_refclock(),
                sc::source_refclock(),
            ]),
        }));
        let built = build(&snap, &[Collector::Sources], &names());
        let out = &built.out;
        assert_unique(out);
        let addresses: HashSet<String> = out
            .get(&SOURCES_STRATUM)
            .into_iter()
            .map(|s| s.values()[0].clone())
            .collect();
        assert_eq!(
            addresses,
            HashSet::from(["192.0.2.1".to_string(), "GPS0".to_string()])
        );
        // The first record in chronyd's order wins.
        assert_eq!(
            value(out, &SOURCES_STRATUM, &["192.0.2.1", "192.0.2.1"]),
            Some(1.0)
        );
        assert_eq!(
            value(out, &COLLECTOR_SKIPPED, &["sources", "unresolved"]),
            Some(1.0)
        );
        assert_eq!(
            value(out, &COLLECTOR_SKIPPED, &["sources", "unspecified"]),
            Some(1.0)
        );
        assert_eq!(
            value(out, &COLLECTOR_SKIPPED, &["sources", "duplicate"]),
            Some(2.0)
        );
        assert_eq!(out.duplicates, 0, "the rule, not the guard, removed them");
        let text = encode(out, Format::Text);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(!line.contains("ID#") && !line.contains("0.0.0.0"), "{line}");
        }
    }

    #[test]
    fn each_report_drops_its_own_duplicates_with_labels_shared_across_reports() {
        // Sources lists 192.0.2.1 twice (pool fallback) and GPS0 once;
        // sourcestats lists them once each, in the other order. The labels
        // made for the first report serve the second, whose records are
        // all kept.
        let snap = snapshot(json!({
            "sources": many::<Source>(&[
                sc::source_selected(),
                sc::source_refclock(),
                sc::source_selected().with_value("stratum", FakeValue::Uinteger(9)),
            ]),
            "source_stats": many::<SourceStats>(&[sc::sourcestats_refclock(), sc::sourcestats_ntp()]),
        }));
        let built = build(
            &snap,
            &[Collector::Sources, Collector::SourceStats],
            &names(),
        );
        let out = &built.out;
        assert_unique(out);
        let labels = |def| {
            let mut v: Vec<Vec<String>> = out.get(def).iter().map(|s| s.values()).collect();
            v.sort();
            v
        };
        let want = vec![
            vec!["192.0.2.1".to_string(), "192.0.2.1".to_string()],
            vec!["GPS0".to_string(), "GPS0".to_string()],
        ];
        assert_eq!(labels(&SOURCES_STRATUM), want);
        assert_eq!(labels(&SOURCESTATS_SAMPLES), want);
        assert_eq!(
            value(out, &COLLECTOR_SKIPPED, &["sources", "duplicate"]),
            Some(1.0)
        );
        assert_eq!(
            value(out, &COLLECTOR_SKIPPED, &["sourcestats", "duplicate"]),
            None
        );
        // The first record of each report wins.
        assert_eq!(
            value(out, &SOURCES_STRATUM, &["192.0.2.1", "192.0.2.1"]),
            Some(1.0)
        );
    }

    #[test]
    fn names_come_from_the_resolver_map() {
        let snap = snapshot(json!({}));
        let mut n = Names::new();
        n.insert("192.0.2.1".parse().unwrap(), "ntp1.example.net".into());
        let out = build(&snap, &[Collector::Tracking, Collector::Sources], &n).out;
        assert_eq!(
            value(&out, &SOURCES_STRATUM, &["192.0.2.1", "ntp1.example.net"]),
            Some(1.0)
        );
        assert!(value(&out, &SOURCES_STRATUM, &["192.0.2.1", "192.0.2.1"]).is_none());
        assert_eq!(
            value(
                &out,
                &TRACKING_INFO,
                &["192.0.2.1", "ntp1.example.net", "C0000201"]
            ),
            Some(1.0)
        );
        assert_eq!(
            addresses(&snap),
            vec![
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::123".parse().unwrap()
            ]
        );
    }

    #[test]
    fn refused_and_missing_reports_are_their_own_state() {
        // (A refused serverstats cannot be written as JSON: its all-optional
        // fields read {"absent": ...} as a present report. selectdata and
        // ntpdata stand for the refused reports.)
        let snap = snapshot(json!({
            "select_data": absent("unauthorized"),
            "ntp_data": absent("unauthorized"),
            "rtc_data": null,
            "smoothing": null,
        }));
        let built = build(&snap, &Collector::ALL, &names());
        let mut out = built.out;
        health(
            &mut out,
            true,
            Duration::from_millis(3),
            &built.statuses,
            Some("0.2"),
        );
        assert_eq!(value(&out, &UP, &[]), Some(1.0));
        assert_eq!(value(&out, &COLLECTOR_SUCCESS, &["selectdata"]), Some(0.0));
        assert_eq!(
            value(
                &out,
                &COLLECTOR_UNAVAILABLE,
                &["selectdata", "unauthorized"]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&out, &COLLECTOR_UNAVAILABLE, &["ntpdata", "unauthorized"]),
            Some(1.0)
        );
        assert_eq!(value(&out, &COLLECTOR_SUCCESS, &["rtcdata"]), Some(1.0));
        assert_eq!(
            value(&out, &COLLECTOR_UNAVAILABLE, &["rtcdata", "not_available"]),
            Some(1.0)
        );
        assert_eq!(value(&out, &COLLECTOR_SUCCESS, &["tracking"]), Some(1.0));
        assert!(value(&out, &COLLECTOR_UNAVAILABLE, &["tracking", "unauthorized"]).is_none());
        assert!(out.get(&RTC_OFFSET).is_empty());
        assert!(out.get(&SELECT_SCORE).is_empty());
        assert!(!out.get(&SERVERSTATS_NTP_HITS).is_empty());
        assert!(!out.get(&TRACKING_STRATUM).is_empty());
        assert_eq!(
            value(&out, &BUILD_INFO, &[env!("CARGO_PKG_VERSION"), "0.2"]),
            Some(1.0)
        );
        let d = value(&out, &COLLECTOR_DURATION, &["sources"]).unwrap();
        assert!(d >= 0.003, "{d}");
    }

    #[test]
    fn older_serverstats_write_only_what_chronyd_sends() {
        let snap =
            snapshot(json!({ "server_stats": one::<ServerStats>(sc::serverstats_chronyd_4_3()) }));
        let out = build(&snap, &[Collector::ServerStats], &names()).out;
        assert!(!out.get(&SERVERSTATS_INTERLEAVED_HITS).is_empty());
        assert!(out.get(&SERVERSTATS_DAEMON_RX).is_empty());
        let snap =
            snapshot(json!({ "server_stats": one::<ServerStats>(sc::serverstats_chronyd_4_0()) }));
        let out = build(&snap, &[Collector::ServerStats], &names()).out;
        assert!(out.get(&SERVERSTATS_INTERLEAVED_HITS).is_empty());
        assert!(!out.get(&SERVERSTATS_AUTH_HITS).is_empty());
    }

    #[test]
    fn disabled_collectors_write_nothing() {
        let snap = snapshot(json!({}));
        let built = build(&snap, &[Collector::Tracking], &names());
        for f in built.out.families() {
            assert!(
                f.def.report == "tracking" || f.def.report == "exporter",
                "{}",
                f.def.name
            );
        }
        assert_eq!(built.statuses.len(), 1);
    }

    #[test]
    fn every_metric_of_the_table_is_written_by_some_scenario() {
        let snap = snapshot(json!({}));
        let built = build(&snap, &Collector::ALL, &names());
        let mut out = built.out;
        health(&mut out, true, Duration::ZERO, &built.statuses, Some("0.2"));
        let unresolved = snapshot(json!({
            "sources": many::<Source>(&[sc::source_unresolved()]),
            "select_data": absent("unauthorized"),
        }));
        let b2 = build(&unresolved, &Collector::ALL, &names());
        let mut out2 = b2.out;
        health(&mut out2, true, Duration::ZERO, &b2.statuses, Some("0.2"));
        // The probe's own two are written by the prober (its tests).
        for d in ALL.iter().filter(|d| d.report != "probe") {
            assert!(
                !out.get(d).is_empty() || !out2.get(d).is_empty(),
                "{} is never written",
                d.name
            );
        }
    }
}
