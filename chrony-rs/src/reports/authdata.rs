//! The `authdata` report: per NTP source, how its packets are authenticated
//! (symmetric key or NTS) and the NTS key establishment state.
//!
//! libchrony addresses record *i* by the address of sourcestats record *i*
//! but does not return that address; a reference clock yields a record with
//! no fields, which [`AuthData::from_record`](super::FromRecord::from_record)
//! skips (`Ok(None)`). Fields named `reserved #N` are ignored.

use crate::types::chrony_enum;
use crate::types::SourceId;
use std::fmt;
use std::time::Duration;

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

report! {
    /// Authentication data of one NTP source (`chronyc authdata`).
    ///
    /// ```
    /// use chrony::{AuthData, AuthMode, FromRecord, Record};
    /// let a = AuthData::from_record(&Record::new(&chrony_testkit::scenarios::authdata_nts()))?.unwrap();
    /// assert!(a.is_authenticated() && a.mode == AuthMode::Nts);
    /// assert_eq!(a.address, None); // filled in by Client::auth_data
    /// # Ok::<(), chrony::Error>(())
    /// ```
    #[derive(Eq)]
    pub struct AuthData in "authdata" as PerSourcePaired, skip_empty {
        /// The source. Not part of libchrony's authdata record:
        /// [`Client::auth_data`](crate::Client::auth_data) fills it in from
        /// the source's sourcestats record; `None` when built by
        /// `from_record` alone.
        address: Option<SourceId> = "address", Address, paired as Option<SourceId>;
        /// Authentication mode.
        mode: AuthMode = "mode", Enum, required;
        /// Key algorithm.
        key_type: KeyType = "key type", Enum, required;
        /// Key ID (symmetric key) or NTS key ID.
        key_id: u32 = "key ID", Index, required;
        /// Key length, bits.
        key_length_bits: u32 = "key length", LengthBits, required;
        /// NTS-KE attempts since the last success.
        key_establishment_attempts: u32 = "key establishment attempts", Count, required;
        /// Time since the last NTS key establishment (whole seconds);
        /// `None` for never (0xFFFFFFFF).
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::whole_seconds_opt"))]
        last_key_establishment_ago: Option<Duration> = "last key establishment ago", IntervalSeconds, required as super::convert::Never;
        /// NTS cookies held.
        cookies: u32 = "cookies", Count, required;
        /// Length of the cookies, bytes.
        cookie_length_bytes: u32 = "cookie length", LengthBytes, required;
        /// An NTS NAK was received.
        nak: bool = "NAK", Boolean, required;
    }
}

impl AuthData {
    /// True when the source is authenticated (symmetric key or NTS).
    pub fn is_authenticated(&self) -> bool {
        self.mode != AuthMode::None
    }
}
