//! The `rtcdata` report: chronyd's tracking of the real-time clock.

use super::FromRecord;
use crate::error::Result;
use crate::field::{FieldSource, Record};
use crate::Timestamp;

/// libchrony's field names for the rtcdata report.
pub mod fields {
    /// `reference time` (timespec)
    pub const REFERENCE_TIME: &str = "reference time";
    /// `samples` (uinteger)
    pub const SAMPLES: &str = "samples";
    /// `runs` (uinteger)
    pub const RUNS: &str = "runs";
    /// `span` (uinteger, seconds)
    pub const SPAN: &str = "span";
    /// `offset` (float, seconds)
    pub const OFFSET: &str = "offset";
    /// `frequency offset` (float, ppm)
    pub const FREQUENCY_OFFSET: &str = "frequency offset";
}

/// RTC tracking data (`chronyc rtcdata`). [`Client::rtc_data`](crate::Client::rtc_data)
/// returns `Ok(None)` when chronyd does not track an RTC.
///
/// ```
/// # use chrony::{RtcData, Timestamp};
/// let r = RtcData {
///     reference_time: Timestamp::new(1_700_000_000, 0).unwrap(),
///     samples: 6, runs: 3, span: 900, offset: -0.25, frequency_ppm: 11.2,
/// };
/// assert!(r.offset < 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RtcData {
    /// Time of the last RTC measurement.
    pub reference_time: Timestamp,
    /// Number of measurements kept.
    pub samples: u32,
    /// Number of runs of residuals with the same sign.
    pub runs: u32,
    /// Time spanned by the measurements, seconds.
    pub span: u32,
    /// Offset of the RTC, seconds.
    pub offset: f64,
    /// Frequency error of the RTC, ppm.
    pub frequency_ppm: f64,
}

impl FromRecord for RtcData {
    const REPORT: &'static str = "rtcdata";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        Ok(Some(RtcData {
            reference_time: r.get(REFERENCE_TIME)?,
            samples: r.get(SAMPLES)?,
            runs: r.get(RUNS)?,
            span: r.get(SPAN)?,
            offset: r.get(OFFSET)?,
            frequency_ppm: r.get(FREQUENCY_OFFSET)?,
        }))
    }
}
