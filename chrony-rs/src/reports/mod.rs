//! Typed models of chronyd's reports, each built from a [`Record`] by field
//! name. Nothing here touches libchrony: the same code reads live records
//! and fake ones.
//!
//! Each model is declared once: every field with its libchrony name,
//! content kind and [`Presence`]. The declaration generates the struct,
//! its [`FromRecord`] and its schema ([`FromRecord::FIELDS`], all of them
//! in [`SCHEMAS`]), which `chrony-testkit`'s contract suite checks against
//! the field tables captured from every chronyd version it knows.
//!
//! ```
//! use chrony::reports::{FromRecord, Presence};
//! use chrony::{FieldType, NtpData};
//! let poll = NtpData::FIELDS.iter().find(|f| f.rust_name == "poll").unwrap();
//! assert_eq!((poll.name, poll.field_type, poll.presence), ("poll", FieldType::Integer, Presence::Required));
//! let kernel_tx = NtpData::FIELDS.iter().find(|f| f.name == "kernel transmit timestamps").unwrap();
//! assert_eq!(kernel_tx.presence, Presence::Since("4.6"));
//! ```
//!
//! Models are `#[non_exhaustive]` (chronyd grows its reports), so code
//! outside this crate cannot build one with a struct literal, even with
//! every field given:
//!
//! ```compile_fail
//! let a = chrony::Activity {
//!     online_sources: 1,
//!     offline_sources: 0,
//!     burst_online_return_sources: 0,
//!     burst_offline_return_sources: 0,
//!     unresolved_sources: 0,
//! };
//! ```
//!
//! Build them from records instead; in tests with the typed builders of
//! `chrony::reports::builder` (feature `test-util`), which `chrony-testkit`
//! starts from its scenarios (`chrony_testkit::fake::activity()
//! .offline_sources(2).build()`), or from its fake records and scenarios:
//!
//! ```
//! use chrony::{Activity, FromRecord, Record};
//! let rec = chrony_testkit::scenarios::activity_online();
//! let a = Activity::from_record(&Record::new(&rec))?.unwrap();
//! assert_eq!(a.offline_sources, 0);
//! # Ok::<(), chrony::Error>(())
//! ```
#![forbid(unsafe_code)]

use crate::error::{DataProblem, Result};
use crate::field::{FieldContent, FieldSource, FieldType, FromField, Record};
use crate::types::{RefId, SourceId};
use std::ffi::CStr;
use std::time::Duration;

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
/// declaration ([`FromRecord::DESCRIPTOR`]); [`DESCRIPTORS`] has all ten.
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
    /// [`FromRecord::DESCRIPTOR`]); its report must be one of [`DESCRIPTORS`]
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

    /// The report has exactly one record (its count is not asked): by
    /// this crate's declaration of it, whatever shape another model of it
    /// declares.
    pub(crate) fn single_record(&self) -> Result<bool> {
        match self.c_name {
            Some(_) => Ok(!self.per_source()),
            None => Ok(!Descriptor::by_name(self.name)?.per_source()),
        }
    }

    /// The descriptor of report `name`.
    pub(crate) fn by_name(name: &str) -> Result<&'static Descriptor> {
        DESCRIPTORS
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| crate::error::Error::UnknownReport(name.to_string()))
    }

    /// The `'static` C name libchrony is given.
    pub(crate) fn c_name(&self) -> Result<&'static CStr> {
        match self.c_name {
            Some(c) => Ok(c),
            None => Descriptor::by_name(self.name)?.c_name(),
        }
    }
}

/// Calls `$f!` with every report of this crate, in the order a
/// [`Snapshot`](crate::Snapshot) requests them: the one list of reports.
/// Each entry is the report's field in the snapshot (also the name of its
/// method on both clients), its model, the snapshot's type for it (the
/// model's shape decides it; the compiler checks they agree) and the
/// field's doc. [`DESCRIPTORS`], [`REPORTS`](crate::REPORTS), [`SCHEMAS`]
/// and the snapshot are made from it; adding a report is its `report!`
/// declaration, one line here and one named method per client.
macro_rules! each_report {
    ($f:ident) => {
        $f! {
            tracking: $crate::Tracking => $crate::Tracking, "`tracking`.";
            sources: $crate::Source => Vec<$crate::Source>, "`sources`.";
            source_stats: $crate::SourceStats => Vec<$crate::SourceStats>, "`sourcestats`.";
            select_data: $crate::SelectData => Vec<$crate::SelectData>,
                "`selectdata` (Unix socket only).";
            ntp_data: $crate::NtpData => Vec<$crate::NtpData>, "`ntpdata` (Unix socket only).";
            auth_data: $crate::AuthData => Vec<$crate::AuthData>, "`authdata` (Unix socket only).";
            activity: $crate::Activity => $crate::Activity, "`activity`.";
            server_stats: $crate::ServerStats => $crate::ServerStats,
                "`serverstats` (Unix socket only).";
            smoothing: $crate::Smoothing => Option<$crate::Smoothing>,
                "`smoothing`: `None` when time smoothing is off.";
            rtc_data: $crate::RtcData => Option<$crate::RtcData>,
                "`rtcdata`: `None` when chronyd does not track an RTC.";
        }
    };
}
pub(crate) use each_report;

/// The descriptors of [`each_report!`]'s list, in its order.
macro_rules! descriptors {
    ($($field:ident: $model:ty => $out:ty, $doc:literal;)*) => {
        [$(<$model as FromRecord>::DESCRIPTOR,)*]
    };
}

/// `a < b`, byte by byte, in a `const` context.
const fn name_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// `d` sorted by report name.
const fn by_name<const N: usize>(mut d: [Descriptor; N]) -> [Descriptor; N] {
    let mut i = 0;
    while i < N {
        let mut j = 0;
        while j + 1 < N - i {
            if name_less(d[j + 1].name, d[j].name) {
                let t = d[j];
                d[j] = d[j + 1];
                d[j + 1] = t;
            }
            j += 1;
        }
        i += 1;
    }
    d
}

const SORTED: [Descriptor; each_report!(descriptors).len()] = by_name(each_report!(descriptors));

/// Every report of libchrony 0.2, by model, in name order (made from the
/// one list of reports, which also makes [`REPORTS`](crate::REPORTS),
/// [`SCHEMAS`] and the snapshot).
///
/// ```
/// let names: Vec<_> = chrony::reports::DESCRIPTORS.iter().map(|d| d.name).collect();
/// assert_eq!(names.len(), 10);
/// assert!(names.windows(2).all(|w| w[0] < w[1]), "in name order");
/// ```
pub const DESCRIPTORS: &[Descriptor] = &SORTED;

/// The names of [`DESCRIPTORS`], in their order.
pub(crate) const NAMES: [&str; DESCRIPTORS.len()] = {
    let mut names = [""; DESCRIPTORS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = DESCRIPTORS[i].name;
        i += 1;
    }
    names
};

const DISABLED_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < DESCRIPTORS.len() {
        if DESCRIPTORS[i].disabled_means_absent() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The names of the reports whose `CHRONY_DISABLED` means absent.
pub(crate) const DISABLED_NAMES: [&str; DISABLED_COUNT] = {
    let mut names = [""; DISABLED_COUNT];
    let (mut i, mut n) = (0, 0);
    while i < DESCRIPTORS.len() {
        if DESCRIPTORS[i].disabled_means_absent() {
            names[n] = DESCRIPTORS[i].name;
            n += 1;
        }
        i += 1;
    }
    names
};

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

fn missing(report: &str) -> crate::error::Error {
    crate::error::Error::BadData {
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

pub(crate) mod sealed {
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

/// The declaration of every model: (report name, fields), from
/// [`DESCRIPTORS`].
pub const SCHEMAS: &[(&str, &[FieldSpec])] = &{
    let mut schemas: [(&str, &[FieldSpec]); DESCRIPTORS.len()] = [("", &[]); DESCRIPTORS.len()];
    let mut i = 0;
    while i < schemas.len() {
        schemas[i] = (DESCRIPTORS[i].name, DESCRIPTORS[i].fields);
        i += 1;
    }
    schemas
};

/// `Option<T>`'s `T`, for the fields that may be absent.
pub(crate) trait OptionalField {
    type Inner;
}

impl<T> OptionalField for Option<T> {
    type Inner = T;
}

/// Converts a field's wire value to the model's type.
fn conv<W: Into<T>, T>(w: W) -> T {
    w.into()
}

/// The type a field is read as: the declared one (`as` overrides it), the
/// `Option`'s inner type for fields that may be absent.
macro_rules! wire {
    ($p:ident, $t:ty, $w:ty) => {
        $w
    };
    (required, $t:ty) => {
        $t
    };
    ($p:ident, $t:ty) => {
        <$t as $crate::reports::OptionalField>::Inner
    };
}

#[cfg(feature = "test-util")]
pub(crate) use wire;

macro_rules! presence {
    (required) => {
        $crate::reports::Presence::Required
    };
    (since $v:literal) => {
        $crate::reports::Presence::Since($v)
    };
    (alternative) => {
        $crate::reports::Presence::Alternative
    };
    (paired) => {
        $crate::reports::Presence::Paired
    };
}

macro_rules! presence_doc {
    (required) => {
        "always sent"
    };
    (since $v:literal) => {
        concat!("sent by chronyd ", $v, " and later, `None` before")
    };
    (alternative) => {
        "sent for some sources only"
    };
    (paired) => {
        "read from the source's `sourcestats` record"
    };
}

macro_rules! read_field {
    ($r:ident, $n:literal, $p:ident, [$hook:path], $($t:tt)*) => { $hook($r)? };
    ($r:ident, $n:literal, required, [], $($t:tt)*) => {
        $crate::reports::conv($r.get::<wire!(required, $($t)*)>($n)?)
    };
    ($r:ident, $n:literal, paired, [], $($t:tt)*) => { None };
    ($r:ident, $n:literal, $p:ident, [], $($t:tt)*) => {
        $r.get_opt::<wire!($p, $($t)*)>($n)?.map($crate::reports::conv)
    };
}

macro_rules! skip_empty {
    (skip_empty, $r:ident) => {
        if $r.source().field_count() == 0 {
            return Ok(None);
        }
    };
    // Issue 17: also a record whose "remote address" is NULL (chronyd 4.0's
    // ntpdata of a source that never answered).
    (skip_unaddressed, $r:ident) => {
        skip_empty!(skip_empty, $r);
        if $crate::reports::ntpdata::unaddressed($r) {
            return Ok(None);
        }
    };
}

macro_rules! assign_paired {
    (paired, $m:ident . $f:ident, $a:ident) => {
        $m.$f = $a;
    };
    ($p:ident, $m:ident . $f:ident, $a:ident) => {};
}

/// Declares a model: the struct, its [`FromRecord`] and its schema.
///
/// ```text
/// report! {
///     /// docs
///     pub struct Name in "report name" as Shape [, skip_empty] {
///         /// docs
///         field: Type = "libchrony name", Content, presence [by hook] [as WireType];
///     }
/// }
/// ```
/// `presence` is `required`, `since("x.y")`, `alternative` or `paired`
/// ([`Presence`]); a field that may be absent has an `Option` type unless a
/// hook reads it. `by hook` reads the value with `hook(&record)` (the
/// sources address/reference-ID switch), `as WireType` reads the field as
/// `WireType` and converts it with `Into` (and gives the schema its
/// libchrony type). `skip_empty` makes a record with no fields `Ok(None)`
/// (ntpdata and authdata of a reference clock); `skip_unaddressed` also
/// one whose `remote address` is NULL (ntpdata on chronyd 4.0). Each field's doc gets a
/// line naming its libchrony field and presence.
macro_rules! report {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in $report:literal as $shape:ident $(, $skip:ident)? {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $fname:literal, $content:ident,
                    $presence:ident $(($since:literal))? $(by $hook:path)? $(as $wire:ty)?;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                ///
                #[doc = concat!("libchrony field `", $fname, "`: ", presence_doc!($presence $($since)?), ".")]
                pub $field: $ty,
            )*
        }

        impl $crate::reports::FromRecord for $name {
            const REPORT: &'static str = $report;
            const FIELDS: &'static [$crate::reports::FieldSpec] = &[$(
                $crate::reports::FieldSpec {
                    name: $fname,
                    rust_name: stringify!($field),
                    rust_type: stringify!($ty),
                    field_type: <wire!($presence, $ty $(, $wire)?) as $crate::field::FromField>::FIELD_TYPE,
                    content: $crate::field::FieldContent::$content,
                    presence: presence!($presence $($since)?),
                },
            )*];
            type Shape = $crate::reports::shape::$shape;
            const DESCRIPTOR: $crate::reports::Descriptor = $crate::reports::Descriptor::declared(
                match ::std::ffi::CStr::from_bytes_with_nul(concat!($report, "\0").as_bytes()) {
                    Ok(c) => c,
                    Err(_) => panic!("a report name has no NUL byte"),
                },
                $report,
                <Self as $crate::reports::FromRecord>::FIELDS,
                <$crate::reports::shape::$shape as $crate::reports::ReportShape<Self>>::KIND,
            );

            fn from_record<S: $crate::field::FieldSource + ?Sized>(
                r: &$crate::field::Record<'_, S>,
            ) -> $crate::error::Result<Option<Self>> {
                $( skip_empty!($skip, r); )?
                Ok(Some($name {
                    $( $field: read_field!(r, $fname, $presence, [$($hook)?], $ty $(, $wire)?), )*
                }))
            }

            #[allow(unused_mut, unused_variables)]
            fn with_paired_address(self, address: Option<$crate::SourceId>) -> Self {
                let mut m = self;
                $( assign_paired!($presence, m.$field, address); )*
                m
            }
        }

        #[cfg(feature = "test-util")]
        $crate::reports::builder::builder_setters! {
            $name { $( $field: $ty = $fname, $presence $(by $hook)? $(as $wire)?; )* }
        }
    };
}

/// Declares a set of one-bit flags read from a FLAGS field: a bool per
/// bit, the raw value (unknown bits kept), a constant per bit,
/// `from_raw` and [`FromField`].
macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident = $bit_name:ident = $bit:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: bool, )*
            /// The raw flags (unknown bits kept).
            pub raw: u64,
        }

        impl $name {
            $(
                #[doc = concat!("Bit of `", stringify!($field), "`.")]
                pub const $bit_name: u64 = $bit;
            )*

            /// Decodes the raw flags.
            pub fn from_raw(raw: u64) -> $name {
                $name { $( $field: raw & Self::$bit_name != 0, )* raw }
            }
        }

        #[cfg(feature = "test-util")]
        impl $crate::reports::builder::ToWire for $name {
            fn to_wire(&self) -> $crate::reports::builder::WireValue {
                $crate::reports::builder::WireValue::Uinteger(self.raw)
            }
        }

        $crate::field::from_raw_field!($name);
    };
}

pub mod activity;
pub mod authdata;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod builder;
pub mod ntpdata;
pub mod rtcdata;
pub mod selectdata;
pub mod serverstats;
pub mod smoothing;
pub mod sources;
pub mod sourcestats;
pub mod tracking;

crate::field::from_raw_field!(ntpdata::NtpFlags);

#[cfg(feature = "test-util")]
impl builder::ToWire for ntpdata::NtpFlags {
    fn to_wire(&self) -> builder::WireValue {
        builder::WireValue::Uinteger(self.raw)
    }
}

/// An "ago" interval in whole seconds where chronyd's 0xFFFFFFFF means
/// "never": read as `Option<Duration>`.
pub(crate) struct Never(Option<Duration>);

/// chronyd's "never" in an unsigned "ago" field.
pub(crate) const NEVER: u32 = u32::MAX;

impl FromField for Never {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        let v = u32::from_field(s, i)?;
        Ok(Never(
            (v != NEVER).then(|| Duration::from_secs(u64::from(v))),
        ))
    }
}

impl From<Never> for Option<Duration> {
    fn from(n: Never) -> Option<Duration> {
        n.0
    }
}

/// An interval in whole seconds (an unsigned field): read as a
/// [`Duration`].
pub(crate) struct WholeSeconds(Duration);

impl FromField for WholeSeconds {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        u64::from_field(s, i).map(|v| WholeSeconds(Duration::from_secs(v)))
    }
}

impl From<WholeSeconds> for Duration {
    fn from(w: WholeSeconds) -> Duration {
        w.0
    }
}

/// An interval in seconds sent as a float: read as a [`Duration`]
/// (nanosecond resolution); a negative, NaN or too large value is an error.
pub(crate) struct FloatSeconds(Duration);

impl FromField for FloatSeconds {
    const FIELD_TYPE: FieldType = FieldType::Float;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        let v = f64::from_field(s, i)?;
        Duration::try_from_secs_f64(v)
            .map(FloatSeconds)
            .map_err(|_| DataProblem::OutOfRange {
                value: v.to_string(),
                expected: "a non-negative number of seconds",
            })
    }
}

impl From<FloatSeconds> for Duration {
    fn from(f: FloatSeconds) -> Duration {
        f.0
    }
}

/// The identity of a source in a report that has both `address` (NULL for
/// reference clocks) and `reference ID`.
pub(crate) fn address_or_refclock<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<SourceId> {
    match r.get::<Option<SourceId>>("address")? {
        Some(id) => Ok(id),
        None => Ok(SourceId::RefClock(r.get::<RefId>("reference ID")?)),
    }
}
