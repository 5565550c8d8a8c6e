//! Fake libchrony records: field tables that implement
//! [`chrony::FieldSource`], the trait every model of the `chrony` crate is built
//! through, so models can be tested with no chronyd and no libchrony calls.
//!
//! ```
//! use chrony::{FieldContent, FromRecord, Record, Tracking};
//! use chrony_testkit::fake::{FakeRecord, FakeValue};
//!
//! let rec = chrony_testkit::scenarios::tracking_synchronized()
//!     .with_value("stratum", FakeValue::Uinteger(3));
//! let t = Tracking::from_record(&Record::new(&rec))?.unwrap();
//! assert_eq!(t.stratum, 3);
//!
//! // Bad data gives the documented error, naming the field.
//! let bad = rec.without("skew");
//! let err = Tracking::from_record(&Record::new(&bad)).unwrap_err();
//! assert!(err.to_string().contains("skew"), "{err}");
//! # Ok::<(), chrony::Error>(())
//! ```

use chrony::field::RawTimespec;
use chrony::{FieldContent, FieldSource, FieldType};
use serde::{Deserialize, Serialize};

/// The value of a fake field, in the C type libchrony would return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FakeValue {
    /// No value (`CHRONY_TYPE_NONE`).
    None,
    /// For `chrony_get_field_uinteger`.
    Uinteger(u64),
    /// For `chrony_get_field_integer`.
    Integer(i64),
    /// For `chrony_get_field_float`.
    Float(f64),
    /// For `chrony_get_field_timespec`: seconds and nanoseconds, unchecked.
    Timespec(i64, i64),
    /// For `chrony_get_field_string`: `None` is a NULL string; bytes need
    /// not be UTF-8.
    String(#[serde(with = "text_bytes")] Option<Vec<u8>>),
}

/// Strings in JSON fixtures: `null`, a JSON string when the bytes are UTF-8,
/// otherwise `{"bytes": [..]}`.
mod text_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Bytes { bytes: Vec<u8> },
    }

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(b) => match std::str::from_utf8(b) {
                Ok(t) => s.serialize_some(&Repr::Text(t.to_string())),
                Err(_) => s.serialize_some(&Repr::Bytes { bytes: b.clone() }),
            },
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Repr>::deserialize(d)?.map(|r| match r {
            Repr::Text(t) => t.into_bytes(),
            Repr::Bytes { bytes } => bytes,
        }))
    }
}

impl FakeValue {
    /// The field type this value is naturally read as.
    pub fn natural_type(&self) -> FieldType {
        match self {
            FakeValue::None => FieldType::None,
            FakeValue::Uinteger(_) => FieldType::Uinteger,
            FakeValue::Integer(_) => FieldType::Integer,
            FakeValue::Float(_) => FieldType::Float,
            FakeValue::Timespec(..) => FieldType::Timespec,
            FakeValue::String(_) => FieldType::String,
        }
    }

    /// A text value.
    pub fn text(s: &str) -> FakeValue {
        FakeValue::String(Some(s.as_bytes().to_vec()))
    }
}

/// One field of a fake record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeField {
    /// The libchrony field name.
    pub name: String,
    /// The type the record claims (may differ from the value's natural type,
    /// to fake a type change).
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// The content kind.
    pub content: FieldContent,
    /// The value.
    pub value: FakeValue,
    /// Constant names for ENUM/FLAGS values (`chrony_get_field_constant_name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constants: Vec<(u64, String)>,
}

/// A fake record: an ordered list of fields, looked up by name like a live
/// libchrony record. Getters behave like libchrony's: reading a field with
/// the wrong getter returns 0 (0.0 for floats, NULL for strings), and so does
/// an index out of range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeRecord {
    /// The report this record belongs to.
    pub report: String,
    /// The fields, in order.
    pub fields: Vec<FakeField>,
}

impl FakeRecord {
    /// An empty record of `report`.
    pub fn new(report: &str) -> FakeRecord {
        FakeRecord {
            report: report.to_string(),
            fields: Vec::new(),
        }
    }

    /// Appends a field with an explicit type, content and value.
    pub fn add_field(
        mut self,
        name: &str,
        ty: FieldType,
        content: FieldContent,
        value: FakeValue,
    ) -> FakeRecord {
        self.fields.push(FakeField {
            name: name.to_string(),
            ty,
            content,
            value,
            constants: Vec::new(),
        });
        self
    }

    /// Appends an unsigned integer field.
    pub fn add_uinteger(self, name: &str, content: FieldContent, v: u64) -> FakeRecord {
        self.add_field(name, FieldType::Uinteger, content, FakeValue::Uinteger(v))
    }

    /// Appends a signed integer field.
    pub fn add_integer(self, name: &str, content: FieldContent, v: i64) -> FakeRecord {
        self.add_field(name, FieldType::Integer, content, FakeValue::Integer(v))
    }

    /// Appends a float field.
    pub fn add_float(self, name: &str, content: FieldContent, v: f64) -> FakeRecord {
        self.add_field(name, FieldType::Float, content, FakeValue::Float(v))
    }

    /// Appends a timespec field.
    pub fn add_timespec(
        self,
        name: &str,
        content: FieldContent,
        secs: i64,
        nanos: i64,
    ) -> FakeRecord {
        self.add_field(
            name,
            FieldType::Timespec,
            content,
            FakeValue::Timespec(secs, nanos),
        )
    }

    /// Appends a string field (`None`: NULL).
    pub fn add_string(self, name: &str, content: FieldContent, v: Option<&str>) -> FakeRecord {
        self.add_field(
            name,
            FieldType::String,
            content,
            FakeValue::String(v.map(|s| s.as_bytes().to_vec())),
        )
    }

    /// Appends an ENUM field with its constant names.
    pub fn add_enum(self, name: &str, v: u64, constants: &[(u64, &str)]) -> FakeRecord {
        let mut r = self.add_uinteger(name, FieldContent::Enum, v);
        if let Some(f) = r.fields.last_mut() {
            f.constants = constants.iter().map(|(k, n)| (*k, n.to_string())).collect();
        }
        r
    }

    fn position(&self, name: &str) -> usize {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .unwrap_or_else(|| panic!("fake {} record has no field {name:?}", self.report))
    }

    /// Removes field `name` (panics if absent: a typo in a test).
    pub fn without(mut self, name: &str) -> FakeRecord {
        let i = self.position(name);
        self.fields.remove(i);
        self
    }

    /// Replaces the value of field `name`, keeping its declared type.
    pub fn with_value(mut self, name: &str, value: FakeValue) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].value = value;
        self
    }

    /// Changes the content kind of field `name`.
    pub fn with_content(mut self, name: &str, content: FieldContent) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].content = content;
        self
    }

    /// Changes the declared type of field `name` (the value is then read
    /// with the getter for the new type, as libchrony would).
    pub fn with_type(mut self, name: &str, ty: FieldType) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].ty = ty;
        self
    }

    /// Changes type and value of field `name` together.
    pub fn retyped(mut self, name: &str, value: FakeValue) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].ty = value.natural_type();
        self.fields[i].value = value;
        self
    }

    /// Renames field `name`.
    pub fn renamed(mut self, name: &str, new_name: &str) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].name = new_name.to_string();
        self
    }

    /// Appends an extra field (as a newer chronyd would send).
    pub fn with_extra(mut self, field: FakeField) -> FakeRecord {
        self.fields.push(field);
        self
    }

    /// The fields' (name, type, content) in order: the record's schema.
    pub fn schema(&self) -> Vec<(String, FieldType, FieldContent)> {
        self.fields
            .iter()
            .map(|f| (f.name.clone(), f.ty, f.content))
            .collect()
    }

    /// Copies any [`FieldSource`] (a live record, for example) into a fake
    /// record: names, types, contents, values, the constant name of each
    /// ENUM value and the names of every FLAGS bit.
    pub fn capture<S: FieldSource + ?Sized>(source: &S) -> FakeRecord {
        let mut rec = FakeRecord::new(source.report_name());
        for i in 0..source.field_count() {
            let ty = source.field_type(i);
            let content = source.field_content(i);
            let value = match ty {
                FieldType::Uinteger => FakeValue::Uinteger(source.uinteger(i)),
                FieldType::Integer => FakeValue::Integer(source.integer(i)),
                FieldType::Float => FakeValue::Float(source.float(i)),
                FieldType::Timespec => {
                    let t = source.timespec(i);
                    FakeValue::Timespec(t.secs, t.nanos)
                }
                FieldType::String => FakeValue::String(source.string(i)),
                _ => FakeValue::None,
            };
            let mut constants = Vec::new();
            match (content, &value) {
                (FieldContent::Enum, FakeValue::Uinteger(v)) => {
                    if let Some(n) = source.constant_name(i, *v) {
                        constants.push((*v, n));
                    }
                }
                (FieldContent::Flags, _) => {
                    for bit in 0..64 {
                        if let Some(n) = source.constant_name(i, 1 << bit) {
                            constants.push((1 << bit, n));
                        }
                    }
                }
                _ => {}
            }
            rec.fields.push(FakeField {
                name: source.field_name(i).unwrap_or_default(),
                ty,
                content,
                value,
                constants,
            });
        }
        rec
    }

    fn get(&self, index: usize) -> Option<&FakeField> {
        self.fields.get(index)
    }
}

impl FieldSource for FakeRecord {
    fn report_name(&self) -> &str {
        &self.report
    }

    fn field_count(&self) -> usize {
        self.fields.len()
    }

    fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    fn field_name(&self, index: usize) -> Option<String> {
        self.get(index).map(|f| f.name.clone())
    }

    fn field_type(&self, index: usize) -> FieldType {
        self.get(index).map_or(FieldType::None, |f| f.ty)
    }

    fn field_content(&self, index: usize) -> FieldContent {
        self.get(index).map_or(FieldContent::None, |f| f.content)
    }

    fn uinteger(&self, index: usize) -> u64 {
        match self.get(index).map(|f| (f.ty, &f.value)) {
            Some((FieldType::Uinteger, FakeValue::Uinteger(v))) => *v,
            Some((FieldType::Uinteger, FakeValue::Integer(v))) => *v as u64,
            _ => 0,
        }
    }

    fn integer(&self, index: usize) -> i64 {
        match self.get(index).map(|f| (f.ty, &f.value)) {
            Some((FieldType::Integer, FakeValue::Integer(v))) => *v,
            Some((FieldType::Integer, FakeValue::Uinteger(v))) => *v as i64,
            _ => 0,
        }
    }

    fn float(&self, index: usize) -> f64 {
        match self.get(index).map(|f| (f.ty, &f.value)) {
            Some((FieldType::Float, FakeValue::Float(v))) => *v,
            _ => 0.0,
        }
    }

    fn timespec(&self, index: usize) -> RawTimespec {
        match self.get(index).map(|f| (f.ty, &f.value)) {
            Some((FieldType::Timespec, FakeValue::Timespec(secs, nanos))) => RawTimespec {
                secs: *secs,
                nanos: *nanos,
            },
            _ => RawTimespec::default(),
        }
    }

    fn string(&self, index: usize) -> Option<Vec<u8>> {
        match self.get(index).map(|f| (f.ty, &f.value)) {
            Some((FieldType::String, FakeValue::String(v))) => v.clone(),
            _ => None,
        }
    }

    fn constant_name(&self, index: usize, value: u64) -> Option<String> {
        let f = self.get(index)?;
        f.constants
            .iter()
            .find(|(v, _)| *v == value)
            .map(|(_, n)| n.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_behave_like_libchrony() {
        let rec = FakeRecord::new("x")
            .add_uinteger("u", FieldContent::Count, 7)
            .add_float("f", FieldContent::OffsetSeconds, 1.5)
            .add_string("s", FieldContent::Address, None);
        assert_eq!(rec.field_index("f"), Some(1));
        assert_eq!(rec.field_index("nope"), None);
        assert_eq!(rec.uinteger(0), 7);
        assert_eq!(rec.float(0), 0.0, "wrong getter gives 0 like libchrony");
        assert_eq!(rec.uinteger(1), 0);
        assert_eq!(rec.string(2), None);
        assert_eq!(rec.uinteger(99), 0);
        assert_eq!(rec.field_type(99), FieldType::None);
        let retyped = rec.with_type("u", FieldType::Float);
        assert_eq!(retyped.float(0), 0.0);
    }

    #[test]
    fn json_round_trip() {
        let rec = FakeRecord::new("tracking")
            .add_timespec("reference time", FieldContent::Time, 5, 6)
            .add_enum("leap status", 1, &[(1, "insert second")]);
        let rec = rec
            .add_string("a", FieldContent::Address, Some("192.0.2.1"))
            .add_field(
                "b",
                FieldType::String,
                FieldContent::None,
                FakeValue::String(Some(vec![0xff, 0x41])),
            );
        let json = serde_json::to_string(&rec).unwrap();
        assert!(json.contains(r#""192.0.2.1""#), "{json}");
        assert!(json.contains(r#"{"bytes":[255,65]}"#), "{json}");
        let back: FakeRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rec);
        assert_eq!(back.constant_name(1, 1).as_deref(), Some("insert second"));
    }
}
