//! The `authdata` report: per NTP source, how its packets are authenticated
//! (symmetric key or NTS) and the NTS key establishment state.
//!
//! libchrony addresses record *i* by the address of sourcestats record *i*
//! but does not return that address; a reference clock yields a record with
//! no fields, which [`AuthData::from_record`](super::FromRecord::from_record)
//! skips (`Ok(None)`). Fields named `reserved #N` are ignored.

use super::{interval_or_never, FromRecord};
use crate::error::{DataProblem, Result};
use crate::field::{FieldSource, FromField, Record};
use crate::types::chrony_enum;
use std::fmt;

/// libchrony's field names for the authdata report.
pub mod fields {
    /// `mode` (uinteger, enum)
    pub const MODE: &str = "mode";
    /// `key type` (uinteger, enum)
    pub const KEY_TYPE: &str = "key type";
    /// `key ID` (uinteger, index)
    pub const KEY_ID: &str = "key ID";
    /// `key length` (uinteger, length in bits)
    pub const KEY_LENGTH: &str = "key length";
    /// `key establishment attempts` (uinteger, count)
    pub const KEY_ESTABLISHMENT_ATTEMPTS: &str = "key establishment attempts";
    /// `last key establishment ago` (uinteger, interval seconds; 0xFFFFFFFF = never)
    pub const LAST_KEY_ESTABLISHMENT_AGO: &str = "last key establishment ago";
    /// `cookies` (uinteger, count)
    pub const COOKIES: &str = "cookies";
    /// `cookie length` (uinteger, length in bytes)
    pub const COOKIE_LENGTH: &str = "cookie length";
    /// `NAK` (uinteger, boolean)
    pub const NAK: &str = "NAK";
}

chrony_enum! {
    /// How a source's packets are authenticated (`mode`, authdata report).
    ///
    /// ```
    /// use chrony::AuthMode;
    /// assert_eq!(AuthMode::from_raw(2), AuthMode::Nts);
    /// assert_eq!(AuthMode::Nts.to_string(), "nts");
    /// ```
    AuthMode {
        /// No authentication (chronyc: `-`).
        None = 0 => "none",
        /// A symmetric key from the key file (chronyc: `SK`).
        SymmetricKey = 1 => "symmetric_key",
        /// Network Time Security (chronyc: `NTS`).
        Nts = 2 => "nts",
    }
}

chrony_enum! {
    /// The key's algorithm (`key type`, authdata report); `None` (0) when
    /// the source has no key.
    ///
    /// ```
    /// use chrony::KeyType;
    /// assert_eq!(KeyType::from_raw(15), KeyType::AeadAesSivCmac256);
    /// assert_eq!(KeyType::from_raw(12), KeyType::Unknown(12));
    /// ```
    KeyType {
        /// No key.
        None = 0 => "none",
        /// MD5.
        Md5 = 1 => "md5",
        /// SHA1.
        Sha1 = 2 => "sha1",
        /// SHA256.
        Sha256 = 3 => "sha256",
        /// SHA384.
        Sha384 = 4 => "sha384",
        /// SHA512.
        Sha512 = 5 => "sha512",
        /// SHA3-224.
        Sha3_224 = 6 => "sha3_224",
        /// SHA3-256.
        Sha3_256 = 7 => "sha3_256",
        /// SHA3-384.
        Sha3_384 = 8 => "sha3_384",
        /// SHA3-512.
        Sha3_512 = 9 => "sha3_512",
        /// TIGER.
        Tiger = 10 => "tiger",
        /// WHIRLPOOL.
        Whirlpool = 11 => "whirlpool",
        /// AES128 (CMAC).
        Aes128 = 13 => "aes128",
        /// AES256 (CMAC).
        Aes256 = 14 => "aes256",
        /// AEAD-AES-SIV-CMAC-256 (NTS).
        AeadAesSivCmac256 = 15 => "aead_aes_siv_cmac_256",
        /// AEAD-AES-128-GCM-SIV (NTS).
        AeadAes128GcmSiv = 30 => "aead_aes_128_gcm_siv",
    }
}

/// Authentication data of one NTP source (`chronyc authdata`).
///
/// ```
/// # use chrony::{AuthData, AuthMode, KeyType};
/// let a = AuthData {
///     address: Some("192.0.2.1".into()),
///     mode: AuthMode::Nts,
///     key_type: KeyType::AeadAesSivCmac256,
///     key_id: 3,
///     key_length_bits: 256,
///     key_establishment_attempts: 1,
///     last_key_establishment_ago: Some(40),
///     cookies: 8,
///     cookie_length_bytes: 100,
///     nak: false,
/// };
/// assert!(a.is_authenticated());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AuthData {
    /// The source's address as text. Not part of libchrony's record:
    /// [`Client::auth_data`](crate::Client::auth_data) fills it in from the
    /// sourcestats report; `None` when built by `from_record` alone.
    pub address: Option<String>,
    /// Authentication mode.
    pub mode: AuthMode,
    /// Key algorithm.
    pub key_type: KeyType,
    /// Key ID (symmetric key) or NTS key ID.
    pub key_id: u32,
    /// Key length, bits.
    pub key_length_bits: u32,
    /// NTS-KE attempts since the last success.
    pub key_establishment_attempts: u32,
    /// Seconds since the last NTS key establishment; `None` for never
    /// (0xFFFFFFFF).
    pub last_key_establishment_ago: Option<u32>,
    /// NTS cookies held.
    pub cookies: u32,
    /// Length of the cookies, bytes.
    pub cookie_length_bytes: u32,
    /// An NTS NAK was received.
    pub nak: bool,
}

impl AuthData {
    /// True when the source is authenticated (symmetric key or NTS).
    pub fn is_authenticated(&self) -> bool {
        self.mode != AuthMode::None
    }
}

impl FromRecord for AuthData {
    const REPORT: &'static str = "authdata";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        if r.source().field_count() == 0 {
            return Ok(None);
        }
        Ok(Some(AuthData {
            address: None,
            mode: r.get(MODE)?,
            key_type: r.get(KEY_TYPE)?,
            key_id: r.get(KEY_ID)?,
            key_length_bits: r.get(KEY_LENGTH)?,
            key_establishment_attempts: r.get(KEY_ESTABLISHMENT_ATTEMPTS)?,
            last_key_establishment_ago: interval_or_never(r, LAST_KEY_ESTABLISHMENT_AGO)?,
            cookies: r.get(COOKIES)?,
            cookie_length_bytes: r.get(COOKIE_LENGTH)?,
            nak: r.get(NAK)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::more::fake::{Fake, V};
    use crate::FieldContent as C;

    fn fake() -> Fake {
        Fake::new("authdata")
            .uc(fields::MODE, 0, C::Enum)
            .uc(fields::KEY_TYPE, 0, C::Enum)
            .uc(fields::KEY_ID, 0, C::Index)
            .uc(fields::KEY_LENGTH, 0, C::LengthBits)
            .u(fields::KEY_ESTABLISHMENT_ATTEMPTS, 0)
            .uc(
                fields::LAST_KEY_ESTABLISHMENT_AGO,
                0xffff_ffff,
                C::IntervalSeconds,
            )
            .u(fields::COOKIES, 0)
            .uc(fields::COOKIE_LENGTH, 0, C::LengthBytes)
            .uc(fields::NAK, 0, C::Boolean)
            .uc("reserved #1", 0, C::None)
    }

    #[test]
    fn unauthenticated_and_nts() {
        let a = AuthData::from_record(&Record::new(&fake()))
            .unwrap()
            .unwrap();
        assert_eq!(a.mode, AuthMode::None);
        assert_eq!(a.key_type, KeyType::None);
        assert_eq!(a.last_key_establishment_ago, None);
        assert!(!a.is_authenticated() && !a.nak);
        assert_eq!(a.address, None);
        let f = fake()
            .set(fields::MODE, V::U(2))
            .set(fields::KEY_TYPE, V::U(30))
            .set(fields::KEY_LENGTH, V::U(128))
            .set(fields::LAST_KEY_ESTABLISHMENT_AGO, V::U(12))
            .set(fields::COOKIES, V::U(8))
            .set(fields::NAK, V::U(1));
        let a = AuthData::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(
            (a.mode, a.key_type),
            (AuthMode::Nts, KeyType::AeadAes128GcmSiv)
        );
        assert_eq!(
            (a.key_length_bits, a.last_key_establishment_ago, a.cookies),
            (128, Some(12), 8)
        );
        assert!(a.nak && a.is_authenticated());
        let f = fake().set(fields::KEY_TYPE, V::U(99));
        let a = AuthData::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(a.key_type, KeyType::Unknown(99));
    }

    #[test]
    fn reference_clock_record_is_skipped() {
        assert_eq!(
            AuthData::from_record(&Record::new(&Fake::new("authdata"))).unwrap(),
            None
        );
    }
}
