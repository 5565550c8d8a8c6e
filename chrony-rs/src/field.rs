//! Field access by name: the one trait every record source implements.
//!
//! A libchrony record is a list of fields, each with a name, a type
//! ([`FieldType`]), a content kind ([`FieldContent`]: unit or meaning) and a
//! value. Models are built only through [`FieldSource`], so a live record from
//! chronyd and a fake table from `chrony-testkit` are indistinguishable to
//! them.

use crate::error::{DataProblem, Error, Result};
use std::fmt;

/// The type of a field (`chrony_field_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum FieldType {
    /// `CHRONY_TYPE_NONE`
    None,
    /// `CHRONY_TYPE_UINTEGER`: read with [`FieldSource::uinteger`].
    Uinteger,
    /// `CHRONY_TYPE_INTEGER`: read with [`FieldSource::integer`].
    Integer,
    /// `CHRONY_TYPE_FLOAT`: read with [`FieldSource::float`].
    Float,
    /// `CHRONY_TYPE_TIMESPEC`: read with [`FieldSource::timespec`].
    Timespec,
    /// `CHRONY_TYPE_STRING`: read with [`FieldSource::string`].
    String,
    /// A type this crate does not know.
    Unknown(u32),
}

impl FieldType {
    /// Maps a raw `chrony_field_type`.
    ///
    /// ```
    /// # use chrony::FieldType;
    /// assert_eq!(FieldType::from_raw(3), FieldType::Float);
    /// assert_eq!(FieldType::from_raw(42), FieldType::Unknown(42));
    /// ```
    pub fn from_raw(raw: u32) -> FieldType {
        match raw {
            0 => FieldType::None,
            1 => FieldType::Uinteger,
            2 => FieldType::Integer,
            3 => FieldType::Float,
            4 => FieldType::Timespec,
            5 => FieldType::String,
            other => FieldType::Unknown(other),
        }
    }

    /// The raw `chrony_field_type` value.
    ///
    /// ```
    /// # use chrony::FieldType;
    /// assert_eq!(FieldType::String.raw(), 5);
    /// ```
    pub fn raw(self) -> u32 {
        match self {
            FieldType::None => 0,
            FieldType::Uinteger => 1,
            FieldType::Integer => 2,
            FieldType::Float => 3,
            FieldType::Timespec => 4,
            FieldType::String => 5,
            FieldType::Unknown(v) => v,
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::None => f.pad("none"),
            FieldType::Uinteger => f.pad("unsigned integer"),
            FieldType::Integer => f.pad("signed integer"),
            FieldType::Float => f.pad("float"),
            FieldType::Timespec => f.pad("timespec"),
            FieldType::String => f.pad("string"),
            FieldType::Unknown(v) => crate::types::pad(f, format_args!("unknown type {v}")),
        }
    }
}

macro_rules! field_content {
    ($( $(#[$m:meta])* $name:ident = $raw:literal, $cname:literal, $snake:literal; )*) => {
        /// What a field means, or its unit (`chrony_field_content`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum FieldContent {
            $( $(#[$m])* #[doc = concat!("`", $cname, "`")] $name, )*
            /// A content kind this crate does not know.
            Unknown(u32),
        }

        impl FieldContent {
            /// Maps a raw `chrony_field_content`.
            ///
            /// ```
            /// # use chrony::FieldContent;
            /// assert_eq!(FieldContent::from_raw(11), FieldContent::ReferenceId);
            /// assert_eq!(FieldContent::from_raw(99), FieldContent::Unknown(99));
            /// ```
            pub fn from_raw(raw: u32) -> FieldContent {
                match raw {
                    $( $raw => FieldContent::$name, )*
                    other => FieldContent::Unknown(other),
                }
            }

            /// The raw value.
            ///
            /// ```
            /// # use chrony::FieldContent;
            /// assert_eq!(FieldContent::Address.raw(), 15);
            /// ```
            pub fn raw(self) -> u32 {
                match self {
                    $( FieldContent::$name => $raw, )*
                    FieldContent::Unknown(v) => v,
                }
            }

            /// A short snake_case name (`offset_seconds`, `reference_id`, ...),
            /// `unknown` for unknown kinds.
            ///
            /// ```
            /// # use chrony::FieldContent;
            /// assert_eq!(FieldContent::OffsetPpm.name(), "offset_ppm");
            /// ```
            pub fn name(self) -> &'static str {
                match self {
                    $( FieldContent::$name => $snake, )*
                    FieldContent::Unknown(_) => "unknown",
                }
            }

            /// The inverse of [`FieldContent::name`].
            ///
            /// ```
            /// # use chrony::FieldContent;
            /// assert_eq!(FieldContent::from_name("count"), Some(FieldContent::Count));
            /// ```
            pub fn from_name(name: &str) -> Option<FieldContent> {
                match name {
                    $( $snake => Some(FieldContent::$name), )*
                    _ => None,
                }
            }
        }
    };
}

field_content! {
    None = 0, "CHRONY_CONTENT_NONE", "none";
    Count = 1, "CHRONY_CONTENT_COUNT", "count";
    Time = 2, "CHRONY_CONTENT_TIME", "time";
    IntervalLog2Seconds = 3, "CHRONY_CONTENT_INTERVAL_LOG2_SECONDS", "interval_log2_seconds";
    IntervalSeconds = 4, "CHRONY_CONTENT_INTERVAL_SECONDS", "interval_seconds";
    OffsetSeconds = 5, "CHRONY_CONTENT_OFFSET_SECONDS", "offset_seconds";
    MeasureSeconds = 6, "CHRONY_CONTENT_MEASURE_SECONDS", "measure_seconds";
    OffsetPpm = 7, "CHRONY_CONTENT_OFFSET_PPM", "offset_ppm";
    MeasurePpm = 8, "CHRONY_CONTENT_MEASURE_PPM", "measure_ppm";
    OffsetPpmPerSecond = 9, "CHRONY_CONTENT_OFFSET_PPM_PER_SECOND", "offset_ppm_per_second";
    Ratio = 10, "CHRONY_CONTENT_RATIO", "ratio";
    ReferenceId = 11, "CHRONY_CONTENT_REFERENCE_ID", "reference_id";
    Enum = 12, "CHRONY_CONTENT_ENUM", "enum";
    Bits = 13, "CHRONY_CONTENT_BITS", "bits";
    Flags = 14, "CHRONY_CONTENT_FLAGS", "flags";
    Address = 15, "CHRONY_CONTENT_ADDRESS", "address";
    Port = 16, "CHRONY_CONTENT_PORT", "port";
    Index = 17, "CHRONY_CONTENT_INDEX", "index";
    LengthBits = 18, "CHRONY_CONTENT_LENGTH_BITS", "length_bits";
    LengthBytes = 19, "CHRONY_CONTENT_LENGTH_BYTES", "length_bytes";
    Boolean = 20, "CHRONY_CONTENT_BOOLEAN", "boolean";
}

#[cfg(feature = "serde")]
impl serde::Serialize for FieldContent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            FieldContent::Unknown(v) => s.serialize_u32(*v),
            other => s.serialize_str(other.name()),
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for FieldContent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match crate::serde_util::StrOrU64::deserialize(d)? {
            crate::serde_util::StrOrU64::Str(s) => FieldContent::from_name(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown field content {s:?}"))),
            crate::serde_util::StrOrU64::U64(v) => u32::try_from(v)
                .map(FieldContent::from_raw)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// A `struct timespec` value as libchrony returns it, unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawTimespec {
    /// `tv_sec`
    pub secs: i64,
    /// `tv_nsec`
    pub nanos: i64,
}

/// Read access to one record's fields, by index.
///
/// Implemented by the live libchrony record and by `chrony-testkit`'s fakes.
/// Getters follow libchrony's contract: they are only meaningful for an index
/// below [`field_count`](FieldSource::field_count) and a field of the matching
/// [`FieldType`]; [`Record`] checks both before calling them.
pub trait FieldSource {
    /// Name of the report the record belongs to (used in errors).
    fn report_name(&self) -> &str;
    /// Number of fields (`chrony_get_record_number_fields`).
    fn field_count(&self) -> usize;
    /// Index of the field with this exact name (`chrony_get_field_index`).
    fn field_index(&self, name: &str) -> Option<usize>;
    /// Name of field `index` (`chrony_get_field_name`).
    fn field_name(&self, index: usize) -> Option<String>;
    /// Type of field `index` (`chrony_get_field_type`).
    fn field_type(&self, index: usize) -> FieldType;
    /// Content kind of field `index` (`chrony_get_field_content`).
    fn field_content(&self, index: usize) -> FieldContent;
    /// `chrony_get_field_uinteger`.
    fn uinteger(&self, index: usize) -> u64;
    /// `chrony_get_field_integer`.
    fn integer(&self, index: usize) -> i64;
    /// `chrony_get_field_float`.
    fn float(&self, index: usize) -> f64;
    /// `chrony_get_field_timespec`.
    fn timespec(&self, index: usize) -> RawTimespec;
    /// `chrony_get_field_string`, copied out as bytes; `None` for NULL.
    fn string(&self, index: usize) -> Option<Vec<u8>>;
    /// `chrony_get_field_constant_name` for an ENUM or FLAGS value.
    fn constant_name(&self, index: usize, value: u64) -> Option<String>;
}

/// A record being read: a [`FieldSource`] plus typed, checked lookups by name.
///
/// ```
/// use chrony::field::{FieldSource, Record};
/// # use chrony::field::RawTimespec;
/// # use chrony::{FieldType, FieldContent};
/// # struct One;
/// # impl FieldSource for One {
/// #   fn report_name(&self) -> &str { "tracking" }
/// #   fn field_count(&self) -> usize { 1 }
/// #   fn field_index(&self, n: &str) -> Option<usize> { (n == "stratum").then_some(0) }
/// #   fn field_name(&self, _: usize) -> Option<String> { Some("stratum".into()) }
/// #   fn field_type(&self, _: usize) -> FieldType { FieldType::Uinteger }
/// #   fn field_content(&self, _: usize) -> FieldContent { FieldContent::Count }
/// #   fn uinteger(&self, _: usize) -> u64 { 2 }
/// #   fn integer(&self, _: usize) -> i64 { 0 }
/// #   fn float(&self, _: usize) -> f64 { 0.0 }
/// #   fn timespec(&self, _: usize) -> RawTimespec { RawTimespec::default() }
/// #   fn string(&self, _: usize) -> Option<Vec<u8>> { None }
/// #   fn constant_name(&self, _: usize, _: u64) -> Option<String> { None }
/// # }
/// let rec = Record::new(&One);
/// let stratum: u8 = rec.get("stratum")?;
/// assert_eq!(stratum, 2);
/// assert!(rec.get::<u8>("skew").is_err());
/// # Ok::<(), chrony::Error>(())
/// ```
pub struct Record<'a, S: FieldSource + ?Sized> {
    source: &'a S,
}

impl<'a, S: FieldSource + ?Sized> Record<'a, S> {
    /// Wraps a field source.
    pub fn new(source: &'a S) -> Self {
        Record { source }
    }

    /// The underlying field source.
    pub fn source(&self) -> &'a S {
        self.source
    }

    /// The report name.
    pub fn report_name(&self) -> &str {
        self.source.report_name()
    }

    /// True when a field of that name exists.
    pub fn has(&self, name: &str) -> bool {
        self.source.field_index(name).is_some()
    }

    /// Reads field `name` as `T`, checking presence, type and range.
    ///
    /// # Errors
    /// [`Error::BadData`] naming the report and field.
    pub fn get<T: FromField>(&self, name: &str) -> Result<T> {
        match self.source.field_index(name) {
            Some(i) => self.get_at(i, name),
            None => Err(self.error(name, DataProblem::Missing)),
        }
    }

    /// Like [`get`](Record::get), but `Ok(None)` when the field is absent
    /// (for fields that only some chronyd versions send).
    ///
    /// # Errors
    /// [`Error::BadData`] when present but of the wrong type or value.
    pub fn get_opt<T: FromField>(&self, name: &str) -> Result<Option<T>> {
        match self.source.field_index(name) {
            Some(i) => self.get_at(i, name).map(Some),
            None => Ok(None),
        }
    }

    /// Reads field `index` (whose name is `name`, for errors) as `T`.
    ///
    /// # Errors
    /// [`Error::BadData`].
    pub fn get_at<T: FromField>(&self, index: usize, name: &str) -> Result<T> {
        if index >= self.source.field_count() {
            return Err(self.error(name, DataProblem::Missing));
        }
        T::from_field(self.source, index).map_err(|p| self.error(name, p))
    }

    /// Builds the [`Error::BadData`] for a field of this record.
    pub fn error(&self, field: &str, problem: DataProblem) -> Error {
        Error::BadData {
            report: self.source.report_name().to_string(),
            field: field.to_string(),
            problem,
        }
    }
}

/// Conversion of one field to a Rust value, checking its type and range.
pub trait FromField: Sized {
    /// The libchrony type a field must have to be read as `Self` (the
    /// report declarations put it in their schema).
    const FIELD_TYPE: FieldType;

    /// Reads field `index` of `source`.
    ///
    /// # Errors
    /// The [`DataProblem`] found.
    fn from_field<S: FieldSource + ?Sized>(
        source: &S,
        index: usize,
    ) -> std::result::Result<Self, DataProblem>;
}

/// Implements [`FromField`] for types decoded from an unsigned integer
/// field by their `from_raw(u64)` (enums, flag sets).
macro_rules! from_raw_field {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::field::FromField for $t {
            const FIELD_TYPE: $crate::field::FieldType = $crate::field::FieldType::Uinteger;
            fn from_field<S: $crate::field::FieldSource + ?Sized>(
                s: &S,
                i: usize,
            ) -> std::result::Result<Self, $crate::error::DataProblem> {
                <u64 as $crate::field::FromField>::from_field(s, i).map(<$t>::from_raw)
            }
        }
    )*};
}
pub(crate) use from_raw_field;

/// Checks the field's type.
pub fn expect_type<S: FieldSource + ?Sized>(
    source: &S,
    index: usize,
    expected: FieldType,
) -> std::result::Result<(), DataProblem> {
    let found = source.field_type(index);
    if found == expected {
        Ok(())
    } else {
        Err(DataProblem::WrongType { expected, found })
    }
}

impl FromField for u64 {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        expect_type(s, i, FieldType::Uinteger)?;
        Ok(s.uinteger(i))
    }
}

macro_rules! narrow_unsigned {
    ($($t:ty => $range:literal),*) => {$(
        impl FromField for $t {
            const FIELD_TYPE: FieldType = FieldType::Uinteger;
            fn from_field<S: FieldSource + ?Sized>(s: &S, i: usize) -> std::result::Result<Self, DataProblem> {
                let v = u64::from_field(s, i)?;
                <$t>::try_from(v).map_err(|_| DataProblem::OutOfRange { value: v.to_string(), expected: $range })
            }
        }
    )*};
}
narrow_unsigned!(u32 => "0..=4294967295", u16 => "0..=65535", u8 => "0..=255");

impl FromField for i64 {
    const FIELD_TYPE: FieldType = FieldType::Integer;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        expect_type(s, i, FieldType::Integer)?;
        Ok(s.integer(i))
    }
}

impl FromField for i16 {
    const FIELD_TYPE: FieldType = FieldType::Integer;
    /// libchrony 0.2 returns 16-bit signed fields without sign extension
    /// (-2 arrives as 65534); values in 32768..=65535 are taken as the 16-bit
    /// two's complement they are, so this reads what chronyd sent.
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        let v = i64::from_field(s, i)?;
        fix_i16(v).ok_or(DataProblem::OutOfRange {
            value: v.to_string(),
            expected: "-32768..=32767",
        })
    }
}

/// Undoes libchrony 0.2's missing sign extension of 16-bit signed fields.
///
/// ```
/// # use chrony::field::fix_i16;
/// assert_eq!(fix_i16(65534), Some(-2));
/// assert_eq!(fix_i16(-2), Some(-2));
/// assert_eq!(fix_i16(6), Some(6));
/// assert_eq!(fix_i16(70000), None);
/// ```
pub fn fix_i16(v: i64) -> Option<i16> {
    if let Ok(x) = i16::try_from(v) {
        Some(x)
    } else if (32768..=65535).contains(&v) {
        Some(v as u16 as i16)
    } else {
        None
    }
}

impl FromField for i8 {
    const FIELD_TYPE: FieldType = FieldType::Integer;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        let v = i64::from_field(s, i)?;
        i8::try_from(v).map_err(|_| DataProblem::OutOfRange {
            value: v.to_string(),
            expected: "-128..=127",
        })
    }
}

impl FromField for f64 {
    const FIELD_TYPE: FieldType = FieldType::Float;
    /// Rejects NaN and infinities.
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        expect_type(s, i, FieldType::Float)?;
        let v = s.float(i);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(DataProblem::NotFinite(v))
        }
    }
}

impl FromField for String {
    const FIELD_TYPE: FieldType = FieldType::String;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        Option::<String>::from_field(s, i)?.ok_or(DataProblem::NullString)
    }
}

impl FromField for Option<String> {
    const FIELD_TYPE: FieldType = FieldType::String;
    /// A NULL string (for example the address of a reference clock) is `None`.
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        expect_type(s, i, FieldType::String)?;
        match s.string(i) {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| DataProblem::InvalidUtf8(e.into_bytes())),
        }
    }
}

impl FromField for RawTimespec {
    const FIELD_TYPE: FieldType = FieldType::Timespec;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        expect_type(s, i, FieldType::Timespec)?;
        Ok(s.timespec(i))
    }
}

impl FromField for crate::time::Timestamp {
    const FIELD_TYPE: FieldType = FieldType::Timespec;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        crate::time::Timestamp::from_raw(RawTimespec::from_field(s, i)?)
    }
}

impl FromField for crate::types::RefId {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        u32::from_field(s, i).map(crate::types::RefId)
    }
}

/// A libchrony `BOOLEAN` field: an unsigned integer that must be 0 or 1.
impl FromField for bool {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        match u64::from_field(s, i)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DataProblem::OutOfRange {
                value: v.to_string(),
                expected: "0 or 1",
            }),
        }
    }
}
