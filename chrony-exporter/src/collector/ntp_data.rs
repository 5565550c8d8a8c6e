//! The ntpdata report (`chronyc ntpdata`): each NTP source's last packet
//! and its packet counters, and chrony_exporter's five
//! `chrony_sources_peer_*` names for five of its values
//! (`--collector.sources.with-ntpdata` there). A source that has sent no
//! packet yet (no packet received) has its counters only: the values of
//! a "last packet" it never sent would be zeros that look like data.

use super::tracking::leap_name;
use super::{b, single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::NtpData;

/// chronyd serves it on its Unix socket only.
pub const UNIX_ONLY: bool = true;

declare! {
    METRICS;
    NTP_INFO: Gauge "chrony_ntpdata_info" ["source_address", "source_name", "local_address", "remote_port", "version", "mode", "leap_status"] unit "" report "ntpdata" since "" compat false
        "Always 1: the last NTP packet's addresses, port, NTP version, mode and leap status (no series before the source's first packet).";
    NTP_STRATUM: Gauge "chrony_ntpdata_stratum" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "Stratum in the last packet (no series before the source's first packet).";
    NTP_POLL: Gauge "chrony_ntpdata_poll_interval_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Polling interval in the last packet, in seconds (no series before the source's first packet).";
    NTP_PRECISION: Gauge "chrony_ntpdata_precision_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Precision of the server's clock, in seconds (no series before the source's first packet).";
    NTP_ROOT_DELAY: Gauge "chrony_ntpdata_root_delay_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Root delay in the last packet, in seconds (no series before the source's first packet).";
    NTP_ROOT_DISPERSION: Gauge "chrony_ntpdata_root_dispersion_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Root dispersion in the last packet, in seconds (no series before the source's first packet).";
    NTP_REF_TIME: Gauge "chrony_ntpdata_reference_timestamp_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Reference time in the last packet (Unix seconds) (no series before the source's first packet).";
    NTP_OFFSET: Gauge "chrony_ntpdata_offset_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Offset measured from the last packet, in seconds (no series before the source's first packet).";
    NTP_PEER_DELAY: Gauge "chrony_ntpdata_peer_delay_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Round-trip delay of the last exchange, in seconds (no series before the source's first packet).";
    NTP_PEER_DISPERSION: Gauge "chrony_ntpdata_peer_dispersion_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Dispersion of the last exchange, in seconds (no series before the source's first packet).";
    NTP_RESPONSE_TIME: Gauge "chrony_ntpdata_response_time_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat false
        "Time the server took to answer, in seconds (no series before the source's first packet).";
    NTP_JITTER_ASYMMETRY: Gauge "chrony_ntpdata_jitter_asymmetry_ratio" ["source_address", "source_name"] unit "ratio" report "ntpdata" since "" compat false
        "Estimated asymmetry of the network jitter (-0.5 to 0.5) (no series before the source's first packet).";
    NTP_TESTS_PASSED: Gauge "chrony_ntpdata_tests_passed" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "1 when the last packet passed all ten tests of chronyc's ntpdata Flags (no series before the source's first packet).";
    NTP_INTERLEAVED: Gauge "chrony_ntpdata_interleaved" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "1 when the last exchange was in interleaved mode (no series before the source's first packet).";
    NTP_AUTHENTICATED: Gauge "chrony_ntpdata_authenticated" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat false
        "1 when the last packet was authenticated (no series before the source's first packet).";
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
    SOURCES_PEER_OFFSET: Gauge "chrony_sources_peer_offset_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat true
        "chrony_exporter's name (with --collector.sources.with-ntpdata) for the offset measured from the source's last packet, in seconds (no series before its first packet).";
    SOURCES_PEER_DELAY: Gauge "chrony_sources_peer_delay_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat true
        "chrony_exporter's name for the round-trip delay of the source's last exchange, in seconds (no series before its first packet).";
    SOURCES_PEER_DISPERSION: Gauge "chrony_sources_peer_dispersion_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat true
        "chrony_exporter's name for the dispersion of the source's last exchange, in seconds (no series before its first packet).";
    SOURCES_PEER_RESPONSE_TIME: Gauge "chrony_sources_peer_response_time_seconds" ["source_address", "source_name"] unit "seconds" report "ntpdata" since "" compat true
        "chrony_exporter's name for the time the source's server took to answer its last request, in seconds (no series before its first packet).";
    SOURCES_PEER_JITTER_ASYMMETRY: Gauge "chrony_sources_peer_jitter_asymmetry_seconds" ["source_address", "source_name"] unit "" report "ntpdata" since "" compat true
        "chrony_exporter's name for the estimated asymmetry of the source's network jitter (-0.5 to 0.5, a ratio despite the name, as chrony_exporter writes it; no series before its first packet).";
}

pub fn collect(part: &Part<Vec<NtpData>>, ctx: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |v| update(v, ctx, out))
}

fn update(v: &[NtpData], ctx: &mut Ctx<'_>, out: &mut Out) {
    let labels = ctx.per_source(v, |s| Some(s.address));
    out.expect(v.len());
    for (s, l) in v.iter().zip(labels) {
        let Some(i) = l else { continue };
        if s.received_messages > 0 {
            let local = s
                .local_address
                .map(|ip| ctx.addr_text(ip))
                .unwrap_or_default();
            last_packet(s, &local, ctx, i, out);
        }
        let l = &ctx.source(i).labels;
        out.add_labels(&NTP_TX, l, s.transmitted_messages as f64);
        out.add_labels(&NTP_RX, l, s.received_messages as f64);
        out.add_labels(&NTP_RX_VALID, l, s.received_valid_messages as f64);
        for (def, v) in [
            (&NTP_RX_GOOD, s.received_good_messages),
            (&NTP_KERNEL_TX, s.kernel_transmit_timestamps),
            (&NTP_KERNEL_RX, s.kernel_receive_timestamps),
            (&NTP_HW_TX, s.hardware_transmit_timestamps),
            (&NTP_HW_RX, s.hardware_receive_timestamps),
        ] {
            if let Some(v) = v {
                out.add_labels(def, l, v as f64);
            }
        }
    }
}

/// The series of the source's last packet (`local`: the local address's
/// text).
fn last_packet(s: &NtpData, local: &str, ctx: &Ctx<'_>, i: u32, out: &mut Out) {
    let src = ctx.source(i);
    let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
    let mode = s
        .mode
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("unknown_{}", s.mode.raw()));
    out.add(
        &NTP_INFO,
        &[
            a,
            n,
            local,
            &s.remote_port.to_string(),
            &s.version.to_string(),
            &mode,
            &leap_name(s.leap_status),
        ],
        1.0,
    );
    out.add_labels(&NTP_STRATUM, l, f64::from(s.stratum));
    out.add_labels(&NTP_POLL, l, 2f64.powi(i32::from(s.poll)));
    out.add_labels(&NTP_PRECISION, l, 2f64.powi(i32::from(s.precision)));
    out.add_labels(&NTP_ROOT_DELAY, l, s.root_delay);
    out.add_labels(&NTP_ROOT_DISPERSION, l, s.root_dispersion);
    out.add_labels(&NTP_REF_TIME, l, s.reference_time.as_secs_f64());
    out.add_labels(&NTP_OFFSET, l, s.offset);
    out.add_labels(&NTP_PEER_DELAY, l, s.peer_delay);
    out.add_labels(&NTP_PEER_DISPERSION, l, s.peer_dispersion);
    out.add_labels(&NTP_RESPONSE_TIME, l, s.response_time);
    out.add_labels(&NTP_JITTER_ASYMMETRY, l, s.jitter_asymmetry);
    out.add_labels(&NTP_TESTS_PASSED, l, b(s.flags.all_tests_passed()));
    out.add_labels(&NTP_INTERLEAVED, l, b(s.flags.interleaved));
    out.add_labels(&NTP_AUTHENTICATED, l, b(s.flags.authenticated));
    out.add_labels(&SOURCES_PEER_OFFSET, l, s.offset);
    out.add_labels(&SOURCES_PEER_DELAY, l, s.peer_delay);
    out.add_labels(&SOURCES_PEER_DISPERSION, l, s.peer_dispersion);
    out.add_labels(&SOURCES_PEER_RESPONSE_TIME, l, s.response_time);
    out.add_labels(&SOURCES_PEER_JITTER_ASYMMETRY, l, s.jitter_asymmetry);
}
