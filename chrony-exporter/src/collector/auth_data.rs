//! The authdata report (`chronyc authdata`): how each source's packets
//! are authenticated (none, symmetric key, NTS).

use super::{b, single, Ctx, Status};
use crate::metrics::{declare, Out};
use chrony::snapshot::Part;
use chrony::AuthData;

/// chronyd serves it on its Unix socket only.
pub const UNIX_ONLY: bool = true;

declare! {
    METRICS;
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

pub fn collect(part: &Part<Vec<AuthData>>, ctx: &mut Ctx<'_>, out: &mut Out) -> Status {
    single(part, |v| update(v, ctx, out))
}

fn update(v: &[AuthData], ctx: &mut Ctx<'_>, out: &mut Out) {
    let labels = ctx.per_source(v, |s| s.address);
    out.expect(v.len());
    for (s, l) in v.iter().zip(labels) {
        let Some(i) = l else { continue };
        let src = ctx.source(i);
        let (a, n, l) = (src.address.as_str(), src.name.as_str(), &src.labels);
        let mode = s
            .mode
            .name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("unknown_{}", s.mode.raw()));
        let key = s
            .key_type
            .name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("unknown_{}", s.key_type.raw()));
        out.add(&AUTH_INFO, &[a, n, &mode, &key], 1.0);
        out.add_labels(&AUTH_KEY_ID, l, f64::from(s.key_id));
        out.add_labels(&AUTH_KEY_LENGTH, l, f64::from(s.key_length_bits) / 8.0);
        out.add_labels(
            &AUTH_KE_ATTEMPTS,
            l,
            f64::from(s.key_establishment_attempts),
        );
        if let Some(ago) = s.last_key_establishment_ago {
            out.add_labels(&AUTH_LAST_KE, l, ago.as_secs_f64());
        }
        out.add_labels(&AUTH_COOKIES, l, f64::from(s.cookies));
        out.add_labels(&AUTH_COOKIE_LENGTH, l, f64::from(s.cookie_length_bytes));
        out.add_labels(&AUTH_NAK, l, b(s.nak));
    }
}
