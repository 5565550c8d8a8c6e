//! The `sources` report: one record per time source.

use super::{interval_or_never, FromRecord};
use crate::error::Result;
use crate::field::{FieldSource, Record};
use crate::{RefId, SourceMode, SourceState};

/// libchrony's field names for the sources report.
pub mod fields {
    /// `address` (string): NTP sources only.
    pub const ADDRESS: &str = "address";
    /// `reference ID` (uinteger): reference clocks only, in place of `address`.
    pub const REFERENCE_ID: &str = "reference ID";
    /// `poll` (integer, log2 seconds; 16-bit signed)
    pub const POLL: &str = "poll";
    /// `stratum` (uinteger)
    pub const STRATUM: &str = "stratum";
    /// `state` (uinteger, enum)
    pub const STATE: &str = "state";
    /// `mode` (uinteger, enum)
    pub const MODE: &str = "mode";
    /// `flags` (uinteger)
    pub const FLAGS: &str = "flags";
    /// `reachability` (uinteger, 8-bit register)
    pub const REACHABILITY: &str = "reachability";
    /// `last sample ago` (uinteger, seconds; 0xFFFFFFFF = never)
    pub const LAST_SAMPLE_AGO: &str = "last sample ago";
    /// `original last sample offset` (float, seconds)
    pub const ORIGINAL_OFFSET: &str = "original last sample offset";
    /// `adjusted last sample offset` (float, seconds)
    pub const ADJUSTED_OFFSET: &str = "adjusted last sample offset";
    /// `last sample error` (float, seconds)
    pub const ERROR: &str = "last sample error";
}

/// One source of the sources report (`chronyc sources`).
///
/// ```
/// # use chrony::{Source, SourceMode, SourceState};
/// let s = Source {
///     address: "192.0.2.1".into(),
///     reference_id: None,
///     mode: SourceMode::Client,
///     state: SourceState::Selected,
///     poll: 6,
///     stratum: 2,
///     flags: 0,
///     reachability: 0o377,
///     last_sample_ago: Some(12),
///     original_offset: 1e-5,
///     adjusted_offset: 1.1e-5,
///     error: 2e-4,
/// };
/// assert!(s.is_reachable() && s.is_selected());
/// assert_eq!(s.poll_interval().as_secs(), 64);
/// assert_eq!(Source { poll: 300, ..s }.poll_interval(), std::time::Duration::MAX);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Source {
    /// The source's IP address as text (`ID#0000000001` while chronyd has
    /// not resolved it), or for a reference clock its reference ID as text
    /// (`GPS0`), as chronyc prints it.
    pub address: String,
    /// The reference ID, sent for reference clocks only (`None` for NTP
    /// sources).
    pub reference_id: Option<RefId>,
    /// Client, peer or reference clock.
    pub mode: SourceMode,
    /// Selection state.
    pub state: SourceState,
    /// Polling interval, log2 seconds (may be negative).
    pub poll: i16,
    /// Stratum the source reports.
    pub stratum: u16,
    /// Source flags (always 0 in current chronyd; selection options are in
    /// the selectdata report).
    pub flags: u16,
    /// Reachability register: one bit per recent poll, newest in bit 0.
    pub reachability: u8,
    /// Seconds since the last good sample; `None` when there was none
    /// (chronyd sends 0xFFFFFFFF).
    pub last_sample_ago: Option<u32>,
    /// Offset of the last sample as measured, seconds.
    pub original_offset: f64,
    /// Offset of the last sample adjusted for later clock changes, seconds.
    pub adjusted_offset: f64,
    /// Error bound of the last sample, seconds.
    pub error: f64,
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

impl FromRecord for Source {
    const REPORT: &'static str = "sources";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        let (address, reference_id) = match r.get_opt::<Option<String>>(ADDRESS)? {
            Some(Some(a)) => (a, None),
            _ => {
                let id: RefId = r.get(REFERENCE_ID)?;
                (id.label(), Some(id))
            }
        };
        Ok(Some(Source {
            address,
            reference_id,
            mode: r.get(MODE)?,
            state: r.get(STATE)?,
            poll: r.get(POLL)?,
            stratum: r.get(STRATUM)?,
            flags: r.get(FLAGS)?,
            reachability: r.get(REACHABILITY)?,
            last_sample_ago: interval_or_never(r, LAST_SAMPLE_AGO)?,
            original_offset: r.get(ORIGINAL_OFFSET)?,
            adjusted_offset: r.get(ADJUSTED_OFFSET)?,
            error: r.get(ERROR)?,
        }))
    }
}
