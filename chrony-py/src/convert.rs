//! The models' values as plain Python values, through their `Serialize`
//! implementations: the one generic view of every model's fields, so a
//! report added to the library needs no conversion code here.
//!
//! A struct becomes a tuple of its field values in declaration order (the
//! Python layer builds its dataclasses positionally, which is what keeps a
//! 128-source report cheap), a sequence a list, `None` `None`, a unit
//! variant its name. The serializer is not human-readable, so a timestamp
//! comes as its exact `(seconds, nanoseconds)` pair and an IP address as
//! its octets (the Python layer formats them); a source is its text as
//! chronyc prints it in both forms. pythonize (serde to Python) builds a
//! dict per struct and is human-readable only, hence this small
//! serializer.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;
use serde::ser::{self, Serialize};
use std::fmt;

/// `value` as a plain Python value (see the module documentation).
pub fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    value.serialize(Ser { py }).map_err(|e| e.0)
}

/// A failed conversion: a Python error (raised as such).
#[derive(Debug)]
pub struct ConvertError(PyErr);

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ConvertError {}

impl ser::Error for ConvertError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ConvertError(PyValueError::new_err(msg.to_string()))
    }
}

impl From<PyErr> for ConvertError {
    fn from(e: PyErr) -> Self {
        ConvertError(e)
    }
}

type Result<T> = std::result::Result<T, ConvertError>;

#[derive(Clone, Copy)]
struct Ser<'py> {
    py: Python<'py>,
}

impl<'py> Ser<'py> {
    fn value<T: IntoPyObject<'py>>(self, v: T) -> Result<Bound<'py, PyAny>> {
        Ok(v.into_bound_py_any(self.py)?)
    }
}

/// Collects the elements of a sequence, tuple or struct.
struct Items<'py> {
    ser: Ser<'py>,
    items: Vec<Bound<'py, PyAny>>,
    /// A Python list (sequences) or a tuple (tuples and structs).
    list: bool,
}

impl<'py> Items<'py> {
    fn new(ser: Ser<'py>, len: Option<usize>, list: bool) -> Self {
        Items {
            ser,
            items: Vec::with_capacity(len.unwrap_or(0)),
            list,
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(self.ser)?);
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        Ok(if self.list {
            PyList::new(self.ser.py, self.items)?.into_any()
        } else {
            PyTuple::new(self.ser.py, self.items)?.into_any()
        })
    }
}

/// Collects a map into a dict.
struct Map<'py> {
    ser: Ser<'py>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
}

impl<'py> ser::Serializer for Ser<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    type SerializeSeq = Items<'py>;
    type SerializeTuple = Items<'py>;
    type SerializeTupleStruct = Items<'py>;
    type SerializeTupleVariant = Items<'py>;
    type SerializeMap = Map<'py>;
    type SerializeStruct = Items<'py>;
    type SerializeStructVariant = Items<'py>;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.value(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        self.value(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        self.value(v)
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    /// The value alone: an IP address (`V4`/`V6` with its octets) needs no
    /// tag, its length tells.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items<'py>> {
        Ok(Items::new(self, len, true))
    }
    fn serialize_tuple(self, len: usize) -> Result<Items<'py>> {
        Ok(Items::new(self, Some(len), false))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Items<'py>> {
        Ok(Items::new(self, Some(len), false))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Items<'py>> {
        Ok(Items::new(self, Some(len), false))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'py>> {
        Ok(Map {
            ser: self,
            dict: PyDict::new(self.py),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Items<'py>> {
        Ok(Items::new(self, Some(len), false))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Items<'py>> {
        Ok(Items::new(self, Some(len), false))
    }
}

/// serde hands the elements of a sequence, a tuple and a struct (and their
/// variants) through six traits whose methods differ only in name and in a
/// struct's field name, which a tuple leaves out: each pushes onto `Items`.
macro_rules! items_impls {
    ($($trait:ident::$method:ident($($key:ident: $key_type:ty)?);)*) => {$(
        impl<'py> ser::$trait for Items<'py> {
            type Ok = Bound<'py, PyAny>;
            type Error = ConvertError;
            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $($key: $key_type,)?
                value: &T,
            ) -> Result<()> {
                self.push(value)
            }
            fn end(self) -> Result<Self::Ok> {
                self.finish()
            }
        }
    )*};
}

items_impls! {
    SerializeSeq::serialize_element();
    SerializeTuple::serialize_element();
    SerializeTupleStruct::serialize_field();
    SerializeTupleVariant::serialize_field();
    SerializeStruct::serialize_field(_key: &'static str);
    SerializeStructVariant::serialize_field(_key: &'static str);
}

impl<'py> ser::SerializeMap for Map<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = ConvertError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(self.ser)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <ConvertError as ser::Error>::custom("a map value without its key"))?;
        self.dict.set_item(key, value.serialize(self.ser)?)?;
        Ok(())
    }
    fn end(self) -> Result<Self::Ok> {
        Ok(self.dict.into_any())
    }
}
