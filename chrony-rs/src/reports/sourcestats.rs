//! The `sourcestats` report: the statistics chronyd keeps per source.

use crate::types::{RefId, SourceId};
use std::time::Duration;

report! {
    /// Statistics of one source (`chronyc sourcestats`).
    ///
    /// ```
    /// use chrony::{FromRecord, Record, SourceStats};
    /// use chrony_testkit::scenarios;
    /// let s = SourceStats::from_record(&Record::new(&scenarios::sourcestats_ntp()))?.unwrap();
    /// assert_eq!(s.reference_id.to_ipv4().to_string(), s.address.to_string());
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub struct SourceStats in "sourcestats" as PerSource {
        /// Reference ID of the source.
        reference_id: RefId = "reference ID", ReferenceId, required;
        /// The source as chronyc prints it (see [`SourceId`]); libchrony's
        /// `address` has no value for reference clocks, which are named by
        /// their reference ID.
        address: SourceId = "address", Address, required by super::convert::address_or_refclock;
        /// Number of samples kept.
        samples: u32 = "samples", Count, required;
        /// Number of runs of residuals with the same sign.
        runs: u32 = "runs", Count, required;
        /// Time between the oldest and newest sample (whole seconds).
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::whole_seconds"))]
        span: Duration = "span", IntervalSeconds, required as super::convert::WholeSeconds;
        /// Standard deviation of the samples, seconds.
        standard_deviation: f64 = "standard deviation", MeasureSeconds, required;
        /// Residual frequency, ppm.
        residual_frequency_ppm: f64 = "residual frequency", OffsetPpm, required;
        /// Estimated error bound of the frequency, ppm.
        skew_ppm: f64 = "skew", MeasurePpm, required;
        /// Estimated offset of the source, seconds.
        offset: f64 = "offset", OffsetSeconds, required;
        /// Error bound of the offset, seconds.
        offset_error: f64 = "offset error", MeasureSeconds, required;
    }
}
