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

/// A reference time used by the scenarios (2026-11-26T12:00:00.123456789Z).
///
/// ```
/// let (secs, nanos) = chrony_testkit::scenarios::REFERENCE_TIME;
/// let t = chrony::Timestamp::new(secs, nanos).unwrap();
/// assert_eq!(t.to_string(), "2026-11-26T12:00:00.123456789Z");
/// ```
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

/// A daemon serving its own clock (`local stratum 10`, no source): chronyd
/// reports reference ID 0x7F7F0101 (127.127.1.1), no address and a normal
/// leap status. `chronyc waitsync` does not count it as synchronized.
pub fn tracking_local_reference() -> FakeRecord {
    tracking_synchronized()
        .with_value("reference ID", FakeValue::Uinteger(0x7f7f_0101))
        .with_value("address", FakeValue::String(None))
        .with_content("address", C::None)
        .with_value("stratum", FakeValue::Uinteger(10))
        .with_value("root delay", FakeValue::Float(0.0))
        .with_value("root dispersion", FakeValue::Float(0.0))
}

/// Synchronized, from a chronyd built with a 32-bit `time_t` (for example
/// 32-bit ARM Debian bookworm): the high word of the reference time's
/// seconds is chronyd's "no high seconds" marker 0x7fffffff, which
/// libchrony passes through (`tv_sec` = 0x7fffffff << 32 | low word).
pub fn tracking_32bit_time_t() -> FakeRecord {
    tracking_synchronized().with_value(
        "reference time",
        FakeValue::Timespec((0x7fff_ffff << 32) | REFERENCE_TIME.0, REFERENCE_TIME.1),
    )
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

// ---------------------------------------------------------------------------
// The other six reports. These start from records captured from real
// daemons (see `tables`), with the test network's addresses replaced by
// documentation addresses, so their field sets are exactly what each chronyd
// version sends.

/// The chronyd versions whose field sets the scenarios below mirror.
pub const LATEST: &str = "4.9";
/// The oldest captured version (fewer serverstats and ntpdata fields).
pub const OLDEST: &str = "4.3";

fn table_record(version: &str, report: &str, index: usize) -> FakeRecord {
    let rec = captured(version, report, index)
        .unwrap_or_else(|| panic!("captured table {version} has no {report} record {index}"));
    relabel(rec)
}

/// Replaces the capture network's addresses (client `.2`, server `.10`,
/// unreachable `.200` of a 172.29.x.0/24) by 192.0.2.2, .1 and .99.
fn relabel(mut rec: FakeRecord) -> FakeRecord {
    let map = |ip: &str| -> Option<&'static str> {
        let rest = ip.strip_prefix("172.29.")?;
        match rest.rsplit('.').next()? {
            "2" => Some("192.0.2.2"),
            "10" => Some("192.0.2.1"),
            "200" => Some("192.0.2.99"),
            _ => None,
        }
    };
    for f in &mut rec.fields {
        match &mut f.value {
            FakeValue::String(Some(bytes)) => {
                if let Some(new) = std::str::from_utf8(bytes).ok().and_then(map) {
                    *bytes = new.as_bytes().to_vec();
                }
            }
            FakeValue::Uinteger(v) if f.content == C::ReferenceId => {
                let ip = std::net::Ipv4Addr::from(*v as u32).to_string();
                if let Some(new) = map(&ip) {
                    *v = u64::from(u32::from(new.parse::<std::net::Ipv4Addr>().expect("valid")));
                }
            }
            _ => {}
        }
    }
    rec
}

/// The activity report: two sources online.
pub fn activity_online() -> FakeRecord {
    table_record(LATEST, "activity", 0)
}

/// Activity with sources offline, in burst and unresolved.
pub fn activity_mixed() -> FakeRecord {
    activity_online()
        .with_value("online sources", FakeValue::Uinteger(3))
        .with_value("offline sources", FakeValue::Uinteger(2))
        .with_value("burst online-return sources", FakeValue::Uinteger(1))
        .with_value("burst offline-return sources", FakeValue::Uinteger(1))
        .with_value("unresolved sources", FakeValue::Uinteger(4))
}

/// serverstats of chronyd 4.6 and later: 21 fields (17 counters, 4
/// reserved), with 64-bit counters.
pub fn serverstats_chronyd_4_6() -> FakeRecord {
    table_record(LATEST, "serverstats", 0)
        .with_value("received NTP requests", FakeValue::Uinteger(5_000_000_000))
        .with_value("received command requests", FakeValue::Uinteger(1234))
}

/// serverstats of chronyd 4.2 to 4.5: 11 fields; the timestamp counters a
/// newer chronyd sends are absent (the model says `None`, not 0).
pub fn serverstats_chronyd_4_3() -> FakeRecord {
    table_record(OLDEST, "serverstats", 0)
        .with_value("received NTP requests", FakeValue::Uinteger(42))
}

/// serverstats of chronyd 4.0 and 4.1: 8 fields (no interleaved or
/// timestamp counters).
pub fn serverstats_chronyd_4_0() -> FakeRecord {
    serverstats_chronyd_4_3()
        .without("received interleaved NTP requests")
        .without("held NTP timestamps")
        .without("NTP timestamp span")
}

/// serverstats of chronyd 3.x: 5 fields (no NTS-KE or authentication
/// counters).
pub fn serverstats_chronyd_3() -> FakeRecord {
    serverstats_chronyd_4_0()
        .without("accepted NTS-KE connections")
        .without("dropped NTS-KE connections")
        .without("received authenticated NTP requests")
}

/// Time smoothing enabled for leap seconds only (`smoothtime 400 0.001
/// leaponly`), currently active.
pub fn smoothing_active() -> FakeRecord {
    table_record(LATEST, "smoothing", 0)
        .with_value("offset", FakeValue::Float(0.25))
        .with_value("frequency offset", FakeValue::Float(-12.5))
        .with_value("wander", FakeValue::Float(0.001))
        .with_value("remaining time", FakeValue::Float(320.0))
}

/// Time smoothing not enabled: libchrony says `CHRONY_DISABLED`.
pub fn smoothing_disabled() -> FakeReport {
    FakeReport::Disabled
}

/// selectdata of the selected reference clock (state `*`, "best").
pub fn selectdata_refclock_best() -> FakeRecord {
    table_record(LATEST, "selectdata", 0)
}

/// selectdata of an NTP source with state `D` (large distance).
pub fn selectdata_distant() -> FakeRecord {
    table_record(LATEST, "selectdata", 1)
}

/// selectdata of an unreachable source (`M`: missing samples; chronyd 4.3
/// says `s`, not synchronized).
pub fn selectdata_unreachable() -> FakeRecord {
    table_record(LATEST, "selectdata", 2)
}

/// selectdata of a source configured `prefer` and `noselect`.
pub fn selectdata_prefer_noselect() -> FakeRecord {
    selectdata_distant()
        .with_value("configured options", FakeValue::Uinteger(1 | 2))
        .with_value("effective options", FakeValue::Uinteger(1 | 2))
        .with_value("state", FakeValue::Uinteger(u64::from(b'N')))
}

/// selectdata with a state character no current chronyd uses (`?`): kept
/// as an unknown value.
pub fn selectdata_unknown_state() -> FakeRecord {
    selectdata_distant().with_value("state", FakeValue::Uinteger(u64::from(b'?')))
}

/// ntpdata of a reachable server as chronyd 4.6+ sends it: 33 fields,
/// including the kernel/hardware timestamp counters.
pub fn ntpdata_chronyd_4_6() -> FakeRecord {
    table_record(LATEST, "ntpdata", 1)
}

/// ntpdata of the same kind of server from chronyd 4.3: 28 fields, no
/// timestamp counters (the model says `None`).
pub fn ntpdata_chronyd_4_3() -> FakeRecord {
    table_record(OLDEST, "ntpdata", 1)
}

/// ntpdata of a server that never answered: no local address (NULL),
/// mode and timestamping 0.
pub fn ntpdata_unreachable() -> FakeRecord {
    table_record(LATEST, "ntpdata", 2)
}

/// ntpdata of a reference clock: a record with no fields (the model skips
/// it).
pub fn ntpdata_refclock() -> FakeRecord {
    table_record(LATEST, "ntpdata", 0)
}

/// authdata of a source without authentication.
pub fn authdata_none() -> FakeRecord {
    table_record(LATEST, "authdata", 1)
}

/// authdata of an NTS source: AEAD-AES-SIV-CMAC-256, 8 cookies of 100
/// bytes, key established 300 s ago.
pub fn authdata_nts() -> FakeRecord {
    authdata_none()
        .with_value("mode", FakeValue::Uinteger(2))
        .with_value("key type", FakeValue::Uinteger(15))
        .with_value("key length", FakeValue::Uinteger(256))
        .with_value("key establishment attempts", FakeValue::Uinteger(1))
        .with_value("last key establishment ago", FakeValue::Uinteger(300))
        .with_value("cookies", FakeValue::Uinteger(8))
        .with_value("cookie length", FakeValue::Uinteger(100))
}

/// authdata of a source with a symmetric key (SHA256, key ID 5, 160 bits).
pub fn authdata_symmetric_key() -> FakeRecord {
    authdata_none()
        .with_value("mode", FakeValue::Uinteger(1))
        .with_value("key type", FakeValue::Uinteger(3))
        .with_value("key ID", FakeValue::Uinteger(5))
        .with_value("key length", FakeValue::Uinteger(160))
}

/// authdata of a reference clock: a record with no fields.
pub fn authdata_refclock() -> FakeRecord {
    table_record(LATEST, "authdata", 0)
}
