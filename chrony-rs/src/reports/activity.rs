//! The `activity` report: how many sources are online, offline, in a burst
//! or not yet resolved.

use super::FromRecord;
use crate::error::Result;
use crate::field::{FieldSource, Record};

/// libchrony's field names for the activity report.
pub mod fields {
    /// `online sources` (uinteger, count)
    pub const ONLINE: &str = "online sources";
    /// `offline sources` (uinteger, count)
    pub const OFFLINE: &str = "offline sources";
    /// `burst online-return sources` (uinteger, count)
    pub const BURST_ONLINE_RETURN: &str = "burst online-return sources";
    /// `burst offline-return sources` (uinteger, count)
    pub const BURST_OFFLINE_RETURN: &str = "burst offline-return sources";
    /// `unresolved sources` (uinteger, count)
    pub const UNRESOLVED: &str = "unresolved sources";
}

/// The activity report (`chronyc activity`): one record.
///
/// ```
/// # use chrony::Activity;
/// let a = Activity {
///     online_sources: 3,
///     offline_sources: 1,
///     burst_online_return_sources: 0,
///     burst_offline_return_sources: 0,
///     unresolved_sources: 2,
/// };
/// assert_eq!(a.total(), 6);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Activity {
    /// Sources chronyd polls.
    pub online_sources: u32,
    /// Sources set offline (not polled).
    pub offline_sources: u32,
    /// Sources in a burst that go back online afterwards.
    pub burst_online_return_sources: u32,
    /// Sources in a burst that go back offline afterwards.
    pub burst_offline_return_sources: u32,
    /// Sources whose name is not resolved yet.
    pub unresolved_sources: u32,
}

impl Activity {
    /// All sources counted in the report.
    pub fn total(&self) -> u64 {
        [
            self.online_sources,
            self.offline_sources,
            self.burst_online_return_sources,
            self.burst_offline_return_sources,
            self.unresolved_sources,
        ]
        .iter()
        .map(|&v| u64::from(v))
        .sum()
    }
}

impl FromRecord for Activity {
    const REPORT: &'static str = "activity";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        Ok(Some(Activity {
            online_sources: r.get(ONLINE)?,
            offline_sources: r.get(OFFLINE)?,
            burst_online_return_sources: r.get(BURST_ONLINE_RETURN)?,
            burst_offline_return_sources: r.get(BURST_OFFLINE_RETURN)?,
            unresolved_sources: r.get(UNRESOLVED)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::more::fake::Fake;

    #[test]
    fn reads_all_counters() {
        let f = Fake::new("activity")
            .u(fields::ONLINE, 2)
            .u(fields::OFFLINE, 1)
            .u(fields::BURST_ONLINE_RETURN, 0)
            .u(fields::BURST_OFFLINE_RETURN, 4)
            .u(fields::UNRESOLVED, 5);
        let a = Activity::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(a.online_sources, 2);
        assert_eq!(a.burst_offline_return_sources, 4);
        assert_eq!(a.total(), 12);
        let missing = Fake::new("activity").u(fields::ONLINE, 2);
        assert!(Activity::from_record(&Record::new(&missing)).is_err());
    }
}
