//! The contract every record of a report must meet, whoever sent it: the
//! same checks run on fake records and on live records from chronyd (see
//! `tests/contract_live.rs`), so the fakes cannot drift from the daemon
//! unnoticed. Each check panics with a precise message on a violation and
//! returns the model it built.
//!
//! ```
//! use chrony::Record;
//! use chrony_testkit::{contract, scenarios};
//! let t = contract::check_tracking(&Record::new(&scenarios::tracking_synchronized()));
//! assert_eq!(t.stratum, 2);
//! ```

use crate::scenarios;
use chrony::{
    FieldContent, FieldSource, FieldType, FromRecord, Record, RtcData, Source, SourceMode,
    SourceStats, Tracking,
};

/// A record's schema: (name, type, content) of each field, in order.
pub type Schema = Vec<(String, FieldType, FieldContent)>;

/// The schema of any field source.
pub fn schema_of<S: FieldSource + ?Sized>(s: &S) -> Schema {
    (0..s.field_count())
        .map(|i| {
            (
                s.field_name(i).unwrap_or_default(),
                s.field_type(i),
                s.field_content(i),
            )
        })
        .collect()
}

/// Asserts two schemas are the same. The one allowed difference is the one
/// libchrony itself makes: a string field with no value (a NULL address)
/// has content NONE.
#[track_caller]
pub fn assert_same_schema(what: &str, expected: &Schema, actual: &Schema) {
    let names = |s: &Schema| s.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(expected), names(actual), "{what}: field names differ");
    for (e, a) in expected.iter().zip(actual) {
        assert_eq!(e.1, a.1, "{what}: type of field {:?}", e.0);
        let null_address = e.1 == FieldType::String
            && [e.2, a.2].contains(&FieldContent::None)
            && [e.2, a.2].contains(&FieldContent::Address);
        assert!(
            e.2 == a.2 || null_address,
            "{what}: content of field {:?}: {:?} vs {:?}",
            e.0,
            e.2,
            a.2
        );
    }
}

fn build<T: FromRecord, S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> T {
    match T::from_record(rec) {
        Ok(Some(t)) => t,
        Ok(None) => panic!("{}: record not applicable", rec.report_name()),
        Err(e) => panic!("{}: {e}", rec.report_name()),
    }
}

/// Tracking: the fields of [`scenarios::tracking_synchronized`], a model
/// that builds, and values that make sense together.
#[track_caller]
pub fn check_tracking<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> Tracking {
    assert_same_schema(
        "tracking",
        &scenarios::tracking_synchronized().schema(),
        &schema_of(rec.source()),
    );
    let t: Tracking = build(rec);
    assert!(t.stratum <= 16, "stratum {}", t.stratum);
    assert!(
        t.leap_status.name().is_some(),
        "unknown leap status {:?}",
        t.leap_status
    );
    if t.is_synchronized() {
        assert!(
            !t.reference_time.is_never(),
            "synchronized but never updated: {t:?}"
        );
    }
    if t.address.is_none() && t.reference_id.0 != 0 {
        assert!(
            t.reference_id.name().is_some(),
            "a source without address must be a reference clock: {t:?}"
        );
    }
    for (name, v) in [
        ("RMS offset", t.rms_offset),
        ("skew", t.skew_ppm),
        ("root delay", t.root_delay),
        ("root dispersion", t.root_dispersion),
        ("last update interval", t.last_update_interval),
    ] {
        assert!(v >= 0.0, "{name} is negative: {v}");
    }
    t
}

/// Sources: an NTP source has the fields of [`scenarios::source_selected`],
/// a reference clock those of [`scenarios::source_refclock`].
#[track_caller]
pub fn check_source<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> Source {
    let refclock = rec.has("reference ID");
    let expected = if refclock {
        scenarios::source_refclock()
    } else {
        scenarios::source_selected()
    };
    assert_same_schema("sources", &expected.schema(), &schema_of(rec.source()));
    let s: Source = build(rec);
    assert_eq!(
        refclock,
        s.mode == SourceMode::ReferenceClock,
        "first field vs mode: {s:?}"
    );
    assert!(s.state.name().is_some(), "unknown state {:?}", s.state);
    assert!(s.mode.name().is_some(), "unknown mode {:?}", s.mode);
    assert!((-6..=24).contains(&s.poll), "poll {}", s.poll);
    assert!(s.error >= 0.0, "error {}", s.error);
    assert!(!s.address.is_empty());
    s
}

/// Sourcestats: the fields of [`scenarios::sourcestats_ntp`].
#[track_caller]
pub fn check_sourcestats<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> SourceStats {
    assert_same_schema(
        "sourcestats",
        &scenarios::sourcestats_ntp().schema(),
        &schema_of(rec.source()),
    );
    let s: SourceStats = build(rec);
    assert!(
        s.runs <= s.samples.max(1),
        "runs {} > samples {}",
        s.runs,
        s.samples
    );
    assert!(
        s.skew_ppm >= 0.0 && s.standard_deviation >= 0.0 && s.offset_error >= 0.0,
        "{s:?}"
    );
    s
}

/// RTC data: the fields of [`scenarios::rtcdata_present`].
#[track_caller]
pub fn check_rtcdata<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> RtcData {
    assert_same_schema(
        "rtcdata",
        &scenarios::rtcdata_present().schema(),
        &schema_of(rec.source()),
    );
    let r: RtcData = build(rec);
    assert!(r.runs <= r.samples.max(1), "{r:?}");
    r
}

/// The schema of `report` records like `rec` as chronyd `version` sends
/// them, from the captured tables (records are matched by their first
/// field's name, which tells NTP sources from reference clocks).
pub fn captured_schema(version: &str, report: &str, first_field: Option<&str>) -> Option<Schema> {
    let table = crate::tables::captured(version)?;
    table
        .reports
        .get(report)?
        .iter()
        .map(|r| r.schema())
        .find(|s| s.first().map(|f| f.0.as_str()) == first_field)
}

/// Activity: five counts, consistent with each other.
#[track_caller]
pub fn check_activity<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> chrony::Activity {
    assert_same_schema(
        "activity",
        &scenarios::activity_online().schema(),
        &schema_of(rec.source()),
    );
    build(rec)
}

/// Serverstats: one of the field sets chronyd versions send (5, 8, 11 or
/// 17 counters), every counter the record has is `Some`.
#[track_caller]
pub fn check_serverstats<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> chrony::ServerStats {
    let s: chrony::ServerStats = build(rec);
    let present = s.present_count();
    assert!(
        [5, 8, 11, 17].contains(&present),
        "{present} counters: {s:?}"
    );
    let counters = (0..rec.source().field_count())
        .filter(|&i| {
            !rec.source()
                .field_name(i)
                .unwrap_or_default()
                .starts_with("reserved")
        })
        .count();
    assert_eq!(
        counters, present,
        "every counter the record has must be read"
    );
    s
}

/// Smoothing: the fields of [`scenarios::smoothing_active`].
#[track_caller]
pub fn check_smoothing<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> chrony::Smoothing {
    assert_same_schema(
        "smoothing",
        &scenarios::smoothing_active().schema(),
        &schema_of(rec.source()),
    );
    let s: chrony::Smoothing = build(rec);
    assert!(s.remaining_time >= 0.0 && s.last_update_ago >= 0.0, "{s:?}");
    s
}

/// Selectdata: the fields of [`scenarios::selectdata_distant`], a state
/// chronyd documents.
#[track_caller]
pub fn check_selectdata<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> chrony::SelectData {
    assert_same_schema(
        "selectdata",
        &scenarios::selectdata_distant().schema(),
        &schema_of(rec.source()),
    );
    let s: chrony::SelectData = build(rec);
    assert!(
        !matches!(s.state, chrony::SelectState::Unknown(_)),
        "unknown state {:?}",
        s.state
    );
    assert!(s.low_limit <= s.high_limit, "{s:?}");
    s
}

/// Ntpdata: a reference clock's record has no fields (no model); an NTP
/// source's record has the 28 (chronyd < 4.6) or 33 fields of
/// [`scenarios::ntpdata_chronyd_4_3`] / [`scenarios::ntpdata_chronyd_4_6`].
#[track_caller]
pub fn check_ntpdata<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> Option<chrony::NtpData> {
    if rec.source().field_count() == 0 {
        assert_eq!(chrony::NtpData::from_record(rec).ok(), Some(None));
        return None;
    }
    let schema = schema_of(rec.source());
    let expected = if schema.len() == 28 {
        scenarios::ntpdata_chronyd_4_3()
    } else {
        scenarios::ntpdata_chronyd_4_6()
    };
    assert_same_schema("ntpdata", &expected.schema(), &schema);
    let n: chrony::NtpData = build(rec);
    assert_eq!(
        n.kernel_transmit_timestamps.is_some(),
        schema.len() == 33,
        "{n:?}"
    );
    Some(n)
}

/// Authdata: no fields for a reference clock, otherwise those of
/// [`scenarios::authdata_none`].
#[track_caller]
pub fn check_authdata<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> Option<chrony::AuthData> {
    if rec.source().field_count() == 0 {
        return None;
    }
    assert_same_schema(
        "authdata",
        &scenarios::authdata_none().schema(),
        &schema_of(rec.source()),
    );
    Some(build(rec))
}
