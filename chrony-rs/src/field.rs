//! Field access by name: the one trait every record source implements.
//!
//! A libchrony record is a list of fields, each with a name, a type
//! ([`FieldType`]), a content kind ([`FieldContent`]: unit or meaning) and a
//! value. Models are built only through [`FieldSource`], so a live record from
//! chronyd and a fake table from `chrony-testkit` are indistinguishable to
//! them.

use crate::error::{DataProblem, Error, Result};
pub use crate::wire::{FieldContent, FieldType, RawTimespec};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_record::{TestRecord, V};

    fn poll(v: i64) -> std::result::Result<i16, DataProblem> {
        let rec = TestRecord {
            report: "sources",
            fields: vec![("poll", V::I(v))],
        };
        i16::from_field(&rec, 0)
    }

    /// libchrony 0.2 hands a 16-bit signed field over without sign
    /// extension: what arrives as 65534 is chronyd's -2.
    #[test]
    fn sixteen_bit_signed_fields_read_what_chronyd_sent() {
        assert_eq!(poll(65534), Ok(-2));
        assert_eq!(poll(32768), Ok(i16::MIN));
        assert_eq!(poll(65535), Ok(-1));
        assert_eq!(poll(-2), Ok(-2));
        assert_eq!(poll(6), Ok(6));
        assert_eq!(poll(32767), Ok(i16::MAX));
        assert!(matches!(poll(65536), Err(DataProblem::OutOfRange { .. })));
        assert!(matches!(poll(-40000), Err(DataProblem::OutOfRange { .. })));
    }
}
