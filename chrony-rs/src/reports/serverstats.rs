//! The `serverstats` report: chronyd's counters as an NTP, NTS-KE and
//! command server.
//!
//! Which counters exist depends on the chronyd version: libchrony reports 5,
//! 8, 11 or 21 fields (chrony 4.3: 11; 4.6 and later: 21, four of them
//! reserved), and their width (32 or 64 bit) differs too. Every counter is
//! therefore an `Option<u64>`: `None` means "this chronyd does not send it",
//! never zero.

use super::FromRecord;
use crate::error::Result;
use crate::field::{FieldSource, Record};

/// libchrony's field names for the serverstats report (all uinteger).
pub mod fields {
    /// `received NTP requests` (count)
    pub const RECEIVED_NTP_REQUESTS: &str = "received NTP requests";
    /// `accepted NTS-KE connections` (count)
    pub const ACCEPTED_NTS_KE_CONNECTIONS: &str = "accepted NTS-KE connections";
    /// `received command requests` (count)
    pub const RECEIVED_COMMAND_REQUESTS: &str = "received command requests";
    /// `dropped NTP requests` (count)
    pub const DROPPED_NTP_REQUESTS: &str = "dropped NTP requests";
    /// `dropped NTS-KE connections` (count)
    pub const DROPPED_NTS_KE_CONNECTIONS: &str = "dropped NTS-KE connections";
    /// `dropped command requests` (count)
    pub const DROPPED_COMMAND_REQUESTS: &str = "dropped command requests";
    /// `dropped client log records` (count)
    pub const DROPPED_CLIENT_LOG_RECORDS: &str = "dropped client log records";
    /// `received authenticated NTP requests` (count)
    pub const RECEIVED_AUTHENTICATED_NTP_REQUESTS: &str = "received authenticated NTP requests";
    /// `received interleaved NTP requests` (count)
    pub const RECEIVED_INTERLEAVED_NTP_REQUESTS: &str = "received interleaved NTP requests";
    /// `held NTP timestamps` (count)
    pub const HELD_NTP_TIMESTAMPS: &str = "held NTP timestamps";
    /// `NTP timestamp span` (interval seconds)
    pub const NTP_TIMESTAMP_SPAN: &str = "NTP timestamp span";
    /// `served daemon RX timestamps` (count)
    pub const SERVED_DAEMON_RX_TIMESTAMPS: &str = "served daemon RX timestamps";
    /// `served daemon TX timestamps` (count)
    pub const SERVED_DAEMON_TX_TIMESTAMPS: &str = "served daemon TX timestamps";
    /// `served kernel RX timestamps` (count)
    pub const SERVED_KERNEL_RX_TIMESTAMPS: &str = "served kernel RX timestamps";
    /// `served kernel TX timestamps` (count)
    pub const SERVED_KERNEL_TX_TIMESTAMPS: &str = "served kernel TX timestamps";
    /// `served hardware RX timestamps` (count)
    pub const SERVED_HARDWARE_RX_TIMESTAMPS: &str = "served hardware RX timestamps";
    /// `served hardware TX timestamps` (count)
    pub const SERVED_HARDWARE_TX_TIMESTAMPS: &str = "served hardware TX timestamps";

    /// Every counter name above, in libchrony's order. Fields named
    /// `reserved #N` (which carry all ones) are not counters.
    pub const ALL: &[&str] = &[
        RECEIVED_NTP_REQUESTS,
        ACCEPTED_NTS_KE_CONNECTIONS,
        RECEIVED_COMMAND_REQUESTS,
        DROPPED_NTP_REQUESTS,
        DROPPED_NTS_KE_CONNECTIONS,
        DROPPED_COMMAND_REQUESTS,
        DROPPED_CLIENT_LOG_RECORDS,
        RECEIVED_AUTHENTICATED_NTP_REQUESTS,
        RECEIVED_INTERLEAVED_NTP_REQUESTS,
        HELD_NTP_TIMESTAMPS,
        NTP_TIMESTAMP_SPAN,
        SERVED_DAEMON_RX_TIMESTAMPS,
        SERVED_DAEMON_TX_TIMESTAMPS,
        SERVED_KERNEL_RX_TIMESTAMPS,
        SERVED_KERNEL_TX_TIMESTAMPS,
        SERVED_HARDWARE_RX_TIMESTAMPS,
        SERVED_HARDWARE_TX_TIMESTAMPS,
    ];
}

/// The serverstats report (`chronyc serverstats`): one record.
///
/// Each counter is `None` when the chronyd version does not send it.
///
/// ```
/// # use chrony::ServerStats;
/// let s = ServerStats { received_ntp_requests: Some(10), dropped_ntp_requests: Some(1), ..Default::default() };
/// assert_eq!(s.received_ntp_requests, Some(10));
/// assert_eq!(s.served_kernel_rx_timestamps, None); // an older chronyd
/// assert_eq!(s.present_count(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ServerStats {
    /// NTP requests received.
    pub received_ntp_requests: Option<u64>,
    /// NTS-KE connections accepted.
    pub accepted_nts_ke_connections: Option<u64>,
    /// Command requests received (each read of a report counts).
    pub received_command_requests: Option<u64>,
    /// NTP requests dropped (rate limiting).
    pub dropped_ntp_requests: Option<u64>,
    /// NTS-KE connections dropped (rate limiting).
    pub dropped_nts_ke_connections: Option<u64>,
    /// Command requests dropped (rate limiting).
    pub dropped_command_requests: Option<u64>,
    /// Client log records dropped (memory limit).
    pub dropped_client_log_records: Option<u64>,
    /// Authenticated NTP requests received.
    pub received_authenticated_ntp_requests: Option<u64>,
    /// Interleaved NTP requests received.
    pub received_interleaved_ntp_requests: Option<u64>,
    /// NTP timestamps held for interleaved mode.
    pub held_ntp_timestamps: Option<u64>,
    /// Span of the held timestamps, seconds.
    pub ntp_timestamp_span: Option<u64>,
    /// Daemon receive timestamps served.
    pub served_daemon_rx_timestamps: Option<u64>,
    /// Daemon transmit timestamps served.
    pub served_daemon_tx_timestamps: Option<u64>,
    /// Kernel receive timestamps served.
    pub served_kernel_rx_timestamps: Option<u64>,
    /// Kernel transmit timestamps served.
    pub served_kernel_tx_timestamps: Option<u64>,
    /// Hardware receive timestamps served.
    pub served_hardware_rx_timestamps: Option<u64>,
    /// Hardware transmit timestamps served.
    pub served_hardware_tx_timestamps: Option<u64>,
}

impl ServerStats {
    /// The counters as (libchrony field name, value) pairs, in libchrony's
    /// order.
    ///
    /// ```
    /// # use chrony::ServerStats;
    /// let s = ServerStats { received_command_requests: Some(7), ..Default::default() };
    /// assert!(s.counters().contains(&("received command requests", Some(7))));
    /// ```
    pub fn counters(&self) -> [(&'static str, Option<u64>); 17] {
        use fields::*;
        [
            (RECEIVED_NTP_REQUESTS, self.received_ntp_requests),
            (
                ACCEPTED_NTS_KE_CONNECTIONS,
                self.accepted_nts_ke_connections,
            ),
            (RECEIVED_COMMAND_REQUESTS, self.received_command_requests),
            (DROPPED_NTP_REQUESTS, self.dropped_ntp_requests),
            (DROPPED_NTS_KE_CONNECTIONS, self.dropped_nts_ke_connections),
            (DROPPED_COMMAND_REQUESTS, self.dropped_command_requests),
            (DROPPED_CLIENT_LOG_RECORDS, self.dropped_client_log_records),
            (
                RECEIVED_AUTHENTICATED_NTP_REQUESTS,
                self.received_authenticated_ntp_requests,
            ),
            (
                RECEIVED_INTERLEAVED_NTP_REQUESTS,
                self.received_interleaved_ntp_requests,
            ),
            (HELD_NTP_TIMESTAMPS, self.held_ntp_timestamps),
            (NTP_TIMESTAMP_SPAN, self.ntp_timestamp_span),
            (
                SERVED_DAEMON_RX_TIMESTAMPS,
                self.served_daemon_rx_timestamps,
            ),
            (
                SERVED_DAEMON_TX_TIMESTAMPS,
                self.served_daemon_tx_timestamps,
            ),
            (
                SERVED_KERNEL_RX_TIMESTAMPS,
                self.served_kernel_rx_timestamps,
            ),
            (
                SERVED_KERNEL_TX_TIMESTAMPS,
                self.served_kernel_tx_timestamps,
            ),
            (
                SERVED_HARDWARE_RX_TIMESTAMPS,
                self.served_hardware_rx_timestamps,
            ),
            (
                SERVED_HARDWARE_TX_TIMESTAMPS,
                self.served_hardware_tx_timestamps,
            ),
        ]
    }

    /// How many counters this chronyd sent.
    pub fn present_count(&self) -> usize {
        self.counters().iter().filter(|c| c.1.is_some()).count()
    }
}

impl FromRecord for ServerStats {
    const REPORT: &'static str = "serverstats";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        Ok(Some(ServerStats {
            received_ntp_requests: r.get_opt(RECEIVED_NTP_REQUESTS)?,
            accepted_nts_ke_connections: r.get_opt(ACCEPTED_NTS_KE_CONNECTIONS)?,
            received_command_requests: r.get_opt(RECEIVED_COMMAND_REQUESTS)?,
            dropped_ntp_requests: r.get_opt(DROPPED_NTP_REQUESTS)?,
            dropped_nts_ke_connections: r.get_opt(DROPPED_NTS_KE_CONNECTIONS)?,
            dropped_command_requests: r.get_opt(DROPPED_COMMAND_REQUESTS)?,
            dropped_client_log_records: r.get_opt(DROPPED_CLIENT_LOG_RECORDS)?,
            received_authenticated_ntp_requests: r.get_opt(RECEIVED_AUTHENTICATED_NTP_REQUESTS)?,
            received_interleaved_ntp_requests: r.get_opt(RECEIVED_INTERLEAVED_NTP_REQUESTS)?,
            held_ntp_timestamps: r.get_opt(HELD_NTP_TIMESTAMPS)?,
            ntp_timestamp_span: r.get_opt(NTP_TIMESTAMP_SPAN)?,
            served_daemon_rx_timestamps: r.get_opt(SERVED_DAEMON_RX_TIMESTAMPS)?,
            served_daemon_tx_timestamps: r.get_opt(SERVED_DAEMON_TX_TIMESTAMPS)?,
            served_kernel_rx_timestamps: r.get_opt(SERVED_KERNEL_RX_TIMESTAMPS)?,
            served_kernel_tx_timestamps: r.get_opt(SERVED_KERNEL_TX_TIMESTAMPS)?,
            served_hardware_rx_timestamps: r.get_opt(SERVED_HARDWARE_RX_TIMESTAMPS)?,
            served_hardware_tx_timestamps: r.get_opt(SERVED_HARDWARE_TX_TIMESTAMPS)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::more::fake::{Fake, V};

    fn fake(n: usize) -> Fake {
        let mut f = Fake::new("serverstats");
        for (k, name) in fields::ALL.iter().take(n).enumerate() {
            f = f.u(name, k as u64 + 1);
        }
        f
    }

    #[test]
    fn missing_counters_are_none_not_zero() {
        // chrony 4.3 sends 11 counters.
        let f = fake(11);
        let s = ServerStats::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(s.present_count(), 11);
        assert_eq!(s.received_ntp_requests, Some(1));
        assert_eq!(s.ntp_timestamp_span, Some(11));
        assert_eq!(s.served_daemon_rx_timestamps, None);
        // 4.6+: 17 counters plus 4 reserved fields (all ones), ignored.
        let mut f = fake(17);
        for k in 1..=4 {
            f = f.u(&format!("reserved #{k}"), u64::MAX);
        }
        let s = ServerStats::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(s.present_count(), 17);
        assert_eq!(s.served_hardware_tx_timestamps, Some(17));
        // An old chronyd with only a few of them.
        let f = Fake::new("serverstats")
            .u(fields::RECEIVED_NTP_REQUESTS, 5)
            .u(fields::DROPPED_NTP_REQUESTS, 0);
        let s = ServerStats::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(
            (
                s.received_ntp_requests,
                s.dropped_ntp_requests,
                s.held_ntp_timestamps
            ),
            (Some(5), Some(0), None)
        );
    }

    #[test]
    fn wide_counters_and_wrong_types() {
        let f = fake(3).set(fields::RECEIVED_NTP_REQUESTS, V::U(u64::MAX - 1));
        let s = ServerStats::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(s.received_ntp_requests, Some(u64::MAX - 1));
        let f = fake(3).set(fields::RECEIVED_COMMAND_REQUESTS, V::F(1.0));
        assert!(ServerStats::from_record(&Record::new(&f)).is_err());
    }
}
