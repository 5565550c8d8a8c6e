//! The `smoothing` report: the state of server time smoothing
//! (`smoothtime` directive).

use super::FromRecord;
use crate::error::Result;
use crate::field::{FieldSource, Record};

/// libchrony's field names for the smoothing report.
pub mod fields {
    /// `flags` (uinteger, flags: 1 `active`, 2 `leaponly`)
    pub const FLAGS: &str = "flags";
    /// `offset` (float, offset seconds)
    pub const OFFSET: &str = "offset";
    /// `frequency offset` (float, offset ppm)
    pub const FREQUENCY_OFFSET: &str = "frequency offset";
    /// `wander` (float, offset ppm per second)
    pub const WANDER: &str = "wander";
    /// `last update ago` (float, interval seconds)
    pub const LAST_UPDATE_AGO: &str = "last update ago";
    /// `remaining time` (float, interval seconds)
    pub const REMAINING_TIME: &str = "remaining time";
}

/// Bit of [`Smoothing::flags`]: smoothing is active.
pub const FLAG_ACTIVE: u64 = 1;
/// Bit of [`Smoothing::flags`]: only leap seconds are smoothed.
pub const FLAG_LEAP_ONLY: u64 = 2;

/// The smoothing report (`chronyc smoothing`): one record, present only when
/// `smoothtime` is configured (see [`Client::smoothing`](crate::Client::smoothing)).
///
/// ```
/// # use chrony::Smoothing;
/// let s = Smoothing::from_parts(3, 1e-4, 0.01, 1e-5, 2.0, 500.0);
/// assert!(s.active && s.leap_only);
/// assert_eq!(s.flags, 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Smoothing {
    /// Smoothing is active (flag `active`).
    pub active: bool,
    /// Only leap seconds are smoothed (flag `leaponly`).
    pub leap_only: bool,
    /// The raw `flags` field (unknown bits kept).
    pub flags: u64,
    /// Offset of the smoothed time from the local clock, seconds.
    pub offset: f64,
    /// Frequency offset of the smoothed time, ppm.
    pub frequency_ppm: f64,
    /// Wander of the frequency, ppm per second.
    pub wander_ppm_per_second: f64,
    /// Time since the last update, seconds.
    pub last_update_ago: f64,
    /// Time until the smoothing ends, seconds.
    pub remaining_time: f64,
}

impl Smoothing {
    /// Builds the model from the raw flags and the five values in field
    /// order (offset, frequency ppm, wander ppm/s, last update ago,
    /// remaining time).
    pub fn from_parts(
        flags: u64,
        offset: f64,
        frequency_ppm: f64,
        wander_ppm_per_second: f64,
        last_update_ago: f64,
        remaining_time: f64,
    ) -> Smoothing {
        Smoothing {
            active: flags & FLAG_ACTIVE != 0,
            leap_only: flags & FLAG_LEAP_ONLY != 0,
            flags,
            offset,
            frequency_ppm,
            wander_ppm_per_second,
            last_update_ago,
            remaining_time,
        }
    }
}

impl FromRecord for Smoothing {
    const REPORT: &'static str = "smoothing";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        Ok(Some(Smoothing::from_parts(
            r.get(FLAGS)?,
            r.get(OFFSET)?,
            r.get(FREQUENCY_OFFSET)?,
            r.get(WANDER)?,
            r.get(LAST_UPDATE_AGO)?,
            r.get(REMAINING_TIME)?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::more::fake::{Fake, V};

    fn fake(flags: u64) -> Fake {
        Fake::new("smoothing")
            .u(fields::FLAGS, flags)
            .f(fields::OFFSET, -1.5e-3)
            .f(fields::FREQUENCY_OFFSET, 0.25)
            .f(fields::WANDER, 1e-4)
            .f(fields::LAST_UPDATE_AGO, 3.5)
            .f(fields::REMAINING_TIME, 120.0)
    }

    #[test]
    fn flags_and_values() {
        let s = Smoothing::from_record(&Record::new(&fake(1)))
            .unwrap()
            .unwrap();
        assert!(s.active && !s.leap_only);
        assert_eq!(
            (s.offset, s.frequency_ppm, s.wander_ppm_per_second),
            (-1.5e-3, 0.25, 1e-4)
        );
        assert_eq!((s.last_update_ago, s.remaining_time), (3.5, 120.0));
        let s = Smoothing::from_record(&Record::new(&fake(2 | 8)))
            .unwrap()
            .unwrap();
        assert!(!s.active && s.leap_only);
        assert_eq!(s.flags, 10);
        let bad = fake(0).set(fields::OFFSET, V::F(f64::NAN));
        assert!(Smoothing::from_record(&Record::new(&bad)).is_err());
    }
}
