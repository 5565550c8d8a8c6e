//! Typed models of chronyd's reports, each built from a [`Record`] by field
//! name. Nothing here touches libchrony: the same code reads live records
//! and fake ones.
#![forbid(unsafe_code)]

pub mod activity;
pub mod authdata;
pub(crate) mod more;
pub mod ntpdata;
pub mod rtcdata;
pub mod selectdata;
pub mod serverstats;
pub mod smoothing;
pub mod sources;
pub mod sourcestats;
pub mod tracking;

use crate::error::Result;
use crate::field::{FieldSource, Record};

/// A model built from one record of a report.
pub trait FromRecord: Sized {
    /// The libchrony report name (`tracking`, `sources`, ...).
    const REPORT: &'static str;

    /// Builds the model, or `Ok(None)` for a record the report marks as not
    /// applicable (for example an ntpdata record of a reference clock,
    /// which has no fields).
    ///
    /// # Errors
    /// [`crate::Error::BadData`] naming the field.
    fn from_record<S: FieldSource + ?Sized>(record: &Record<'_, S>) -> Result<Option<Self>>;
}

/// Reads an "ago" interval where chronyd's 0xFFFFFFFF means "never".
pub(crate) fn interval_or_never<S: FieldSource + ?Sized>(
    rec: &Record<'_, S>,
    name: &str,
) -> Result<Option<u32>> {
    let v: u32 = rec.get(name)?;
    Ok((v != u32::MAX).then_some(v))
}

/// The name chronyc prints for a source: its `address` field when it has a
/// value, otherwise (reference clocks) its reference ID as text (`GPS0`),
/// or in hex when not printable.
pub(crate) fn source_name<S: FieldSource + ?Sized>(
    rec: &Record<'_, S>,
    reference_id: crate::RefId,
) -> Result<String> {
    Ok(match rec.get_opt::<Option<String>>("address")? {
        Some(Some(a)) => a,
        _ => reference_id.label(),
    })
}
