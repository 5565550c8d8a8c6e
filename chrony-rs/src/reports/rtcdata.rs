//! The `rtcdata` report: chronyd's tracking of the real-time clock.

use crate::time::Timestamp;
use std::time::Duration;

report! {
    /// RTC tracking data (`chronyc rtcdata`). [`Client::rtc_data`](crate::Client::rtc_data)
    /// returns `Ok(None)` when chronyd does not track an RTC.
    ///
    /// ```
    /// use chrony::{FromRecord, Record, RtcData};
    /// let r = RtcData::from_record(&Record::new(&chrony_testkit::scenarios::rtcdata_present()))?.unwrap();
    /// assert!(r.samples > 0);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub struct RtcData in "rtcdata" as Optional {
        /// Time of the last RTC measurement.
        reference_time: Timestamp = "reference time", Time, required;
        /// Number of measurements kept.
        samples: u32 = "samples", Count, required;
        /// Number of runs of residuals with the same sign.
        runs: u32 = "runs", Count, required;
        /// Time spanned by the measurements (whole seconds).
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::whole_seconds"))]
        span: Duration = "span", IntervalSeconds, required as super::convert::WholeSeconds;
        /// Offset of the RTC, seconds.
        offset: f64 = "offset", OffsetSeconds, required;
        /// Frequency error of the RTC, ppm.
        frequency_ppm: f64 = "frequency offset", OffsetPpm, required;
    }
}
