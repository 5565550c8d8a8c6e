//! libchrony's description of a field: its type ([`FieldType`]), its
//! content kind ([`FieldContent`]: unit or meaning), and a timespec as
//! libchrony returns it ([`RawTimespec`]). Plain data: what a value means
//! is decided above, in `field` and the models.

use crate::display::pad;
use std::fmt;

/// The type of a field (`chrony_field_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum FieldType {
    /// `CHRONY_TYPE_NONE`
    None,
    /// `CHRONY_TYPE_UINTEGER`: read with [`FieldSource::uinteger`](crate::field::FieldSource::uinteger).
    Uinteger,
    /// `CHRONY_TYPE_INTEGER`: read with [`FieldSource::integer`](crate::field::FieldSource::integer).
    Integer,
    /// `CHRONY_TYPE_FLOAT`: read with [`FieldSource::float`](crate::field::FieldSource::float).
    Float,
    /// `CHRONY_TYPE_TIMESPEC`: read with [`FieldSource::timespec`](crate::field::FieldSource::timespec).
    Timespec,
    /// `CHRONY_TYPE_STRING`: read with [`FieldSource::string`](crate::field::FieldSource::string).
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
            FieldType::Unknown(v) => pad(f, format_args!("unknown type {v}")),
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

#[cfg(feature = "test-util")]
/// A field's value in the C type libchrony returns it as.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WireValue {
    /// No value (`CHRONY_TYPE_NONE`).
    None,
    /// An unsigned integer (also enums, flags, booleans, reference IDs).
    Uinteger(u64),
    /// A signed integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A timespec: seconds and nanoseconds.
    Timespec(i64, i64),
    /// A string; `None` is a NULL string (an address chronyd does not have).
    String(Option<String>),
}

#[cfg(feature = "test-util")]
impl WireValue {
    /// The libchrony type this value has.
    ///
    /// ```
    /// use chrony::reports::builder::WireValue;
    /// assert_eq!(WireValue::Float(1.0).field_type(), chrony::FieldType::Float);
    /// ```
    pub fn field_type(&self) -> FieldType {
        match self {
            WireValue::None => FieldType::None,
            WireValue::Uinteger(_) => FieldType::Uinteger,
            WireValue::Integer(_) => FieldType::Integer,
            WireValue::Float(_) => FieldType::Float,
            WireValue::Timespec(..) => FieldType::Timespec,
            WireValue::String(_) => FieldType::String,
        }
    }
}

#[cfg(feature = "test-util")]
/// A model field's value as chronyd sends it: the inverse of
/// `FromField` for the types the models use.
pub trait ToWire {
    /// The wire value.
    fn to_wire(&self) -> WireValue;
}
