//! [`Timestamp`]: a point in time as chronyd reports it.

use crate::display::pad;
use crate::error::DataProblem;
use crate::field::{FieldSource, FieldType, FromField, RawTimespec};
use crate::types::ParseError;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The latest second a [`Timestamp`] accepts (9999-12-31T23:59:59Z); larger
/// values are corrupt.
pub const MAX_TIMESTAMP_SECS: i64 = 253_402_300_799;

/// chronyd's "no high seconds" marker: the high word of a timespec sent by
/// a chronyd built with a 32-bit `time_t`.
const NO_HIGH_SECONDS: u64 = 0x7fff_ffff;

/// A point in time as chronyd reports it: seconds and nanoseconds since the
/// Unix epoch (UTC), exact.
///
/// `Timestamp::UNIX_EPOCH` (0 s) is what chronyd sends for "never" (for
/// example the reference time of an unsynchronized daemon).
///
/// - [`Display`](fmt::Display) and [`FromStr`] use RFC 3339 in UTC with
///   nine decimals (`2023-11-14T22:13:20.250000000Z`);
///   [`to_ctime_string`](Self::to_ctime_string) gives chronyc's form and
///   [`to_decimal_string`](Self::to_decimal_string) the `chronyc -c` form.
/// - Converts to and from [`SystemTime`]; with the `chrono` feature to and
///   from `chrono::DateTime<Utc>`, with the `jiff` feature to and from
///   `jiff::Timestamp`.
/// - With `serde` it is the RFC 3339 string in human-readable formats
///   (JSON: the `report --json` contract) and a `(seconds, nanoseconds)`
///   pair in binary ones, so it round-trips exactly. Reading also accepts
///   float seconds since the epoch (the form before 0.1).
///
/// ```
/// use chrony::Timestamp;
/// let t = Timestamp::new(1_700_000_000, 250_000_000).unwrap();
/// assert_eq!(t.to_string(), "2023-11-14T22:13:20.250000000Z");
/// assert_eq!(t.to_ctime_string(), "Tue Nov 14 22:13:20 2023");
/// assert_eq!(t.to_decimal_string(), "1700000000.250000000");
/// assert_eq!("2023-11-14T22:13:20.25Z".parse::<Timestamp>().unwrap(), t);
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

    /// Decodes a timespec as libchrony returns it, the way chronyd decodes
    /// its own: a high seconds word of `0x7fffffff` means "no high word"
    /// (a chronyd built with a 32-bit `time_t`) and counts as 0, and
    /// nanoseconds of 10^9 or more are clamped to 999999999.
    ///
    /// ```
    /// use chrony::{field::RawTimespec, Timestamp};
    /// let raw = RawTimespec { secs: (0x7fff_ffff << 32) | 1_700_000_000, nanos: 2_000_000_000 };
    /// let t = Timestamp::from_raw(raw).unwrap();
    /// assert_eq!((t.secs(), t.subsec_nanos()), (1_700_000_000, 999_999_999));
    /// ```
    ///
    /// # Errors
    /// [`DataProblem::InvalidTimestamp`] for seconds out of range after
    /// decoding, or negative nanoseconds (which chronyd cannot send).
    pub fn from_raw(raw: RawTimespec) -> Result<Timestamp, DataProblem> {
        let mut secs = raw.secs;
        if (secs as u64) >> 32 == NO_HIGH_SECONDS {
            secs &= 0xffff_ffff;
        }
        Timestamp::new(secs, raw.nanos.min(999_999_999))
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

    /// As a [`SystemTime`] (also `SystemTime::from(t)`).
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

    /// Seconds and nine decimals, as `chronyc -c` prints times
    /// (`1700000000.250000000`).
    pub fn to_decimal_string(self) -> String {
        format!("{}.{:09}", self.secs, self.nanos)
    }

    /// The date as chronyc prints it in its tables (C's `asctime` form in
    /// UTC, `Tue Nov 14 22:13:20 2023`).
    pub fn to_ctime_string(self) -> String {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let c = Civil::of(self.secs);
        let weekday = (self.secs.div_euclid(86_400) + 4).rem_euclid(7) as usize;
        format!(
            "{} {} {:02} {:02}:{:02}:{:02} {}",
            DAYS[weekday],
            MONTHS[(c.month - 1) as usize],
            c.day,
            c.hour,
            c.minute,
            c.second,
            c.year
        )
    }
}

/// A UTC date and time of day.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    /// The civil date of `secs` since the epoch (proleptic Gregorian).
    fn of(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: tod / 3600,
            minute: tod / 60 % 60,
            second: tod % 60,
        }
    }

    /// Seconds since the epoch of this date and time.
    fn to_secs(&self) -> i64 {
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with nine decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::of(self.secs);
        pad(
            f,
            format_args!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
                c.year, c.month, c.day, c.hour, c.minute, c.second, self.nanos
            ),
        )
    }
}

impl FromStr for Timestamp {
    type Err = ParseError;

    /// Parses RFC 3339 (`2023-11-14T22:13:20.25Z`, any offset, up to nine
    /// decimals) or decimal seconds since the epoch (`1700000000.25`).
    fn from_str(s: &str) -> Result<Timestamp, ParseError> {
        let err = || ParseError::new("timestamp", s);
        if s.contains('-') || s.contains(':') {
            parse_rfc3339(s).ok_or_else(err)
        } else {
            parse_decimal(s).ok_or_else(err)
        }
    }
}

/// Digits only, as a number.
fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 12 {
        return None;
    }
    s.parse().ok()
}

/// Up to nine decimals as nanoseconds.
fn fraction(s: &str) -> Option<i64> {
    if s.len() > 9 {
        return None;
    }
    let v = digits(s)?;
    Some(v * 10i64.pow(9 - s.len() as u32))
}

fn parse_decimal(s: &str) -> Option<Timestamp> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    Timestamp::new(digits(secs)?, fraction(frac)?).ok()
}

fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(digits);
    let c = Civil {
        year: num(0..4)?,
        month: u32::try_from(num(5..7)?).ok()?,
        day: u32::try_from(num(8..10)?).ok()?,
        hour: u32::try_from(num(11..13)?).ok()?,
        minute: u32::try_from(num(14..16)?).ok()?,
        second: u32::try_from(num(17..19)?).ok()?,
    };
    if !(1..=12).contains(&c.month)
        || c.day == 0
        || c.day > days_in_month(c.year, c.month)
        || c.hour > 23
        || c.minute > 59
        || c.second > 59
    {
        return None;
    }
    let rest = s.get(19..)?;
    let (nanos, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(r.len());
            (fraction(&r[..end])?, &r[end..])
        }
        None => (0, rest),
    };
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let (h, m) = zone.get(1..)?.split_once(':')?;
            let (h, m) = (digits(h)?, digits(m)?);
            if h > 23 || m > 59 || zone.len() != 6 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    Timestamp::new(c.to_secs() - offset, nanos).ok()
}

impl FromField for Timestamp {
    const FIELD_TYPE: FieldType = FieldType::Timespec;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        Timestamp::from_raw(RawTimespec::from_field(s, i)?)
    }
}

impl TryFrom<RawTimespec> for Timestamp {
    type Error = DataProblem;
    /// As [`Timestamp::from_raw`].
    fn try_from(t: RawTimespec) -> Result<Self, DataProblem> {
        Timestamp::from_raw(t)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> SystemTime {
        t.to_system_time()
    }
}

impl TryFrom<SystemTime> for Timestamp {
    type Error = DataProblem;
    /// # Errors
    /// [`DataProblem::InvalidTimestamp`] before 1970 or after 9999.
    fn try_from(t: SystemTime) -> Result<Self, DataProblem> {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp::new(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                i64::from(d.subsec_nanos()),
            ),
            Err(e) => Err(DataProblem::InvalidTimestamp {
                secs: -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
                nanos: 0,
            }),
        }
    }
}

#[cfg(feature = "chrono")]
impl From<Timestamp> for chrono::DateTime<chrono::Utc> {
    /// ```
    /// let t = chrony::Timestamp::new(1_700_000_000, 5).unwrap();
    /// let d = chrono::DateTime::<chrono::Utc>::from(t);
    /// assert_eq!(chrony::Timestamp::try_from(d).unwrap(), t);
    /// ```
    fn from(t: Timestamp) -> Self {
        // Every Timestamp (years 1970..=9999) is within chrono's range.
        chrono::DateTime::from_timestamp(t.secs, t.nanos).unwrap_or_default()
    }
}

#[cfg(feature = "chrono")]
impl TryFrom<chrono::DateTime<chrono::Utc>> for Timestamp {
    type Error = DataProblem;
    fn try_from(d: chrono::DateTime<chrono::Utc>) -> Result<Self, DataProblem> {
        Timestamp::new(d.timestamp(), i64::from(d.timestamp_subsec_nanos()))
    }
}

#[cfg(feature = "jiff")]
impl From<Timestamp> for jiff::Timestamp {
    /// ```
    /// let t = chrony::Timestamp::new(1_700_000_000, 5).unwrap();
    /// let j = jiff::Timestamp::from(t);
    /// assert_eq!(j.to_string(), "2023-11-14T22:13:20.000000005Z");
    /// assert_eq!(chrony::Timestamp::try_from(j).unwrap(), t);
    /// ```
    fn from(t: Timestamp) -> Self {
        // Every Timestamp (years 1970..=9999) is within jiff's range.
        jiff::Timestamp::new(t.secs, t.nanos as i32).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

#[cfg(feature = "jiff")]
impl TryFrom<jiff::Timestamp> for Timestamp {
    type Error = DataProblem;
    fn try_from(t: jiff::Timestamp) -> Result<Self, DataProblem> {
        Timestamp::new(t.as_second(), i64::from(t.subsec_nanosecond()))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            (self.secs, self.nanos).serialize(s)
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date, seconds since the epoch or (seconds, nanoseconds)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Timestamp, E> {
                Timestamp::from_secs_f64(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Timestamp::new(i64::try_from(v).unwrap_or(i64::MAX), 0).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Timestamp::new(v, 0).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Timestamp, A::Error> {
                use serde::de::Error;
                let secs: i64 = a
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let nanos: u32 = a
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                Timestamp::new(secs, i64::from(nanos)).map_err(A::Error::custom)
            }
        }
        if d.is_human_readable() {
            d.deserialize_any(V)
        } else {
            d.deserialize_tuple(2, V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_chronyd_decoding() {
        assert!(Timestamp::new(0, 0).unwrap().is_never());
        assert!(Timestamp::new(-1, 0).is_err());
        assert!(Timestamp::new(0, -1).is_err());
        assert!(Timestamp::new(0, 999_999_999).is_ok());
        assert!(Timestamp::new(0x7fff_ffff_i64 << 32, 0).is_err());
        // 32-bit time_t sender: high word 0x7fffffff counts as 0.
        let raw = RawTimespec {
            secs: (0x7fff_ffff_i64 << 32) | 0x8000_0001,
            nanos: 7,
        };
        assert_eq!(
            Timestamp::from_raw(raw).unwrap(),
            Timestamp::new(0x8000_0001, 7).unwrap()
        );
        // Another high word is taken as it is (and here out of range).
        let raw = RawTimespec {
            secs: 0x7fff_fffe_i64 << 32,
            nanos: 0,
        };
        assert!(Timestamp::from_raw(raw).is_err());
        // Nanoseconds clamped.
        for nanos in [1_000_000_000, 4_294_967_295] {
            let t = Timestamp::from_raw(RawTimespec { secs: 5, nanos }).unwrap();
            assert_eq!((t.secs(), t.subsec_nanos()), (5, 999_999_999));
        }
        assert_eq!(
            Timestamp::from_secs_f64(1.5).unwrap(),
            Timestamp::new(1, 500_000_000).unwrap()
        );
        assert!(Timestamp::from_secs_f64(f64::NAN).is_err());
    }

    #[test]
    fn dates() {
        let cases = [
            (
                0,
                "1970-01-01T00:00:00.000000000Z",
                "Thu Jan 01 00:00:00 1970",
            ),
            (
                951_782_400,
                "2000-02-29T00:00:00.000000000Z",
                "Tue Feb 29 00:00:00 2000",
            ),
            (
                1_795_645_917,
                "2026-11-25T22:31:57.000000000Z",
                "Wed Nov 25 22:31:57 2026",
            ),
            (
                MAX_TIMESTAMP_SECS,
                "9999-12-31T23:59:59.000000000Z",
                "Fri Dec 31 23:59:59 9999",
            ),
        ];
        for (secs, rfc, ctime) in cases {
            let t = Timestamp::new(secs, 0).unwrap();
            assert_eq!(t.to_string(), rfc);
            assert_eq!(t.to_ctime_string(), ctime);
            assert_eq!(rfc.parse::<Timestamp>().unwrap(), t);
        }
        // Every day of four years round-trips.
        for day in 0..(4 * 366) {
            let t = Timestamp::new(1_600_000_000 + day * 86_400 + 3_723, 1).unwrap();
            assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
        let t: Timestamp = "2023-11-15T00:13:20.5+02:00".parse().unwrap();
        assert_eq!(t, Timestamp::new(1_700_000_000, 500_000_000).unwrap());
        assert_eq!(
            "1700000000.000000001".parse::<Timestamp>().unwrap(),
            Timestamp::new(1_700_000_000, 1).unwrap()
        );
        for bad in [
            "",
            "2023-02-29T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.1234567891Z",
            "1969-12-31T23:59:59Z",
            "12.x",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn system_time() {
        let t = Timestamp::new(1_700_000_000, 123).unwrap();
        assert_eq!(Timestamp::try_from(SystemTime::from(t)).unwrap(), t);
        assert!(Timestamp::try_from(UNIX_EPOCH - Duration::from_secs(1)).is_err());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_is_exact() {
        let t = Timestamp::new(1_795_645_917, 515_378_989).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#""2026-11-25T22:31:57.515378989Z""#);
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        // The float form of earlier versions is still read.
        let old: Timestamp = serde_json::from_str("1700000000.5").unwrap();
        assert_eq!(old, Timestamp::new(1_700_000_000, 500_000_000).unwrap());
        assert!(serde_json::from_str::<Timestamp>(r#""yesterday""#).is_err());
    }
}
