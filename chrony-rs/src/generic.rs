//! Any report as a list of named, typed fields, without a model.
//!
//! [`Client::records`](crate::Client::records) reads every record of any of
//! the ten reports as [`GenericRecord`]s: each field with its libchrony
//! name, its [`FieldContent`] and a [`Value`] that keeps the field's type.
//! ENUM values come with libchrony's name for them and FLAGS values with
//! the names of their set bits (`chrony_get_field_constant_name`).
//!
//! Values are read with the same checked conversions ([`FromField`]) as the
//! typed models: a NaN float, an invalid timestamp or a string that is not
//! UTF-8 is an [`Error::BadData`](crate::Error::BadData), and 16-bit signed
//! log2 intervals get libchrony 0.2's missing sign extension repaired
//! ([`fix_i16`]).
//!
//! ```no_run
//! let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
//! for record in client.records("serverstats")? {
//!     for field in &record.fields {
//!         println!("{:<40} {}", field.name, field.value);
//!     }
//! }
//! # Ok::<(), chrony::Error>(())
//! ```

use crate::display::pad;
use crate::error::{DataProblem, Result};
use crate::field::{fix_i16, FieldContent, FieldSource, FieldType, FromField, Record};
use crate::time::Timestamp;
use std::fmt;

/// The value of one field, by the field's type and content.
///
/// With `serde` a value is written as `"type"` (snake_case variant name)
/// and `"value"`, next to the field's name and content (see
/// [`GenericField`]).
///
/// ```
/// use chrony::Value;
/// assert_eq!(Value::Unsigned(3).as_u64(), Some(3));
/// assert_eq!(Value::Float(0.5).as_f64(), Some(0.5));
/// assert_eq!(Value::Enum { value: 4, name: Some("server".into()) }.to_string(), "server (4)");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "type", content = "value", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Value {
    /// A field of type NONE or of a type this crate does not know.
    None,
    /// An unsigned integer (counts, reference IDs, ports, ...).
    Unsigned(u64),
    /// A signed integer (log2 intervals are sign-repaired).
    Signed(i64),
    /// A float.
    Float(f64),
    /// A timestamp.
    Time(Timestamp),
    /// A string; `None` when libchrony has no value (for example the
    /// address of a reference clock).
    Text(Option<String>),
    /// A BOOLEAN field (an unsigned integer that is 0 or 1).
    Bool(bool),
    /// An ENUM field: the raw value and libchrony's name for it (`None`
    /// when libchrony does not know the value).
    Enum {
        /// The raw value.
        value: u64,
        /// libchrony's name for it.
        name: Option<String>,
    },
    /// A FLAGS field: the raw value and libchrony's names of its set bits
    /// (bits without a name are only in `value`).
    Flags {
        /// The raw value.
        value: u64,
        /// Names of the set bits, lowest bit first.
        names: Vec<String>,
    },
}

impl Value {
    /// The unsigned value of `Unsigned`, `Bool`, `Enum` and `Flags`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Unsigned(v) | Value::Enum { value: v, .. } | Value::Flags { value: v, .. } => {
                Some(*v)
            }
            Value::Bool(b) => Some(u64::from(*b)),
            _ => None,
        }
    }

    /// The value of `Signed`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Signed(v) => Some(*v),
            _ => None,
        }
    }

    /// The value of `Float`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The text of `Text` (`None` also for a text field without value).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(Some(s)) => Some(s),
            _ => None,
        }
    }

    /// Reads field `index` of `source` by its type and content.
    fn read<S: FieldSource + ?Sized>(
        source: &S,
        index: usize,
    ) -> std::result::Result<Value, DataProblem> {
        let content = source.field_content(index);
        Ok(match source.field_type(index) {
            FieldType::Uinteger => match content {
                FieldContent::Enum => {
                    let value = u64::from_field(source, index)?;
                    Value::Enum {
                        value,
                        name: source.constant_name(index, value),
                    }
                }
                FieldContent::Flags => {
                    let value = u64::from_field(source, index)?;
                    let names = (0..64)
                        .map(|bit| 1u64 << bit)
                        .filter(|bit| value & bit != 0)
                        .filter_map(|bit| source.constant_name(index, bit))
                        .collect();
                    Value::Flags { value, names }
                }
                FieldContent::Boolean => match bool::from_field(source, index) {
                    Ok(b) => Value::Bool(b),
                    Err(_) => Value::Unsigned(u64::from_field(source, index)?),
                },
                _ => Value::Unsigned(u64::from_field(source, index)?),
            },
            FieldType::Integer => {
                let v = i64::from_field(source, index)?;
                if content == FieldContent::IntervalLog2Seconds {
                    Value::Signed(fix_i16(v).map_or(v, i64::from))
                } else {
                    Value::Signed(v)
                }
            }
            FieldType::Float => Value::Float(f64::from_field(source, index)?),
            FieldType::Timespec => Value::Time(Timestamp::from_field(source, index)?),
            FieldType::String => Value::Text(Option::<String>::from_field(source, index)?),
            FieldType::None | FieldType::Unknown(_) => Value::None,
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.pad("-"),
            Value::Unsigned(v) => fmt::Display::fmt(v, f),
            Value::Signed(v) => fmt::Display::fmt(v, f),
            Value::Float(v) => fmt::Display::fmt(v, f),
            Value::Time(t) => fmt::Display::fmt(t, f),
            Value::Text(Some(s)) => f.pad(s),
            Value::Text(None) => f.pad("-"),
            Value::Bool(b) => fmt::Display::fmt(b, f),
            Value::Enum {
                value,
                name: Some(n),
            } => pad(f, format_args!("{n} ({value})")),
            Value::Enum { value, name: None } => fmt::Display::fmt(value, f),
            Value::Flags { value, names } => {
                pad(f, format_args!("{value:#x} [{}]", names.join(",")))
            }
        }
    }
}

/// One field of a [`GenericRecord`].
///
/// ```
/// # use chrony::{FieldContent, GenericField, Value};
/// let f = GenericField { name: "stratum".into(), content: FieldContent::Count, value: Value::Unsigned(2) };
/// assert_eq!(f.value.as_u64(), Some(2));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GenericField {
    /// libchrony's field name (`chrony_get_field_name`).
    pub name: String,
    /// The unit or meaning (`chrony_get_field_content`).
    pub content: FieldContent,
    /// The value.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub value: Value,
}

/// A record of any report, field by field, in libchrony's order.
///
/// Records with no fields (ntpdata and authdata of reference clocks) are
/// kept, with an empty `fields`, so that record *i* stays source *i*.
///
/// ```
/// # use chrony::{FieldContent, GenericField, GenericRecord, Value};
/// let r = GenericRecord {
///     report: "activity".into(),
///     fields: vec![GenericField { name: "online sources".into(), content: FieldContent::Count, value: Value::Unsigned(3) }],
/// };
/// assert_eq!(r.get("online sources"), Some(&Value::Unsigned(3)));
/// assert_eq!(r.get("offline sources"), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GenericRecord {
    /// The report name.
    pub report: String,
    /// The fields.
    pub fields: Vec<GenericField>,
}

impl GenericRecord {
    /// Reads every field of a record (live or fake) through its
    /// [`FieldSource`].
    ///
    /// # Errors
    /// [`Error::BadData`](crate::Error::BadData) naming the field, as the
    /// typed models do (NaN float, invalid timestamp, string not UTF-8, ...).
    pub fn from_source<S: FieldSource + ?Sized>(record: &Record<'_, S>) -> Result<GenericRecord> {
        let source = record.source();
        let mut fields = Vec::with_capacity(source.field_count());
        for i in 0..source.field_count() {
            let name = source.field_name(i).unwrap_or_else(|| format!("#{i}"));
            let value = Value::read(source, i).map_err(|p| record.error(&name, p))?;
            fields.push(GenericField {
                name,
                content: source.field_content(i),
                value,
            });
        }
        Ok(GenericRecord {
            report: source.report_name().to_string(),
            fields,
        })
    }

    /// The value of the field named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }
}
