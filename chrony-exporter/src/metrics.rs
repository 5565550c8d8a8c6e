//! The metric list (one table: name, type, unit, labels, help, report,
//! chrony version), the per-scrape output and its two text encodings.
//!
//! Every metric the exporter can write is declared once in [`ALL`]; the
//! encoder, the README's metrics reference and the tests all read it. A
//! metric marked `compat` keeps the name, type, unit and label names of
//! SuperQ's chrony_exporter, so its dashboards and alerts keep working.

use std::collections::HashMap;
use std::fmt::Write as _;

/// Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// One metric of the table.
#[derive(Debug)]
pub struct Def {
    /// The full sample name (counters end in `_total`).
    pub name: &'static str,
    pub kind: Kind,
    /// Base unit (`seconds`, `ratio`, `bytes`), or "" for counts,
    /// booleans and info metrics.
    pub unit: &'static str,
    pub labels: &'static [&'static str],
    /// The collector (report) it comes from, or `exporter`.
    pub report: &'static str,
    /// The first chrony version that sends it ("" = every version the
    /// exporter supports, 4.0 and later).
    pub since: &'static str,
    /// Same name, type, unit and labels as chrony_exporter.
    pub compat: bool,
    pub help: &'static str,
}

macro_rules! metrics {
    ($(
        $id:ident: $kind:ident $name:literal [$($label:literal),*] unit $unit:literal
            report $report:literal since $since:literal compat $compat:literal
            $help:literal;
    )*) => {
        $(
            pub const $id: Def = Def {
                name: $name,
                kind: Kind::$kind,
                unit: $unit,
                labels: &[$($label),*],
                report: $report,
                since: $since,
                compat: $compat,
                help: $help,
            };
        )*
        /// Every metric, in output order.
        pub const ALL: &[&Def] = &[$(&$id),*];
    };
}

metrics! {
    // --- health -------------------------------------------------------------
    UP: Gauge "chrony_up" [] unit "" report "exporter" since "" compat true
        "1 when chronyd answered this scrape, 0 when it did not (not running, frozen, silent, refused the connection or too slow for the scrape deadline).";
    COLLECTOR_SUCCESS: Gauge "chrony_scrape_collector_success" ["collector"] unit "" report "exporter" since "" compat false
        "1 when the collector's report was read (including chronyd saying the feature is off, as for rtcdata without an RTC), 0 when it was not.";
    COLLECTOR_DURATION: Gauge "chrony_scrape_collector_duration_seconds" ["collector"] unit "seconds" report "exporter" since "" compat false
        "Seconds spent on the collector in this scrape: the read all collectors share (every report at once over the client's sessions) plus building its metrics.";
    COLLECTOR_UNAVAILABLE: Gauge "chrony_scrape_collector_unavailable" ["collector", "reason"] unit "" report "exporter" since "" compat false
        "1 (one series) when the collector's report gave no data, with the reason: unauthorized (not served over UDP), disabled, not_available (no RTC, smoothing off), old_server, new_server, unexpected_status, bad_data or no_answer.";
    COLLECTOR_SKIPPED: Gauge "chrony_scrape_collector_records_skipped" ["collector", "reason"] unit "" report "exporter" since "" compat false
        "Records of the report left out of the per-source metrics in this scrape, by reason: unresolved (ID# sources), unspecified (no address) or duplicate (a label set already written).";
    BUILD_INFO: Gauge "chrony_exporter_build_info" ["version", "libchrony_version"] unit "" report "exporter" since "" compat false
        "Always 1: the exporter's version and the libchrony version it was built against.";
    PROBE_SUCCESS: Gauge "chrony_probe_success" [] unit "" report "probe" since "" compat false
        "On /probe only: 1 when the target's chronyd answered within the scrape deadline, 0 when it did not (silent, refused, unresolvable or too slow).";
    PROBE_DURATION: Gauge "chrony_probe_duration_seconds" [] unit "seconds" report "probe" since "" compat false
        "On /probe only: seconds the probe took (resolving the target, reading its reports, building the metrics).";

    // --- tracking -----------------------------------------------------------
    TRACKING_INFO: Gauge "chrony_tracking_info" ["tracking_address", "tracking_name", "tracking_refid"] unit "" report "tracking" since "" compat true
        "Always 1: the reference chronyd tracks (its IP address, or empty; its name: the reverse DNS name with --collector.dns-lookups, the address, or the reference ID's text for reference clocks; the reference ID in hex).";
    TRACKING_LAST_OFFSET: Gauge "chrony_tracking_last_offset_seconds" [] unit "seconds" report "tracking" since "" compat true
        "Estimated local offset at the last clock update, in seconds.";
    TRACKING_REF_TIME: Gauge "chrony_tracking_reference_timestamp_seconds" [] unit "seconds" report "tracking" since "" compat true
        "Time (Unix seconds) of the last measurement from the reference source.";
    TRACKING_SYSTEM_TIME: Gauge "chrony_tracking_system_time_seconds" [] unit "seconds" report "tracking" since "" compat true
        "Offset of the system clock chronyd is still correcting (current correction), in seconds; positive when the system clock is behind.";
    TRACKING_REMOTE: Gauge "chrony_tracking_remote_reference" [] unit "" report "tracking" since "" compat true
        "0 when chronyd tracks its own local clock (reference ID 127.127.1.1), 1 otherwise.";
    TRACKING_RMS_OFFSET: Gauge "chrony_tracking_rms_offset_seconds" [] unit "seconds" report "tracking" since "" compat true
        "Long-term average (RMS) of the offset, in seconds.";
    TRACKING_ROOT_DELAY: Gauge "chrony_tracking_root_delay_seconds" [] unit "seconds" report "tracking" since "" compat true
        "Total of the network path delays to the stratum-1 root, in seconds.";
    TRACKING_ROOT_DISPERSION: Gauge "chrony_tracking_root_dispersion_seconds" [] unit "seconds" report "tracking" since "" compat true
        "Total dispersion accumulated up to the stratum-1 root, in seconds.";
    TRACKING_FREQUENCY: Gauge "chrony_tracking_frequency_ppms" [] unit "" report "tracking" since "" compat true
        "Rate at which the system clock would be wrong without chronyd's correction, in ppm (positive: fast).";
    TRACKING_RESIDUAL_FREQUENCY: Gauge "chrony_tracking_residual_frequency_ppms" [] unit "" report "tracking" since "" compat true
        "Residual frequency of the selected source, in ppm.";
    TRACKING_SKEW: Gauge "chrony_tracking_skew_ppms" [] unit "" report "tracking" since "" compat true
        "Estimated error bound of the frequency, in ppm.";
    TRACKING_UPDATE_INTERVAL: Gauge "chrony_tracking_update_interval_seconds" [] unit "seconds" report "tracking" since "" compat true
        "Interval between the last two clock updates, in seconds.";
    TRACKING_STRATUM: Gauge "chrony_tracking_stratum" [] unit "" report "tracking" since "" compat true
        "Stratum of the local clock (16: not synchronized).";
    TRACKING_LEAP_STATUS: Gauge "chrony_tracking_leap_status" ["leap_status"] unit "" report "tracking" since "" compat false
        "One series per leap status (normal, insert, delete, unsynchronized), 1 for the current one.";
    TRACKING_SYNCHRONIZED: Gauge "chrony_tracking_synchronized" [] unit "" report "tracking" since "" compat false
        "1 when chronyd is synchronized to a source as chronyc waitsync decides (leap status not unsynchronized, a reference that is not the local clock, stratum below 16).";

    // --- sources ------------------------------------------------------------
    SOURCES_LAST_RX: Gauge "chrony_sources_last_sample_age_seconds" ["source_address", "source_name"] unit "seconds" report "sources" since "" compat true
        "Seconds since the last good sample of the source (no series while it has none).";
    SOURCES_REACH_RATIO: Gauge "chrony_sources_reachability_ratio" ["source_address", "source_name"] unit "ratio" report "sources" since "" compat true
        "Fraction of the last eight polls that got an answer (bits set in the reachability register / 8).";
    SOURCES_REACH_SUCCESS: Gauge "chrony_sources_reachability_success" ["source_address", "source_name"] unit "" report "sources" since "" compat true
        "1 when the last poll got an answer (bit 0 of the reachability register).";
    SOURCES_LAST_SAMPLE: Gauge "chrony_sources_last_sample_offset_seconds" ["source_address", "source_name"] unit "seconds" report "sources" since "" compat true
        "Offset of the last sample, adjusted for clock changes since, in seconds.";
    SOURCES_LAST_SAMPLE_ERR: Gauge "chrony_sources_last_sample_error_margin_seconds" ["source_address", "source_name"] unit "seconds" report "sources" since "" compat true
        "Error margin of the last sample, in seconds.";
    SOURCES_POLL_INTERVAL: Gauge "chrony_sources_polling_interval_seconds" ["source_address", "source_name"] unit "seconds" report "sources" since "" compat true
        "Polling interval of the source, in seconds.";
    SOURCES_STATE_INFO: Gauge "chrony_sources_state_info" ["source_address", "source_name", "source_state", "source_mode"] unit "" report "sources" since "" compat true
        "Always 1: the source's selection state (sync, unreach, falseticket, jittery, candidate, outlier, as chrony_exporter names them) and mode (client, peer, ref).";
    SOURCES_STRATUM: Gauge "chrony_sources_stratum" ["source_address", "source_name"] unit "" report "sources" since "" compat true
        "Stratum the source reports.";
    SOURCES_REACHABILITY: Gauge "chrony_sources_reachability_register" ["source_address", "source_name"] unit "" report "sources" since "" compat false
        "The 8-bit reachability register (chronyc's Reach column in decimal; bit 0 is the newest poll).";
    SOURCES_ORIGINAL_OFFSET: Gauge "chrony_sources_last_sample_original_offset_seconds" ["source_address", "source_name"] unit "seconds" report "sources" since "" compat false
        "Offset of the last sample as measured, in seconds.";

    // --- sourcestats --------------------------------------------------------
    SOURCESTATS_SAMPLES: Gauge "chrony_sourcestats_samples" ["source_address", "source_name"] unit "" report "sourcestats" since "" compat true
        "Number of sample points kept for the source.";
    SOURCESTATS_RUNS: Gauge "chrony_sourcestats_runs" ["source_address", "source_name"] unit "" report "sourcestats" since "" compat true
        "Number of runs of residuals with the same sign after the last regression.";
    SOURCESTATS_SPAN: Gauge "chrony_sourcestats_span_seconds" ["source_address", "source_name"] unit "seconds" report "sourcestats" since "" compat true
        "Interval between the oldest and newest sample, in seconds.";
    SOURCESTATS_STDDEV: Gauge "chrony_sourcestats_stddev" ["source_address", "source_name"] unit "" report "sourcestats" since "" compat true
        "Estimated sample standard deviation, in seconds.";
    SOURCESTATS_FREQUENCY: Gauge "chrony_sourcestats_frequency_ppms" ["source_address", "source_name"] unit "" report "sourcestats" since "" compat true
        "Estimated residual frequency of the source, in ppm.";
    SOURCESTATS_SKEW: Gauge "chrony_sourcestats_frequency_skew_ppms" ["source_address", "source_name"] unit "" report "sourcestats" since "" compat true
        "Estimated error bound of the frequency, in ppm.";
    SOURCESTATS_OFFSET: Gauge "chrony_sourcestats_offset" ["source_address", "source_name"] unit "" report "sourcestats" since "" compat true
        "Estimated offset of the source, in seconds.";
    SOURCESTATS_OFFSET_ERROR: Gauge "chrony_sourcestats_offset_error_seconds" ["source_address", "source_name"] unit "seconds" report "sourcestats" since "" compat false
        "Error bound of the estimated offset, in seconds.";

    // --- serverstats --------------------------------------------------------
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

    // --- activity -----------------------------------------------------------
    ACTIVITY_SOURCES: Gauge "chrony_activity_sources" ["state"] unit "" report "activity" since "" compat false
        "Sources by activity state: online, offline, burst_online (in a burst, back online after), burst_offline (in a burst, back offline after), unresolved (name not resolved yet).";

    // --- rtcdata ------------------------------------------------------------
    RTC_REF_TIME: Gauge "chrony_rtcdata_last_measurement_timestamp_seconds" [] unit "seconds" report "rtcdata" since "" compat false
        "Time (Unix seconds) of the last RTC measurement.";
    RTC_SAMPLES: Gauge "chrony_rtcdata_samples" [] unit "" report "rtcdata" since "" compat false
        "RTC measurements kept.";
    RTC_RUNS: Gauge "chrony_rtcdata_runs" [] unit "" report "rtcdata" since "" compat false
        "Runs of residuals with the same sign.";
    RTC_SPAN: Gauge "chrony_rtcdata_span_seconds" [] unit "seconds" report "rtcdata" since "" compat false
        "Time spanned by the RTC measurements, in seconds.";
    RTC_OFFSET: Gauge "chrony_rtcdata_offset_seconds" [] unit "seconds" report "rtcdata" since "" compat false
        "Offset of the RTC, in seconds.";
    RTC_FREQUENCY: Gauge "chrony_rtcdata_frequency_offset_ratio" [] unit "ratio" report "rtcdata" since "" compat false
        "Frequency error of the RTC as a ratio (ppm / 1e6).";

    // --- smoothing ----------------------------------------------------------
    SMOOTHING_ACTIVE: Gauge "chrony_smoothing_active" [] unit "" report "smoothing" since "" compat false
        "1 when time smoothing is active.";
    SMOOTHING_LEAP_ONLY: Gauge "chrony_smoothing_leap_only" [] unit "" report "smoothing" since "" compat false
        "1 when only leap seconds are smoothed.";
    SMOOTHING_OFFSET: Gauge "chrony_smoothing_offset_seconds" [] unit "seconds" report "smoothing" since "" compat false
        "Offset of the smoothed time from the local clock, in seconds.";
    SMOOTHING_FREQUENCY: Gauge "chrony_smoothing_frequency_offset_ratio" [] unit "ratio" report "smoothing" since "" compat false
        "Frequency offset of the smoothed time as a ratio (ppm / 1e6).";
    SMOOTHING_WANDER: Gauge "chrony_smoothing_wander_ratio_per_second" [] unit "" report "smoothing" since "" compat false
        "Wander of the frequency, ratio per second (ppm/s / 1e6).";
    SMOOTHING_LAST_UPDATE: Gauge "chrony_smoothing_last_update_age_seconds" [] unit "seconds" report "smoothing" since "" compat false
        "Seconds since the last smoothing update.";
    SMOOTHING_REMAINING: Gauge "chrony_smoothing_remaining_seconds" [] unit "seconds" report "smoothing" since "" compat false
        "Seconds until the smoothing ends.";

    // --- selectdata ---------------------------------------------------------
    SELECT_STATE_INFO: Gauge "chrony_selectdata_state_info" ["source_address", "source_name", "select_state"] unit "" report "selectdata" since "4.3" compat false
        "Always 1: the source's state in chronyd's selection (best, combined, falseticker, jittery, stale, not_synchronized, ...).";
    SELECT_LEAP_INFO: Gauge "chrony_selectdata_leap_status_info" ["source_address", "source_name", "leap_status"] unit "" report "selectdata" since "4.3" compat false
        "Always 1: the leap status the source announces.";
    SELECT_OPTIONS_INFO: Gauge "chrony_selectdata_options_info" ["source_address", "source_name", "configured", "effective"] unit "" report "selectdata" since "4.3" compat false
        "Always 1: the configured and effective selection options as chronyc prints them (N noselect, P prefer, T trust, R require).";
    SELECT_AUTHENTICATED: Gauge "chrony_selectdata_authenticated" ["source_address", "source_name"] unit "" report "selectdata" since "4.3" compat false
        "1 when the source is authenticated.";
    SELECT_LAST_SAMPLE: Gauge "chrony_selectdata_last_sample_age_seconds" ["source_address", "source_name"] unit "seconds" report "selectdata" since "4.3" compat false
        "Seconds since the source's last sample (no series while it has none).";
    SELECT_SCORE: Gauge "chrony_selectdata_score" ["source_address", "source_name"] unit "" report "selectdata" since "4.3" compat false
        "Selection score (lower is better; relative to the selected source).";
    SELECT_LOW: Gauge "chrony_selectdata_low_limit_seconds" ["source_address", "source_name"] unit "seconds" report "selectdata" since "4.3" compat false
        "Low end of the source's interval of acceptable offsets, in seconds.";
    SELECT_HIGH: Gauge "chrony_selectdata_high_limit_seconds" ["source_address", "source_name"] unit "seconds" report "selectdata" since "4.3" compat false
        "High end of the source's interval of acceptable offsets, in seconds.";

    // --- ntpdata ------------------------------------------------------------
    NTP_INFO: Gauge "chrony_ntpdata_info" ["source_address", "source_name", "local_address", "remote_port", "version", "mode", "leap_status"] unit "" report "ntpdata" since "" compat false
        "Always 1: the last NTP packet's addresses, port, NTP version, mode and leap status.";
    NTP_STRATUM: Gauge "chrony_ntpdata_stratum" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "Stratum in the last packet.";
    NTP_POLL: Gauge "chrony_ntpdata_poll_interval_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Polling interval in the last packet, in seconds.";
    NTP_PRECISION: Gauge "chrony_ntpdata_precision_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Precision of the server's clock, in seconds.";
    NTP_ROOT_DELAY: Gauge "chrony_ntpdata_root_delay_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Root delay in the last packet, in seconds.";
    NTP_ROOT_DISPERSION: Gauge "chrony_ntpdata_root_dispersion_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Root dispersion in the last packet, in seconds.";
    NTP_REF_TIME: Gauge "chrony_ntpdata_reference_timestamp_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Reference time in the last packet (Unix seconds).";
    NTP_OFFSET: Gauge "chrony_ntpdata_offset_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Offset measured from the last packet, in seconds.";
    NTP_PEER_DELAY: Gauge "chrony_ntpdata_peer_delay_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Round-trip delay of the last exchange, in seconds.";
    NTP_PEER_DISPERSION: Gauge "chrony_ntpdata_peer_dispersion_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Dispersion of the last exchange, in seconds.";
    NTP_RESPONSE_TIME: Gauge "chrony_ntpdata_response_time_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Time the server took to answer, in seconds.";
    NTP_JITTER_ASYMMETRY: Gauge "chrony_ntpdata_jitter_asymmetry_ratio" ["source_address", "source_name"] unit "ratio" report "ntpdata" since "" compat false
        "Estimated asymmetry of the network jitter (-0.5 to 0.5).";
    NTP_TESTS_PASSED: Gauge "chrony_ntpdata_tests_passed" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "1 when the last packet passed all ten tests of chronyc's ntpdata Flags.";
    NTP_INTERLEAVED: Gauge "chrony_ntpdata_interleaved" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "1 when the last exchange was in interleaved mode.";
    NTP_AUTHENTICATED: Gauge "chrony_ntpdata_authenticated" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "1 when the last packet was authenticated.";
    NTP_TX: Counter "chrony_ntpdata_transmitted_packets_total" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "NTP packets sent to the source.";
    NTP_RX: Counter "chrony_ntpdata_received_packets_total" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "NTP packets received from the source.";
    NTP_RX_VALID: Counter "chrony_ntpdata_received_valid_packets_total" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "Valid NTP packets received from the source.";
    NTP_RX_GOOD: Counter "chrony_ntpdata_received_good_packets_total" ["source_address", "source_name"] unit "" report "ntpdata" since "4.3" compat false
        "Good NTP packets (that passed every test) received from the source.";
    NTP_KERNEL_TX: Counter "chrony_ntpdata_kernel_transmit_timestamps_total" ["source_address", "source_name"] unit "" report "ntpdata" since "4.6" compat false
        "Transmit timestamps captured by the kernel.";
    NTP_KERNEL_RX: Counter "chrony_ntpdata_kernel_receive_timestamps_total" ["source_address", "source_name"] unit "" report "ntpdata" since "4.6" compat false
        "Receive timestamps captured by the kernel.";
    NTP_HW_TX: Counter "chrony_ntpdata_hardware_transmit_timestamps_total" ["source_address", "source_name"] unit "" report "ntpdata" since "4.6" compat false
        "Transmit timestamps captured by the NIC.";
    NTP_HW_RX: Counter "chrony_ntpdata_hardware_receive_timestamps_total" ["source_address", "source_name"] unit "" report "ntpdata" since "4.6" compat false
        "Receive timestamps captured by the NIC.";

    // --- authdata -----------------------------------------------------------
    AUTH_INFO: Gauge "chrony_authdata_info" ["source_address", "source_name", "mode", "key_type"] unit "" report "authdata" since "4.0" compat false
        "Always 1: how the source's packets are authenticated (mode none, symmetric_key, nts; the key type).";
    AUTH_KEY_ID: Gauge "chrony_authdata_key_id" ["source_address", "source_name"] unit "" report "authdata" since "4.0" compat false
        "Symmetric key ID, or the NTS key in use.";
    AUTH_KEY_LENGTH: Gauge "chrony_authdata_key_length_bytes" ["source_address", "source_name"] unit "bytes" report "authdata" since "4.0" compat false
        "Length of the key, in bytes (chronyc prints bits).";
    AUTH_KE_ATTEMPTS: Gauge "chrony_authdata_key_establishment_attempts" ["source_address", "source_name"] unit "" report "authdata" since "4.0" compat false
        "NTS-KE attempts since the last successful one.";
    AUTH_LAST_KE: Gauge "chrony_authdata_last_key_establishment_age_seconds" ["source_address", "source_name"] unit "seconds" report "authdata" since "4.0" compat false
        "Seconds since the last successful NTS key establishment (no series when there was none).";
    AUTH_COOKIES: Gauge "chrony_authdata_cookies" ["source_address", "source_name"] unit "" report "authdata" since "4.0" compat false
        "NTS cookies held.";
    AUTH_COOKIE_LENGTH: Gauge "chrony_authdata_cookie_length_bytes" ["source_address", "source_name"] unit "bytes" report "authdata" since "4.0" compat false
        "Length of the NTS cookies, in bytes.";
    AUTH_NAK: Gauge "chrony_authdata_nak" ["source_address", "source_name"] unit "" report "authdata" since "4.0" compat false
        "1 when the source answered with an NTS NAK.";
}

/// One sample: its labels as written, `k1="v1",k2="v2"` (escaped, in the
/// order of [`Def::labels`]), and its value (tests).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: String,
    pub value: f64,
}

#[cfg(test)]
impl Sample {
    /// The label values, unescaped.
    pub fn values(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = self.labels.chars();
        while chars.by_ref().any(|c| c == '"') {
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('n') => v.push('\n'),
                        Some(c) => v.push(c),
                        None => {}
                    },
                    '"' => break,
                    c => v.push(c),
                }
            }
            out.push(v);
        }
        out
    }
}

/// Where one sample's labels are in its family's text (and, for the
/// tests, its value).
#[derive(Debug, Clone, Copy)]
struct Span {
    labels: (u32, u32),
    #[cfg(test)]
    value: f64,
}

/// The samples of one metric, written as they are added: `text` holds
/// the sample lines exactly as the encoder outputs them (the same in both
/// formats), so a scrape renders each sample once, with no allocation per
/// sample.
#[derive(Debug)]
pub struct Family {
    pub def: &'static Def,
    /// Position of the metric in [`ALL`] (output order).
    rank: usize,
    text: String,
    spans: Vec<Span>,
    /// The first sample with each hash of its labels.
    seen: HashMap<u64, u32, rustc_hash::FxBuildHasher>,
}

impl Family {
    /// Whether the metric has no sample.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn labels_of(&self, s: &Span) -> &str {
        &self.text[s.labels.0 as usize..s.labels.1 as usize]
    }

    /// The samples, in the order they were added (tests).
    #[cfg(test)]
    pub fn samples(&self) -> Vec<Sample> {
        self.spans
            .iter()
            .map(|s| Sample {
                labels: self.labels_of(s).to_string(),
                value: s.value,
            })
            .collect()
    }
}

/// The metrics of one scrape, built fresh each time.
#[derive(Debug, Default)]
pub struct Out {
    families: Vec<Family>,
    index: HashMap<&'static str, usize, rustc_hash::FxBuildHasher>,
    /// Samples refused because their label set was already written.
    pub duplicates: usize,
    /// Samples a family started now is expected to get (see
    /// [`Out::expect`]): its buffers are sized once for them.
    expected: usize,
}

/// A label set rendered once (`k1="v1",k2="v2"`, as [`Out::add`] writes
/// it) with its hash, for several metrics with the same label names:
/// the per-source metrics of one record.
#[derive(Debug)]
pub struct Labels {
    names: &'static [&'static str],
    text: String,
    hash: u64,
}

impl Labels {
    pub fn new(names: &'static [&'static str], values: &[&str]) -> Labels {
        debug_assert_eq!(names.len(), values.len());
        let mut text = String::new();
        render_labels(names, values, &mut text);
        let hash = hash(text.as_bytes());
        Labels { names, text, hash }
    }
}

fn render_labels(names: &[&str], values: &[&str], out: &mut String) {
    for (i, (k, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_label(v, out);
        out.push('"');
    }
}

impl Out {
    /// Adds a sample; a second sample with the same label set for the same
    /// metric is dropped (counted in `duplicates`): the output never holds
    /// two series with one identity.
    pub fn add(&mut self, def: &'static Def, labels: &[&str], value: f64) -> bool {
        debug_assert_eq!(labels.len(), def.labels.len(), "{}", def.name);
        let i = self.family_of(def);
        let family = &mut self.families[i];
        // Write the line; take it back if it is a duplicate.
        let line_start = family.text.len();
        family.text.push_str(def.name);
        if labels.is_empty() {
            return self.finish(i, line_start, None, value);
        }
        family.text.push('{');
        let start = family.text.len();
        render_labels(def.labels, labels, &mut family.text);
        let end = family.text.len();
        family.text.push('}');
        let key = hash(&family.text.as_bytes()[start..end]);
        self.finish(i, line_start, Some((start, end, key)), value)
    }

    /// As [`Out::add`], with the labels rendered once beforehand (the same
    /// bytes and the same duplicate check).
    pub fn add_labels(&mut self, def: &'static Def, labels: &Labels, value: f64) -> bool {
        debug_assert_eq!(labels.names, def.labels, "{}", def.name);
        if labels.names.is_empty() {
            return self.add(def, &[], value);
        }
        let i = self.family_of(def);
        let family = &mut self.families[i];
        let line_start = family.text.len();
        family.text.push_str(def.name);
        family.text.push('{');
        let start = family.text.len();
        family.text.push_str(&labels.text);
        let end = family.text.len();
        family.text.push('}');
        self.finish(i, line_start, Some((start, end, labels.hash)), value)
    }

    /// Families started from now on are sized for `n` samples each (the
    /// records of the report being built); only a capacity hint.
    pub fn expect(&mut self, n: usize) {
        self.expected = n;
    }

    /// The index of the metric's family, started if it has none yet.
    fn family_of(&mut self, def: &'static Def) -> usize {
        match self.index.get(def.name) {
            Some(&i) => i,
            None => {
                self.families.push(Family {
                    def,
                    rank: ALL
                        .iter()
                        .position(|x| x.name == def.name)
                        .unwrap_or(usize::MAX),
                    text: String::new(),
                    spans: Vec::new(),
                    seen: HashMap::default(),
                });
                self.index.insert(def.name, self.families.len() - 1);
                self.families.len() - 1
            }
        }
    }

    /// Ends the line that `add` wrote from `line_start` (name and labels,
    /// at `labels`: start, end and hash): its value, or nothing when it is
    /// a duplicate.
    fn finish(
        &mut self,
        i: usize,
        line_start: usize,
        labels: Option<(usize, usize, u64)>,
        value: f64,
    ) -> bool {
        let family = &mut self.families[i];
        let mut span = Span {
            labels: (0, 0),
            #[cfg(test)]
            value,
        };
        if let Some((start, end, key)) = labels {
            // Family text stays far below 4 GiB (a scrape is < 1 MB).
            span.labels = (start as u32, end as u32);
            let rendered = &family.text[start..end];
            let duplicate = match family.seen.get(&key) {
                None => false,
                Some(&j) if family.labels_of(&family.spans[j as usize]) == rendered => true,
                // Two label sets with one hash: compare with every sample.
                Some(_) => family.spans.iter().any(|s| family.labels_of(s) == rendered),
            };
            if duplicate {
                family.text.truncate(line_start);
                self.duplicates += 1;
                return false;
            }
            let n = family.spans.len() as u32;
            if n == 0 && self.expected > 1 {
                family.seen.reserve(self.expected);
            }
            family.seen.entry(key).or_insert(n);
        } else if !family.spans.is_empty() {
            // The one label set of a metric without labels, already written.
            family.text.truncate(line_start);
            self.duplicates += 1;
            return false;
        }
        family.text.push(' ');
        write_value(value, &mut family.text);
        family.text.push('\n');
        if family.spans.is_empty() && self.expected > 1 {
            // Room for the other samples, with lines a little longer than
            // this first one (values differ in length).
            let more = self.expected - 1;
            let line = family.text.len() - line_start;
            family.text.reserve(more * (line + line / 4 + 8));
            family.spans.reserve_exact(self.expected);
        }
        family.spans.push(span);
        true
    }

    /// The families in the table's order.
    pub fn families(&self) -> Vec<&Family> {
        let mut v: Vec<&Family> = self.families.iter().collect();
        v.sort_by_key(|f| f.rank);
        v
    }

    /// The samples of a metric (tests).
    #[cfg(test)]
    pub fn get(&self, def: &Def) -> Vec<Sample> {
        self.index
            .get(def.name)
            .map(|&i| self.families[i].samples())
            .unwrap_or_default()
    }
}

/// The hash that groups label sets (equality is always checked on the
/// text itself, so a collision costs time, never a wrong result): rustc's
/// Fx hash, as for the per-scrape maps. Keys are metric names and label
/// sets from chronyd, not chosen in bulk by an attacker.
fn hash(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(bytes)
}

/// The exposition format a scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
}

impl Format {
    /// The format for an `Accept` header: OpenMetrics when the scraper
    /// names `application/openmetrics-text` (with a q-value above 0),
    /// Prometheus text otherwise.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        for part in accept.split(',') {
            let mut params = part.split(';').map(str::trim);
            let media = params.next().unwrap_or("");
            if !media.eq_ignore_ascii_case("application/openmetrics-text") {
                continue;
            }
            let q = params
                .filter_map(|p| p.strip_prefix("q="))
                .filter_map(|q| q.parse::<f64>().ok())
                .next()
                .unwrap_or(1.0);
            if q > 0.0 {
                return Format::OpenMetrics;
            }
        }
        Format::Text
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

fn escape_label(s: &str, out: &mut String) {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Writes `v` in the shortest text that reads back as exactly `v`:
/// whole numbers below 2^53 (counts, states, info metrics: most samples)
/// as integers, other finite values by zmij (the digits Rust's `Display`
/// chooses; plain decimals for decimal exponents -5 to 15, an exponent
/// outside them: `0.00001`, `-1.5e-7`, `1e+300`), and `NaN`, `+Inf`,
/// `-Inf`. Both formats accept the exponent form.
/// 2^53: every whole f64 below it is exactly an i64 with these digits.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn write_value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else if v.fract() == 0.0 && v.abs() < EXACT && !(v == 0.0 && v.is_sign_negative()) {
        // -0.0 keeps its sign through the general path.
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(zmij::Buffer::new().format_finite(v));
    }
}

/// Writes the metrics in the chosen format.
pub fn encode(out: &Out, format: Format) -> String {
    let families = out.families();
    let size: usize = families
        .iter()
        .map(|f| f.text.len() + f.def.help.len() + 3 * f.def.name.len() + 40)
        .sum();
    let mut s = String::with_capacity(size + 16);
    for f in families {
        if f.is_empty() {
            continue;
        }
        let d = f.def;
        // OpenMetrics names the family without the counter's `_total`.
        let family = match (format, d.kind) {
            (Format::OpenMetrics, Kind::Counter) => d.name.strip_suffix("_total").unwrap_or(d.name),
            _ => d.name,
        };
        s.push_str("# HELP ");
        s.push_str(family);
        s.push(' ');
        escape_help(d.help, &mut s);
        s.push('\n');
        s.push_str("# TYPE ");
        s.push_str(family);
        s.push(' ');
        s.push_str(d.kind.name());
        s.push('\n');
        if format == Format::OpenMetrics
            && !d.unit.is_empty()
            && family
                .strip_suffix(d.unit)
                .is_some_and(|f| f.ends_with('_'))
        {
            s.push_str("# UNIT ");
            s.push_str(family);
            s.push(' ');
            s.push_str(d.unit);
            s.push('\n');
        }
        // The sample lines, as added.
        s.push_str(&f.text);
    }
    if format == Format::OpenMetrics {
        s.push_str("# EOF\n");
    }
    s
}

pub const REFERENCE_BEGIN: &str =
    "<!-- metrics-reference:begin (generated: chrony-exporter --print-metrics-reference) -->";
pub const REFERENCE_END: &str = "<!-- metrics-reference:end -->";

/// The metrics reference (Markdown), generated from [`ALL`].
pub fn reference() -> String {
    let mut s = String::new();
    s.push_str("| metric | type | unit | labels | report | chrony | drop-in | help |\n");
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for d in ALL {
        let labels = d
            .labels
            .iter()
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            d.name,
            d.kind.name(),
            if d.unit.is_empty() { "-" } else { d.unit },
            if labels.is_empty() {
                "-".into()
            } else {
                labels
            },
            d.report,
            if d.since.is_empty() {
                "4.0+".to_string()
            } else {
                format!("{}+", d.since)
            },
            if d.compat { "yes" } else { "new" },
            d.help.replace('|', "\\|"),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_follow_the_rules() {
        let mut names = HashSet::new();
        for d in ALL {
            assert!(names.insert(d.name), "{} twice", d.name);
            assert!(d.name.starts_with("chrony_"), "{}", d.name);
            assert!(
                d.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                d.name
            );
            assert_eq!(
                d.kind == Kind::Counter,
                d.name.ends_with("_total"),
                "{}: _total only on counters",
                d.name
            );
            if !d.unit.is_empty() && !d.compat {
                let base = d.name.trim_end_matches("_total");
                assert!(
                    base.ends_with(&format!("_{}", d.unit))
                        || base.contains(&format!("_{}_", d.unit)),
                    "{}: unit {} not in the name",
                    d.name,
                    d.unit
                );
            }
            assert!(!d.help.is_empty());
            let mut labels = HashSet::new();
            for l in d.labels {
                assert!(labels.insert(l), "{}: label {l} twice", d.name);
            }
        }
    }

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
        // What Prometheus 2.x sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; q=0, text/plain")),
            Format::Text
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
    }

    /// The encoder as first written (labels rendered per sample, kept in a
    /// list with a set of label texts, values through `Display`): the
    /// output the exporter's users have; [`encode`] must write the same
    /// bytes, but for the text of a value, which must read back as the
    /// same `f64` (see [`same_output`]).
    fn reference_encode(adds: &[(&'static Def, Vec<String>, f64)], format: Format) -> String {
        let mut families: Vec<(&'static Def, Vec<(String, f64)>)> = Vec::new();
        for (def, labels, value) in adds {
            let mut rendered = String::new();
            for (i, (k, v)) in def.labels.iter().zip(labels).enumerate() {
                if i > 0 {
                    rendered.push(',');
                }
                rendered.push_str(k);
                rendered.push_str("=\"");
                for c in v.chars() {
                    match c {
                        '\\' => rendered.push_str("\\\\"),
                        '"' => rendered.push_str("\\\""),
                        '\n' => rendered.push_str("\\n"),
                        c => rendered.push(c),
                    }
                }
                rendered.push('"');
            }
            let f = match families.iter().position(|(d, _)| d.name == def.name) {
                Some(i) => &mut families[i].1,
                None => {
                    families.push((def, Vec::new()));
                    &mut families.last_mut().unwrap().1
                }
            };
            if !f.iter().any(|(l, _)| *l == rendered) {
                f.push((rendered, *value));
            }
        }
        families.sort_by_key(|(d, _)| ALL.iter().position(|x| x.name == d.name).unwrap());
        let mut s = String::new();
        for (d, samples) in families {
            let family = match (format, d.kind) {
                (Format::OpenMetrics, Kind::Counter) => d.name.strip_suffix("_total").unwrap(),
                _ => d.name,
            };
            let help = d.help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(s, "# HELP {family} {help}");
            let _ = writeln!(s, "# TYPE {family} {}", d.kind.name());
            if format == Format::OpenMetrics
                && !d.unit.is_empty()
                && family.ends_with(&format!("_{}", d.unit))
            {
                let _ = writeln!(s, "# UNIT {family} {}", d.unit);
            }
            for (labels, v) in samples {
                s.push_str(d.name);
                if !labels.is_empty() {
                    let _ = write!(s, "{{{labels}}}");
                }
                let v = if v.is_nan() {
                    "NaN".to_string()
                } else if v == f64::INFINITY {
                    "+Inf".to_string()
                } else if v == f64::NEG_INFINITY {
                    "-Inf".to_string()
                } else {
                    format!("{v}")
                };
                let _ = writeln!(s, " {v}");
            }
        }
        if format == Format::OpenMetrics {
            s.push_str("# EOF\n");
        }
        s
    }

    /// Values that stress the number formatting: whole numbers around
    /// 2^53 and i64's range, signed zeros, subnormals, huge and tiny
    /// values, and pseudo-random bit patterns.
    fn values() -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -1.5e-7,
            64.0,
            0.25,
            1e15,
            1e16,
            -1e16,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_993.0,
            -9_007_199_254_740_992.0,
            4_294_967_295.0,
            18_446_744_073_709_551_615.0,
            9.223_372_036_854_776e18,
            -9.223_372_036_854_776e18,
            1e300,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1_796_131_644.123_456_7,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..4000 {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(f64::from_bits(x));
            // Whole numbers of every size, and their negatives.
            let whole = (x >> (i % 64)) as f64;
            v.push(if i % 2 == 0 { whole } else { -whole });
            v.push(((x % 2_000_001) as f64 - 1_000_000.0) / 8.0);
        }
        v
    }

    /// The significant digits of a decimal text (`-1.50e-7` -> `15`).
    fn digits(text: &str) -> String {
        let mantissa = text.split(['e', 'E']).next().unwrap();
        let d: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        d.trim_start_matches('0').trim_end_matches('0').to_string()
    }

    /// Whether `text` is a number as OpenMetrics' grammar writes it
    /// (`[-]digits[.digits][e[+-]digits]`, or NaN, +Inf, -Inf), which
    /// Prometheus text accepts too.
    fn is_number(text: &str) -> bool {
        if matches!(text, "NaN" | "+Inf" | "-Inf") {
            return true;
        }
        let t = text.strip_prefix('-').unwrap_or(text);
        let (mantissa, exp) = match t.split_once('e') {
            Some((m, e)) => (m, Some(e)),
            None => (t, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        all_digits(int)
            && frac.is_none_or(all_digits)
            && exp.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e)))
    }

    #[test]
    fn values_read_back_exactly_in_the_fewest_digits() {
        let mut exponents = 0;
        for v in values() {
            let mut s = String::new();
            write_value(v, &mut s);
            assert!(is_number(&s), "{s:?} for {v:e}");
            if v.is_nan() {
                assert_eq!(s, "NaN");
                continue;
            }
            let back = parse_value(&s).unwrap();
            // Bit for bit: the sign of zero too.
            assert_eq!(
                back.to_bits(),
                v.to_bits(),
                "{s:?} for {v:e} ({:#x})",
                v.to_bits()
            );
            if v.is_finite() {
                // The shortest digits that read back (Display's choice).
                assert_eq!(digits(&s), digits(&format!("{v}")), "{s:?} for {v:e}");
                exponents += usize::from(s.contains('e'));
                // Whole numbers below 2^53 are written as integers.
                if v.fract() == 0.0 && v.abs() < EXACT && v.to_bits() != (-0.0f64).to_bits() {
                    assert!(s.bytes().all(|b| b.is_ascii_digit() || b == b'-'), "{s:?}");
                }
            }
        }
        // Huge and tiny values take the short exponent form (Display
        // would write 1e300 with 301 digits).
        assert!(exponents > 100, "{exponents}");
        let mut s = String::new();
        write_value(1e300, &mut s);
        assert_eq!(s, "1e+300");
    }

    /// A sample value as both formats write it.
    fn parse_value(text: &str) -> Option<f64> {
        match text {
            "NaN" => Some(f64::NAN),
            "+Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            t => t.parse().ok(),
        }
    }

    /// Compares encoder output line by line: the same bytes, except that
    /// the value of a sample line may be any text that reads back as the
    /// same `f64`.
    fn same_output(got: &str, want: &str) -> Result<(), String> {
        let value = |t: &str| parse_value(t).map(f64::to_bits);
        let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
        for (a, b) in g.iter().zip(&w) {
            let same = a == b
                || (!a.starts_with('#')
                    && match (a.rsplit_once(' '), b.rsplit_once(' ')) {
                        (Some((sa, va)), Some((sb, vb))) => {
                            sa == sb && value(va).is_some() && value(va) == value(vb)
                        }
                        _ => false,
                    });
            if !same {
                return Err(format!("got  {a}\nwant {b}"));
            }
        }
        if g.len() != w.len() || got.ends_with('\n') != want.ends_with('\n') {
            return Err(format!("{} lines, want {}", g.len(), w.len()));
        }
        Ok(())
    }

    #[test]
    fn encoder_writes_the_bytes_of_the_reference_encoder() {
        let values = values();
        let mut adds: Vec<(&'static Def, Vec<String>, f64)> = Vec::new();
        let names = [
            "192.0.2.1",
            "2001:db8::123",
            "GPS0",
            "a \"q\" \\ \n end",
            "",
            "x\\",
            "ntp1.example.net",
        ];
        let mut k = 0;
        // Labelled families, per-source style, with duplicate label sets
        // (same address twice) and every value.
        for round in 0..3 {
            for (i, a) in names.iter().enumerate() {
                for def in [&SOURCES_STRATUM, &SOURCES_LAST_SAMPLE, &SELECT_SCORE] {
                    let n = names[(i + round) % names.len()];
                    adds.push((
                        def,
                        vec![a.to_string(), n.to_string()],
                        values[k % values.len()],
                    ));
                    k += 1;
                }
                adds.push((
                    &SOURCES_STATE_INFO,
                    vec![a.to_string(), a.to_string(), "sync".into(), "client".into()],
                    1.0,
                ));
            }
        }
        for (j, v) in values.iter().enumerate() {
            adds.push((
                &SOURCESTATS_OFFSET,
                vec![format!("10.0.{}.{}", j / 256, j % 256), "n".into()],
                *v,
            ));
        }
        // Unlabelled ones (a second sample is a duplicate), counters (their
        // OpenMetrics family name) and units, added out of table order.
        adds.push((&SERVERSTATS_NTP_HITS, vec![], 5.0));
        adds.push((&SERVERSTATS_NTP_HITS, vec![], 6.0));
        adds.push((&TRACKING_LAST_OFFSET, vec![], -1.5e-7));
        adds.push((&UP, vec![], 1.0));
        adds.push((&COLLECTOR_SUCCESS, vec!["tracking".into()], 1.0));
        adds.push((&COLLECTOR_SUCCESS, vec!["tracking".into()], 0.0));
        adds.push((&TRACKING_REF_TIME, vec![], 1_796_131_644.5));

        let mut out = Out::default();
        let mut refused = 0;
        for (def, labels, v) in &adds {
            let l: Vec<&str> = labels.iter().map(String::as_str).collect();
            if !out.add(def, &l, *v) {
                refused += 1;
            }
        }
        assert!(refused > 0);
        assert_eq!(out.duplicates, refused);
        for format in [Format::Text, Format::OpenMetrics] {
            let want = reference_encode(&adds, format);
            let got = encode(&out, format);
            if let Err(e) = same_output(&got, &want) {
                panic!("{format:?} output differs: {e}");
            }
        }
        // The samples read back as added.
        let got = out.get(&SOURCES_STRATUM);
        assert_eq!(got[0].values(), vec!["192.0.2.1", "192.0.2.1"]);
        assert_eq!(got[0].value.to_bits(), values[0].to_bits());

        // Labels rendered once (add_labels, as the per-source collectors
        // do) and families sized beforehand (expect): the same bytes and
        // the same duplicates.
        let mut fast = Out::default();
        fast.expect(3);
        let mut refused_fast = 0;
        for (def, labels, v) in &adds {
            let l: Vec<&str> = labels.iter().map(String::as_str).collect();
            let added = if def.labels == ["source_address", "source_name"] {
                fast.add_labels(def, &Labels::new(def.labels, &l), *v)
            } else {
                fast.add(def, &l, *v)
            };
            if !added {
                refused_fast += 1;
            }
        }
        assert_eq!(refused_fast, refused);
        assert_eq!(fast.duplicates, refused);
        for format in [Format::Text, Format::OpenMetrics] {
            // The same bytes as the first encoding, values too.
            assert_eq!(encode(&fast, format), encode(&out, format));
        }
    }

    #[test]
    fn encodings() {
        let mut out = Out::default();
        out.add(&UP, &[], 1.0);
        out.add(&SERVERSTATS_NTP_HITS, &[], 5.0);
        out.add(&SOURCES_STRATUM, &["192.0.2.1", "a \"q\" \\ \n"], 2.0);
        assert!(!out.add(&SOURCES_STRATUM, &["192.0.2.1", "a \"q\" \\ \n"], 3.0));
        out.add(&TRACKING_LAST_OFFSET, &[], -1.5e-7);
        out.add(&SELECT_SCORE, &["192.0.2.1", "x"], f64::INFINITY);
        assert_eq!(out.duplicates, 1);
        let text = encode(&out, Format::Text);
        assert!(text.contains("# TYPE chrony_serverstats_ntp_packets_received_total counter\nchrony_serverstats_ntp_packets_received_total 5\n"), "{text}");
        assert!(text.contains("chrony_sources_stratum{source_address=\"192.0.2.1\",source_name=\"a \\\"q\\\" \\\\ \\n\"} 2\n"), "{text}");
        assert!(
            text.contains("chrony_tracking_last_offset_seconds -1.5e-7\n"),
            "{text}"
        );
        assert!(text.contains("} +Inf\n"), "{text}");
        assert!(!text.contains("# EOF"));
        let om = encode(&out, Format::OpenMetrics);
        assert!(
            om.contains("# TYPE chrony_serverstats_ntp_packets_received counter\n"),
            "{om}"
        );
        assert!(
            om.contains("\nchrony_serverstats_ntp_packets_received_total 5\n"),
            "{om}"
        );
        assert!(
            om.contains("# UNIT chrony_tracking_last_offset_seconds seconds\n"),
            "{om}"
        );
        assert!(om.ends_with("# EOF\n"));
        // Table order, whatever the order of adding.
        assert!(text.find("chrony_up").unwrap() < text.find("chrony_tracking").unwrap());
    }
}
