//! Small serde helpers.
#![cfg(feature = "serde")]

/// A value that is either a string or an unsigned number.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum StrOrU64 {
    Str(String),
    U64(u64),
}

/// A [`Duration`](std::time::Duration) as a float number of seconds
/// (seconds are the unmarked unit of the JSON, as of the Rust fields), for
/// the intervals chronyd sends as floats.
pub(crate) mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(|_| {
            serde::de::Error::custom(format!("{secs} is not a non-negative number of seconds"))
        })
    }
}

/// A [`Duration`](std::time::Duration) chronyd counts in whole seconds, as
/// an integer number of seconds (a float only if it has a fraction, which
/// chronyd never sends).
pub(crate) mod whole_seconds {
    use serde::{Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.subsec_nanos() == 0 {
            s.serialize_u64(d.as_secs())
        } else {
            s.serialize_f64(d.as_secs_f64())
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        super::seconds::deserialize(d)
    }
}

/// `Option<Duration>` in whole seconds or `null` (see [`whole_seconds`]).
pub(crate) mod whole_seconds_opt {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::time::Duration;

    #[derive(Serialize, Deserialize)]
    struct Wrap(#[serde(with = "super::whole_seconds")] Duration);

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(Wrap).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}
