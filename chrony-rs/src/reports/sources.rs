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
