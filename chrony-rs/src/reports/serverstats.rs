//! The `serverstats` report: chronyd's counters as an NTP, NTS-KE and
//! command server.
//!
//! Which fields exist depends on the chronyd version: libchrony reports 5
//! (chrony 3.x), 8 (4.0, 4.1), 11 (4.2 to 4.5) or 21 (4.6 and later, four
//! of them reserved). Every value is therefore an `Option<u64>`: `None`
//! means "this chronyd does not send it", never zero.
//!
//! Most values are counters, which only grow; two are gauges
//! ([`ServerStats::gauges`]). Before chrony 4.6 chronyd sends the counters
//! as 32-bit numbers, which wrap to 0 after 4294967295: compute rates with
//! [`ServerStats::counter_delta`], which knows the width.

use super::schema::FromRecord;
use std::time::Duration;

report! {
    /// The serverstats report (`chronyc serverstats`): one record.
    ///
    /// ```
    /// use chrony::{FromRecord, Record, ServerStats};
    /// use chrony_testkit::scenarios;
    /// let s = ServerStats::from_record(&Record::new(&scenarios::serverstats_chronyd_4_3()))?.unwrap();
    /// assert_eq!(s.received_ntp_requests, Some(42));
    /// assert_eq!(s.served_kernel_rx_timestamps, None); // not sent before 4.6
    /// assert_eq!(s.counters().iter().filter(|c| c.1.is_some()).count(), 9);
    /// assert_eq!(s.counter_bits(), 32);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    #[derive(Eq)]
    pub struct ServerStats in "serverstats" as Single {
        /// Counter: NTP requests received.
        received_ntp_requests: Option<u64> = "received NTP requests", Count, since("3.0");
        /// Counter: NTS-KE connections accepted.
        accepted_nts_ke_connections: Option<u64> = "accepted NTS-KE connections", Count, since("4.0");
        /// Counter: command requests received (each read of a report counts).
        received_command_requests: Option<u64> = "received command requests", Count, since("3.0");
        /// Counter: NTP requests dropped (rate limiting).
        dropped_ntp_requests: Option<u64> = "dropped NTP requests", Count, since("3.0");
        /// Counter: NTS-KE connections dropped (rate limiting).
        dropped_nts_ke_connections: Option<u64> = "dropped NTS-KE connections", Count, since("4.0");
        /// Counter: command requests dropped (rate limiting).
        dropped_command_requests: Option<u64> = "dropped command requests", Count, since("3.0");
        /// Counter: client log records dropped (memory limit).
        dropped_client_log_records: Option<u64> = "dropped client log records", Count, since("3.0");
        /// Counter: authenticated NTP requests received.
        received_authenticated_ntp_requests: Option<u64> = "received authenticated NTP requests", Count, since("4.0");
        /// Counter: interleaved NTP requests received.
        received_interleaved_ntp_requests: Option<u64> = "received interleaved NTP requests", Count, since("4.2");
        /// Gauge: NTP timestamps held now for interleaved mode.
        held_ntp_timestamps: Option<u64> = "held NTP timestamps", Count, since("4.2");
        /// Gauge: span of the held timestamps (whole seconds).
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::whole_seconds_opt"))]
        ntp_timestamp_span: Option<Duration> = "NTP timestamp span", IntervalSeconds, since("4.2") as super::convert::WholeSeconds;
        /// Counter: daemon receive timestamps served.
        served_daemon_rx_timestamps: Option<u64> = "served daemon RX timestamps", Count, since("4.6");
        /// Counter: daemon transmit timestamps served.
        served_daemon_tx_timestamps: Option<u64> = "served daemon TX timestamps", Count, since("4.6");
        /// Counter: kernel receive timestamps served.
        served_kernel_rx_timestamps: Option<u64> = "served kernel RX timestamps", Count, since("4.6");
        /// Counter: kernel transmit timestamps served.
        served_kernel_tx_timestamps: Option<u64> = "served kernel TX timestamps", Count, since("4.6");
        /// Counter: hardware receive timestamps served.
        served_hardware_rx_timestamps: Option<u64> = "served hardware RX timestamps", Count, since("4.6");
        /// Counter: hardware transmit timestamps served.
        served_hardware_tx_timestamps: Option<u64> = "served hardware TX timestamps", Count, since("4.6");
    }
}

/// The libchrony names of the serverstats values that are gauges (a level
/// now), not counters.
pub const GAUGES: &[&str] = &["held NTP timestamps", "NTP timestamp span"];

impl ServerStats {
    /// Every value in declaration order (that of [`FromRecord::FIELDS`]).
    fn values(&self) -> [Option<u64>; ServerStats::FIELDS.len()] {
        [
            self.received_ntp_requests,
            self.accepted_nts_ke_connections,
            self.received_command_requests,
            self.dropped_ntp_requests,
            self.dropped_nts_ke_connections,
            self.dropped_command_requests,
            self.dropped_client_log_records,
            self.received_authenticated_ntp_requests,
            self.received_interleaved_ntp_requests,
            self.held_ntp_timestamps,
            self.ntp_timestamp_span.map(|d| d.as_secs()),
            self.served_daemon_rx_timestamps,
            self.served_daemon_tx_timestamps,
            self.served_kernel_rx_timestamps,
            self.served_kernel_tx_timestamps,
            self.served_hardware_rx_timestamps,
            self.served_hardware_tx_timestamps,
        ]
    }

    fn named(&self, gauges: bool) -> Vec<(&'static str, Option<u64>)> {
        Self::FIELDS
            .iter()
            .zip(self.values())
            .filter(|(f, _)| GAUGES.contains(&f.name) == gauges)
            .map(|(f, v)| (f.name, v))
            .collect()
    }

    /// The counters (values that only grow, see [`counter_delta`](Self::counter_delta))
    /// as (libchrony field name, value) pairs, in libchrony's order; `None`
    /// for those this chronyd does not send.
    pub fn counters(&self) -> Vec<(&'static str, Option<u64>)> {
        self.named(false)
    }

    /// The gauges ([`GAUGES`]: held NTP timestamps, their span in
    /// seconds) as (libchrony field name, value) pairs.
    pub fn gauges(&self) -> Vec<(&'static str, Option<u64>)> {
        self.named(true)
    }

    /// The width of chronyd's counters: 64 when the record has the fields
    /// of chrony 4.6 and later (`served ... timestamps`), 32 before, when
    /// chronyd's counters wrap to 0 after 4294967295.
    pub fn counter_bits(&self) -> u32 {
        if self.served_daemon_rx_timestamps.is_some() {
            64
        } else {
            32
        }
    }

    /// How much a counter grew from `earlier` to `now` (two reads of the
    /// same chronyd), across one wrap of its [`counter_bits`](Self::counter_bits)-bit
    /// width.
    ///
    /// ```
    /// use chrony::{FromRecord, Record, ServerStats};
    /// let s = ServerStats::from_record(&Record::new(&chrony_testkit::scenarios::serverstats_chronyd_4_3()))?.unwrap();
    /// assert_eq!(s.counter_delta(4_294_967_290, 4), 10);
    /// assert_eq!(s.counter_delta(5, 9), 4);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub fn counter_delta(&self, earlier: u64, now: u64) -> u64 {
        match self.counter_bits() {
            64 => now.wrapping_sub(earlier),
            bits => now.wrapping_sub(earlier) & ((1u64 << bits) - 1),
        }
    }

    /// How many values (counters and gauges) this chronyd sent.
    pub fn present_count(&self) -> usize {
        self.values().iter().filter(|v| v.is_some()).count()
    }
}
