//! The `ntpdata` report: per NTP source, the last NTP packet exchange and
//! its counters.
//!
//! libchrony fetches the sourcestats record first to address the source;
//! a reference clock yields a record with no fields, which
//! [`NtpData::from_record`](super::FromRecord::from_record) skips
//! (`Ok(None)`). chrony 4.3 sends 28 fields, 4.6 and later 33 (the four
//! kernel/hardware timestamp counters and one more reserved field); fields
//! named `reserved #N` carry 0xFFFFFFFF and are ignored.
//!
//! chronyd 4.0 sends the record of a source that has never answered (an
//! unresolved name, a silent server, an offline peer) without its remote
//! address (chronyc prints `[UNSPEC]`). Such a record is left out too
//! (`Ok(None)`): the report holds every other source, and the silent one
//! is still listed by `sources` and `sourcestats`. Later versions send the
//! address, and the record is kept.

use crate::error::Result;
use crate::field::{FieldSource, Record};
use crate::time::Timestamp;
use crate::types::chrony_enum;
use crate::types::{LeapStatus, RefId, SourceId};
use std::fmt;
use std::net::IpAddr;

chrony_enum! {
    /// NTP mode of the last packet received from the source (`mode`,
    /// ntpdata report).
    ///
    /// ```
    /// use chrony::NtpMode;
    /// assert_eq!(NtpMode::from_raw(4), NtpMode::Server);
    /// assert_eq!(NtpMode::from_raw(3), NtpMode::Unknown(3));
    /// ```
    NtpMode {
        /// Symmetric active (a peer).
        ActiveSymmetric = 1 => "active_symmetric",
        /// Symmetric passive.
        PassiveSymmetric = 2 => "passive_symmetric",
        /// Server.
        Server = 4 => "server",
    }
}

chrony_enum! {
    /// Where a packet's transmit or receive timestamp was taken
    /// (`transmit timestamping`, `receive timestamping`); chronyd sends the
    /// ASCII code of chronyc's letter (`D`, `K`, `H`).
    ///
    /// ```
    /// use chrony::TimestampSource;
    /// assert_eq!(TimestampSource::from_raw(u64::from(b'K')), TimestampSource::Kernel);
    /// ```
    TimestampSource {
        /// Taken by chronyd (`D`).
        Daemon = 68 => "daemon",
        /// Taken by the kernel (`K`).
        Kernel = 75 => "kernel",
        /// Taken by the network card (`H`).
        Hardware = 72 => "hardware",
    }
}

/// The `flags` of an ntpdata record: the results of the NTP tests and the
/// interleaved/authenticated bits.
///
/// The ten test bits are as chronyc lists them (`1 2 3`, `5 6 7`,
/// `A B C D`); a set bit means the test passed.
///
/// ```
/// # use chrony::NtpFlags;
/// let f = NtpFlags::from_raw(0x3ff | NtpFlags::INTERLEAVED);
/// assert!(f.all_tests_passed() && f.interleaved && !f.authenticated);
/// assert_eq!(f.tests_string(), "111 111 1111");
/// // Test C failed: chronyd sets bit 0x2, chronyc prints `111 111 1101`.
/// let f = NtpFlags::from_raw(0x3fd);
/// assert!(!f.passed(NtpFlags::TEST_C) && f.passed(NtpFlags::TEST_B));
/// assert_eq!(f.tests_string(), "111 111 1101");
/// // Test B failed: bit 0x4, `111 111 1011`.
/// let f = NtpFlags::from_raw(0x3ff & !NtpFlags::TEST_B);
/// assert_eq!(f.raw, 0x3fb);
/// assert_eq!(f.tests_string(), "111 111 1011");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NtpFlags {
    /// The ten test bits (`raw & 0x3ff`).
    pub tests: u16,
    /// The response was in interleaved mode.
    pub interleaved: bool,
    /// The response was authenticated.
    pub authenticated: bool,
    /// The raw flags (unknown bits kept).
    pub raw: u64,
}

impl NtpFlags {
    /// Test 1 (duplicate packet).
    pub const TEST_1: u64 = 0x200;
    /// Test 2 (bogus packet).
    pub const TEST_2: u64 = 0x100;
    /// Test 3 (invalid timestamps).
    pub const TEST_3: u64 = 0x80;
    /// Test 5 (authentication).
    pub const TEST_5: u64 = 0x40;
    /// Test 6 (leap / synchronized).
    pub const TEST_6: u64 = 0x20;
    /// Test 7 (stratum).
    pub const TEST_7: u64 = 0x10;
    /// Test A (delay ratio).
    pub const TEST_A: u64 = 0x8;
    /// Test B (delay ratio: `maxdelayratio`). Bit 0x4, as in chronyd's
    /// ntp_core.c (`... testA) << 1 | testB) << 1 | testC) << 1 | testD`).
    pub const TEST_B: u64 = 0x4;
    /// Test C (delay deviation ratio `maxdelaydevratio`, or the delay
    /// quantile `maxdelayquant`). Bit 0x2.
    pub const TEST_C: u64 = 0x2;
    /// Test D (synchronization loop).
    pub const TEST_D: u64 = 0x1;
    /// Interleaved mode.
    pub const INTERLEAVED: u64 = 0x4000;
    /// Authenticated.
    pub const AUTHENTICATED: u64 = 0x8000;

    const ALL_TESTS: u64 = 0x3ff;

    /// Decodes the raw flags.
    pub fn from_raw(raw: u64) -> NtpFlags {
        NtpFlags {
            tests: (raw & Self::ALL_TESTS) as u16,
            interleaved: raw & Self::INTERLEAVED != 0,
            authenticated: raw & Self::AUTHENTICATED != 0,
            raw,
        }
    }

    /// True when test `bit` (one of the `TEST_*` constants) passed.
    pub fn passed(&self, bit: u64) -> bool {
        self.raw & bit == bit
    }

    /// True when all ten tests passed.
    pub fn all_tests_passed(&self) -> bool {
        self.passed(Self::ALL_TESTS)
    }

    /// The test results as chronyc prints them: `111 111 1111` (tests
    /// 1-3, 5-7, A-D; `1` = passed).
    pub fn tests_string(&self) -> String {
        let b = |bit| if self.passed(bit) { '1' } else { '0' };
        let groups: [&[u64]; 3] = [
            &[Self::TEST_1, Self::TEST_2, Self::TEST_3],
            &[Self::TEST_5, Self::TEST_6, Self::TEST_7],
            &[Self::TEST_A, Self::TEST_B, Self::TEST_C, Self::TEST_D],
        ];
        groups
            .iter()
            .map(|g| g.iter().map(|&t| b(t)).collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

crate::field::from_raw_field!(NtpFlags);

#[cfg(feature = "test-util")]
impl crate::wire::ToWire for NtpFlags {
    fn to_wire(&self) -> crate::wire::WireValue {
        crate::wire::WireValue::Uinteger(self.raw)
    }
}

report! {
    /// NTP data of one source (`chronyc ntpdata`).
    ///
    /// Counters only newer chronyd versions send are `Option`s.
    ///
    /// ```
    /// use chrony::{FromRecord, NtpData, Record};
    /// let n = NtpData::from_record(&Record::new(&chrony_testkit::scenarios::ntpdata_chronyd_4_6()))?.unwrap();
    /// assert!(n.flags.all_tests_passed());
    /// assert!(n.kernel_transmit_timestamps.is_some());
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub struct NtpData in "ntpdata" as PerSource, skip_unaddressed {
        /// The source's address.
        address: SourceId = "remote address", Address, required;
        /// The local address the source is polled from; `None` before chronyd
        /// has exchanged a packet with the source (chronyc prints `[UNSPEC]`).
        local_address: Option<IpAddr> = "local address", Address, required;
        /// The source's UDP port.
        remote_port: u16 = "remote port", Port, required;
        /// Leap status in the last packet.
        leap_status: LeapStatus = "leap status", Enum, required;
        /// NTP version of the last packet.
        version: u8 = "version", Count, required;
        /// NTP mode of the last packet.
        mode: NtpMode = "mode", Enum, required;
        /// Stratum in the last packet.
        stratum: u16 = "stratum", Count, required;
        /// Poll interval in the last packet, log2 seconds.
        poll: i16 = "poll", IntervalLog2Seconds, required as i8;
        /// Precision of the source's clock, log2 seconds.
        precision: i8 = "precision", IntervalLog2Seconds, required;
        /// Root delay in the last packet, seconds.
        root_delay: f64 = "root delay", MeasureSeconds, required;
        /// Root dispersion in the last packet, seconds.
        root_dispersion: f64 = "root dispersion", MeasureSeconds, required;
        /// Reference ID in the last packet.
        reference_id: RefId = "reference ID", ReferenceId, required;
        /// Reference time in the last packet.
        reference_time: Timestamp = "reference time", Time, required;
        /// Offset measured from the last packet, seconds.
        offset: f64 = "offset", OffsetSeconds, required;
        /// Round-trip delay of the last exchange, seconds.
        peer_delay: f64 = "peer delay", MeasureSeconds, required;
        /// Dispersion of the last exchange, seconds.
        peer_dispersion: f64 = "peer dispersion", MeasureSeconds, required;
        /// Time the source took to respond, seconds.
        response_time: f64 = "response time", MeasureSeconds, required;
        /// Assumed asymmetry of the jitter (-0.5 to 0.5).
        jitter_asymmetry: f64 = "jitter asymmetry", Ratio, required;
        /// Test results and mode bits.
        flags: NtpFlags = "flags", Flags, required;
        /// Where the transmit timestamp was taken.
        transmit_timestamping: TimestampSource = "transmit timestamping", Enum, required;
        /// Where the receive timestamp was taken.
        receive_timestamping: TimestampSource = "receive timestamping", Enum, required;
        /// Packets sent to the source.
        transmitted_messages: u64 = "transmitted messages", Count, required;
        /// Packets received from the source.
        received_messages: u64 = "received messages", Count, required;
        /// Valid packets received.
        received_valid_messages: u64 = "received valid messages", Count, required;
        /// Packets that passed all tests.
        /// `None` from chronyd 4.0, which sends a reserved word (all ones)
        /// in this place and whose chronyc has no such column.
        received_good_messages: Option<u64> = "received good messages", Count, required
            by good_messages as u64;
        /// Transmit timestamps taken by the kernel.
        kernel_transmit_timestamps: Option<u64> = "kernel transmit timestamps", Count, since("4.6");
        /// Receive timestamps taken by the kernel.
        kernel_receive_timestamps: Option<u64> = "kernel receive timestamps", Count, since("4.6");
        /// Transmit timestamps taken by hardware.
        hardware_transmit_timestamps: Option<u64> = "hardware transmit timestamps", Count, since("4.6");
        /// Receive timestamps taken by hardware.
        hardware_receive_timestamps: Option<u64> = "hardware receive timestamps", Count, since("4.6");
    }
}

/// A record with a `remote address` field that holds no address (NULL):
/// chronyd 4.0's record of a source that never answered, left out of the
/// report (see the module docs).
pub(crate) fn unaddressed<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> bool {
    let src = r.source();
    src.field_index("remote address").is_some_and(|i| {
        src.field_type(i) == crate::field::FieldType::String && src.string(i).is_none()
    })
}

/// chronyd 4.0 sends 0xFFFFFFFF (a reserved word) where later versions
/// count good messages.
fn good_messages<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<u64>> {
    let v: u64 = r.get("received good messages")?;
    Ok((v != 0xFFFF_FFFF).then_some(v))
}

impl NtpData {
    /// The polling interval as a duration (sub-second for negative `poll`),
    /// as [`Source::poll_interval`](crate::Source::poll_interval).
    ///
    /// ```
    /// let n = chrony_testkit::fake::ntp_data().poll(-2).build();
    /// assert_eq!(n.poll_interval(), std::time::Duration::from_millis(250));
    /// ```
    pub fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(2f64.powi(i32::from(self.poll)))
            .unwrap_or(std::time::Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags as chronyd's ntp_core.c packs them (tests 1, 2, 3, 5, 6,
    /// 7, A, B, C, D from bit 9 down to bit 0; a set bit is a passed test)
    /// against chronyc's way of printing them: each literal below is what
    /// chronyd sends when that one test failed.
    #[test]
    fn each_test_bit_is_where_chronyd_puts_it() {
        let cases = [
            (0x3ff, "111 111 1111"),
            (0x1ff, "011 111 1111"),
            (0x2ff, "101 111 1111"),
            (0x37f, "110 111 1111"),
            (0x3bf, "111 011 1111"),
            (0x3df, "111 101 1111"),
            (0x3ef, "111 110 1111"),
            (0x3f7, "111 111 0111"),
            (0x3fb, "111 111 1011"),
            (0x3fd, "111 111 1101"),
            (0x3fe, "111 111 1110"),
            (0x000, "000 000 0000"),
        ];
        for (raw, printed) in cases {
            let f = NtpFlags::from_raw(raw);
            assert_eq!(f.tests_string(), printed, "raw {raw:#x}");
            assert_eq!(f.all_tests_passed(), raw == 0x3ff);
            assert_eq!(u64::from(f.tests), raw);
        }
    }

    #[test]
    fn interleaved_and_authenticated_are_bits_14_and_15() {
        let f = NtpFlags::from_raw(0x4000 | 0x3ff);
        assert!(f.interleaved && !f.authenticated && f.all_tests_passed());
        let f = NtpFlags::from_raw(0x8000);
        assert!(f.authenticated && !f.interleaved && f.tests == 0);
        // Unknown bits are kept in `raw`, and do not count as tests.
        let f = NtpFlags::from_raw(0x1_0000 | 0x3ff);
        assert_eq!((f.raw, f.tests), (0x1_03ff, 0x3ff));
    }
}
