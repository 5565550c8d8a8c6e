//! The schema of a model: its fields ([`FieldSpec`], [`Presence`]), its
//! shape ([`shape`], [`ReportShape`]), the [`Descriptor`] the clients read
//! it by, and [`FromRecord`], which every declaration implements.

use crate::error::{DataProblem, Error, Result};
use crate::field::{FieldContent, FieldSource, FieldType, Record};
use crate::types::SourceId;
use std::ffi::CStr;

/// How chronyd's records carry a declared field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Presence {
    /// Every chronyd version sends it.
    Required,
    /// Sent by chronyd of this version and later (the earliest version
    /// checked that sends it); the model's field is an `Option`, `None` on
    /// older daemons.
    Since(&'static str),
    /// Sent in some records of the report only: the sources report has
    /// `address` for NTP sources and `reference ID` for reference clocks.
    Alternative,
    /// Not in the report's own record: read from the source's
    /// `sourcestats` record, which libchrony pairs with it (authdata's
    /// address).
    Paired,
}

/// One field of a model's declaration: the schema entry the contract
/// suite checks against chronyd's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldSpec {
    /// libchrony's field name.
    pub name: &'static str,
    /// The model's field.
    pub rust_name: &'static str,
    /// The model field's Rust type, as written in the declaration.
    pub rust_type: &'static str,
    /// The libchrony type the field must have.
    pub field_type: FieldType,
    /// The content kind chronyd gives it.
    pub content: FieldContent,
    /// Whether every record carries it.
    pub presence: Presence,
}

/// True for chronyd's padding fields (`reserved #1`, ...), which carry no
/// data and are in no model.
///
/// ```
/// assert!(chrony::reports::is_reserved("reserved #3"));
/// ```
pub fn is_reserved(name: &str) -> bool {
    name.starts_with("reserved #")
}

/// How a report's records make up a [`Client::report`](crate::Client::report)
/// result: the marker types of [`FromRecord::Shape`].
pub mod shape {
    /// One record, always there (tracking, activity, serverstats): `T`.
    #[derive(Debug)]
    pub enum Single {}
    /// One record, or none when the feature is off in chronyd
    /// (`CHRONY_DISABLED`: rtcdata without an RTC, smoothing without
    /// `smoothtime`): `Option<T>`.
    #[derive(Debug)]
    pub enum Optional {}
    /// One record per source (records that do not apply, such as a
    /// reference clock's ntpdata, left out): `Vec<T>`.
    #[derive(Debug)]
    pub enum PerSource {}
    /// Like [`PerSource`], each record completed with the address of the
    /// source's sourcestats record (authdata): `Vec<T>`.
    #[derive(Debug)]
    pub enum PerSourcePaired {}
}

/// Which of the [`shape`]s a report has, as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShapeKind {
    /// [`shape::Single`].
    Single,
    /// [`shape::Optional`].
    Optional,
    /// [`shape::PerSource`].
    PerSource,
    /// [`shape::PerSourcePaired`].
    PerSourcePaired,
}

/// Everything the clients know of one report, made by its model's
/// declaration ([`FromRecord::DESCRIPTOR`]); [`DESCRIPTORS`](crate::reports::DESCRIPTORS) has all ten.
///
/// ```
/// use chrony::reports::{FromRecord, ShapeKind};
/// let d = chrony::AuthData::DESCRIPTOR;
/// assert_eq!((d.name, d.shape), ("authdata", ShapeKind::PerSourcePaired));
/// assert!(d.per_source() && d.paired() && !d.disabled_means_absent());
/// assert!(chrony::RtcData::DESCRIPTOR.disabled_means_absent());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Descriptor {
    /// The libchrony report name.
    pub name: &'static str,
    /// The declared fields, in libchrony's order.
    pub fields: &'static [FieldSpec],
    /// How its records make up a result.
    pub shape: ShapeKind,
    /// The name as the C string libchrony keeps a pointer to (set by this
    /// crate's declarations; looked up by name for other models).
    c_name: Option<&'static CStr>,
}

impl Descriptor {
    /// A descriptor for a model declared outside this crate (the default of
    /// [`FromRecord::DESCRIPTOR`]); its report must be one of [`DESCRIPTORS`](crate::reports::DESCRIPTORS)
    /// to be read.
    ///
    /// ```
    /// use chrony::reports::{Descriptor, ShapeKind};
    /// let d = Descriptor::new("tracking", &[], ShapeKind::Single);
    /// assert!(!d.per_source());
    /// ```
    pub const fn new(name: &'static str, fields: &'static [FieldSpec], shape: ShapeKind) -> Self {
        Descriptor {
            name,
            fields,
            shape,
            c_name: None,
        }
    }

    /// The descriptor of a declaration of this crate (`report!`).
    pub(crate) const fn declared(
        c_name: &'static CStr,
        name: &'static str,
        fields: &'static [FieldSpec],
        shape: ShapeKind,
    ) -> Self {
        Descriptor {
            name,
            fields,
            shape,
            c_name: Some(c_name),
        }
    }

    /// The C name given by this crate's declaration, `None` for a model
    /// declared elsewhere.
    pub(crate) const fn declared_c_name(&self) -> Option<&'static CStr> {
        self.c_name
    }

    /// One record per source: the count comes from chronyd, and a source
    /// can come or go while the report is read.
    pub const fn per_source(&self) -> bool {
        matches!(
            self.shape,
            ShapeKind::PerSource | ShapeKind::PerSourcePaired
        )
    }

    /// chronyd answers its record request with `CHRONY_DISABLED` when the
    /// feature is off (no RTC, no time smoothing): that means "absent", not
    /// a failure.
    pub const fn disabled_means_absent(&self) -> bool {
        matches!(self.shape, ShapeKind::Optional)
    }

    /// Each record is completed from the source's `sourcestats` record,
    /// read just before it on the same session (authdata's address).
    pub const fn paired(&self) -> bool {
        matches!(self.shape, ShapeKind::PerSourcePaired)
    }
}

/// What [`Client::report`](crate::Client::report) returns for a model
/// whose [`FromRecord::Shape`] is `Self`. Implemented for the types of
/// [`shape`] only.
pub trait ReportShape<T>: sealed::Sealed {
    /// `T`, `Option<T>` or `Vec<T>`.
    type Output;
    /// The shape as a value.
    const KIND: ShapeKind;
    #[doc(hidden)]
    /// Makes the result from the report's values, in record order.
    fn assemble(report: &str, values: Vec<T>) -> Result<Self::Output>;
    #[doc(hidden)]
    /// Makes the result from the one value of a single-record report.
    fn assemble_one(report: &str, value: Option<T>) -> Result<Self::Output>;
}

fn missing(report: &str) -> Error {
    Error::BadData {
        report: report.into(),
        field: String::new(),
        problem: DataProblem::Missing,
    }
}

impl<T> ReportShape<T> for shape::Single {
    type Output = T;
    const KIND: ShapeKind = ShapeKind::Single;
    fn assemble(report: &str, values: Vec<T>) -> Result<T> {
        values.into_iter().next().ok_or_else(|| missing(report))
    }
    fn assemble_one(report: &str, value: Option<T>) -> Result<T> {
        value.ok_or_else(|| missing(report))
    }
}

impl<T> ReportShape<T> for shape::Optional {
    type Output = Option<T>;
    const KIND: ShapeKind = ShapeKind::Optional;
    fn assemble(_: &str, values: Vec<T>) -> Result<Option<T>> {
        Ok(values.into_iter().next())
    }
    fn assemble_one(_: &str, value: Option<T>) -> Result<Option<T>> {
        Ok(value)
    }
}

impl<T> ReportShape<T> for shape::PerSource {
    type Output = Vec<T>;
    const KIND: ShapeKind = ShapeKind::PerSource;
    fn assemble(_: &str, values: Vec<T>) -> Result<Vec<T>> {
        Ok(values)
    }
    fn assemble_one(_: &str, value: Option<T>) -> Result<Vec<T>> {
        Ok(value.into_iter().collect())
    }
}

impl<T> ReportShape<T> for shape::PerSourcePaired {
    type Output = Vec<T>;
    const KIND: ShapeKind = ShapeKind::PerSourcePaired;
    fn assemble(_: &str, values: Vec<T>) -> Result<Vec<T>> {
        Ok(values)
    }
    fn assemble_one(_: &str, value: Option<T>) -> Result<Vec<T>> {
        Ok(value.into_iter().collect())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::shape::Single {}
    impl Sealed for super::shape::Optional {}
    impl Sealed for super::shape::PerSource {}
    impl Sealed for super::shape::PerSourcePaired {}
}

/// A model built from one record of a report.
pub trait FromRecord: Sized {
    /// The libchrony report name (`tracking`, `sources`, ...).
    const REPORT: &'static str;

    /// The declared fields, in libchrony's order.
    const FIELDS: &'static [FieldSpec];

    /// How the report's records make up a result (one of [`shape`]).
    type Shape: ReportShape<Self>;

    /// The report's [`Descriptor`] (made by the declaration).
    const DESCRIPTOR: Descriptor = Descriptor::new(
        Self::REPORT,
        Self::FIELDS,
        <Self::Shape as ReportShape<Self>>::KIND,
    );

    /// Builds the model, or `Ok(None)` for a record the report marks as not
    /// applicable (for example an ntpdata record of a reference clock,
    /// which has no fields).
    ///
    /// # Errors
    /// [`crate::Error::BadData`] naming the field.
    fn from_record<S: FieldSource + ?Sized>(record: &Record<'_, S>) -> Result<Option<Self>>;

    /// Fills in the fields of [`Presence::Paired`] (authdata's address).
    #[doc(hidden)]
    fn with_paired_address(self, _address: Option<SourceId>) -> Self {
        self
    }
}
