//! The `tracking` report: the state of the system clock.

use super::FromRecord;
use crate::error::Result;
use crate::field::{FieldSource, Record};
use crate::{LeapStatus, RefId, Timestamp};

/// libchrony's field names for the tracking report.
pub mod fields {
    /// `reference ID` (uinteger, reference ID)
    pub const REFERENCE_ID: &str = "reference ID";
    /// `address` (string, address)
    pub const ADDRESS: &str = "address";
    /// `stratum` (uinteger, count)
    pub const STRATUM: &str = "stratum";
    /// `leap status` (uinteger, enum)
    pub const LEAP_STATUS: &str = "leap status";
    /// `reference time` (timespec, time)
    pub const REFERENCE_TIME: &str = "reference time";
    /// `current correction` (float, offset seconds)
    pub const CURRENT_CORRECTION: &str = "current correction";
    /// `last offset` (float, offset seconds)
    pub const LAST_OFFSET: &str = "last offset";
    /// `RMS offset` (float, measure seconds)
    pub const RMS_OFFSET: &str = "RMS offset";
    /// `frequency offset` (float, offset ppm)
    pub const FREQUENCY_OFFSET: &str = "frequency offset";
    /// `residual frequency` (float, offset ppm)
    pub const RESIDUAL_FREQUENCY: &str = "residual frequency";
    /// `skew` (float, measure ppm)
    pub const SKEW: &str = "skew";
    /// `root delay` (float, measure seconds)
    pub const ROOT_DELAY: &str = "root delay";
    /// `root dispersion` (float, measure seconds)
    pub const ROOT_DISPERSION: &str = "root dispersion";
    /// `last update interval` (float, interval seconds)
    pub const LAST_UPDATE_INTERVAL: &str = "last update interval";
}

/// The tracking report (`chronyc tracking`): how the system clock is
/// synchronized.
///
/// Seconds are unmarked, ppm values end in `_ppm`. Signs are chronyd's: a
/// positive `current_correction` means the system clock is behind (chronyc
/// prints "fast"/"slow" instead of signs).
///
/// ```
/// # use chrony::{Tracking, LeapStatus, RefId, Timestamp};
/// let t = Tracking {
///     reference_id: RefId(0x7f00_0001),
///     address: Some("127.0.0.1".into()),
///     stratum: 2,
///     leap_status: LeapStatus::Normal,
///     reference_time: Timestamp::new(1_700_000_000, 0).unwrap(),
///     current_correction: 1e-6,
///     last_offset: -2e-7,
///     rms_offset: 3e-7,
///     frequency_ppm: -12.5,
///     residual_frequency_ppm: 0.001,
///     skew_ppm: 0.05,
///     root_delay: 1e-3,
///     root_dispersion: 2e-4,
///     last_update_interval: 64.0,
/// };
/// assert!(t.is_synchronized());
/// assert!(!t.is_leap_pending());
/// assert_eq!(t.reference_name(), "127.0.0.1");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Tracking {
    /// Reference ID of the selected source (0 when unsynchronized).
    pub reference_id: RefId,
    /// Address of the selected source; `None` when there is none (reference
    /// clocks, unsynchronized).
    pub address: Option<String>,
    /// Stratum of the local clock (0 or 16: not synchronized... see
    /// [`Tracking::is_synchronized`]).
    pub stratum: u16,
    /// Leap status.
    pub leap_status: LeapStatus,
    /// Time of the last update from the reference (epoch when never).
    pub reference_time: Timestamp,
    /// Offset of the system clock that chronyd is still correcting, seconds.
    pub current_correction: f64,
    /// Offset at the last clock update, seconds.
    pub last_offset: f64,
    /// Long-term RMS of the offset, seconds.
    pub rms_offset: f64,
    /// Frequency error of the system clock, ppm.
    pub frequency_ppm: f64,
    /// Residual frequency of the selected source, ppm.
    pub residual_frequency_ppm: f64,
    /// Estimated error bound of the frequency, ppm.
    pub skew_ppm: f64,
    /// Total network delay to the stratum-1 root, seconds.
    pub root_delay: f64,
    /// Total dispersion to the root, seconds.
    pub root_dispersion: f64,
    /// Interval between the last two clock updates, seconds.
    pub last_update_interval: f64,
}

impl Tracking {
    /// True when chronyd is synchronized to a source: leap status is not
    /// "unsynchronized", the reference ID is set and the stratum is below 16.
    pub fn is_synchronized(&self) -> bool {
        self.leap_status != LeapStatus::Unsynchronized
            && self.reference_id.0 != 0
            && self.stratum < 16
    }

    /// True when a leap second is announced (insert or delete).
    pub fn is_leap_pending(&self) -> bool {
        matches!(self.leap_status, LeapStatus::Insert | LeapStatus::Delete)
    }

    /// What chronyc shows as the reference name: the address, or the
    /// reference ID as text for a reference clock, or its hex form.
    pub fn reference_name(&self) -> String {
        match &self.address {
            Some(a) if !a.is_empty() => a.clone(),
            _ => self.reference_id.label(),
        }
    }
}

impl FromRecord for Tracking {
    const REPORT: &'static str = "tracking";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        Ok(Some(Tracking {
            reference_id: r.get(REFERENCE_ID)?,
            address: r.get(ADDRESS)?,
            stratum: r.get(STRATUM)?,
            leap_status: r.get(LEAP_STATUS)?,
            reference_time: r.get(REFERENCE_TIME)?,
            current_correction: r.get(CURRENT_CORRECTION)?,
            last_offset: r.get(LAST_OFFSET)?,
            rms_offset: r.get(RMS_OFFSET)?,
            frequency_ppm: r.get(FREQUENCY_OFFSET)?,
            residual_frequency_ppm: r.get(RESIDUAL_FREQUENCY)?,
            skew_ppm: r.get(SKEW)?,
            root_delay: r.get(ROOT_DELAY)?,
            root_dispersion: r.get(ROOT_DISPERSION)?,
            last_update_interval: r.get(LAST_UPDATE_INTERVAL)?,
        }))
    }
}
