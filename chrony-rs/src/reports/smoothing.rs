//! The `smoothing` report: the state of server time smoothing
//! (`smoothtime` directive).

use std::time::Duration;

flag_set! {
    /// The `flags` of the smoothing report.
    ///
    /// ```
    /// use chrony::SmoothingFlags;
    /// let f = SmoothingFlags::from_raw(SmoothingFlags::ACTIVE | SmoothingFlags::LEAP_ONLY);
    /// assert!(f.active && f.leap_only);
    /// assert_eq!(f.raw, 3);
    /// ```
    pub struct SmoothingFlags {
        /// Smoothing is active (flag `active`).
        active = ACTIVE = 1;
        /// Only leap seconds are smoothed (flag `leaponly`).
        leap_only = LEAP_ONLY = 2;
    }
}

report! {
    /// The smoothing report (`chronyc smoothing`): one record, present only when
    /// `smoothtime` is configured (see [`Client::smoothing`](crate::Client::smoothing)).
    ///
    /// ```
    /// use chrony::{FromRecord, Record, Smoothing};
    /// let s = Smoothing::from_record(&Record::new(&chrony_testkit::scenarios::smoothing_active()))?.unwrap();
    /// assert!(s.flags.active && s.flags.leap_only);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub struct Smoothing in "smoothing" as Optional {
        /// Whether smoothing is active, and for leap seconds only.
        flags: SmoothingFlags = "flags", Flags, required;
        /// Offset of the smoothed time from the local clock, seconds.
        offset: f64 = "offset", OffsetSeconds, required;
        /// Frequency offset of the smoothed time, ppm.
        frequency_ppm: f64 = "frequency offset", OffsetPpm, required;
        /// Wander of the frequency, ppm per second.
        wander_ppm_per_second: f64 = "wander", OffsetPpmPerSecond, required;
        /// Time since the last update.
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::seconds"))]
        last_update_ago: Duration = "last update ago", IntervalSeconds, required as super::convert::FloatSeconds;
        /// Time until the smoothing ends.
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::seconds"))]
        remaining_time: Duration = "remaining time", IntervalSeconds, required as super::convert::FloatSeconds;
    }
}
