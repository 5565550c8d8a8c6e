//! The tracking report (`chronyc tracking`): the reference chronyd follows
//! and the state of the system clock.

use super::{b, single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::{LeapStatus, RefId, Tracking};
use std::net::IpAddr;

/// chronyd serves it over UDP too.
pub const UNIX_ONLY: bool = false;

declare! {
    METRICS;
    TRACKING_INFO: Gauge "chrony_tracking_info" ["tracking_address", "tracking_name", "tracking_refid"] unit "" report "tracking" since "" compat true
        "Always 1: the reference chronyd tracks: an IP reference by its address and its name (the reverse DNS name with --collector.dns-lookups, else the address); a reference clock, the local clock or none by the reference ID's text in both (hex when not printable, empty for none); and the reference ID in hex.";
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
}

pub fn collect(part: &Part<Tracking>, ctx: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |t| update(t, ctx, out))
}

/// A reference ID as chrony_exporter 0.13.3 writes it where chronyd gives
/// no address (reference clocks, the local clock, no reference): its
/// bytes as text with the NULs left out (`GPS`, `PPS`, empty for 0), or
/// the hex form when a byte is not printable (`7F7F0101`).
pub fn refid_text(id: RefId) -> String {
    let bytes: Vec<u8> = id.0.to_be_bytes().into_iter().filter(|&b| b != 0).collect();
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        id.to_string()
    }
}

/// A leap status's label value (`unknown_N` for a value no chronyd sends).
pub fn leap_name(l: LeapStatus) -> String {
    l.name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("unknown_{}", l.raw()))
}

fn update(t: &Tracking, ctx: &mut Ctx<'_>, out: &mut Out) {
    let ip = t
        .address
        .and_then(|a| a.ip())
        .filter(|ip| !ip.is_unspecified());
    // chrony_exporter's labels: an IP reference by its address (and its
    // reverse DNS name), anything else by the reference ID's text in both.
    let (address, name) = match ip {
        Some(ip) => {
            let address = ctx.addr_text(ip);
            let name = ctx
                .names()
                .get(&ip)
                .cloned()
                .unwrap_or_else(|| address.clone());
            (address, name)
        }
        None => {
            let text = refid_text(t.reference_id);
            (text.clone(), text)
        }
    };
    let refid = t.reference_id.to_string();
    out.add(&TRACKING_INFO, &[&address, &name, &refid], 1.0);
    out.add(&TRACKING_LAST_OFFSET, &[], t.last_offset);
    out.add(&TRACKING_REF_TIME, &[], t.reference_time.as_secs_f64());
    out.add(&TRACKING_SYSTEM_TIME, &[], t.current_correction);
    let local = t.reference_id == chrony::reports::tracking::LOCAL_REFERENCE_ID
        || ip == Some(IpAddr::from([127, 127, 1, 1]));
    out.add(&TRACKING_REMOTE, &[], b(!local));
    out.add(&TRACKING_RMS_OFFSET, &[], t.rms_offset);
    out.add(&TRACKING_ROOT_DELAY, &[], t.root_delay);
    out.add(&TRACKING_ROOT_DISPERSION, &[], t.root_dispersion);
    out.add(&TRACKING_FREQUENCY, &[], t.frequency_ppm);
    out.add(&TRACKING_RESIDUAL_FREQUENCY, &[], t.residual_frequency_ppm);
    out.add(&TRACKING_SKEW, &[], t.skew_ppm);
    out.add(
        &TRACKING_UPDATE_INTERVAL,
        &[],
        t.last_update_interval.as_secs_f64(),
    );
    out.add(&TRACKING_STRATUM, &[], f64::from(t.stratum));
    let current = leap_name(t.leap_status);
    let mut states: Vec<String> = LeapStatus::ALL.iter().map(|l| leap_name(*l)).collect();
    if !states.contains(&current) {
        states.push(current.clone());
    }
    for s in &states {
        out.add(&TRACKING_LEAP_STATUS, &[s], b(*s == current));
    }
    out.add(&TRACKING_SYNCHRONIZED, &[], b(t.is_synchronized()));
}
