//! The sourcestats report (`chronyc sourcestats`): the statistics chronyd
//! keeps of each source's samples.

use super::{single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::SourceStats;

/// chronyd serves it over UDP too.
pub const UNIX_ONLY: bool = false;

declare! {
    METRICS;
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
}

pub fn collect(part: &Part<Vec<SourceStats>>, ctx: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |v| update(v, ctx, out))
}

fn update(v: &[SourceStats], ctx: &mut Ctx<'_>, out: &mut Out) {
    let labels = ctx.per_source(v, |s| Some(s.address));
    out.expect(v.len());
    for (s, l) in v.iter().zip(labels) {
        let Some(i) = l else { continue };
        let l = &ctx.source(i).labels;
        out.add_labels(&SOURCESTATS_SAMPLES, l, f64::from(s.samples));
        out.add_labels(&SOURCESTATS_RUNS, l, f64::from(s.runs));
        out.add_labels(&SOURCESTATS_SPAN, l, s.span.as_secs_f64());
        out.add_labels(&SOURCESTATS_STDDEV, l, s.standard_deviation);
        out.add_labels(&SOURCESTATS_FREQUENCY, l, s.residual_frequency_ppm);
        out.add_labels(&SOURCESTATS_SKEW, l, s.skew_ppm);
        out.add_labels(&SOURCESTATS_OFFSET, l, s.offset);
        out.add_labels(&SOURCESTATS_OFFSET_ERROR, l, s.offset_error);
    }
}
