//! Every value, in its unit: for every metric with a unit, on every
//! record of chrony-testkit (its scenarios, its typed builders with
//! values that tell units apart, and every record captured from chronyd
//! 4.0 to 4.9), the emitted value equals the record's raw field converted
//! to the metric's unit by the field's content kind as libchrony declares
//! it (`interval_log2_seconds` is 2^v, `length_bits` is v/8, ...). The
//! expectation never comes from the collectors' own code, so a slip to
//! milliseconds or to log2 in a collector fails here.

use super::tests::{many, one, paired, snapshot};
use super::*;
use crate::metrics::Def;
use chrony::{
    Activity, AuthData, FieldContent, NtpData, RtcData, SelectData, ServerStats, Smoothing, Source,
    SourceStats, Tracking,
};
use chrony_testkit::fake::{self, FakeRecord, FakeValue};
use chrony_testkit::scenarios as sc;
use serde_json::{json, Value};
use std::time::Duration;

/// Where a metric's value comes from.
enum From {
    /// The record's field of that name, converted by its content kind.
    Field(&'static str),
    /// The reachability register's set bits / 8.
    ReachRatio,
}

/// The source of every metric with a unit; a metric with a unit missing
/// here fails the test (its value would go unchecked).
fn source(metric: &str) -> Option<From> {
    use From::*;
    Some(match metric {
        "chrony_tracking_last_offset_seconds" => Field("last offset"),
        "chrony_tracking_reference_timestamp_seconds" => Field("reference time"),
        "chrony_tracking_system_time_seconds" => Field("current correction"),
        "chrony_tracking_rms_offset_seconds" => Field("RMS offset"),
        "chrony_tracking_root_delay_seconds" => Field("root delay"),
        "chrony_tracking_root_dispersion_seconds" => Field("root dispersion"),
        "chrony_tracking_update_interval_seconds" => Field("last update interval"),
        "chrony_sources_last_sample_age_seconds" => Field("last sample ago"),
        "chrony_sources_reachability_ratio" => ReachRatio,
        "chrony_sources_last_sample_offset_seconds" => Field("adjusted last sample offset"),
        "chrony_sources_last_sample_error_margin_seconds" => Field("last sample error"),
        "chrony_sources_polling_interval_seconds" => Field("poll"),
        "chrony_sources_last_sample_original_offset_seconds" => {
            Field("original last sample offset")
        }
        "chrony_sourcestats_span_seconds" => Field("span"),
        "chrony_sourcestats_offset_error_seconds" => Field("offset error"),
        "chrony_serverstats_ntp_timestamp_span_seconds" => Field("NTP timestamp span"),
        "chrony_rtcdata_last_measurement_timestamp_seconds" => Field("reference time"),
        "chrony_rtcdata_span_seconds" => Field("span"),
        "chrony_rtcdata_offset_seconds" => Field("offset"),
        "chrony_rtcdata_frequency_offset_ratio" => Field("frequency offset"),
        "chrony_smoothing_offset_seconds" => Field("offset"),
        "chrony_smoothing_frequency_offset_ratio" => Field("frequency offset"),
        "chrony_smoothing_last_update_age_seconds" => Field("last update ago"),
        "chrony_smoothing_remaining_seconds" => Field("remaining time"),
        "chrony_selectdata_last_sample_age_seconds" => Field("last sample ago"),
        "chrony_selectdata_low_limit_seconds" => Field("low limit"),
        "chrony_selectdata_high_limit_seconds" => Field("high limit"),
        "chrony_ntpdata_poll_interval_seconds" => Field("poll"),
        "chrony_ntpdata_precision_seconds" => Field("precision"),
        "chrony_ntpdata_root_delay_seconds" => Field("root delay"),
        "chrony_ntpdata_root_dispersion_seconds" => Field("root dispersion"),
        "chrony_ntpdata_reference_timestamp_seconds" => Field("reference time"),
        "chrony_ntpdata_offset_seconds" => Field("offset"),
        "chrony_ntpdata_peer_delay_seconds" => Field("peer delay"),
        "chrony_ntpdata_peer_dispersion_seconds" => Field("peer dispersion"),
        "chrony_ntpdata_response_time_seconds" => Field("response time"),
        "chrony_ntpdata_jitter_asymmetry_ratio" => Field("jitter asymmetry"),
        "chrony_sources_peer_offset_seconds" => Field("offset"),
        "chrony_sources_peer_delay_seconds" => Field("peer delay"),
        "chrony_sources_peer_dispersion_seconds" => Field("peer dispersion"),
        "chrony_sources_peer_response_time_seconds" => Field("response time"),
        "chrony_authdata_key_length_bytes" => Field("key length"),
        "chrony_authdata_last_key_establishment_age_seconds" => Field("last key establishment ago"),
        "chrony_authdata_cookie_length_bytes" => Field("cookie length"),
        _ => return None,
    })
}

fn raw_number(v: &FakeValue) -> Option<f64> {
    match v {
        FakeValue::Uinteger(u) => Some(*u as f64),
        FakeValue::Integer(i) => Some(*i as f64),
        FakeValue::Float(f) => Some(*f),
        _ => None,
    }
}

/// The value a field gives in `unit` by its content kind; `None` for no
/// series (the field is absent, or chronyd's "never").
fn converted(rec: &FakeRecord, field: &str, unit: &str) -> Option<f64> {
    let f = rec.fields.iter().find(|f| f.name == field)?;
    match (unit, f.content, &f.value) {
        ("seconds", FieldContent::IntervalLog2Seconds, v) => {
            let mut e = raw_number(v)?;
            // libchrony 0.2 gives 16-bit signed fields without their sign.
            if (32768.0..65536.0).contains(&e) {
                e -= 65536.0;
            }
            Some(2f64.powf(e))
        }
        ("seconds", FieldContent::Time, FakeValue::Timespec(s, ns)) => {
            // chronyd's own reading: a high word of 0x7fffffff is "none".
            let s = if (*s as u64) >> 32 == 0x7fff_ffff {
                *s & 0xffff_ffff
            } else {
                *s
            };
            Some(s as f64 + (*ns).min(999_999_999) as f64 / 1e9)
        }
        (
            "seconds",
            FieldContent::IntervalSeconds
            | FieldContent::OffsetSeconds
            | FieldContent::MeasureSeconds,
            v,
        ) => {
            if field.ends_with(" ago") && *v == FakeValue::Uinteger(u64::from(u32::MAX)) {
                return None;
            }
            raw_number(v)
        }
        ("ratio", FieldContent::OffsetPpm | FieldContent::MeasurePpm, v) => {
            Some(raw_number(v)? / 1e6)
        }
        ("ratio", FieldContent::Ratio, v) => raw_number(v),
        ("bytes", FieldContent::LengthBits, v) => Some(raw_number(v)? / 8.0),
        ("bytes", FieldContent::LengthBytes, v) => raw_number(v),
        (unit, content, v) => {
            panic!("no conversion of {field} ({content:?}, {v:?}) to {unit}: decide one here")
        }
    }
}

fn reach_ratio(rec: &FakeRecord) -> Option<f64> {
    let f = rec.fields.iter().find(|f| f.name == "reachability")?;
    Some(f64::from((raw_number(&f.value)? as u64 as u8).count_ones()) / 8.0)
}

/// The snapshot key and model JSON of one record, or `None` when the model
/// rejects it.
fn report_json(rec: &FakeRecord) -> Option<(&'static str, Value)> {
    fn try_many<T: chrony::FromRecord + serde::Serialize>(rec: &FakeRecord) -> Option<Value> {
        sc::build::<T>(std::slice::from_ref(rec)).ok()?;
        Some(many::<T>(std::slice::from_ref(rec)))
    }
    fn try_one<T: chrony::FromRecord + serde::Serialize>(rec: &FakeRecord) -> Option<Value> {
        let v = try_many::<T>(rec)?;
        v.get(0)?;
        Some(one::<T>(rec.clone()))
    }
    Some(match rec.report.as_str() {
        "tracking" => ("tracking", try_one::<Tracking>(rec)?),
        "sources" => ("sources", try_many::<Source>(rec)?),
        "sourcestats" => ("source_stats", try_many::<SourceStats>(rec)?),
        "selectdata" => ("select_data", try_many::<SelectData>(rec)?),
        "ntpdata" => ("ntp_data", try_many::<NtpData>(rec)?),
        "authdata" => {
            let v = try_many::<AuthData>(rec)?;
            let v = if v.as_array().is_some_and(|a| !a.is_empty()) {
                paired(v)
            } else {
                v
            };
            ("auth_data", v)
        }
        "activity" => ("activity", try_one::<Activity>(rec)?),
        "serverstats" => ("server_stats", try_one::<ServerStats>(rec)?),
        "smoothing" => ("smoothing", try_one::<Smoothing>(rec)?),
        "rtcdata" => ("rtc_data", try_one::<RtcData>(rec)?),
        other => panic!("a record of an unknown report {other}"),
    })
}

/// Every scenario of chrony-testkit that is one record.
fn scenarios() -> Vec<(&'static str, FakeRecord)> {
    let mut v: Vec<(&'static str, FakeRecord)> = vec![
        ("tracking_synchronized", sc::tracking_synchronized()),
        ("tracking_unsynchronized", sc::tracking_unsynchronized()),
        ("tracking_stratum_16", sc::tracking_stratum_16()),
        ("tracking_leap_insert", sc::tracking_leap_insert()),
        ("tracking_leap_delete", sc::tracking_leap_delete()),
        ("tracking_refclock", sc::tracking_refclock()),
        ("tracking_local_reference", sc::tracking_local_reference()),
        ("tracking_32bit_time_t", sc::tracking_32bit_time_t()),
        (
            "tracking_with_extra_fields",
            sc::tracking_with_extra_fields(),
        ),
        ("tracking_unknown_leap", sc::tracking_unknown_leap()),
        ("source_selected", sc::source_selected()),
        ("source_refclock", sc::source_refclock()),
        ("source_falseticker", sc::source_falseticker()),
        ("source_jittery", sc::source_jittery()),
        ("source_unreachable", sc::source_unreachable()),
        ("source_unresolved", sc::source_unresolved()),
        ("source_fast_poll", sc::source_fast_poll()),
        ("sourcestats_ntp", sc::sourcestats_ntp()),
        ("sourcestats_refclock", sc::sourcestats_refclock()),
        ("sourcestats_no_samples", sc::sourcestats_no_samples()),
        ("rtcdata_present", sc::rtcdata_present()),
        ("activity_online", sc::activity_online()),
        ("activity_mixed", sc::activity_mixed()),
        ("serverstats_chronyd_4_6", sc::serverstats_chronyd_4_6()),
        ("serverstats_chronyd_4_3", sc::serverstats_chronyd_4_3()),
        ("serverstats_chronyd_4_0", sc::serverstats_chronyd_4_0()),
        ("serverstats_chronyd_3", sc::serverstats_chronyd_3()),
        ("smoothing_active", sc::smoothing_active()),
        ("selectdata_refclock_best", sc::selectdata_refclock_best()),
        ("selectdata_distant", sc::selectdata_distant()),
        ("selectdata_unreachable", sc::selectdata_unreachable()),
        (
            "selectdata_prefer_noselect",
            sc::selectdata_prefer_noselect(),
        ),
        ("selectdata_unknown_state", sc::selectdata_unknown_state()),
        ("ntpdata_chronyd_4_6", sc::ntpdata_chronyd_4_6()),
        ("ntpdata_chronyd_4_3", sc::ntpdata_chronyd_4_3()),
        ("ntpdata_unreachable", sc::ntpdata_unreachable()),
        ("ntpdata_refclock", sc::ntpdata_refclock()),
        ("authdata_none", sc::authdata_none()),
        ("authdata_nts", sc::authdata_nts()),
        ("authdata_symmetric_key", sc::authdata_symmetric_key()),
        ("authdata_refclock", sc::authdata_refclock()),
    ];
    for r in sc::sources_many(8) {
        v.push(("sources_many", r));
    }
    v
}

/// Records from the typed builders, with values no two units share (not
/// 0 or 1, fractions where the field has them, odd log2 values).
fn built() -> Vec<(&'static str, FakeRecord)> {
    let secs = Duration::from_secs;
    vec![
        (
            "fake::tracking",
            fake::tracking()
                .last_update_interval(Duration::from_millis(64_500))
                .last_offset(-2.5e-4)
                .into_record(),
        ),
        (
            "fake::source",
            fake::source()
                .last_sample_ago(Some(secs(37)))
                .poll(-3)
                .into_record(),
        ),
        (
            "fake::source_stats",
            fake::source_stats().span(secs(1234)).into_record(),
        ),
        (
            "fake::rtc_data",
            fake::rtc_data().span(secs(4321)).into_record(),
        ),
        (
            "fake::smoothing",
            fake::smoothing()
                .last_update_ago(Duration::from_millis(12_250))
                .remaining_time(Duration::from_millis(399_750))
                .into_record(),
        ),
        (
            "fake::select_data",
            fake::select_data()
                .last_sample_ago(Some(secs(93)))
                .into_record(),
        ),
        (
            "fake::auth_data",
            fake::auth_data()
                .last_key_establishment_ago(Some(secs(3601)))
                .key_length_bits(256)
                .into_record(),
        ),
        (
            "fake::ntp_data",
            fake::ntp_data()
                .poll(10)
                .precision(-23)
                .root_delay(0.0123)
                .root_dispersion(0.0456)
                .into_record(),
        ),
        (
            "fake::server_stats",
            fake::server_stats()
                .ntp_timestamp_span(Some(secs(777)))
                .into_record(),
        ),
        ("fake::activity", fake::activity().into_record()),
    ]
}

/// Every record captured from real chronyd (4.0 to 4.9).
fn captured() -> Vec<(&'static str, FakeRecord)> {
    let mut v = Vec::new();
    for version in ["4.0", "4.3", "4.6.1", "4.9"] {
        for report in chrony::REPORTS {
            let mut i = 0;
            while let Some(r) = sc::captured(version, report, i) {
                v.push(("captured", r));
                i += 1;
            }
        }
    }
    v
}

/// What one metric came to on one record.
fn emitted(out: &Out, def: &Def) -> Option<f64> {
    let samples = out.get(def);
    assert!(
        samples.len() <= 1,
        "{}: {} series for one record",
        def.name,
        samples.len()
    );
    samples.first().map(|s| s.value)
}

#[test]
fn every_value_with_a_unit_is_its_field_in_that_unit() {
    let records: Vec<_> = scenarios()
        .into_iter()
        .chain(built())
        .chain(captured())
        .collect();
    // The unit metrics, and how many telling values each was checked on.
    let mut telling: std::collections::BTreeMap<&'static str, usize> = COLLECTORS
        .iter()
        .flat_map(|c| c.metrics.iter())
        .filter(|d| !d.unit.is_empty())
        .map(|d| (d.name, 0))
        .collect();
    let mut checked = 0;
    for (name, rec) in &records {
        let Some((key, model)) = report_json(rec) else {
            continue;
        };
        let c = by_name(&rec.report).expect("a collector per report");
        let snap = snapshot(json!({ key: model }));
        let out = build(&snap, &[c], &Names::new()).out;
        // Records without per-source series by the label rule
        // (unresolved, unspecified, a refclock's empty ntpdata) and, in
        // ntpdata, a source's last packet before its first one.
        let skipped = !out.get(&COLLECTOR_SKIPPED).is_empty()
            || model.as_array().is_some_and(|a| a.is_empty());
        let no_packet = rec.report == "ntpdata"
            && rec
                .fields
                .iter()
                .any(|f| f.name == "received messages" && f.value == FakeValue::Uinteger(0));
        for def in c.metrics.iter().filter(|d| !d.unit.is_empty()) {
            let from = source(def.name)
                .unwrap_or_else(|| panic!("{}: no expectation for a metric with a unit", def.name));
            let want = if skipped || no_packet {
                None
            } else {
                match from {
                    From::Field(field) => converted(rec, field, def.unit),
                    From::ReachRatio => reach_ratio(rec),
                }
            };
            let got = emitted(&out, def);
            match (want, got) {
                (Some(w), Some(g)) => {
                    // Intervals pass through a Duration: nanoseconds.
                    let close = (w - g).abs() <= 1e-9 + 1e-12 * w.abs();
                    assert!(
                        close,
                        "{name} ({}): {} = {g}, want {w}",
                        rec.report, def.name
                    );
                    if w != 0.0 && w != 1.0 {
                        *telling.get_mut(def.name).unwrap() += 1;
                    }
                }
                (None, None) => {}
                (w, g) => panic!(
                    "{name} ({}): {}: got {g:?}, want {w:?}",
                    rec.report, def.name
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} checks");
    // Each was checked on a value where seconds, milliseconds and log2
    // differ.
    let untold: Vec<_> = telling
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(m, _)| *m)
        .collect();
    assert!(
        untold.is_empty(),
        "never checked on a value other than 0 or 1: {untold:?}"
    );
}

/// The list above is every one-record scenario of chrony-testkit: a new
/// scenario fails this until it is added.
#[test]
fn every_testkit_scenario_is_checked() {
    let source = include_str!("../../../chrony-testkit/src/scenarios.rs");
    let listed: Vec<&str> = scenarios().iter().map(|(n, _)| *n).collect();
    let mut n = 0;
    for line in source.lines() {
        let Some(rest) = line.strip_prefix("pub fn ") else {
            continue;
        };
        let (name, sig) = rest.split_once('(').unwrap();
        if sig.starts_with(") -> FakeRecord") {
            assert!(
                listed.contains(&name),
                "scenario {name} is not in the value test"
            );
            n += 1;
        }
    }
    assert!(n >= 40, "{n}");
    assert!(listed.contains(&"sources_many"));
}
