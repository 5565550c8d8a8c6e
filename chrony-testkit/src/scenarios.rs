//! Ready-made fake records that mirror what real daemons send.
//!
//! Field names, types and content kinds are those chronyd 4.3 to 4.9 send
//! through libchrony 0.2 (checked against live daemons by the contract
//! tests); values are chosen to look like a real daemon's. Addresses are
//! from the documentation ranges (192.0.2.0/24, 2001:db8::/32).
//!
//! ```
//! use chrony::{FromRecord, Record, Tracking};
//! let rec = chrony_testkit::scenarios::tracking_leap_insert();
//! let t = Tracking::from_record(&Record::new(&rec))?.unwrap();
//! assert!(t.is_leap_pending() && t.is_synchronized());
//! # Ok::<(), chrony::Error>(())
//! ```

use crate::fake::{FakeField, FakeRecord, FakeValue};
use crate::tables;
use chrony::{FieldContent as C, FieldType, FromRecord, Record};

/// libchrony's names of the leap status values.
pub const LEAP_NAMES: &[(u64, &str)] = &[
    (0, "normal"),
    (1, "insert second"),
    (2, "delete second"),
    (3, "not synchronized"),
];
/// libchrony's names of the source state values.
pub const STATE_NAMES: &[(u64, &str)] = &[
    (0, "selected"),
    (1, "nonselectable"),
    (2, "falseticker"),
    (3, "jittery"),
    (4, "unselected"),
    (5, "selectable"),
];
/// libchrony's names of the source mode values.
pub const MODE_NAMES: &[(u64, &str)] = &[(0, "client"), (1, "peer"), (2, "reference clock")];

/// A reference time used by the scenarios (2026-11-25T12:00:00.123456789Z).
pub const REFERENCE_TIME: (i64, i64) = (1_795_694_400, 123_456_789);

fn ipv4_refid(a: [u8; 4]) -> u64 {
    u64::from(u32::from_be_bytes(a))
}

fn refid_text(name: &str) -> u64 {
    let mut b = [0u8; 4];
    for (d, s) in b.iter_mut().zip(name.bytes()) {
        *d = s;
    }
    u64::from(u32::from_be_bytes(b))
}

/// The tracking record of a daemon synchronized to the NTP server
/// 192.0.2.1 (stratum 2, leap normal).
pub fn tracking_synchronized() -> FakeRecord {
    FakeRecord::new("tracking")
        .add_uinteger("reference ID", C::ReferenceId, ipv4_refid([192, 0, 2, 1]))
        .add_string("address", C::Address, Some("192.0.2.1"))
        .add_uinteger("stratum", C::Count, 2)
        .add_enum("leap status", 0, LEAP_NAMES)
        .add_timespec(
            "reference time",
            C::Time,
            REFERENCE_TIME.0,
            REFERENCE_TIME.1,
        )
        .add_float("current correction", C::OffsetSeconds, -2.451e-6)
        .add_float("last offset", C::OffsetSeconds, 5.2877791e-8)
        .add_float("RMS offset", C::MeasureSeconds, 9.97517532e-7)
        .add_float("frequency offset", C::OffsetPpm, -12.345)
        .add_float("residual frequency", C::OffsetPpm, 0.00181719672)
        .add_float("skew", C::MeasurePpm, 0.1908364)
        .add_float("root delay", C::MeasureSeconds, 7.04800004e-4)
        .add_float("root dispersion", C::MeasureSeconds, 8.75730109e-5)
        .add_float("last update interval", C::IntervalSeconds, 64.2)
}

/// Tracking of a daemon that never synchronized: reference ID 0, no
/// address (a NULL string with content NONE, as libchrony sends it),
/// stratum 0, leap "not synchronized", reference time 0 (never).
pub fn tracking_unsynchronized() -> FakeRecord {
    tracking_synchronized()
        .with_value("reference ID", FakeValue::Uinteger(0))
        .with_value("address", FakeValue::String(None))
        .with_content("address", C::None)
        .with_value("stratum", FakeValue::Uinteger(0))
        .with_value("leap status", FakeValue::Uinteger(3))
        .with_value("reference time", FakeValue::Timespec(0, 0))
        .with_value("current correction", FakeValue::Float(0.0))
        .with_value("last offset", FakeValue::Float(0.0))
        .with_value("RMS offset", FakeValue::Float(0.0))
        .with_value("residual frequency", FakeValue::Float(0.0))
        .with_value("root delay", FakeValue::Float(1.0))
        .with_value("root dispersion", FakeValue::Float(1.0))
        .with_value("last update interval", FakeValue::Float(0.0))
}

/// Tracking with the stratum chronyd uses for "unsynchronized" in NTP
/// (16) and leap "not synchronized", after losing its source.
pub fn tracking_stratum_16() -> FakeRecord {
    tracking_unsynchronized().with_value("stratum", FakeValue::Uinteger(16))
}

/// Synchronized, with a leap second to be inserted at the end of the day.
pub fn tracking_leap_insert() -> FakeRecord {
    tracking_synchronized().with_value("leap status", FakeValue::Uinteger(1))
}

/// Synchronized, with a leap second to be deleted at the end of the day.
pub fn tracking_leap_delete() -> FakeRecord {
    tracking_synchronized().with_value("leap status", FakeValue::Uinteger(2))
}

/// Synchronized to a reference clock `GPS0` (stratum 1, no address).
pub fn tracking_refclock() -> FakeRecord {
    tracking_synchronized()
        .with_value("reference ID", FakeValue::Uinteger(refid_text("GPS0")))
        .with_value("address", FakeValue::String(None))
        .with_content("address", C::None)
        .with_value("stratum", FakeValue::Uinteger(1))
        .with_value("root delay", FakeValue::Float(1e-9))
}

/// A newer chronyd that sends fields the models do not know (they must be
/// ignored).
pub fn tracking_with_extra_fields() -> FakeRecord {
    tracking_synchronized()
        .with_extra(FakeField {
            name: "future offset".into(),
            ty: FieldType::Float,
            content: C::OffsetSeconds,
            value: FakeValue::Float(1.0),
            constants: vec![],
        })
        .with_extra(FakeField {
            name: "future mode".into(),
            ty: FieldType::Uinteger,
            content: C::Unknown(99),
            value: FakeValue::Uinteger(7),
            constants: vec![],
        })
}

/// Tracking with a leap status value no current chronyd sends (7): the
/// model keeps it as `LeapStatus::Unknown(7)`.
pub fn tracking_unknown_leap() -> FakeRecord {
    tracking_synchronized().with_value("leap status", FakeValue::Uinteger(7))
}

fn ntp_source(address: &str, state: u64, reach: u64, stratum: u64, offset: f64) -> FakeRecord {
    FakeRecord::new("sources")
        .add_string("address", C::Address, Some(address))
        // libchrony 0.2 does not sign-extend 16-bit fields: poll -2 arrives as 65534.
        .add_integer("poll", C::IntervalLog2Seconds, 6)
        .add_uinteger("stratum", C::Count, stratum)
        .add_enum("state", state, STATE_NAMES)
        .add_enum("mode", 0, MODE_NAMES)
        .add_uinteger("flags", C::None, 0)
        .add_uinteger("reachability", C::Bits, reach)
        .add_uinteger(
            "last sample ago",
            C::IntervalSeconds,
            if reach == 0 { u64::from(u32::MAX) } else { 23 },
        )
        .add_float("original last sample offset", C::OffsetSeconds, offset)
        .add_float(
            "adjusted last sample offset",
            C::OffsetSeconds,
            offset * 1.01,
        )
        .add_float("last sample error", C::MeasureSeconds, 2.5e-4)
}

/// The selected NTP server 192.0.2.1 (reach 377, poll 6).
pub fn source_selected() -> FakeRecord {
    ntp_source("192.0.2.1", 0, 0o377, 1, 1.5e-5)
}

/// A reference clock `GPS0`: its first field is `reference ID` (a
/// uinteger), not `address`.
pub fn source_refclock() -> FakeRecord {
    let rec = ntp_source("x", 5, 0o377, 0, -3.2e-7).with_value("mode", FakeValue::Uinteger(2));
    let mut fields = rec.fields;
    fields[0] = FakeField {
        name: "reference ID".into(),
        ty: FieldType::Uinteger,
        content: C::ReferenceId,
        value: FakeValue::Uinteger(refid_text("GPS0")),
        constants: vec![],
    };
    FakeRecord {
        report: rec.report,
        fields,
    }
    .with_value("poll", FakeValue::Integer(4))
}

/// A falseticker (`x`).
pub fn source_falseticker() -> FakeRecord {
    ntp_source("192.0.2.7", 2, 0o377, 2, 0.25)
}

/// A jittery source (`~`).
pub fn source_jittery() -> FakeRecord {
    ntp_source("2001:db8::123", 3, 0o375, 2, 4.1e-3)
}

/// An unreachable source: reach 0, no sample ever (0xFFFFFFFF), stratum 0,
/// nonselectable (`?`).
pub fn source_unreachable() -> FakeRecord {
    ntp_source("192.0.2.99", 1, 0, 0, 0.0).with_value("poll", FakeValue::Integer(0))
}

/// A source chronyd has not resolved yet: its address is `ID#` + 10 digits.
pub fn source_unresolved() -> FakeRecord {
    ntp_source("ID#0000000001", 1, 0, 0, 0.0)
}

/// A source polled every 0.25 s: poll -2, sent by libchrony 0.2 as 65534.
pub fn source_fast_poll() -> FakeRecord {
    source_selected().with_value("poll", FakeValue::Integer(65534))
}

/// `n` NTP sources (192.0.2.1 up, spread over 192.0.2.0/24 and 198.51.100.0/24)
/// of which the first is selected, every fourth selectable, the rest
/// unselected.
pub fn sources_many(n: usize) -> Vec<FakeRecord> {
    (0..n)
        .map(|i| {
            let addr = if i < 254 {
                format!("192.0.2.{}", i + 1)
            } else {
                format!("198.51.100.{}", i - 253)
            };
            let state = match i {
                0 => 0,
                i if i % 4 == 0 => 5,
                _ => 4,
            };
            ntp_source(&addr, state, 0o377, 2, 1e-6 * i as f64)
        })
        .collect()
}

fn stats(first: FakeField, address: Option<&str>, samples: u64) -> FakeRecord {
    let mut rec = FakeRecord {
        report: "sourcestats".into(),
        fields: vec![first],
    };
    rec = match address {
        Some(a) => rec.add_string("address", C::Address, Some(a)),
        None => rec.add_string("address", C::None, None),
    };
    rec.add_uinteger("samples", C::Count, samples)
        .add_uinteger("runs", C::Count, samples / 2)
        .add_uinteger("span", C::IntervalSeconds, samples * 64)
        .add_float("standard deviation", C::MeasureSeconds, 1.08e-5)
        .add_float("residual frequency", C::OffsetPpm, 0.0018)
        .add_float("skew", C::MeasurePpm, 0.184)
        .add_float("offset", C::OffsetSeconds, 3.1e-7)
        .add_float("offset error", C::MeasureSeconds, 4.2e-6)
}

/// Statistics of the NTP server 192.0.2.1.
pub fn sourcestats_ntp() -> FakeRecord {
    stats(
        FakeField {
            name: "reference ID".into(),
            ty: FieldType::Uinteger,
            content: C::ReferenceId,
            value: FakeValue::Uinteger(ipv4_refid([192, 0, 2, 1])),
            constants: vec![],
        },
        Some("192.0.2.1"),
        12,
    )
}

/// Statistics of the reference clock `GPS0` (its address is a NULL string).
pub fn sourcestats_refclock() -> FakeRecord {
    stats(
        FakeField {
            name: "reference ID".into(),
            ty: FieldType::Uinteger,
            content: C::ReferenceId,
            value: FakeValue::Uinteger(refid_text("GPS0")),
            constants: vec![],
        },
        None,
        16,
    )
}

/// Statistics of a source with no samples yet (std dev 4 s, skew 2000 ppm
/// as chronyd reports it).
pub fn sourcestats_no_samples() -> FakeRecord {
    sourcestats_ntp()
        .with_value("samples", FakeValue::Uinteger(0))
        .with_value("runs", FakeValue::Uinteger(0))
        .with_value("span", FakeValue::Uinteger(0))
        .with_value("standard deviation", FakeValue::Float(4.0))
        .with_value("skew", FakeValue::Float(2000.0))
        .with_value("offset", FakeValue::Float(0.0))
        .with_value("residual frequency", FakeValue::Float(0.0))
}

/// RTC tracking present (chronyd with `rtcfile` and an RTC device).
pub fn rtcdata_present() -> FakeRecord {
    FakeRecord::new("rtcdata")
        .add_timespec("reference time", C::Time, REFERENCE_TIME.0 - 600, 0)
        .add_uinteger("samples", C::Count, 6)
        .add_uinteger("runs", C::Count, 3)
        .add_uinteger("span", C::IntervalSeconds, 3540)
        .add_float("offset", C::OffsetSeconds, -0.312)
        .add_float("frequency offset", C::OffsetPpm, 11.27)
}

/// What a fake report answers, like a daemon would.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeReport {
    /// The records.
    Records(Vec<FakeRecord>),
    /// The feature is off (`CHRONY_DISABLED`): no RTC, no smoothing.
    Disabled,
}

/// RTC tracking absent: chronyd answers "no RTC" (`CHRONY_DISABLED`).
pub fn rtcdata_absent() -> FakeReport {
    FakeReport::Disabled
}

/// Builds every model of a fake multi-record report, skipping records the
/// model marks as not applicable, as `chrony::Client` does.
///
/// # Errors
/// The first model error.
pub fn build<T: FromRecord>(records: &[FakeRecord]) -> chrony::Result<Vec<T>> {
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if let Some(v) = T::from_record(&Record::new(r))? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Builds the model of a single-record report the way `chrony::Client`
/// does: `Ok(None)` when the feature is disabled.
///
/// # Errors
/// The model error.
pub fn build_single<T: FromRecord>(report: &FakeReport) -> chrony::Result<Option<T>> {
    match report {
        FakeReport::Disabled => Ok(None),
        FakeReport::Records(r) => match r.first() {
            None => Ok(None),
            Some(r) => T::from_record(&Record::new(r)),
        },
    }
}

/// The record `index` of `report` as chronyd `version` sent it to the
/// capture (see [`tables`]), or `None`.
pub fn captured(version: &str, report: &str, index: usize) -> Option<FakeRecord> {
    tables::captured(version)?
        .reports
        .get(report)?
        .get(index)
        .cloned()
}
