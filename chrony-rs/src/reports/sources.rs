//! The `sources` report: one record per time source.

use crate::error::Result;
use crate::field::{FieldSource, Record};
use crate::types::{RefId, SourceId, SourceMode, SourceState};
use std::time::Duration;

report! {
    /// One source of the sources report (`chronyc sources`).
    ///
    /// ```
    /// use chrony::{FromRecord, Record, Source};
    /// use chrony_testkit::scenarios;
    /// let s = Source::from_record(&Record::new(&scenarios::source_selected()))?.unwrap();
    /// assert!(s.is_reachable() && s.is_selected());
    /// assert_eq!(s.address.to_string(), "192.0.2.1");
    /// assert_eq!(s.poll_interval().as_secs(), 64);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub struct Source in "sources" as PerSource {
        /// The source as chronyc prints it: its IP address, `ID#0000000001`
        /// while chronyd has not resolved it, or for a reference clock its
        /// reference ID (`GPS0`).
        address: SourceId = "address", Address, alternative by source_id as Option<SourceId>;
        /// The reference ID, sent for reference clocks only (`None` for NTP
        /// sources).
        reference_id: Option<RefId> = "reference ID", ReferenceId, alternative;
        /// Polling interval, log2 seconds (may be negative).
        poll: i16 = "poll", IntervalLog2Seconds, required;
        /// Stratum the source reports.
        stratum: u16 = "stratum", Count, required;
        /// Selection state.
        state: SourceState = "state", Enum, required;
        /// Client, peer or reference clock.
        mode: SourceMode = "mode", Enum, required;
        /// Source flags (always 0 in current chronyd; selection options are in
        /// the selectdata report).
        flags: u16 = "flags", None, required;
        /// Reachability register: one bit per recent poll, newest in bit 0.
        reachability: u8 = "reachability", Bits, required;
        /// Time since the last good sample (whole seconds); `None` when
        /// there was none (chronyd sends 0xFFFFFFFF).
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::whole_seconds_opt"))]
        last_sample_ago: Option<Duration> = "last sample ago", IntervalSeconds, required as super::convert::Never;
        /// Offset of the last sample as measured, seconds.
        original_offset: f64 = "original last sample offset", OffsetSeconds, required;
        /// Offset of the last sample adjusted for later clock changes, seconds.
        adjusted_offset: f64 = "adjusted last sample offset", OffsetSeconds, required;
        /// Error bound of the last sample, seconds.
        error: f64 = "last sample error", MeasureSeconds, required;
    }
}

/// The sources report has `address` for NTP sources and `reference ID` in
/// its place for reference clocks.
fn source_id<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<SourceId> {
    match r.get_opt::<Option<SourceId>>("address")? {
        Some(Some(id)) => Ok(id),
        _ => Ok(SourceId::RefClock(r.get("reference ID")?)),
    }
}

impl Source {
    /// True when any of the last eight polls got an answer.
    pub fn is_reachable(&self) -> bool {
        self.reachability != 0
    }

    /// True when this is the source chronyd synchronizes to.
    pub fn is_selected(&self) -> bool {
        self.state == SourceState::Selected
    }

    /// True for reference clocks.
    pub fn is_reference_clock(&self) -> bool {
        self.mode == SourceMode::ReferenceClock
    }

    /// The polling interval as a duration (sub-second for negative `poll`).
    ///
    /// Saturates at `Duration::MAX` for a `poll` too large to represent
    /// (chronyd itself never exceeds 24).
    pub fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(2f64.powi(i32::from(self.poll)))
            .unwrap_or(std::time::Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::FromRecord;
    use crate::test_record::{TestRecord, V};

    /// A sources record of an NTP source as chronyd 4.x sends it.
    fn record() -> TestRecord {
        TestRecord {
            report: "sources",
            fields: vec![
                ("address", V::S(Some("192.0.2.1"))),
                ("poll", V::I(6)),
                ("stratum", V::U(2)),
                ("state", V::U(0)),
                ("mode", V::U(0)),
                ("flags", V::U(0)),
                ("reachability", V::U(0o377)),
                ("last sample ago", V::U(23)),
                ("original last sample offset", V::F(1e-4)),
                ("adjusted last sample offset", V::F(1.1e-4)),
                ("last sample error", V::F(2e-3)),
            ],
        }
    }

    fn source(rec: &TestRecord) -> Source {
        Source::from_record(&Record::new(rec)).unwrap().unwrap()
    }

    #[test]
    fn a_negative_poll_is_read_with_its_sign() {
        // libchrony 0.2 gives chronyd's -2 as 65534.
        let s = source(&record().with("poll", V::I(65534)));
        assert_eq!(s.poll, -2);
        assert_eq!(s.poll_interval(), Duration::from_millis(250));
        let s = source(&record());
        assert_eq!((s.poll, s.poll_interval()), (6, Duration::from_secs(64)));
    }

    #[test]
    fn never_sampled_is_none_and_a_refclock_is_named_by_its_id() {
        let s = source(&record().with("last sample ago", V::U(0xFFFF_FFFF)));
        assert_eq!(s.last_sample_ago, None);
        let mut refclock = record().with("address", V::S(None));
        refclock.fields.push(("reference ID", V::U(0x4750_5300)));
        let s = source(&refclock);
        assert_eq!(s.address.to_string(), "GPS");
        assert_eq!(s.reference_id, Some(RefId(0x4750_5300)));
    }
}
