//! The `sourcestats` report: the statistics chronyd keeps per source.

use super::FromRecord;
use crate::error::Result;
use crate::field::{FieldSource, Record};
use crate::RefId;

/// libchrony's field names for the sourcestats report.
pub mod fields {
    /// `reference ID` (uinteger)
    pub const REFERENCE_ID: &str = "reference ID";
    /// `address` (string; no value for reference clocks)
    pub const ADDRESS: &str = "address";
    /// `samples` (uinteger)
    pub const SAMPLES: &str = "samples";
    /// `runs` (uinteger)
    pub const RUNS: &str = "runs";
    /// `span` (uinteger, seconds)
    pub const SPAN: &str = "span";
    /// `standard deviation` (float, seconds)
    pub const STANDARD_DEVIATION: &str = "standard deviation";
    /// `residual frequency` (float, ppm)
    pub const RESIDUAL_FREQUENCY: &str = "residual frequency";
    /// `skew` (float, ppm)
    pub const SKEW: &str = "skew";
    /// `offset` (float, seconds)
    pub const OFFSET: &str = "offset";
    /// `offset error` (float, seconds)
    pub const OFFSET_ERROR: &str = "offset error";
}

/// Statistics of one source (`chronyc sourcestats`).
///
/// ```
/// # use chrony::{RefId, SourceStats};
/// let s = SourceStats {
///     reference_id: RefId(0xc000_0201),
///     address: "192.0.2.1".into(),
///     samples: 8, runs: 5, span: 120,
///     standard_deviation: 1e-5, residual_frequency_ppm: 0.01, skew_ppm: 0.2,
///     offset: -3e-6, offset_error: 4e-6,
/// };
/// assert_eq!(s.reference_id.to_ipv4().to_string(), s.address);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceStats {
    /// Reference ID of the source.
    pub reference_id: RefId,
    /// IP address as text, or for a reference clock its reference ID as text
    /// (`GPS0`), as chronyc prints it.
    pub address: String,
    /// Number of samples kept.
    pub samples: u32,
    /// Number of runs of residuals with the same sign.
    pub runs: u32,
    /// Time between the oldest and newest sample, seconds.
    pub span: u32,
    /// Standard deviation of the samples, seconds.
    pub standard_deviation: f64,
    /// Residual frequency, ppm.
    pub residual_frequency_ppm: f64,
    /// Estimated error bound of the frequency, ppm.
    pub skew_ppm: f64,
    /// Estimated offset of the source, seconds.
    pub offset: f64,
    /// Error bound of the offset, seconds.
    pub offset_error: f64,
}

impl FromRecord for SourceStats {
    const REPORT: &'static str = "sourcestats";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        let reference_id: RefId = r.get(REFERENCE_ID)?;
        let address = super::source_name(r, reference_id)?;
        Ok(Some(SourceStats {
            reference_id,
            address,
            samples: r.get(SAMPLES)?,
            runs: r.get(RUNS)?,
            span: r.get(SPAN)?,
            standard_deviation: r.get(STANDARD_DEVIATION)?,
            residual_frequency_ppm: r.get(RESIDUAL_FREQUENCY)?,
            skew_ppm: r.get(SKEW)?,
            offset: r.get(OFFSET)?,
            offset_error: r.get(OFFSET_ERROR)?,
        }))
    }
}
