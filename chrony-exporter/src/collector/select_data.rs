//! The selectdata report (`chronyc selectdata`, chrony 4.3 and later): each
//! source's state in chronyd's source selection.

use super::tracking::leap_name;
use super::{b, single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::SelectData;

/// chronyd serves it on its Unix socket only.
pub const UNIX_ONLY: bool = true;

declare! {
    METRICS;
    SELECT_STATE_INFO: Gauge "chrony_selectdata_state_info" ["source_address", "source_name", "select_state"] unit "" report "selectdata" since "4.3" compat false
        "Always 1: the source's state in chronyd's selection (best, combined, falseticker, jittery, stale, not_synchronized, ...).";
    SELECT_LEAP_INFO: Gauge "chrony_selectdata_leap_status_info" ["source_address", "source_name", "leap_status"] unit "" report "selectdata" since "4.3" compat false
        "Always 1: the leap status the source announces.";
    SELECT_OPTIONS_INFO: Gauge "chrony_selectdata_options_info" ["source_address", "source_name", "configured", "effective"] unit "" report "selectdata" since "4.3" compat false
        "Always 1: the configured and effective selection options as chronyc prints them (N noselect, P prefer, T trust, R require).";
    SELECT_AUTHENTICATED: Gauge "chrony_selectdata_authenticated" ["source_address", "source_name"] unit "" report "selectdata" since "4.3" compat false
        "1 when the source is authenticated.";
    SELECT_LAST_SAMPLE: Gauge "chrony_selectdata_last_sample_age_seconds" ["source_address", "source_name"] unit "seconds" report "selectdata" since "4.3" compat false
        "Seconds since the source's last sample as chronyd's source selection reports it: 0 also for a source it has never sampled, a reference clock before its first sample or a server that never answered (chrony_sources_last_sample_age_seconds has no series for one); no series when chronyd reports \"never\".";
    SELECT_SCORE: Gauge "chrony_selectdata_score" ["source_address", "source_name"] unit "" report "selectdata" since "4.3" compat false
        "Selection score (lower is better; relative to the selected source).";
    SELECT_LOW: Gauge "chrony_selectdata_low_limit_seconds" ["source_address", "source_name"] unit "seconds" report "selectdata" since "4.3" compat false
        "Low end of the source's interval of acceptable offsets, in seconds.";
    SELECT_HIGH: Gauge "chrony_selectdata_high_limit_seconds" ["source_address", "source_name"] unit "seconds" report "selectdata" since "4.3" compat false
        "High end of the source's interval of acceptable offsets, in seconds.";
}

pub fn collect(part: &Part<Vec<SelectData>>, ctx: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |v| update(v, ctx, out))
}

fn update(v: &[SelectData], ctx: &mut Ctx<'_>, out: &mut Out) {
    let labels = ctx.per_source(v, |s| Some(s.address));
    out.expect(v.len());
    for (s, l) in v.iter().zip(labels) {
        let Some(i) = l else { continue };
        let src = ctx.source(i);
        let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
        let state = s
            .state
            .name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("unknown_{}", s.state.raw()));
        out.add(&SELECT_STATE_INFO, &[a, n, &state], 1.0);
        out.add(&SELECT_LEAP_INFO, &[a, n, &leap_name(s.leap_status)], 1.0);
        out.add(
            &SELECT_OPTIONS_INFO,
            &[
                a,
                n,
                &s.configured_options.chronyc_string(),
                &s.effective_options.chronyc_string(),
            ],
            1.0,
        );
        out.add_labels(&SELECT_AUTHENTICATED, l, b(s.authentication));
        if let Some(ago) = s.last_sample_ago {
            out.add_labels(&SELECT_LAST_SAMPLE, l, ago.as_secs_f64());
        }
        out.add_labels(&SELECT_SCORE, l, s.score);
        out.add_labels(&SELECT_LOW, l, s.low_limit);
        out.add_labels(&SELECT_HIGH, l, s.high_limit);
    }
}
