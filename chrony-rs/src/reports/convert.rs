//! The wire conversions of the declarations: the type a field is read as
//! (`wire!`), and the conversions a declaration names with `as`: chronyd's
//! ways of sending an interval ("never" as 0xFFFFFFFF, whole seconds, float
//! seconds) read into [`Duration`]s, and a source's identity in reports that
//! carry both an address and a reference ID.

use crate::error::{DataProblem, Result};
use crate::field::{FieldSource, FieldType, FromField, Record};
use crate::types::{RefId, SourceId};
use std::time::Duration;

/// `Option<T>`'s `T`, for the fields that may be absent.
pub(crate) trait OptionalField {
    type Inner;
}

impl<T> OptionalField for Option<T> {
    type Inner = T;
}

/// Converts a field's wire value to the model's type.
pub(crate) fn conv<W: Into<T>, T>(w: W) -> T {
    w.into()
}

/// The type a field is read as: the declared one (`as` overrides it), the
/// `Option`'s inner type for fields that may be absent.
macro_rules! wire {
    ($p:ident, $t:ty, $w:ty) => {
        $w
    };
    (required, $t:ty) => {
        $t
    };
    ($p:ident, $t:ty) => {
        <$t as $crate::reports::convert::OptionalField>::Inner
    };
}

pub(crate) use wire;

/// An "ago" interval in whole seconds where chronyd's 0xFFFFFFFF means
/// "never": read as `Option<Duration>`.
pub(crate) struct Never(Option<Duration>);

/// chronyd's "never" in an unsigned "ago" field.
pub(crate) const NEVER: u32 = u32::MAX;

impl FromField for Never {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        let v = u32::from_field(s, i)?;
        Ok(Never(
            (v != NEVER).then(|| Duration::from_secs(u64::from(v))),
        ))
    }
}

impl From<Never> for Option<Duration> {
    fn from(n: Never) -> Option<Duration> {
        n.0
    }
}

/// An interval in whole seconds (an unsigned field): read as a
/// [`Duration`].
pub(crate) struct WholeSeconds(Duration);

impl FromField for WholeSeconds {
    const FIELD_TYPE: FieldType = FieldType::Uinteger;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        u64::from_field(s, i).map(|v| WholeSeconds(Duration::from_secs(v)))
    }
}

impl From<WholeSeconds> for Duration {
    fn from(w: WholeSeconds) -> Duration {
        w.0
    }
}

/// An interval in seconds sent as a float: read as a [`Duration`]
/// (nanosecond resolution); a negative, NaN or too large value is an error.
pub(crate) struct FloatSeconds(Duration);

impl FromField for FloatSeconds {
    const FIELD_TYPE: FieldType = FieldType::Float;
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        let v = f64::from_field(s, i)?;
        Duration::try_from_secs_f64(v)
            .map(FloatSeconds)
            .map_err(|_| DataProblem::OutOfRange {
                value: v.to_string(),
                expected: "a non-negative number of seconds",
            })
    }
}

impl From<FloatSeconds> for Duration {
    fn from(f: FloatSeconds) -> Duration {
        f.0
    }
}

/// The identity of a source in a report that has both `address` (NULL for
/// reference clocks) and `reference ID`.
pub(crate) fn address_or_refclock<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<SourceId> {
    match r.get::<Option<SourceId>>("address")? {
        Some(id) => Ok(id),
        None => Ok(SourceId::RefClock(r.get::<RefId>("reference ID")?)),
    }
}
