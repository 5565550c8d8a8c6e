//! The serverstats report (`chronyc serverstats`): what chronyd served as
//! an NTP, NTS-KE and command server. The set of counters depends on the
//! chronyd version: a counter it does not send is no series, never a 0.

use super::{single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::ServerStats;

/// chronyd serves it on its Unix socket only.
pub const UNIX_ONLY: bool = true;

declare! {
    METRICS;
    SERVERSTATS_NTP_HITS: Counter "chrony_serverstats_ntp_packets_received_total" [] unit "" report "serverstats" since "" compat true
        "NTP requests received by the server (32-bit before chrony 4.6: wraps).";
    SERVERSTATS_NKE_HITS: Counter "chrony_serverstats_nts_ke_connections_accepted_total" [] unit "" report "serverstats" since "4.0" compat true
        "NTS-KE connections accepted by the server.";
    SERVERSTATS_CMD_HITS: Counter "chrony_serverstats_command_packets_received_total" [] unit "" report "serverstats" since "" compat true
        "Command requests received by the server.";
    SERVERSTATS_NTP_DROPS: Counter "chrony_serverstats_ntp_packets_dropped_total" [] unit "" report "serverstats" since "" compat true
        "NTP requests dropped by the server (rate limiting).";
    SERVERSTATS_NKE_DROPS: Counter "chrony_serverstats_nts_ke_connections_dropped_total" [] unit "" report "serverstats" since "4.0" compat true
        "NTS-KE connections dropped by the server (rate limiting).";
    SERVERSTATS_CMD_DROPS: Counter "chrony_serverstats_command_packets_dropped_total" [] unit "" report "serverstats" since "" compat true
        "Command requests dropped by the server (rate limiting).";
    SERVERSTATS_LOG_DROPS: Counter "chrony_serverstats_client_log_records_dropped_total" [] unit "" report "serverstats" since "" compat true
        "Client log records dropped to limit memory use.";
    SERVERSTATS_AUTH_HITS: Counter "chrony_serverstats_authenticated_ntp_packets_total" [] unit "" report "serverstats" since "4.0" compat true
        "Received NTP requests that were authenticated (symmetric key or NTS).";
    SERVERSTATS_INTERLEAVED_HITS: Counter "chrony_serverstats_interleaved_ntp_packets_total" [] unit "" report "serverstats" since "4.2" compat true
        "Received NTP requests in interleaved mode.";
    SERVERSTATS_TIMESTAMPS_HELD: Gauge "chrony_serverstats_ntp_timestamps_held" [] unit "" report "serverstats" since "4.2" compat true
        "Pairs of receive and transmit timestamps the server holds for interleaved clients.";
    SERVERSTATS_TIMESTAMP_SPAN: Gauge "chrony_serverstats_ntp_timestamp_span_seconds" [] unit "seconds" report "serverstats" since "4.2" compat true
        "Interval covered by the held NTP timestamps, in seconds.";
    SERVERSTATS_DAEMON_RX: Counter "chrony_serverstats_ntp_daemon_rx_timestamps_total" [] unit "" report "serverstats" since "4.6" compat true
        "NTP responses with a receive timestamp captured by the daemon.";
    SERVERSTATS_DAEMON_TX: Counter "chrony_serverstats_ntp_daemon_tx_timestamps_total" [] unit "" report "serverstats" since "4.6" compat true
        "NTP responses with a transmit timestamp captured by the daemon.";
    SERVERSTATS_KERNEL_RX: Counter "chrony_serverstats_ntp_kernel_rx_timestamps_total" [] unit "" report "serverstats" since "4.6" compat true
        "NTP responses with a receive timestamp captured by the kernel.";
    SERVERSTATS_KERNEL_TX: Counter "chrony_serverstats_ntp_kernel_tx_timestamps_total" [] unit "" report "serverstats" since "4.6" compat true
        "NTP responses (interleaved) with a transmit timestamp captured by the kernel.";
    SERVERSTATS_HW_RX: Counter "chrony_serverstats_ntp_hw_rx_timestamps_total" [] unit "" report "serverstats" since "4.6" compat true
        "NTP responses with a receive timestamp captured by the NIC.";
    SERVERSTATS_HW_TX: Counter "chrony_serverstats_ntp_hw_tx_timestamps_total" [] unit "" report "serverstats" since "4.6" compat true
        "NTP responses (interleaved) with a transmit timestamp captured by the NIC.";
}

pub fn collect(part: &Part<ServerStats>, _: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |s| update(s, out))
}

fn update(s: &ServerStats, out: &mut Out) {
    for (def, v) in [
        (&SERVERSTATS_NTP_HITS, s.received_ntp_requests),
        (&SERVERSTATS_NKE_HITS, s.accepted_nts_ke_connections),
        (&SERVERSTATS_CMD_HITS, s.received_command_requests),
        (&SERVERSTATS_NTP_DROPS, s.dropped_ntp_requests),
        (&SERVERSTATS_NKE_DROPS, s.dropped_nts_ke_connections),
        (&SERVERSTATS_CMD_DROPS, s.dropped_command_requests),
        (&SERVERSTATS_LOG_DROPS, s.dropped_client_log_records),
        (
            &SERVERSTATS_AUTH_HITS,
            s.received_authenticated_ntp_requests,
        ),
        (
            &SERVERSTATS_INTERLEAVED_HITS,
            s.received_interleaved_ntp_requests,
        ),
        (&SERVERSTATS_TIMESTAMPS_HELD, s.held_ntp_timestamps),
        (&SERVERSTATS_DAEMON_RX, s.served_daemon_rx_timestamps),
        (&SERVERSTATS_DAEMON_TX, s.served_daemon_tx_timestamps),
        (&SERVERSTATS_KERNEL_RX, s.served_kernel_rx_timestamps),
        (&SERVERSTATS_KERNEL_TX, s.served_kernel_tx_timestamps),
        (&SERVERSTATS_HW_RX, s.served_hardware_rx_timestamps),
        (&SERVERSTATS_HW_TX, s.served_hardware_tx_timestamps),
    ] {
        if let Some(v) = v {
            out.add(def, &[], v as f64);
        }
    }
    if let Some(span) = s.ntp_timestamp_span {
        out.add(&SERVERSTATS_TIMESTAMP_SPAN, &[], span.as_secs_f64());
    }
}
