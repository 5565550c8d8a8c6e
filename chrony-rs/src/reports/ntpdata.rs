//! The `ntpdata` report: per NTP source, the last NTP packet exchange and
//! its counters.
//!
//! libchrony fetches the sourcestats record first to address the source;
//! a reference clock yields a record with no fields, which
//! [`NtpData::from_record`](super::FromRecord::from_record) skips
//! (`Ok(None)`). chrony 4.3 sends 28 fields, 4.6 and later 33 (the four
//! kernel/hardware timestamp counters and one more reserved field); fields
//! named `reserved #N` carry 0xFFFFFFFF and are ignored.

use super::FromRecord;
use crate::error::{DataProblem, Result};
use crate::field::{FieldSource, FromField, Record};
use crate::types::chrony_enum;
use crate::{LeapStatus, RefId, Timestamp};
use std::fmt;

/// libchrony's field names for the ntpdata report.
pub mod fields {
    /// `remote address` (string, address)
    pub const REMOTE_ADDRESS: &str = "remote address";
    /// `local address` (string, address; no value before the first exchange)
    pub const LOCAL_ADDRESS: &str = "local address";
    /// `remote port` (uinteger, port)
    pub const REMOTE_PORT: &str = "remote port";
    /// `leap status` (uinteger, enum)
    pub const LEAP_STATUS: &str = "leap status";
    /// `version` (uinteger)
    pub const VERSION: &str = "version";
    /// `mode` (uinteger, enum)
    pub const MODE: &str = "mode";
    /// `stratum` (uinteger)
    pub const STRATUM: &str = "stratum";
    /// `poll` (integer, log2 seconds)
    pub const POLL: &str = "poll";
    /// `precision` (integer, log2 seconds)
    pub const PRECISION: &str = "precision";
    /// `root delay` (float, seconds)
    pub const ROOT_DELAY: &str = "root delay";
    /// `root dispersion` (float, seconds)
    pub const ROOT_DISPERSION: &str = "root dispersion";
    /// `reference ID` (uinteger, reference ID)
    pub const REFERENCE_ID: &str = "reference ID";
    /// `reference time` (timespec)
    pub const REFERENCE_TIME: &str = "reference time";
    /// `offset` (float, seconds)
    pub const OFFSET: &str = "offset";
    /// `peer delay` (float, seconds)
    pub const PEER_DELAY: &str = "peer delay";
    /// `peer dispersion` (float, seconds)
    pub const PEER_DISPERSION: &str = "peer dispersion";
    /// `response time` (float, seconds)
    pub const RESPONSE_TIME: &str = "response time";
    /// `jitter asymmetry` (float, ratio)
    pub const JITTER_ASYMMETRY: &str = "jitter asymmetry";
    /// `flags` (uinteger, flags)
    pub const FLAGS: &str = "flags";
    /// `transmit timestamping` (uinteger, enum)
    pub const TRANSMIT_TIMESTAMPING: &str = "transmit timestamping";
    /// `receive timestamping` (uinteger, enum)
    pub const RECEIVE_TIMESTAMPING: &str = "receive timestamping";
    /// `transmitted messages` (uinteger, count)
    pub const TRANSMITTED_MESSAGES: &str = "transmitted messages";
    /// `received messages` (uinteger, count)
    pub const RECEIVED_MESSAGES: &str = "received messages";
    /// `received valid messages` (uinteger, count)
    pub const RECEIVED_VALID_MESSAGES: &str = "received valid messages";
    /// `received good messages` (uinteger, count)
    pub const RECEIVED_GOOD_MESSAGES: &str = "received good messages";
    /// `kernel transmit timestamps` (uinteger, count; chrony 4.6+)
    pub const KERNEL_TRANSMIT_TIMESTAMPS: &str = "kernel transmit timestamps";
    /// `kernel receive timestamps` (uinteger, count; chrony 4.6+)
    pub const KERNEL_RECEIVE_TIMESTAMPS: &str = "kernel receive timestamps";
    /// `hardware transmit timestamps` (uinteger, count; chrony 4.6+)
    pub const HARDWARE_TRANSMIT_TIMESTAMPS: &str = "hardware transmit timestamps";
    /// `hardware receive timestamps` (uinteger, count; chrony 4.6+)
    pub const HARDWARE_RECEIVE_TIMESTAMPS: &str = "hardware receive timestamps";
}

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
/// let f = NtpFlags::from_raw(0x3ff & !NtpFlags::TEST_C);
/// assert_eq!(f.tests_string(), "111 111 1101");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// Test B (delay dev ratio).
    pub const TEST_B: u64 = 0x2;
    /// Test C (delay quantile).
    pub const TEST_C: u64 = 0x4;
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

impl FromField for NtpFlags {
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        u64::from_field(s, i).map(NtpFlags::from_raw)
    }
}

/// NTP data of one source (`chronyc ntpdata`).
///
/// Counters only newer chronyd versions send are `Option`s.
///
/// ```
/// # use chrony::{LeapStatus, NtpData, NtpFlags, NtpMode, RefId, Timestamp, TimestampSource};
/// let n = NtpData {
///     remote_address: "192.0.2.1".into(),
///     local_address: Some("192.0.2.100".into()),
///     remote_port: 123,
///     leap_status: LeapStatus::Normal,
///     version: 4,
///     mode: NtpMode::Server,
///     stratum: 2,
///     poll: 6,
///     precision: -25,
///     root_delay: 1e-3,
///     root_dispersion: 2e-4,
///     reference_id: RefId(0xc000_0202),
///     reference_time: Timestamp::new(1_700_000_000, 0).unwrap(),
///     offset: 1e-5,
///     peer_delay: 2e-4,
///     peer_dispersion: 1e-6,
///     response_time: 5e-5,
///     jitter_asymmetry: 0.0,
///     flags: NtpFlags::from_raw(0x3ff),
///     transmit_timestamping: TimestampSource::Kernel,
///     receive_timestamping: TimestampSource::Kernel,
///     transmitted_messages: 10,
///     received_messages: 10,
///     received_valid_messages: 10,
///     received_good_messages: 9,
///     kernel_transmit_timestamps: None,
///     kernel_receive_timestamps: None,
///     hardware_transmit_timestamps: None,
///     hardware_receive_timestamps: None,
/// };
/// assert!(n.flags.all_tests_passed());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NtpData {
    /// The source's address as text.
    pub remote_address: String,
    /// The local address the source is polled from; `None` before chronyd
    /// has exchanged a packet with the source (chronyc prints `[UNSPEC]`).
    pub local_address: Option<String>,
    /// The source's UDP port.
    pub remote_port: u16,
    /// Leap status in the last packet.
    pub leap_status: LeapStatus,
    /// NTP version of the last packet.
    pub version: u8,
    /// NTP mode of the last packet.
    pub mode: NtpMode,
    /// Stratum in the last packet.
    pub stratum: u8,
    /// Poll interval in the last packet, log2 seconds.
    pub poll: i8,
    /// Precision of the source's clock, log2 seconds.
    pub precision: i8,
    /// Root delay in the last packet, seconds.
    pub root_delay: f64,
    /// Root dispersion in the last packet, seconds.
    pub root_dispersion: f64,
    /// Reference ID in the last packet.
    pub reference_id: RefId,
    /// Reference time in the last packet.
    pub reference_time: Timestamp,
    /// Offset measured from the last packet, seconds.
    pub offset: f64,
    /// Round-trip delay of the last exchange, seconds.
    pub peer_delay: f64,
    /// Dispersion of the last exchange, seconds.
    pub peer_dispersion: f64,
    /// Time the source took to respond, seconds.
    pub response_time: f64,
    /// Assumed asymmetry of the jitter (-0.5 to 0.5).
    pub jitter_asymmetry: f64,
    /// Test results and mode bits.
    pub flags: NtpFlags,
    /// Where the transmit timestamp was taken.
    pub transmit_timestamping: TimestampSource,
    /// Where the receive timestamp was taken.
    pub receive_timestamping: TimestampSource,
    /// Packets sent to the source.
    pub transmitted_messages: u64,
    /// Packets received from the source.
    pub received_messages: u64,
    /// Valid packets received.
    pub received_valid_messages: u64,
    /// Packets that passed all tests.
    pub received_good_messages: u64,
    /// Transmit timestamps taken by the kernel (chrony 4.6+).
    pub kernel_transmit_timestamps: Option<u64>,
    /// Receive timestamps taken by the kernel (chrony 4.6+).
    pub kernel_receive_timestamps: Option<u64>,
    /// Transmit timestamps taken by hardware (chrony 4.6+).
    pub hardware_transmit_timestamps: Option<u64>,
    /// Receive timestamps taken by hardware (chrony 4.6+).
    pub hardware_receive_timestamps: Option<u64>,
}

impl FromRecord for NtpData {
    const REPORT: &'static str = "ntpdata";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        if r.source().field_count() == 0 {
            return Ok(None);
        }
        Ok(Some(NtpData {
            remote_address: r.get(REMOTE_ADDRESS)?,
            local_address: r.get(LOCAL_ADDRESS)?,
            remote_port: r.get(REMOTE_PORT)?,
            leap_status: r.get(LEAP_STATUS)?,
            version: r.get(VERSION)?,
            mode: r.get(MODE)?,
            stratum: r.get(STRATUM)?,
            poll: r.get(POLL)?,
            precision: r.get(PRECISION)?,
            root_delay: r.get(ROOT_DELAY)?,
            root_dispersion: r.get(ROOT_DISPERSION)?,
            reference_id: r.get(REFERENCE_ID)?,
            reference_time: r.get(REFERENCE_TIME)?,
            offset: r.get(OFFSET)?,
            peer_delay: r.get(PEER_DELAY)?,
            peer_dispersion: r.get(PEER_DISPERSION)?,
            response_time: r.get(RESPONSE_TIME)?,
            jitter_asymmetry: r.get(JITTER_ASYMMETRY)?,
            flags: r.get(FLAGS)?,
            transmit_timestamping: r.get(TRANSMIT_TIMESTAMPING)?,
            receive_timestamping: r.get(RECEIVE_TIMESTAMPING)?,
            transmitted_messages: r.get(TRANSMITTED_MESSAGES)?,
            received_messages: r.get(RECEIVED_MESSAGES)?,
            received_valid_messages: r.get(RECEIVED_VALID_MESSAGES)?,
            received_good_messages: r.get(RECEIVED_GOOD_MESSAGES)?,
            kernel_transmit_timestamps: r.get_opt(KERNEL_TRANSMIT_TIMESTAMPS)?,
            kernel_receive_timestamps: r.get_opt(KERNEL_RECEIVE_TIMESTAMPS)?,
            hardware_transmit_timestamps: r.get_opt(HARDWARE_TRANSMIT_TIMESTAMPS)?,
            hardware_receive_timestamps: r.get_opt(HARDWARE_RECEIVE_TIMESTAMPS)?,
        }))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reports::more::fake::{Fake, V};
    use crate::FieldContent as C;

    /// A chrony 4.3 record (28 fields).
    pub(crate) fn fake_43() -> Fake {
        Fake::new("ntpdata")
            .s(fields::REMOTE_ADDRESS, Some("127.0.0.2"))
            .s(fields::LOCAL_ADDRESS, Some("127.0.0.1"))
            .uc(fields::REMOTE_PORT, 51762, C::Port)
            .uc(fields::LEAP_STATUS, 0, C::Enum)
            .u(fields::VERSION, 4)
            .uc(fields::MODE, 4, C::Enum)
            .u(fields::STRATUM, 1)
            .i(fields::POLL, -2, C::IntervalLog2Seconds)
            .i(fields::PRECISION, -25, C::IntervalLog2Seconds)
            .f(fields::ROOT_DELAY, 0.0)
            .f(fields::ROOT_DISPERSION, 1e-6)
            .uc(fields::REFERENCE_ID, 0x7f7f_0101, C::ReferenceId)
            .t(fields::REFERENCE_TIME, 1_795_645_917, 515_378_988)
            .f(fields::OFFSET, -2.7e-6)
            .f(fields::PEER_DELAY, 7.7e-6)
            .f(fields::PEER_DISPERSION, 5.5e-8)
            .f(fields::RESPONSE_TIME, 5.6e-5)
            .f(fields::JITTER_ASYMMETRY, 0.5)
            .uc(fields::FLAGS, 1023, C::Flags)
            .uc(fields::TRANSMIT_TIMESTAMPING, 75, C::Enum)
            .uc(fields::RECEIVE_TIMESTAMPING, 68, C::Enum)
            .u(fields::TRANSMITTED_MESSAGES, 15)
            .u(fields::RECEIVED_MESSAGES, 15)
            .u(fields::RECEIVED_VALID_MESSAGES, 15)
            .u(fields::RECEIVED_GOOD_MESSAGES, 14)
            .uc("reserved #1", 0xffff_ffff, C::None)
            .uc("reserved #2", 0xffff_ffff, C::None)
            .uc("reserved #3", 0xffff_ffff, C::None)
    }

    #[test]
    fn chrony_43_record() {
        let n = NtpData::from_record(&Record::new(&fake_43()))
            .unwrap()
            .unwrap();
        assert_eq!(n.remote_address, "127.0.0.2");
        assert_eq!(n.remote_port, 51762);
        assert_eq!((n.poll, n.precision), (-2, -25));
        assert_eq!(n.mode, NtpMode::Server);
        assert_eq!(n.reference_time.secs(), 1_795_645_917);
        assert_eq!(n.flags.tests_string(), "111 111 1111");
        assert_eq!(
            (n.transmit_timestamping, n.receive_timestamping),
            (TimestampSource::Kernel, TimestampSource::Daemon)
        );
        assert_eq!(n.received_good_messages, 14);
        assert_eq!(n.kernel_transmit_timestamps, None);
        assert_eq!(n.hardware_receive_timestamps, None);
    }

    #[test]
    fn chrony_46_counters() {
        let f = fake_43()
            .without("reserved #1")
            .without("reserved #2")
            .without("reserved #3")
            .u(fields::KERNEL_TRANSMIT_TIMESTAMPS, 17)
            .u(fields::KERNEL_RECEIVE_TIMESTAMPS, 16)
            .u(fields::HARDWARE_TRANSMIT_TIMESTAMPS, 0)
            .u(fields::HARDWARE_RECEIVE_TIMESTAMPS, 0)
            .set(
                fields::FLAGS,
                V::U((0x3ff & !NtpFlags::TEST_1) | NtpFlags::AUTHENTICATED),
            );
        let n = NtpData::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(n.kernel_transmit_timestamps, Some(17));
        assert_eq!(n.kernel_receive_timestamps, Some(16));
        assert_eq!(n.hardware_transmit_timestamps, Some(0));
        assert!(n.flags.authenticated && !n.flags.interleaved && !n.flags.all_tests_passed());
        assert_eq!(n.flags.tests_string(), "011 111 1111");
    }

    #[test]
    fn unreachable_source_has_no_local_address() {
        let f = fake_43()
            .set(fields::LOCAL_ADDRESS, V::S(None))
            .set(fields::MODE, V::U(0))
            .set(fields::REFERENCE_TIME, V::T(0, 0));
        let n = NtpData::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(n.local_address, None);
        assert_eq!(n.mode, NtpMode::Unknown(0));
        assert!(n.reference_time.is_never());
    }

    #[test]
    fn reference_clock_record_is_skipped_and_bad_data_reported() {
        let empty = Fake::new("ntpdata");
        assert_eq!(NtpData::from_record(&Record::new(&empty)).unwrap(), None);
        let bad = fake_43().set(fields::REFERENCE_TIME, V::T(1, 1_000_000_000));
        assert!(NtpData::from_record(&Record::new(&bad)).is_err());
        let bad = fake_43().set(fields::POLL, V::I(300));
        assert!(NtpData::from_record(&Record::new(&bad)).is_err());
        let bad = fake_43().without(fields::OFFSET);
        assert!(NtpData::from_record(&Record::new(&bad)).is_err());
    }
}
