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
//!
//! # Typed builders
//!
//! [`tracking()`], [`source()`] and one function per report start a typed
//! builder ([`chrony::reports::builder::Builder`]) from that report's
//! first scenario: set the fields a test cares about by their Rust names
//! and types, then take the model ([`Builder::build`]), the record
//! ([`Builder::record`]) or both. A wrong type does not compile, a wrong
//! name cannot be written:
//!
//! ```
//! use chrony::{SourceId, SourceState};
//! use chrony_testkit::fake;
//! use std::time::Duration;
//!
//! let t = fake::tracking().last_offset(1e-3).stratum(3).build();
//! assert_eq!((t.last_offset, t.stratum), (1e-3, 3));
//!
//! let b = fake::source()
//!     .address("192.0.2.7".parse::<SourceId>().unwrap())
//!     .state(SourceState::Falseticker)
//!     .last_sample_ago(None);
//! let s = b.build();
//! assert!(!s.is_selected() && s.last_sample_ago.is_none());
//! // The same source as a record, for code that reads records.
//! let rec: chrony_testkit::FakeRecord = b.into_record();
//! assert_eq!(chrony_testkit::scenarios::build::<chrony::Source>(&[rec])?[0], s);
//!
//! let stats = fake::source_stats().span(Duration::from_secs(600)).build();
//! assert_eq!(stats.span.as_secs(), 600);
//! # Ok::<(), chrony::Error>(())
//! ```
//!
//! The string-typed API below ([`FakeRecord::with_value`] and friends)
//! remains for faking what the typed one cannot: wrong types, missing or
//! renamed fields. A name the record does not have, or a value of another
//! type than the field's, is a panic at the caller that lists the record's
//! fields (use [`FakeRecord::retyped`] to change a field's type on
//! purpose).

use chrony::field::RawTimespec;
use chrony::reports::builder::{Builder, FieldSink, WireValue};
use chrony::reports::FieldSpec;
use chrony::{
    Activity, AuthData, FieldContent, FieldSource, FieldType, FromRecord, NtpData, RtcData,
    SelectData, ServerStats, Smoothing, Source, SourceStats, Tracking,
};
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

    /// The record's fields, one per line with their types, and the Rust
    /// names of the model's fields where the report is a typed one: what a
    /// panic of the string API lists.
    fn field_list(&self) -> String {
        let schema = chrony::reports::SCHEMAS
            .iter()
            .find(|(r, _)| *r == self.report)
            .map_or(&[][..], |(_, f)| *f);
        self.fields
            .iter()
            .map(|f| {
                let rust = schema
                    .iter()
                    .find(|s| s.name == f.name)
                    .map_or(String::new(), |s| {
                        format!(" (model field `{}: {}`)", s.rust_name, s.rust_type)
                    });
                format!("\n  {:?}: {}{rust}", f.name, f.ty)
            })
            .collect()
    }

    #[track_caller]
    fn position(&self, name: &str) -> usize {
        match self.fields.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => panic!(
                "fake {} record has no field {name:?}; its fields are:{}",
                self.report,
                self.field_list()
            ),
        }
    }

    /// Removes field `name`.
    ///
    /// # Panics
    /// When the record has no field `name` (a typo in a test), at the
    /// caller, listing the record's fields.
    #[track_caller]
    pub fn without(mut self, name: &str) -> FakeRecord {
        let i = self.position(name);
        self.fields.remove(i);
        self
    }

    /// Replaces the value of field `name`, keeping its declared type.
    ///
    /// # Panics
    /// At the caller, listing the record's fields: when the record has no
    /// field `name`, or when `value` is of another type than the field
    /// (libchrony's getters would read it as 0; [`retyped`](Self::retyped)
    /// changes the type on purpose). An integer of the other signedness is
    /// accepted, as libchrony's getters do.
    ///
    /// ```should_panic
    /// use chrony_testkit::fake::FakeValue;
    /// // "last offset" is a float: an unsigned value would read as 0.0.
    /// chrony_testkit::scenarios::tracking_synchronized()
    ///     .with_value("last offset", FakeValue::Uinteger(1));
    /// ```
    #[track_caller]
    pub fn with_value(mut self, name: &str, value: FakeValue) -> FakeRecord {
        let i = self.position(name);
        let ty = self.fields[i].ty;
        let found = value.natural_type();
        let compatible = found == ty
            || matches!(
                (ty, found),
                (FieldType::Uinteger, FieldType::Integer)
                    | (FieldType::Integer, FieldType::Uinteger)
            );
        if !compatible {
            panic!(
                "fake {} record: field {name:?} is {ty}, the value {value:?} is {found} (use \
                 `retyped` to change the field's type); its fields are:{}",
                self.report,
                self.field_list()
            );
        }
        self.fields[i].value = value;
        self
    }

    /// Changes the content kind of field `name`.
    ///
    /// # Panics
    /// When the record has no field `name`, at the caller.
    #[track_caller]
    pub fn with_content(mut self, name: &str, content: FieldContent) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].content = content;
        self
    }

    /// Changes the declared type of field `name` (the value is then read
    /// with the getter for the new type, as libchrony would).
    ///
    /// # Panics
    /// When the record has no field `name`, at the caller.
    #[track_caller]
    pub fn with_type(mut self, name: &str, ty: FieldType) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].ty = ty;
        self
    }

    /// Changes type and value of field `name` together.
    ///
    /// # Panics
    /// When the record has no field `name`, at the caller.
    #[track_caller]
    pub fn retyped(mut self, name: &str, value: FakeValue) -> FakeRecord {
        let i = self.position(name);
        self.fields[i].ty = value.natural_type();
        self.fields[i].value = value;
        self
    }

    /// Renames field `name`.
    ///
    /// # Panics
    /// When the record has no field `name`, at the caller.
    #[track_caller]
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

/// What typed builders write into: a field's value (and type) set, or the
/// field appended with the declaration's type and content when missing.
impl FieldSink for FakeRecord {
    fn set_field(&mut self, spec: &FieldSpec, value: WireValue) {
        let ty = value.field_type();
        let value = match value {
            WireValue::Uinteger(v) => FakeValue::Uinteger(v),
            WireValue::Integer(v) => FakeValue::Integer(v),
            WireValue::Float(v) => FakeValue::Float(v),
            WireValue::Timespec(s, n) => FakeValue::Timespec(s, n),
            WireValue::String(s) => FakeValue::String(s.map(String::into_bytes)),
            _ => FakeValue::None,
        };
        match self.fields.iter_mut().find(|f| f.name == spec.name) {
            Some(f) => {
                f.ty = ty;
                f.value = value;
            }
            None => self.fields.push(FakeField {
                name: spec.name.to_string(),
                ty,
                content: spec.content,
                value,
                constants: Vec::new(),
            }),
        }
    }

    fn remove_field(&mut self, name: &str) {
        self.fields.retain(|f| f.name != name);
    }
}

/// A typed builder of model `M` starting from `record` (see [Typed
/// builders](self#typed-builders)).
///
/// ```
/// let t = chrony_testkit::fake::builder::<chrony::Tracking>(chrony_testkit::scenarios::tracking_leap_insert())
///     .stratum(4)
///     .build();
/// assert!(t.is_leap_pending() && t.stratum == 4);
/// ```
pub fn builder<M: FromRecord>(record: FakeRecord) -> Builder<M, FakeRecord> {
    Builder::new(record)
}

/// A tracking like [`scenarios::tracking_synchronized`](crate::scenarios::tracking_synchronized),
/// to change field by field.
///
/// ```
/// let t = chrony_testkit::fake::tracking().current_correction(-0.25).build();
/// assert_eq!(t.clock_error_bound(), 0.25 + t.root_dispersion + t.root_delay / 2.0);
/// ```
pub fn tracking() -> Builder<Tracking, FakeRecord> {
    builder(crate::scenarios::tracking_synchronized())
}

/// A source like [`scenarios::source_selected`](crate::scenarios::source_selected).
///
/// ```
/// let s = chrony_testkit::fake::source().reachability(0).build();
/// assert!(!s.is_reachable());
/// ```
pub fn source() -> Builder<Source, FakeRecord> {
    builder(crate::scenarios::source_selected())
}

/// Source statistics like [`scenarios::sourcestats_ntp`](crate::scenarios::sourcestats_ntp).
///
/// ```
/// assert_eq!(chrony_testkit::fake::source_stats().samples(2).build().samples, 2);
/// ```
pub fn source_stats() -> Builder<SourceStats, FakeRecord> {
    builder(crate::scenarios::sourcestats_ntp())
}

/// RTC data like [`scenarios::rtcdata_present`](crate::scenarios::rtcdata_present).
///
/// ```
/// assert_eq!(chrony_testkit::fake::rtc_data().offset(0.5).build().offset, 0.5);
/// ```
pub fn rtc_data() -> Builder<RtcData, FakeRecord> {
    builder(crate::scenarios::rtcdata_present())
}

/// Activity like [`scenarios::activity_online`](crate::scenarios::activity_online).
///
/// ```
/// assert_eq!(chrony_testkit::fake::activity().offline_sources(2).build().offline_sources, 2);
/// ```
pub fn activity() -> Builder<Activity, FakeRecord> {
    builder(crate::scenarios::activity_online())
}

/// Server statistics like [`scenarios::serverstats_chronyd_4_6`](crate::scenarios::serverstats_chronyd_4_6);
/// `None` removes a field, as an older chronyd would not send it.
///
/// ```
/// let s = chrony_testkit::fake::server_stats().served_kernel_rx_timestamps(None).build();
/// assert_eq!(s.served_kernel_rx_timestamps, None);
/// ```
pub fn server_stats() -> Builder<ServerStats, FakeRecord> {
    builder(crate::scenarios::serverstats_chronyd_4_6())
}

/// Smoothing like [`scenarios::smoothing_active`](crate::scenarios::smoothing_active).
///
/// ```
/// use std::time::Duration;
/// let s = chrony_testkit::fake::smoothing().remaining_time(Duration::ZERO).build();
/// assert_eq!(s.remaining_time, Duration::ZERO);
/// ```
pub fn smoothing() -> Builder<Smoothing, FakeRecord> {
    builder(crate::scenarios::smoothing_active())
}

/// Select data like [`scenarios::selectdata_refclock_best`](crate::scenarios::selectdata_refclock_best).
///
/// ```
/// let s = chrony_testkit::fake::select_data().score(2.5).build();
/// assert_eq!(s.score, 2.5);
/// ```
pub fn select_data() -> Builder<SelectData, FakeRecord> {
    builder(crate::scenarios::selectdata_refclock_best())
}

/// NTP data like [`scenarios::ntpdata_chronyd_4_6`](crate::scenarios::ntpdata_chronyd_4_6).
///
/// ```
/// let n = chrony_testkit::fake::ntp_data().received_good_messages(None).build();
/// assert_eq!(n.received_good_messages, None);
/// ```
pub fn ntp_data() -> Builder<NtpData, FakeRecord> {
    builder(crate::scenarios::ntpdata_chronyd_4_6())
}

/// Authentication data like [`scenarios::authdata_nts`](crate::scenarios::authdata_nts).
///
/// ```
/// let a = chrony_testkit::fake::auth_data().cookies(0).build();
/// assert_eq!(a.cookies, 0);
/// ```
pub fn auth_data() -> Builder<AuthData, FakeRecord> {
    builder(crate::scenarios::authdata_nts())
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
