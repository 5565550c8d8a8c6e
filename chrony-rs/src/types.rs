//! Value types shared by the reports: timestamps, reference IDs and enums.

use crate::error::DataProblem;
use crate::field::{FieldSource, FromField, RawTimespec};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The latest second a [`Timestamp`] accepts (9999-12-31T23:59:59Z); larger
/// values are corrupt (for example chronyd's "no high seconds" marker left in
/// place).
pub const MAX_TIMESTAMP_SECS: i64 = 253_402_300_799;

/// A point in time as chronyd reports it: seconds and nanoseconds since the
/// Unix epoch, exact (no float rounding) in Rust. In JSON it is float
/// seconds (the `report` example's contract), which keeps about a
/// microsecond for present-day times.
///
/// `Timestamp::UNIX_EPOCH` (0 s) is what chronyd sends for "never" (for
/// example the reference time of an unsynchronized daemon).
///
/// With `serde` it is written as float seconds since the epoch (the JSON
/// contract of the `report` example), and read back from the same.
///
/// ```
/// use chrony::Timestamp;
/// let t = Timestamp::new(1_700_000_000, 250_000_000).unwrap();
/// assert_eq!(t.as_secs_f64(), 1_700_000_000.25);
/// assert!(Timestamp::new(1, 1_000_000_000).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// The Unix epoch, chronyd's "never".
    pub const UNIX_EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// A checked timestamp: `nanos < 10^9`, `0 <= secs <= MAX_TIMESTAMP_SECS`.
    ///
    /// # Errors
    /// [`DataProblem::InvalidTimestamp`].
    pub fn new(secs: i64, nanos: i64) -> Result<Timestamp, DataProblem> {
        if !(0..1_000_000_000).contains(&nanos) || !(0..=MAX_TIMESTAMP_SECS).contains(&secs) {
            return Err(DataProblem::InvalidTimestamp { secs, nanos });
        }
        Ok(Timestamp {
            secs,
            nanos: nanos as u32,
        })
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Seconds since the epoch as a float (rounded to the nearest `f64`).
    pub fn as_secs_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// True for the epoch, chronyd's "never".
    ///
    /// ```
    /// assert!(chrony::Timestamp::UNIX_EPOCH.is_never());
    /// ```
    pub fn is_never(self) -> bool {
        self == Timestamp::UNIX_EPOCH
    }

    /// As a [`SystemTime`].
    ///
    /// ```
    /// # use chrony::Timestamp;
    /// let t = Timestamp::new(10, 5).unwrap().to_system_time();
    /// assert_eq!(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos(), 10_000_000_005);
    /// ```
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::new(self.secs as u64, self.nanos)
    }

    /// From float seconds since the epoch (nanosecond rounding).
    ///
    /// # Errors
    /// [`DataProblem::NotFinite`] or [`DataProblem::InvalidTimestamp`].
    pub fn from_secs_f64(v: f64) -> Result<Timestamp, DataProblem> {
        if !v.is_finite() {
            return Err(DataProblem::NotFinite(v));
        }
        let secs = v.floor();
        let mut nanos = ((v - secs) * 1e9).round() as i64;
        let mut secs = secs as i64;
        if nanos >= 1_000_000_000 {
            secs += 1;
            nanos -= 1_000_000_000;
        }
        Timestamp::new(secs, nanos)
    }
}

impl TryFrom<RawTimespec> for Timestamp {
    type Error = DataProblem;
    fn try_from(t: RawTimespec) -> Result<Self, DataProblem> {
        Timestamp::new(t.secs, t.nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Timestamp::from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

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
        write!(f, "{:08X}", self.0)
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

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "unknown({})", self.raw()),
                }
            }
        }

        impl FromField for $name {
            fn from_field<S: FieldSource + ?Sized>(s: &S, i: usize) -> Result<Self, DataProblem> {
                u64::from_field(s, i).map($name::from_raw)
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

    #[test]
    fn timestamp_validation() {
        assert!(Timestamp::new(0, 0).unwrap().is_never());
        assert!(Timestamp::new(-1, 0).is_err());
        assert!(Timestamp::new(0, -1).is_err());
        assert!(Timestamp::new(0, 999_999_999).is_ok());
        // chronyd's "no high seconds" marker (0x7fffffff in the high word).
        assert!(Timestamp::new(0x7fff_ffff_i64 << 32, 0).is_err());
        assert_eq!(
            Timestamp::from_secs_f64(1.5).unwrap(),
            Timestamp::new(1, 500_000_000).unwrap()
        );
        assert!(Timestamp::from_secs_f64(f64::NAN).is_err());
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
        let t: Timestamp = serde_json::from_str("1700000000.5").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000.5");
    }

    #[test]
    fn refid_names() {
        assert_eq!(RefId(0x4750_5330).name().as_deref(), Some("GPS0"));
        assert_eq!(RefId(0).name(), None);
        assert_eq!(RefId(0x7f00_0001).to_string(), "7F000001");
    }
}
