//! Where a read puts each report's records: a [`Sink`] per report, with
//! the [`Plan`] the engine reads it by. [`ReportSink`] builds values from
//! the records (typed models, generic records, a caller's closure).

use crate::error::{Error, Result};
use crate::field::{FieldSource, Record};
use crate::reports::{Descriptor, FromRecord, ReportShape};
use crate::types::SourceId;
use std::ffi::{c_int, CStr};

/// How a report is read: its libchrony name and the facts of its
/// [`Descriptor`] that the engine acts on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) report: &'static CStr,
    pub(crate) per_source: bool,
    /// Exactly one record (tracking, rtcdata, ...): no count is asked.
    pub(crate) single_record: bool,
    pub(crate) disabled_means_absent: bool,
    /// Each record follows the source's record of `pair_with` on the same
    /// session (authdata after sourcestats).
    pub(crate) paired: bool,
    pub(crate) pair_with: &'static CStr,
}

impl Plan {
    pub(crate) fn of(descriptor: &Descriptor, paired: bool) -> Result<Plan> {
        Ok(Plan {
            report: descriptor.c_name()?,
            per_source: descriptor.per_source(),
            single_record: descriptor.single_record()?,
            disabled_means_absent: descriptor.disabled_means_absent(),
            paired: paired && descriptor.paired(),
            pair_with: crate::reports::sourcestats::SourceStats::DESCRIPTOR.c_name()?,
        })
    }
}

/// Where the records of one report of a read go.
pub(crate) trait Sink {
    fn plan(&self) -> Plan;
    fn report(&self) -> &'static CStr {
        self.plan().report
    }
    /// Takes record `index`, with its paired address.
    fn record(
        &mut self,
        index: c_int,
        record: &Record<'_, dyn FieldSource + '_>,
        address: Option<SourceId>,
    ) -> Result<()>;
    /// Takes the error that ended the report (one the read's `keep`
    /// accepted).
    fn keep(&mut self, error: Error);
    /// Forgets what was read, and any error (before a re-read).
    fn clear(&mut self);
}

/// The values built from one report's records.
pub(crate) struct ReportSink<T, F> {
    plan: Plan,
    build: F,
    values: Vec<(c_int, T)>,
    /// The error that ended the report, when the read kept it.
    pub(crate) error: Option<Error>,
}

/// Builds a model from a record and its paired address.
pub(crate) type TypedBuild<T> =
    for<'r, 's> fn(&Record<'r, dyn FieldSource + 's>, Option<SourceId>) -> Result<Option<T>>;

fn build_typed<T: FromRecord>(
    r: &Record<'_, dyn FieldSource + '_>,
    address: Option<SourceId>,
) -> Result<Option<T>> {
    Ok(T::from_record(r)?.map(|t| t.with_paired_address(address)))
}

impl<T: FromRecord> ReportSink<T, TypedBuild<T>> {
    /// The sink of a typed report.
    pub(crate) fn typed() -> Result<Self> {
        ReportSink::new(&T::DESCRIPTOR, true, build_typed::<T> as TypedBuild<T>)
    }

    /// The model's result (see [`ReportShape`]).
    pub(crate) fn output(self) -> Result<<T::Shape as ReportShape<T>>::Output> {
        <T::Shape as ReportShape<T>>::assemble(T::DESCRIPTOR.name, self.into_values())
    }
}

impl<T, F> ReportSink<T, F>
where
    F: for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>, Option<SourceId>) -> Result<Option<T>>,
{
    pub(crate) fn new(descriptor: &Descriptor, paired: bool, build: F) -> Result<Self> {
        Ok(ReportSink {
            plan: Plan::of(descriptor, paired)?,
            build,
            values: Vec::new(),
            error: None,
        })
    }

    /// The values in record order (records finish out of order over
    /// several sessions).
    pub(crate) fn into_values(mut self) -> Vec<T> {
        if self.values.len() > 1 {
            self.values.sort_by_key(|(i, _)| *i);
        }
        self.values.into_iter().map(|(_, v)| v).collect()
    }
}

impl<T, F> Sink for ReportSink<T, F>
where
    F: for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>, Option<SourceId>) -> Result<Option<T>>,
{
    fn plan(&self) -> Plan {
        self.plan
    }

    fn record(
        &mut self,
        index: c_int,
        record: &Record<'_, dyn FieldSource + '_>,
        address: Option<SourceId>,
    ) -> Result<()> {
        if let Some(v) = (self.build)(record, address)? {
            self.values.push((index, v));
        }
        Ok(())
    }

    fn keep(&mut self, error: Error) {
        self.error = Some(error);
    }

    fn clear(&mut self) {
        self.values.clear();
        self.error = None;
    }
}
