//! The sources report (`chronyc sources`): each time source's state,
//! reachability and last sample.

use super::{single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::{Source, SourceMode, SourceState};

/// chronyd serves it over UDP too.
pub const UNIX_ONLY: bool = false;

declare! {
    METRICS;
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
}

pub fn collect(part: &Part<Vec<Source>>, ctx: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |v| update(v, ctx, out))
}

/// chrony_exporter's names of the selection states.
fn compat_state(s: SourceState) -> &'static str {
    match s {
        SourceState::Selected => "sync",
        SourceState::Nonselectable => "unreach",
        SourceState::Falseticker => "falseticket",
        SourceState::Jittery => "jittery",
        SourceState::Unselected => "candidate",
        SourceState::Selectable => "outlier",
        _ => "unknown",
    }
}

/// chrony_exporter's names of the source modes.
fn compat_mode(m: SourceMode) -> &'static str {
    match m {
        SourceMode::Client => "client",
        SourceMode::Peer => "peer",
        SourceMode::ReferenceClock => "ref",
        _ => "unknown",
    }
}

fn update(v: &[Source], ctx: &mut Ctx<'_>, out: &mut Out) {
    let labels = ctx.per_source(v, |s| Some(s.address));
    out.expect(v.len());
    for (s, l) in v.iter().zip(labels) {
        let Some(i) = l else { continue };
        let src = ctx.source(i);
        let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
        if let Some(ago) = s.last_sample_ago {
            out.add_labels(&SOURCES_LAST_RX, l, ago.as_secs_f64());
        }
        out.add_labels(
            &SOURCES_REACH_RATIO,
            l,
            f64::from(s.reachability.count_ones()) / 8.0,
        );
        out.add_labels(&SOURCES_REACH_SUCCESS, l, f64::from(s.reachability & 1));
        out.add_labels(&SOURCES_LAST_SAMPLE, l, s.adjusted_offset);
        out.add_labels(&SOURCES_LAST_SAMPLE_ERR, l, s.error);
        out.add_labels(&SOURCES_POLL_INTERVAL, l, 2f64.powi(i32::from(s.poll)));
        out.add(
            &SOURCES_STATE_INFO,
            &[a, n, compat_state(s.state), compat_mode(s.mode)],
            1.0,
        );
        out.add_labels(&SOURCES_STRATUM, l, f64::from(s.stratum));
        out.add_labels(&SOURCES_REACHABILITY, l, f64::from(s.reachability));
        out.add_labels(&SOURCES_ORIGINAL_OFFSET, l, s.original_offset);
    }
}
