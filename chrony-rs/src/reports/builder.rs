//! Typed test builders for every model (feature `test-util`): set a
//! model's fields by their Rust names and types on top of a valid record,
//! and get both the record and the model it reads as.
//!
//! Each builder is generated from the model's `report!` declaration, so it
//! has one setter per field, named and typed like the field: a wrong type
//! does not compile and a wrong name cannot be written. A builder writes
//! into a record (any [`FieldSink`]: `chrony-testkit`'s `FakeRecord`,
//! whose `fake::tracking()`, `fake::source()`, ... start from its ready
//! scenarios) as chronyd would send the value, and [`Builder::build`]
//! reads the model back from that record with [`FromRecord`], the same
//! code that reads live records. So the model and the record always
//! agree, the model's `#[non_exhaustive]` stays meaningful (fields a test
//! does not set keep the record's values, including fields a later version
//! adds) and nothing here can build a model the library would not read.
//! A value chronyd cannot send is written as the nearest one it can (a
//! sub-second part of an interval chronyd counts in whole seconds is
//! dropped, an age beyond 0xFFFFFFFE s is that), and the model shows what
//! the library reads.
//!
//! ```
//! use chrony::LeapStatus;
//! use std::time::Duration;
//!
//! // "A tracking like the scenario, but with this last offset."
//! let b = chrony_testkit::fake::tracking()
//!     .last_offset(1e-3)
//!     .leap_status(LeapStatus::Insert)
//!     .last_update_interval(Duration::from_secs(128));
//! let t = b.build();
//! assert_eq!(t.last_offset, 1e-3);
//! assert!(t.is_leap_pending());
//! // The record is what chronyd would send, under libchrony's names.
//! let rec = b.record();
//! assert!(rec.fields.iter().any(|f| f.name == "last offset"));
//! ```

use super::schema::{FieldSpec, FromRecord, Presence};
use crate::error::Result;
use crate::field::{FieldSource, Record};
use crate::time::Timestamp;
use crate::types::{RefId, SourceId};
pub use crate::wire::{ToWire, WireValue};
use std::marker::PhantomData;
use std::net::IpAddr;
use std::time::Duration;

/// A record a [`Builder`] can write fields into (`chrony-testkit`'s
/// `FakeRecord`).
pub trait FieldSink: FieldSource {
    /// Sets the value of field `spec.name`, appending the field (with the
    /// spec's type and content) when the record does not have it.
    fn set_field(&mut self, spec: &FieldSpec, value: WireValue);

    /// Removes field `name` (nothing when the record does not have it):
    /// how a field an older chronyd does not send, or an alternative one,
    /// becomes absent.
    fn remove_field(&mut self, name: &str);
}

macro_rules! to_wire_as {
    ($variant:ident($as:ty): $($t:ty),*) => {$(
        impl ToWire for $t {
            fn to_wire(&self) -> WireValue {
                WireValue::$variant(<$as>::from(*self))
            }
        }
    )*};
}
to_wire_as!(Uinteger(u64): u8, u16, u32, u64);
to_wire_as!(Integer(i64): i8, i16, i32, i64);

impl ToWire for f64 {
    fn to_wire(&self) -> WireValue {
        WireValue::Float(*self)
    }
}

impl ToWire for bool {
    fn to_wire(&self) -> WireValue {
        WireValue::Uinteger(u64::from(*self))
    }
}

impl ToWire for RefId {
    fn to_wire(&self) -> WireValue {
        WireValue::Uinteger(u64::from(self.0))
    }
}

impl ToWire for Timestamp {
    fn to_wire(&self) -> WireValue {
        WireValue::Timespec(self.secs(), i64::from(self.subsec_nanos()))
    }
}

/// An address field: the text chronyc prints (a reference clock, which has
/// no address, is written as NULL).
impl ToWire for SourceId {
    fn to_wire(&self) -> WireValue {
        match self {
            SourceId::RefClock(_) => WireValue::String(None),
            other => WireValue::String(Some(other.to_string())),
        }
    }
}

impl ToWire for Option<SourceId> {
    fn to_wire(&self) -> WireValue {
        match self {
            Some(id) => id.to_wire(),
            None => WireValue::String(None),
        }
    }
}

impl ToWire for Option<IpAddr> {
    fn to_wire(&self) -> WireValue {
        WireValue::String(self.map(|ip| ip.to_string()))
    }
}

/// Encodes a model value of type `T` as the wire type `Self` of its
/// declaration (`as WireType`, or the field's own type).
#[doc(hidden)]
pub trait Encode<T> {
    fn encode(value: &T) -> WireValue;
}

impl<T: ToWire> Encode<T> for T {
    fn encode(value: &T) -> WireValue {
        value.to_wire()
    }
}

/// ntpdata's poll: an `i16` model field read from an 8-bit field.
impl Encode<i16> for i8 {
    fn encode(value: &i16) -> WireValue {
        WireValue::Integer(i64::from(*value))
    }
}

impl Encode<Duration> for super::convert::WholeSeconds {
    fn encode(value: &Duration) -> WireValue {
        WireValue::Uinteger(value.as_secs())
    }
}

impl Encode<Duration> for super::convert::FloatSeconds {
    fn encode(value: &Duration) -> WireValue {
        WireValue::Float(value.as_secs_f64())
    }
}

impl Encode<Option<Duration>> for super::convert::Never {
    fn encode(value: &Option<Duration>) -> WireValue {
        WireValue::Uinteger(value.map_or(u64::from(super::convert::NEVER), |d| {
            d.as_secs().min(u64::from(super::convert::NEVER - 1))
        }))
    }
}

/// Writes a field a declaration reads with a hook (`by hook`), which may
/// span several wire fields.
#[doc(hidden)]
pub trait EncodeHooked {
    fn encode_hooked<R: FieldSink + ?Sized>(
        &self,
        spec: &FieldSpec,
        fields: &[FieldSpec],
        record: &mut R,
    );
}

/// A source's identity: its address, or for a reference clock no address
/// (absent in `sources`, NULL elsewhere) and its `reference ID`.
impl EncodeHooked for SourceId {
    fn encode_hooked<R: FieldSink + ?Sized>(
        &self,
        spec: &FieldSpec,
        fields: &[FieldSpec],
        record: &mut R,
    ) {
        match self {
            SourceId::RefClock(id) => {
                if spec.presence == Presence::Alternative {
                    record.remove_field(spec.name);
                } else {
                    record.set_field(spec, WireValue::String(None));
                }
                if let Some(refid) = fields.iter().find(|f| f.name == "reference ID") {
                    record.set_field(refid, id.to_wire());
                }
            }
            other => record.set_field(spec, other.to_wire()),
        }
    }
}

/// ntpdata's `received good messages`: `None` is chronyd's 0xFFFFFFFF.
impl EncodeHooked for Option<u64> {
    fn encode_hooked<R: FieldSink + ?Sized>(
        &self,
        spec: &FieldSpec,
        _fields: &[FieldSpec],
        record: &mut R,
    ) {
        record.set_field(spec, WireValue::Uinteger(self.unwrap_or(0xFFFF_FFFF)));
    }
}

/// A typed builder of model `M` over a record `R` (see the [module
/// docs](self)). Each model has one setter per field, generated from its
/// declaration; [`build`](Self::build) reads the model from the record.
#[derive(Debug, Clone)]
pub struct Builder<M, R> {
    record: R,
    paired: Option<Option<SourceId>>,
    model: PhantomData<fn() -> M>,
}

impl<M: FromRecord, R: FieldSink> Builder<M, R> {
    /// A builder that starts from `record` (in tests, a valid record such
    /// as a `chrony-testkit` scenario).
    pub fn new(record: R) -> Builder<M, R> {
        Builder {
            record,
            paired: None,
            model: PhantomData,
        }
    }

    /// The model the record reads as, as [`FromRecord::from_record`]
    /// gives it: `Ok(None)` for a record the report marks as not
    /// applicable (no fields: the ntpdata record of a reference clock).
    ///
    /// # Errors
    /// [`Error::BadData`](crate::Error::BadData) when the record does not make a model (a value
    /// the record got some other way than through the setters, such as a
    /// stratum of 70000 set with the record's string API).
    pub fn try_build(&self) -> Result<Option<M>> {
        let model = M::from_record(&Record::new(&self.record))?;
        Ok(match (model, self.paired) {
            (Some(m), Some(address)) => Some(m.with_paired_address(address)),
            (m, _) => m,
        })
    }

    /// The model the record reads as.
    ///
    /// # Panics
    /// When [`try_build`](Self::try_build) fails or gives no model, with
    /// the error, at the caller.
    #[track_caller]
    pub fn build(&self) -> M {
        match self.try_build() {
            Ok(Some(m)) => m,
            Ok(None) => panic!(
                "the {} record has no fields: it reads as no model",
                M::REPORT
            ),
            Err(e) => panic!("building a {} model: {}", M::REPORT, e.chain()),
        }
    }

    /// The record built so far.
    pub fn record(&self) -> &R {
        &self.record
    }

    /// The record built so far, by value.
    pub fn into_record(self) -> R {
        self.record
    }

    #[doc(hidden)]
    pub fn __field(&mut self, name: &str) -> (&'static FieldSpec, &'static [FieldSpec], &mut R) {
        let spec = M::FIELDS
            .iter()
            .find(|f| f.name == name)
            .expect("a declared field");
        (spec, M::FIELDS, &mut self.record)
    }

    #[doc(hidden)]
    pub fn __set_paired(&mut self, address: Option<SourceId>) {
        self.paired = Some(address);
    }
}

/// How one setter writes its value, by the field's presence.
macro_rules! builder_set {
    ($b:ident, $v:ident, $n:literal, paired, [], $($t:tt)*) => {
        $b.__set_paired($v)
    };
    ($b:ident, $v:ident, $n:literal, $p:ident, [$hook:path], $t:ty $(, $w:ty)?) => {{
        let (spec, fields, rec) = $b.__field($n);
        $crate::reports::builder::EncodeHooked::encode_hooked(&$v, spec, fields, rec)
    }};
    ($b:ident, $v:ident, $n:literal, required, [], $t:ty $(, $w:ty)?) => {{
        let (spec, _, rec) = $b.__field($n);
        let wire = <$crate::reports::convert::wire!(required, $t $(, $w)?) as $crate::reports::builder::Encode<$t>>::encode(&$v);
        $crate::reports::builder::FieldSink::set_field(rec, spec, wire)
    }};
    ($b:ident, $v:ident, $n:literal, $p:ident, [], $t:ty $(, $w:ty)?) => {{
        let (spec, _, rec) = $b.__field($n);
        match $v {
            Some(v) => {
                let wire = <$crate::reports::convert::wire!($p, $t $(, $w)?) as $crate::reports::builder::Encode<
                    <$t as $crate::reports::convert::OptionalField>::Inner,
                >>::encode(&v);
                $crate::reports::builder::FieldSink::set_field(rec, spec, wire)
            }
            None => $crate::reports::builder::FieldSink::remove_field(rec, $n),
        }
    }};
}
pub(crate) use builder_set;

/// The setters of one model's builder, from its `report!` declaration.
macro_rules! builder_setters {
    (
        $name:ident {
            $( $field:ident : $ty:ty = $fname:literal, $presence:ident $(by $hook:path)? $(as $wire:ty)?; )*
        }
    ) => {
        impl<R: $crate::reports::builder::FieldSink> $crate::reports::builder::Builder<$name, R> {
            #[doc = concat!(
                "Sets every field of [`", stringify!($name), "`] to `model`'s values, as if each ",
                "setter were called: the record then reads as `model` (fields the record has ",
                "beyond the model's are kept)."
            )]
            #[must_use]
            pub fn with_model(self, model: &$name) -> Self {
                self $( .$field(::std::clone::Clone::clone(&model.$field)) )*
            }
            $(
                #[doc = concat!(
                    "Sets [`", stringify!($field), "`](", stringify!($name), "::", stringify!($field),
                    ") (libchrony field `", $fname, "`) as chronyd would send it",
                    $crate::reports::builder::builder_doc!($presence), "."
                )]
                #[must_use]
                pub fn $field(mut self, value: $ty) -> Self {
                    let b = &mut self;
                    $crate::reports::builder::builder_set!(b, value, $fname, $presence, [$($hook)?], $ty $(, $wire)?);
                    self
                }
            )*
        }
    };
}
pub(crate) use builder_setters;

macro_rules! builder_doc {
    (required) => {
        ""
    };
    (since) => {
        "; `None` removes the field, as chronyd before the version that added it"
    };
    (alternative) => {
        "; `None` removes the field"
    };
    (paired) => {
        " (set on the model: it is read from the source's sourcestats record)"
    };
}
pub(crate) use builder_doc;
