//! The rtcdata report (`chronyc rtcdata`): the real-time clock chronyd
//! tracks (none without `rtcfile` and an RTC: not available, success 1).

use super::{optional, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::RtcData;

/// chronyd serves it over UDP too.
pub const UNIX_ONLY: bool = false;

declare! {
    METRICS;
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
}

pub fn collect(part: &Part<Option<RtcData>>, _: &mut Ctx<'_>, out: &mut Out) -> Status {
    optional(part, |r| update(r, out))
}

fn update(r: &RtcData, out: &mut Out) {
    out.add(&RTC_REF_TIME, &[], r.reference_time.as_secs_f64());
    out.add(&RTC_SAMPLES, &[], f64::from(r.samples));
    out.add(&RTC_RUNS, &[], f64::from(r.runs));
    out.add(&RTC_SPAN, &[], r.span.as_secs_f64());
    out.add(&RTC_OFFSET, &[], r.offset);
    out.add(&RTC_FREQUENCY, &[], r.frequency_ppm / 1e6);
}
