//! The one list of reports ([`each_report!`](crate::each_report)) and what
//! is made from it: the descriptors in name order, their names, the
//! schemas, and the lookup of a descriptor by name.

use super::schema::{Descriptor, FieldSpec, FromRecord};
use crate::error::{Error, Result};
use std::ffi::CStr;

/// Calls `$f!` with every report of this crate, in the order a
/// [`Snapshot`](crate::snapshot::Snapshot) requests them: the one list of
/// reports, from which this crate makes [`DESCRIPTORS`](crate::reports::DESCRIPTORS),
/// [`REPORTS`](crate::REPORTS), [`SCHEMAS`](crate::reports::SCHEMAS), the
/// snapshot and the named report methods of both clients. Adding a report
/// is its `report!` declaration and one line here.
///
/// Each entry is `name: Model => Output, "doc";`: the report's field in
/// the snapshot (also its method on both clients), its model, the result
/// of reading it (the model's shape decides it; the compiler checks they
/// agree) and a description. Other crates derive their own surfaces from
/// it the same way (an exporter's collectors, a binding's methods), so a
/// new report does not compile there until they decide what to do with
/// it. `each_report!(f, tokens...)` passes `tokens` first, before the
/// list.
///
/// ```
/// macro_rules! names {
///     ($prefix:literal; $($name:ident: $model:ty => $out:ty, $doc:literal;)*) => {
///         [$(concat!($prefix, stringify!($name)),)*]
///     };
/// }
/// let names = chrony::each_report!(names, "report: ";);
/// assert_eq!(names.len(), chrony::REPORTS.len());
/// assert_eq!(names[0], "report: tracking");
///
/// macro_rules! models {
///     ($($name:ident: $model:ty => $out:ty, $doc:literal;)*) => {
///         [$(<$model as chrony::FromRecord>::REPORT,)*]
///     };
/// }
/// assert!(chrony::each_report!(models).contains(&"sourcestats"));
/// ```
#[macro_export]
macro_rules! each_report {
    ($f:ident $(, $($args:tt)*)?) => {
        $f! {
            $($($args)*)?
            tracking: $crate::reports::tracking::Tracking => $crate::reports::tracking::Tracking,
                "`tracking` (`chronyc tracking`): the system clock against its reference.";
            sources: $crate::reports::sources::Source => Vec<$crate::reports::sources::Source>,
                "`sources` (`chronyc sources`), one entry per source.";
            source_stats: $crate::reports::sourcestats::SourceStats
                => Vec<$crate::reports::sourcestats::SourceStats>,
                "`sourcestats` (`chronyc sourcestats`), one entry per source.";
            select_data: $crate::reports::selectdata::SelectData
                => Vec<$crate::reports::selectdata::SelectData>,
                "`selectdata` (`chronyc selectdata`), one entry per source; Unix socket only.";
            ntp_data: $crate::reports::ntpdata::NtpData => Vec<$crate::reports::ntpdata::NtpData>,
                "`ntpdata` (`chronyc ntpdata`), one entry per NTP source (reference clocks \
                have none); Unix socket only.";
            auth_data: $crate::reports::authdata::AuthData
                => Vec<$crate::reports::authdata::AuthData>,
                "`authdata` (`chronyc authdata`), one entry per NTP source, with its address \
                from the source's `sourcestats` record (read just before it on the same \
                session); Unix socket only.";
            activity: $crate::reports::activity::Activity => $crate::reports::activity::Activity,
                "`activity` (`chronyc activity`): how many sources are online, offline, \
                in a burst or unresolved.";
            server_stats: $crate::reports::serverstats::ServerStats
                => $crate::reports::serverstats::ServerStats,
                "`serverstats` (`chronyc serverstats`): chronyd's counters as an NTP and \
                command server; Unix socket only.";
            smoothing: $crate::reports::smoothing::Smoothing
                => Option<$crate::reports::smoothing::Smoothing>,
                "`smoothing` (`chronyc smoothing`): `None` when time smoothing is off \
                (`CHRONY_DISABLED`).";
            rtc_data: $crate::reports::rtcdata::RtcData => Option<$crate::reports::rtcdata::RtcData>,
                "`rtcdata` (`chronyc rtcdata`): `None` when chronyd does not track an RTC \
                (`CHRONY_DISABLED`).";
        }
    };
}

// The crate's own surfaces name the list here, beside its definition.
pub(crate) use each_report;

/// The descriptors of [`each_report!`]'s list, in its order.
macro_rules! descriptors {
    ($($field:ident: $model:ty => $out:ty, $doc:literal;)*) => {
        [$(<$model as FromRecord>::DESCRIPTOR,)*]
    };
}

/// `a < b`, byte by byte, in a `const` context.
const fn name_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// `d` sorted by report name.
const fn sorted<const N: usize>(mut d: [Descriptor; N]) -> [Descriptor; N] {
    let mut i = 0;
    while i < N {
        let mut j = 0;
        while j + 1 < N - i {
            if name_less(d[j + 1].name, d[j].name) {
                let t = d[j];
                d[j] = d[j + 1];
                d[j + 1] = t;
            }
            j += 1;
        }
        i += 1;
    }
    d
}

const SORTED: [Descriptor; each_report!(descriptors).len()] = sorted(each_report!(descriptors));

/// Every report of libchrony 0.2, by model, in name order (made from the
/// one list of reports, which also makes [`REPORTS`](crate::REPORTS),
/// [`SCHEMAS`] and the snapshot).
///
/// ```
/// let names: Vec<_> = chrony::reports::DESCRIPTORS.iter().map(|d| d.name).collect();
/// assert_eq!(names.len(), 10);
/// assert!(names.windows(2).all(|w| w[0] < w[1]), "in name order");
/// ```
pub const DESCRIPTORS: &[Descriptor] = &SORTED;

/// The names of [`DESCRIPTORS`], in their order.
pub(crate) const NAMES: [&str; DESCRIPTORS.len()] = {
    let mut names = [""; DESCRIPTORS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = DESCRIPTORS[i].name;
        i += 1;
    }
    names
};

const DISABLED_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < DESCRIPTORS.len() {
        if DESCRIPTORS[i].disabled_means_absent() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The names of the reports whose `CHRONY_DISABLED` means absent.
pub(crate) const DISABLED_NAMES: [&str; DISABLED_COUNT] = {
    let mut names = [""; DISABLED_COUNT];
    let (mut i, mut n) = (0, 0);
    while i < DESCRIPTORS.len() {
        if DESCRIPTORS[i].disabled_means_absent() {
            names[n] = DESCRIPTORS[i].name;
            n += 1;
        }
        i += 1;
    }
    names
};

/// The declaration of every model: (report name, fields), from
/// [`DESCRIPTORS`].
pub const SCHEMAS: &[(&str, &[FieldSpec])] = &{
    let mut schemas: [(&str, &[FieldSpec]); DESCRIPTORS.len()] = [("", &[]); DESCRIPTORS.len()];
    let mut i = 0;
    while i < schemas.len() {
        schemas[i] = (DESCRIPTORS[i].name, DESCRIPTORS[i].fields);
        i += 1;
    }
    schemas
};

impl Descriptor {
    /// The report has exactly one record (its count is not asked): by
    /// this crate's declaration of it, whatever shape another model of it
    /// declares.
    pub(crate) fn single_record(&self) -> Result<bool> {
        match self.declared_c_name() {
            Some(_) => Ok(!self.per_source()),
            None => Ok(!Descriptor::by_name(self.name)?.per_source()),
        }
    }

    /// The descriptor of report `name`.
    pub(crate) fn by_name(name: &str) -> Result<&'static Descriptor> {
        DESCRIPTORS
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| Error::UnknownReport(name.to_string()))
    }

    /// The `'static` C name libchrony is given.
    pub(crate) fn c_name(&self) -> Result<&'static CStr> {
        match self.declared_c_name() {
            Some(c) => Ok(c),
            None => Descriptor::by_name(self.name)?.c_name(),
        }
    }
}
