//! Small serde helpers.
#![cfg(feature = "serde")]

/// A value that is either a string or an unsigned number.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum StrOrU64 {
    Str(String),
    U64(u64),
}
