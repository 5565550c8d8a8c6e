//! The smoothing report (`chronyc smoothing`): time smoothing (none
//! without `smoothtime`: not available, success 1).

use super::{b, optional, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::Smoothing;

/// chronyd serves it over UDP too.
pub const UNIX_ONLY: bool = false;

declare! {
    METRICS;
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
}

pub fn collect(part: &Part<Option<Smoothing>>, _: &mut Ctx<'_>, out: &mut Out) -> Status {
    optional(part, |s| update(s, out))
}

fn update(s: &Smoothing, out: &mut Out) {
    out.add(&SMOOTHING_ACTIVE, &[], b(s.flags.active));
    out.add(&SMOOTHING_LEAP_ONLY, &[], b(s.flags.leap_only));
    out.add(&SMOOTHING_OFFSET, &[], s.offset);
    out.add(&SMOOTHING_FREQUENCY, &[], s.frequency_ppm / 1e6);
    out.add(&SMOOTHING_WANDER, &[], s.wander_ppm_per_second / 1e6);
    out.add(&SMOOTHING_LAST_UPDATE, &[], s.last_update_ago.as_secs_f64());
    out.add(&SMOOTHING_REMAINING, &[], s.remaining_time.as_secs_f64());
}
