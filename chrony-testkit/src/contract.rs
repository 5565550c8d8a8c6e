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
use crate::tables::CapturedTable;
use chrony::reports::{is_reserved, FieldSpec, Presence, SCHEMAS};
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

/// A dotted version as numbers (`4.6.1` -> `[4, 6, 1]`), for comparing.
fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn same_content(ty: FieldType, declared: FieldContent, sent: FieldContent) -> bool {
    // libchrony gives a NULL string (a reference clock's address) content NONE.
    declared == sent
        || (ty == FieldType::String
            && declared == FieldContent::Address
            && sent == FieldContent::None)
}

/// Every disagreement between the declaration of `report` (`fields`, as
/// [`FromRecord::FIELDS`]) and one record that chronyd `version` sent: a
/// declared field missing or present against its [`Presence`], another
/// type or content kind, another order, or a field the record has that
/// the declaration lacks (chronyd's `reserved #N` padding aside). An empty
/// record (ntpdata and authdata of a reference clock) has nothing to
/// check. `paired` is the sourcestats record libchrony pairs with it, for
/// fields of [`Presence::Paired`].
pub fn declaration_problems<S: FieldSource + ?Sized, P: FieldSource + ?Sized>(
    report: &str,
    fields: &[FieldSpec],
    version: &str,
    rec: &S,
    paired: Option<&P>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if rec.field_count() == 0 {
        return problems;
    }
    let at = |what: String| format!("chronyd {version} {report}: {what}");
    let check_type = |problems: &mut Vec<String>,
                      spec: &FieldSpec,
                      s: &dyn Fn(usize) -> (FieldType, FieldContent),
                      i| {
        let (ty, content) = s(i);
        if ty != spec.field_type {
            problems.push(at(format!(
                "field {:?} ({}) is {ty} in the record, {} in the declaration",
                spec.name, spec.rust_name, spec.field_type
            )));
        }
        if !same_content(ty, spec.content, content) {
            problems.push(at(format!(
                "field {:?} ({}) has content {} in the record, {} in the declaration",
                spec.name,
                spec.rust_name,
                content.name(),
                spec.content.name()
            )));
        }
    };
    let own = |i: usize| (rec.field_type(i), rec.field_content(i));
    let mut alternatives = (0, 0);
    let mut last_index = None;
    for spec in fields {
        if spec.presence == Presence::Paired {
            match paired {
                Some(p) => match p.field_index(spec.name) {
                    Some(i) => {
                        let theirs = |i: usize| (p.field_type(i), p.field_content(i));
                        check_type(&mut problems, spec, &theirs, i);
                    }
                    None => problems.push(at(format!(
                        "paired field {:?} is not in the sourcestats record",
                        spec.name
                    ))),
                },
                None => problems.push(at(format!("no sourcestats record for {:?}", spec.name))),
            }
            continue;
        }
        let index = rec.field_index(spec.name);
        let expected = match spec.presence {
            Presence::Required => Some(true),
            Presence::Since(v) => Some(version_key(version) >= version_key(v)),
            Presence::Alternative => {
                alternatives.0 += 1;
                alternatives.1 += usize::from(index.is_some());
                None
            }
            _ => None,
        };
        if let Some(expected) = expected {
            if expected != index.is_some() {
                problems.push(at(format!(
                    "field {:?} ({}, {:?}) is {} the record",
                    spec.name,
                    spec.rust_name,
                    spec.presence,
                    if expected {
                        "missing from"
                    } else {
                        "unexpectedly in"
                    }
                )));
            }
        }
        if let Some(i) = index {
            check_type(&mut problems, spec, &own, i);
            if last_index.is_some_and(|l| l > i) {
                problems.push(at(format!(
                    "field {:?} is out of the declared order",
                    spec.name
                )));
            }
            last_index = Some(i);
        }
    }
    if alternatives.0 > 0 && alternatives.1 != 1 {
        problems.push(at(format!(
            "{} of the alternative fields are in the record, expected exactly one",
            alternatives.1
        )));
    }
    for i in 0..rec.field_count() {
        let name = rec.field_name(i).unwrap_or_default();
        if !is_reserved(&name) && !fields.iter().any(|f| f.name == name) {
            problems.push(at(format!("field {name:?} is not declared")));
        }
    }
    problems
}

/// Checks every model's declaration ([`chrony::reports::SCHEMAS`]) against
/// every record of a captured table; the problems of
/// [`declaration_problems`], all of them.
pub fn table_problems(table: &CapturedTable) -> Vec<String> {
    let mut problems = Vec::new();
    let stats = table.reports.get("sourcestats");
    for (report, fields) in SCHEMAS {
        let Some(records) = table.reports.get(*report) else {
            if !table.refused.contains_key(*report) {
                problems.push(format!(
                    "chronyd {}: no {report} records and no reason",
                    table.chrony_version
                ));
            }
            continue;
        };
        for (i, rec) in records.iter().enumerate() {
            let paired = stats.and_then(|s| s.get(i));
            problems.extend(declaration_problems(
                report,
                fields,
                &table.chrony_version,
                rec,
                paired,
            ));
        }
    }
    problems
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
    if t.address.is_none()
        && t.reference_id.0 != 0
        && t.reference_id != chrony::reports::tracking::LOCAL_REFERENCE_ID
    {
        assert!(
            t.reference_id.name().is_some(),
            "a source without address must be a reference clock or the local clock: {t:?}"
        );
    }
    for (name, v) in [
        ("RMS offset", t.rms_offset),
        ("skew", t.skew_ppm),
        ("root delay", t.root_delay),
        ("root dispersion", t.root_dispersion),
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
    assert_eq!(
        s.address.is_reference_clock(),
        s.mode == SourceMode::ReferenceClock,
        "{s:?}"
    );
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
    // Its intervals are `Duration`s: a negative one fails the build.
    build(rec)
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

/// Ntpdata: a reference clock's record has no fields (no model), nor has
/// chronyd 4.0's record of a source that never answered (no remote
/// address: left out); an NTP source's record has the 28 (chronyd < 4.6) or 33 fields of
/// [`scenarios::ntpdata_chronyd_4_3`] / [`scenarios::ntpdata_chronyd_4_6`].
#[track_caller]
pub fn check_ntpdata<S: FieldSource + ?Sized>(rec: &Record<'_, S>) -> Option<chrony::NtpData> {
    // A reference clock's record (no fields), or chronyd 4.0's record of a
    // source that never answered (no remote address): left out.
    let src = rec.source();
    let unaddressed = src
        .field_index("remote address")
        .is_some_and(|i| src.field_type(i) == chrony::FieldType::String && src.string(i).is_none());
    if src.field_count() == 0 || unaddressed {
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
