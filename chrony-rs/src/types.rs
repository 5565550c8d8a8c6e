//! Value types shared by the reports: timestamps, reference IDs and enums.

use crate::display::pad;
use crate::error::DataProblem;
use crate::field::{FieldSource, FieldType, FromField};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// A 32-bit NTP reference ID: an IPv4 address (or hash of an IPv6 address)
/// for NTP sources, four ASCII characters (`GPS0`, `PPS`) for reference
/// clocks.
///
/// Displayed as chronyc does, in upper-case hex (`7F000001`).
///
/// ```
/// use chrony::RefId;
/// let gps = RefId(0x4750_5330);
/// assert_eq!(gps.name().as_deref(), Some("GPS0"));
/// assert_eq!(gps.to_string(), "47505330");
/// assert_eq!(RefId(0x7f00_0001).to_ipv4(), std::net::Ipv4Addr::LOCALHOST);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct RefId(pub u32);

impl RefId {
    /// The ID as text when it is printable ASCII (trailing NULs dropped), as
    /// reference clocks use it; `None` otherwise.
    ///
    /// ```
    /// # use chrony::RefId;
    /// assert_eq!(RefId(0x5050_5300).name().as_deref(), Some("PPS"));
    /// assert_eq!(RefId(0x7f00_0001).name(), None);
    /// ```
    pub fn name(self) -> Option<String> {
        let bytes = self.0.to_be_bytes();
        let len = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        let text = &bytes[..len];
        if !text.is_empty() && text.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            Some(String::from_utf8_lossy(text).into_owned())
        } else {
            None
        }
    }

    /// How chronyc names a source it knows only by this ID: the text
    /// ([`name`](Self::name)) when printable, otherwise the hex form.
    ///
    /// ```
    /// # use chrony::RefId;
    /// assert_eq!(RefId(0x4750_5330).label(), "GPS0");
    /// assert_eq!(RefId(0x7f00_0001).label(), "7F000001");
    /// ```
    pub fn label(self) -> String {
        self.name().unwrap_or_else(|| self.to_string())
    }

    /// The ID read as an IPv4 address (meaningful for IPv4 NTP sources).
    pub fn to_ipv4(self) -> Ipv4Addr {
        Ipv4Addr::from(self.0)
    }
}

impl fmt::Display for RefId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        pad(f, format_args!("{:08X}", self.0))
    }
}

impl FromField for RefId {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        u32::from_field(s, i).map(RefId)
    }
}

/// A string that does not parse as a [`Timestamp`](crate::time::Timestamp) or a [`SourceId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    input: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, input: &str) -> ParseError {
        ParseError {
            what,
            input: input.chars().take(64).collect(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        pad(
            f,
            format_args!("not a valid {}: {:?}", self.what, self.input),
        )
    }
}

impl std::error::Error for ParseError {}

/// Who a source is, in every report: an IP address, a source chronyd has
/// not resolved yet (`ID#0000000001`), or a reference clock known by its
/// reference ID (`GPS0`).
///
/// [`Display`](fmt::Display) prints it as chronyc does; [`FromStr`] reads
/// that text back. With `serde` it is that same string.
///
/// ```
/// use chrony::{RefId, SourceId};
/// let ip: SourceId = "192.0.2.1".parse().unwrap();
/// assert_eq!(ip.ip(), Some("192.0.2.1".parse().unwrap()));
/// assert_eq!(SourceId::Unresolved(1).to_string(), "ID#0000000001");
/// assert_eq!(SourceId::RefClock(RefId(0x4750_5330)).to_string(), "GPS0");
/// assert_eq!("GPS0".parse::<SourceId>().unwrap(), SourceId::RefClock(RefId(0x4750_5330)));
/// assert_eq!(ip, "192.0.2.1"); // compares with chronyc's text
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SourceId {
    /// An NTP source's IP address.
    Ip(IpAddr),
    /// An NTP source whose name chronyd has not resolved yet, by the
    /// number chronyc prints after `ID#`.
    Unresolved(u32),
    /// A reference clock, by its reference ID.
    RefClock(RefId),
}

impl SourceId {
    /// The IP address, for an NTP source chronyd has resolved.
    pub fn ip(self) -> Option<IpAddr> {
        match self {
            SourceId::Ip(ip) => Some(ip),
            _ => None,
        }
    }

    /// True for a reference clock.
    pub fn is_reference_clock(self) -> bool {
        matches!(self, SourceId::RefClock(_))
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceId::Ip(ip) => pad(f, format_args!("{ip}")),
            SourceId::Unresolved(n) => pad(f, format_args!("ID#{n:010}")),
            SourceId::RefClock(id) => f.pad(&id.label()),
        }
    }
}

impl FromStr for SourceId {
    type Err = ParseError;

    /// An IP address, `ID#` and ten digits, a reference clock's name (one
    /// to four printable characters) or its reference ID in eight hex
    /// digits.
    fn from_str(s: &str) -> Result<SourceId, ParseError> {
        if let Ok(ip) = s.parse() {
            return Ok(SourceId::Ip(ip));
        }
        if let Some(n) = s.strip_prefix("ID#") {
            if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(n) = n.parse() {
                    return Ok(SourceId::Unresolved(n));
                }
            }
        } else if (1..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            let mut bytes = [0u8; 4];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            return Ok(SourceId::RefClock(RefId(u32::from_be_bytes(bytes))));
        } else if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Ok(v) = u32::from_str_radix(s, 16) {
                return Ok(SourceId::RefClock(RefId(v)));
            }
        }
        Err(ParseError::new("source", s))
    }
}

/// Compares with text as chronyc prints a source (parsed, so `2001:DB8::1`
/// equals `2001:db8::1`).
impl PartialEq<str> for SourceId {
    fn eq(&self, other: &str) -> bool {
        other.parse::<SourceId>().is_ok_and(|o| o == *self)
    }
}

impl PartialEq<&str> for SourceId {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for SourceId {
    fn eq(&self, other: &String) -> bool {
        *self == **other
    }
}

impl PartialEq<SourceId> for String {
    fn eq(&self, other: &SourceId) -> bool {
        other == self
    }
}

impl PartialEq<SourceId> for &str {
    fn eq(&self, other: &SourceId) -> bool {
        other == self
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for SourceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for SourceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl FromField for Option<SourceId> {
    const FIELD_TYPE: FieldType = FieldType::String;
    /// An address field: NULL is `None`, text must be an IP address or
    /// `ID#` and ten digits.
    fn from_field<S: FieldSource + ?Sized>(s: &S, i: usize) -> Result<Self, DataProblem> {
        match Option::<String>::from_field(s, i)? {
            None => Ok(None),
            Some(text) => match text.parse() {
                Ok(id @ (SourceId::Ip(_) | SourceId::Unresolved(_))) => Ok(Some(id)),
                _ => Err(DataProblem::OutOfRange {
                    value: text.chars().take(64).collect(),
                    expected: "an IP address or ID#NNNNNNNNNN",
                }),
            },
        }
    }
}

impl FromField for SourceId {
    const FIELD_TYPE: FieldType = FieldType::String;
    /// An address field that must have a value.
    fn from_field<S: FieldSource + ?Sized>(s: &S, i: usize) -> Result<Self, DataProblem> {
        Option::<SourceId>::from_field(s, i)?.ok_or(DataProblem::NullString)
    }
}

impl FromField for Option<IpAddr> {
    const FIELD_TYPE: FieldType = FieldType::String;
    /// An IP address as text; NULL is `None`.
    fn from_field<S: FieldSource + ?Sized>(s: &S, i: usize) -> Result<Self, DataProblem> {
        match Option::<String>::from_field(s, i)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| DataProblem::OutOfRange {
                value: text.chars().take(64).collect(),
                expected: "an IP address",
            }),
        }
    }
}

macro_rules! chrony_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vm:meta])* $variant:ident = $raw:literal => $snake:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        ///
        /// A value this crate does not know (from a newer chronyd) is kept as
        /// `Unknown(raw)`: it never panics and never loses the number. With
        /// `serde`, known values are snake_case strings, unknown ones the
        /// bare number.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vm])* $variant, )*
            /// A value this crate does not know.
            Unknown(u64),
        }

        impl $name {
            /// Maps the raw value chronyd sends.
            pub fn from_raw(raw: u64) -> Self {
                match raw {
                    $( $raw => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }

            /// The raw value.
            pub fn raw(self) -> u64 {
                match self {
                    $( $name::$variant => $raw, )*
                    $name::Unknown(v) => v,
                }
            }

            /// The snake_case name used in JSON; `None` for unknown values.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($snake), )*
                    $name::Unknown(_) => None,
                }
            }

            /// The inverse of [`name`](Self::name).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $snake => Some($name::$variant), )*
                    _ => None,
                }
            }

            /// Every known value.
            pub const ALL: &'static [$name] = &[$( $name::$variant ),*];
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::types::ParseError;

            /// Reads what [`Display`](fmt::Display) prints: the snake_case
            /// name, or `unknown(N)` for a value this crate does not know.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if let Some(v) = Self::from_name(s) {
                    return Ok(v);
                }
                s.strip_prefix("unknown(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|n| n.parse::<u64>().ok())
                    .map(Self::from_raw)
                    .filter(|v| v.name().is_none())
                    .ok_or_else(|| $crate::types::ParseError::new(stringify!($name), s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.pad(n),
                    None => $crate::display::pad(f, format_args!("unknown({})", self.raw())),
                }
            }
        }

        crate::field::from_raw_field!($name);

        #[cfg(feature = "test-util")]
        impl $crate::wire::ToWire for $name {
            fn to_wire(&self) -> $crate::wire::WireValue {
                $crate::wire::WireValue::Uinteger(self.raw())
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(n) => s.serialize_str(n),
                    None => s.serialize_u64(self.raw()),
                }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match crate::serde_util::StrOrU64::deserialize(d)? {
                    crate::serde_util::StrOrU64::Str(s) => $name::from_name(&s).ok_or_else(|| {
                        serde::de::Error::custom(format!(concat!("unknown ", stringify!($name), " {:?}"), s))
                    }),
                    crate::serde_util::StrOrU64::U64(v) => Ok($name::from_raw(v)),
                }
            }
        }
    };
}

#[allow(unused_imports)]
pub(crate) use chrony_enum;

chrony_enum! {
    /// Leap second status of the clock (`leap status`, tracking and ntpdata).
    ///
    /// ```
    /// use chrony::LeapStatus;
    /// assert_eq!(LeapStatus::from_raw(1), LeapStatus::Insert);
    /// assert_eq!(LeapStatus::from_raw(7), LeapStatus::Unknown(7));
    /// assert_eq!(LeapStatus::Unsynchronized.to_string(), "unsynchronized");
    /// ```
    LeapStatus {
        /// No leap second pending.
        Normal = 0 => "normal",
        /// A leap second will be inserted at the end of the day.
        Insert = 1 => "insert",
        /// A leap second will be deleted at the end of the day.
        Delete = 2 => "delete",
        /// The clock is not synchronized.
        Unsynchronized = 3 => "unsynchronized",
    }
}

chrony_enum! {
    /// Selection state of a source (`state`, sources report), the column
    /// chronyc shows as `*`, `?`, `x`, `~`, `+`, `-`.
    ///
    /// ```
    /// use chrony::SourceState;
    /// assert_eq!(SourceState::from_raw(0), SourceState::Selected);
    /// assert_eq!(SourceState::Falseticker.symbol(), 'x');
    /// ```
    SourceState {
        /// The source chronyd synchronizes to (`*`).
        Selected = 0 => "selected",
        /// Not selectable: unreachable, no samples, or `noselect` (`?`).
        Nonselectable = 1 => "nonselectable",
        /// Disagrees with the majority (`x`).
        Falseticker = 2 => "falseticker",
        /// Too much jitter (`~`).
        Jittery = 3 => "jittery",
        /// Acceptable and combined with the selected source (`+`; chronyd's
        /// "unselected": not the one selected, but used).
        Unselected = 4 => "unselected",
        /// Acceptable but excluded by the combining algorithm (`-`), or
        /// waiting (for an update, for other sources, not trusted, not
        /// preferred, too distant).
        Selectable = 5 => "selectable",
    }
}

impl SourceState {
    /// The character chronyc prints for the state (`?` for unknown values).
    pub fn symbol(self) -> char {
        match self {
            SourceState::Selected => '*',
            SourceState::Nonselectable => '?',
            SourceState::Falseticker => 'x',
            SourceState::Jittery => '~',
            SourceState::Unselected => '+',
            SourceState::Selectable => '-',
            SourceState::Unknown(_) => '?',
        }
    }
}

chrony_enum! {
    /// Mode of a source (`mode`, sources report), the column chronyc shows as
    /// `^`, `=`, `#`.
    ///
    /// ```
    /// use chrony::SourceMode;
    /// assert_eq!(SourceMode::from_raw(2), SourceMode::ReferenceClock);
    /// assert_eq!(SourceMode::ReferenceClock.symbol(), '#');
    /// ```
    SourceMode {
        /// An NTP server (`server`/`pool`).
        Client = 0 => "client",
        /// A symmetric peer (`peer`).
        Peer = 1 => "peer",
        /// A reference clock (`refclock`).
        ReferenceClock = 2 => "reference_clock",
    }
}

impl SourceMode {
    /// The character chronyc prints for the mode (`?` for unknown values).
    pub fn symbol(self) -> char {
        match self {
            SourceMode::Client => '^',
            SourceMode::Peer => '=',
            SourceMode::ReferenceClock => '#',
            SourceMode::Unknown(_) => '?',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn every_display_honours_width_fill_and_alignment() {
        let refclock = SourceId::RefClock(RefId(0x4750_5330));
        let ts = Timestamp::new(1_795_694_400, 5).unwrap();
        let cases: Vec<(String, String)> = vec![
            (
                format!("{:<14}|", SourceId::Ip("192.0.2.1".parse().unwrap())),
                "192.0.2.1     |".into(),
            ),
            (
                format!("{:>15}|", SourceId::Unresolved(1)),
                "  ID#0000000001|".into(),
            ),
            (format!("{:*^8}|", refclock), "**GPS0**|".into()),
            (format!("{:>10}|", RefId(0x7f7f_0101)), "  7F7F0101|".into()),
            (
                format!("{:<12}|", SourceState::Selected),
                "selected    |".into(),
            ),
            (
                format!("{:>12}|", SourceState::Unknown(9)),
                "  unknown(9)|".into(),
            ),
            (
                format!("{:-<10}|", LeapStatus::Insert),
                "insert----|".into(),
            ),
            (format!("{:>9}|", SourceMode::Client), "   client|".into()),
            (
                format!("{:<32}|", ts),
                "2026-11-26T12:00:00.000000005Z  |".into(),
            ),
            (format!("{:>10}|", FieldType::Float), "     float|".into()),
            (
                format!("{:<9}|", crate::error::ErrorKind::Timeout),
                "timeout  |".into(),
            ),
            (
                format!("{:>17}|", crate::error::ErrorCode::Disabled),
                "  CHRONY_DISABLED|".into(),
            ),
            (
                format!("{:>12}|", crate::error::DataProblem::Missing),
                "     missing|".into(),
            ),
            (
                format!("{:>6}|", crate::generic::Value::Unsigned(42)),
                "    42|".into(),
            ),
            (
                format!("{:<4}|", crate::generic::Value::None),
                "-   |".into(),
            ),
            (
                format!("{:^5}|", crate::generic::Value::Text(Some("ab".into()))),
                " ab  |".into(),
            ),
            (
                format!(
                    "{:<16}|",
                    "127.0.0.1:323".parse::<crate::address::Address>().unwrap()
                ),
                "127.0.0.1:323   |".into(),
            ),
            (
                format!("{:<40}|", "not a source".parse::<SourceId>().unwrap_err()),
                "not a valid source: \"not a source\"      |".into(),
            ),
            (
                format!("{:>5}|", crate::reports::selectdata::SelectState::Best),
                " best|".into(),
            ),
            (
                format!("{:<22}|", crate::error::Error::UnknownReport("x".into())),
                "unknown report \"x\"    |".into(),
            ),
            {
                let e = crate::error::Error::ReportChanged {
                    address: "a".into(),
                    report: "sources".into(),
                };
                (format!("{e:>70}|"), format!("{:>70}|", e.to_string()))
            },
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        assert_eq!(
            format!("{:.3}|", SourceState::Selected),
            "sel|",
            "precision truncates as for str"
        );
    }

    #[test]
    fn source_state_and_leap_status_parse_what_display_prints() {
        for s in SourceState::ALL
            .iter()
            .copied()
            .chain([SourceState::Unknown(77)])
        {
            assert_eq!(s.to_string().parse::<SourceState>(), Ok(s));
        }
        for l in LeapStatus::ALL
            .iter()
            .copied()
            .chain([LeapStatus::Unknown(9)])
        {
            assert_eq!(l.to_string().parse::<LeapStatus>(), Ok(l));
        }
        assert_eq!(
            "falseticker".parse::<SourceState>(),
            Ok(SourceState::Falseticker)
        );
        let err = "sideways".parse::<LeapStatus>().unwrap_err();
        assert_eq!(err.to_string(), "not a valid LeapStatus: \"sideways\"");
        // unknown(N) of a known value is not the canonical text.
        assert!("unknown(0)".parse::<LeapStatus>().is_err());
    }

    #[test]
    fn enums_keep_unknown_values() {
        for raw in 0..10u64 {
            let l = LeapStatus::from_raw(raw);
            assert_eq!(l.raw(), raw);
            assert_eq!(l.name().is_some(), raw < 4);
            let s = SourceState::from_raw(raw);
            assert_eq!(s.raw(), raw);
            let m = SourceMode::from_raw(raw);
            assert_eq!(m.raw(), raw);
        }
        assert_eq!(SourceState::ALL.len(), 6);
        assert_eq!(
            SourceMode::from_name("reference_clock"),
            Some(SourceMode::ReferenceClock)
        );
        assert_eq!(LeapStatus::Unknown(9).to_string(), "unknown(9)");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn enums_serde() {
        let v = serde_json::to_string(&[LeapStatus::Insert, LeapStatus::Unknown(42)]).unwrap();
        assert_eq!(v, r#"["insert",42]"#);
        let back: Vec<LeapStatus> = serde_json::from_str(&v).unwrap();
        assert_eq!(back, [LeapStatus::Insert, LeapStatus::Unknown(42)]);
        assert!(serde_json::from_str::<LeapStatus>(r#""sideways""#).is_err());
    }

    #[test]
    fn source_ids_round_trip() {
        for text in [
            "192.0.2.1",
            "2001:db8::1",
            "ID#0000000042",
            "GPS0",
            "PPS",
            "7F7F0101",
        ] {
            let id: SourceId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
        }
        assert_eq!(
            "7F7F0101".parse::<SourceId>().unwrap(),
            SourceId::RefClock(RefId(0x7f7f_0101))
        );
        for bad in ["", "ID#12", "ID#abcdefghij", "toolong", "192.0.2.300"] {
            assert!(bad.parse::<SourceId>().is_err(), "{bad}");
        }
        assert!(SourceId::RefClock(RefId(1)).is_reference_clock());
        assert_eq!(SourceId::Unresolved(1).ip(), None);
    }

    #[test]
    fn refid_names() {
        assert_eq!(RefId(0x4750_5330).name().as_deref(), Some("GPS0"));
        assert_eq!(RefId(0).name(), None);
        assert_eq!(RefId(0x7f00_0001).to_string(), "7F000001");
    }
}
