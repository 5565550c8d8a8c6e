//! Building metrics from snapshots of the testkit's scenarios.
use super::activity::*;
use super::rtc_data::*;
use super::select_data::*;
use super::server_stats::*;
use super::source_stats::*;
use super::sources::*;
use super::tracking::*;
use super::*;
use crate::metrics::{all, encode, Format};
use chrony::{Activity, AuthData, NtpData, SelectData, ServerStats, Source, SourceStats, Tracking};
use chrony_testkit::fake::{FakeRecord, FakeValue};
use chrony_testkit::scenarios as sc;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::net::IpAddr;

pub(crate) fn many<T: chrony::FromRecord + serde::Serialize>(records: &[FakeRecord]) -> Value {
    serde_json::to_value(sc::build::<T>(records).expect("valid records")).unwrap()
}

pub(crate) fn one<T: chrony::FromRecord + serde::Serialize>(record: FakeRecord) -> Value {
    many::<T>(&[record])[0].clone()
}

/// authdata records carry the address of their sourcestats record.
pub(crate) fn paired(mut v: Value) -> Value {
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

/// Every collector.
pub(crate) fn every() -> Vec<&'static Collector> {
    COLLECTORS.iter().collect()
}

/// The collector named `name`.
fn c(name: &str) -> &'static Collector {
    by_name(name).unwrap()
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
    let built = build(&snap, &every(), &names());
    for (c, st, _) in &built.statuses {
        assert_eq!(*st, Status::Read, "{}", c.name);
    }
    // Each collector wrote metrics of its own report.
    for c in COLLECTORS {
        let n = built
            .out
            .families()
            .iter()
            .filter(|f| f.def.report == c.name && !f.is_empty())
            .count();
        assert!(n > 0, "{} wrote nothing", c.name);
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
    let built = build(&snap, &[c("sources")], &names());
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
    let built = build(&snap, &[c("sources"), c("sourcestats")], &names());
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
    let out = build(&snap, &[c("tracking"), c("sources")], &n).out;
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
    let built = build(&snap, &every(), &names());
    let mut out = built.out;
    health(
        &mut out,
        true,
        Duration::from_millis(3),
        &built.statuses,
        Some(&BuildInfo {
            libchrony_version: "0.2",
            ..BuildInfo::CURRENT
        }),
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
        value(
            &out,
            &BUILD_INFO,
            &[
                env!("CARGO_PKG_VERSION"),
                BuildInfo::CURRENT.revision,
                BuildInfo::CURRENT.branch,
                "0.2"
            ]
        ),
        Some(1.0)
    );
    let d = value(&out, &COLLECTOR_DURATION, &["sources"]).unwrap();
    assert!(d >= 0.003, "{d}");
}

#[test]
fn older_serverstats_write_only_what_chronyd_sends() {
    let snap =
        snapshot(json!({ "server_stats": one::<ServerStats>(sc::serverstats_chronyd_4_3()) }));
    let out = build(&snap, &[c("serverstats")], &names()).out;
    assert!(!out.get(&SERVERSTATS_INTERLEAVED_HITS).is_empty());
    assert!(out.get(&SERVERSTATS_DAEMON_RX).is_empty());
    let snap =
        snapshot(json!({ "server_stats": one::<ServerStats>(sc::serverstats_chronyd_4_0()) }));
    let out = build(&snap, &[c("serverstats")], &names()).out;
    assert!(out.get(&SERVERSTATS_INTERLEAVED_HITS).is_empty());
    assert!(!out.get(&SERVERSTATS_AUTH_HITS).is_empty());
}

#[test]
fn disabled_collectors_write_nothing() {
    let snap = snapshot(json!({}));
    let built = build(&snap, &[c("tracking")], &names());
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
    let built = build(&snap, &every(), &names());
    let mut out = built.out;
    health(
        &mut out,
        true,
        Duration::ZERO,
        &built.statuses,
        Some(&BuildInfo::CURRENT),
    );
    let unresolved = snapshot(json!({
        "sources": many::<Source>(&[sc::source_unresolved()]),
        "select_data": absent("unauthorized"),
    }));
    let b2 = build(&unresolved, &every(), &names());
    let mut out2 = b2.out;
    health(
        &mut out2,
        true,
        Duration::ZERO,
        &b2.statuses,
        Some(&BuildInfo::CURRENT),
    );
    // The probe's own two are written by the prober (its tests).
    for d in all().filter(|d| d.report != "probe" && d.report != "process") {
        assert!(
            !out.get(d).is_empty() || !out2.get(d).is_empty(),
            "{} is never written",
            d.name
        );
    }
}

#[test]
fn tracking_labels_are_chrony_exporter_0_13_3s() {
    // An IP reference: its address, in both (no reverse DNS here).
    let out = build(&snapshot(json!({})), &[c("tracking")], &names()).out;
    assert_eq!(
        value(
            &out,
            &TRACKING_INFO,
            &["192.0.2.1", "192.0.2.1", "C0000201"]
        ),
        Some(1.0)
    );
    // No address: the reference ID's text in both, NULs left out, the
    // hex form when a byte is not printable, empty for none.
    for (scenario, text, hex) in [
        (sc::tracking_refclock(), "GPS0", "47505330"),
        (sc::tracking_local_reference(), "7F7F0101", "7F7F0101"),
        (sc::tracking_unsynchronized(), "", "00000000"),
    ] {
        let snap = snapshot(json!({ "tracking": one::<Tracking>(scenario) }));
        let out = build(&snap, &[c("tracking")], &names()).out;
        assert_eq!(
            value(&out, &TRACKING_INFO, &[text, text, hex]),
            Some(1.0),
            "{text}"
        );
    }
    assert_eq!(refid_text(chrony::RefId(0x5050_5300)), "PPS");
    assert_eq!(refid_text(chrony::RefId(0x4700_5300)), "GS");
}

#[test]
fn a_report_past_the_deadline_is_absent_and_the_others_are_exported() {
    let snap = snapshot(json!({
        "sources": {"absent": "timeout", "message": "chronyd at /run/chrony/chronyd.sock did not answer sources record 3 by the deadline"},
    }));
    let built = build(&snap, &every(), &names());
    let mut out = built.out;
    health(
        &mut out,
        true,
        Duration::from_millis(2),
        &built.statuses,
        None,
    );
    assert_eq!(value(&out, &UP, &[]), Some(1.0));
    assert_eq!(value(&out, &COLLECTOR_SUCCESS, &["sources"]), Some(0.0));
    assert_eq!(
        value(&out, &COLLECTOR_UNAVAILABLE, &["sources", "timeout"]),
        Some(1.0)
    );
    assert!(out.get(&SOURCES_STRATUM).is_empty());
    assert_eq!(value(&out, &COLLECTOR_SUCCESS, &["tracking"]), Some(1.0));
    assert!(value(&out, &TRACKING_STRATUM, &[]).is_some());
    assert!(!out.get(&SOURCESTATS_SAMPLES).is_empty());
    // The status keeps the library's message, which names the report.
    let (_, st, _) = built
        .statuses
        .iter()
        .find(|(c, _, _)| c.name == "sources")
        .unwrap();
    match st {
        Status::Absent { reason, message } => {
            assert_eq!(reason, "timeout");
            assert!(message.contains("sources"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_source_that_never_answered_has_its_packet_counters_only() {
    use super::ntp_data::*;
    let snap = snapshot(json!({
        "ntp_data": many::<NtpData>(&[sc::ntpdata_unreachable()]),
    }));
    let out = build(&snap, &[c("ntpdata")], &names()).out;
    let labels = ["192.0.2.99", "192.0.2.99"];
    assert_eq!(value(&out, &NTP_TX, &labels), Some(9.0));
    assert_eq!(value(&out, &NTP_RX, &labels), Some(0.0));
    for def in [
        &NTP_STRATUM,
        &NTP_PRECISION,
        &NTP_POLL,
        &NTP_OFFSET,
        &SOURCES_PEER_OFFSET,
    ] {
        assert!(out.get(def).is_empty(), "{}", def.name);
    }
    assert!(out.get(&NTP_INFO).is_empty());
    // One that answered has both.
    let snap = snapshot(json!({}));
    let out = build(&snap, &[c("ntpdata")], &names()).out;
    assert_eq!(out.get(&NTP_INFO).len(), 1);
    assert_eq!(out.get(&SOURCES_PEER_DELAY).len(), 1);
    assert_eq!(
        out.get(&SOURCES_PEER_DELAY)[0].value,
        out.get(&NTP_PEER_DELAY)[0].value
    );
}
