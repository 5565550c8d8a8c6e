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

use crate::error::{DataProblem, Result};
use crate::field::{fix_i16, FieldContent, FieldSource, FieldType, FromField, Record};
use crate::Timestamp;
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
            Value::None => f.write_str("-"),
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::Signed(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Time(t) => write!(f, "{t}"),
            Value::Text(Some(s)) => f.write_str(s),
            Value::Text(None) => f.write_str("-"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Enum {
                value,
                name: Some(n),
            } => write!(f, "{n} ({value})"),
            Value::Enum { value, name: None } => write!(f, "{value}"),
            Value::Flags { value, names } => write!(f, "{value:#x} [{}]", names.join(",")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::more::fake::{Fake, V};
    use crate::FieldContent as C;

    #[test]
    fn every_kind_of_field() {
        let f = Fake::new("ntpdata")
            .s("remote address", Some("192.0.2.1"))
            .s("address", None)
            .uc("mode", 4, C::Enum)
            .name("mode", 4, "server")
            .uc("state", 9, C::Enum)
            .uc("flags", 0x4000 | 0x200 | 0x1, C::Flags)
            .name("flags", 0x1, "testD")
            .name("flags", 0x200, "test1")
            .name("flags", 0x4000, "interleaved")
            .uc("NAK", 1, C::Boolean)
            .uc("odd boolean", 7, C::Boolean)
            .i("poll", 65534, C::IntervalLog2Seconds)
            .i("precision", -25, C::IntervalLog2Seconds)
            .i("other", 65534, C::Count)
            .f("offset", -1.5)
            .t("reference time", 10, 5)
            .u("count", 3);
        let r = GenericRecord::from_source(&Record::new(&f)).unwrap();
        assert_eq!(r.report, "ntpdata");
        assert_eq!(r.fields.len(), 13);
        assert_eq!(
            r.get("remote address").and_then(Value::as_str),
            Some("192.0.2.1")
        );
        assert_eq!(r.get("address"), Some(&Value::Text(None)));
        assert_eq!(
            r.get("mode"),
            Some(&Value::Enum {
                value: 4,
                name: Some("server".into())
            })
        );
        assert_eq!(
            r.get("state"),
            Some(&Value::Enum {
                value: 9,
                name: None
            })
        );
        assert_eq!(
            r.get("flags"),
            Some(&Value::Flags {
                value: 0x4201,
                names: vec!["testD".into(), "test1".into(), "interleaved".into()]
            })
        );
        assert_eq!(r.get("NAK"), Some(&Value::Bool(true)));
        assert_eq!(r.get("odd boolean"), Some(&Value::Unsigned(7)));
        assert_eq!(r.get("poll"), Some(&Value::Signed(-2)));
        assert_eq!(r.get("precision"), Some(&Value::Signed(-25)));
        assert_eq!(r.get("other"), Some(&Value::Signed(65534)));
        assert_eq!(r.get("offset").and_then(Value::as_f64), Some(-1.5));
        assert_eq!(
            r.get("reference time"),
            Some(&Value::Time(Timestamp::new(10, 5).unwrap()))
        );
        assert_eq!(r.get("count").and_then(Value::as_u64), Some(3));
        assert_eq!(r.fields[2].content, C::Enum);
    }

    #[test]
    fn bad_values_name_the_field() {
        let f = Fake::new("tracking")
            .f("skew", 1.0)
            .set("skew", V::F(f64::INFINITY));
        match GenericRecord::from_source(&Record::new(&f)) {
            Err(crate::Error::BadData { report, field, .. }) => {
                assert_eq!((report.as_str(), field.as_str()), ("tracking", "skew"))
            }
            other => panic!("{other:?}"),
        }
        let empty = GenericRecord::from_source(&Record::new(&Fake::new("authdata"))).unwrap();
        assert!(empty.fields.is_empty());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip() {
        let f = Fake::new("ntpdata")
            .uc("mode", 4, C::Enum)
            .name("mode", 4, "server")
            .uc("flags", 1, C::Flags)
            .name("flags", 1, "testD")
            .t("reference time", 10, 500_000_000)
            .s("address", None)
            .i("poll", -2, C::IntervalLog2Seconds);
        let r = GenericRecord::from_source(&Record::new(&f)).unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["fields"][0],
            serde_json::json!({"name": "mode", "content": "enum", "type": "enum", "value": {"value": 4, "name": "server"}})
        );
        assert_eq!(json["fields"][2]["value"], serde_json::json!(10.5));
        assert_eq!(
            json["fields"][4],
            serde_json::json!({"name": "poll", "content": "interval_log2_seconds", "type": "signed", "value": -2})
        );
        let back: GenericRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }
}
