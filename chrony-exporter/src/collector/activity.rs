//! The activity report (`chronyc activity`): how many sources are online,
//! offline, in a burst or unresolved.

use super::{single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::Activity;

/// chronyd serves it over UDP too.
pub const UNIX_ONLY: bool = false;

declare! {
    METRICS;
    ACTIVITY_SOURCES: Gauge "chrony_activity_sources" ["state"] unit "" report "activity" since "" compat false
        "Sources by activity state: online, offline, burst_online (in a burst, back online after), burst_offline (in a burst, back offline after), unresolved (name not resolved yet).";
}

pub fn collect(part: &Part<Activity>, _: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |a| update(a, out))
}

fn update(a: &Activity, out: &mut Out) {
    for (state, n) in [
        ("online", a.online_sources),
        ("offline", a.offline_sources),
        ("burst_online", a.burst_online_return_sources),
        ("burst_offline", a.burst_offline_return_sources),
        ("unresolved", a.unresolved_sources),
    ] {
        out.add(&ACTIVITY_SOURCES, &[state], f64::from(n));
    }
}
