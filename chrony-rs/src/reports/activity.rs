//! The `activity` report: how many sources are online, offline, in a burst
//! or not yet resolved.

report! {
    /// The activity report (`chronyc activity`): one record.
    ///
    /// ```
    /// use chrony::{Activity, FromRecord, Record};
    /// let a = Activity::from_record(&Record::new(&chrony_testkit::scenarios::activity_mixed()))?.unwrap();
    /// assert_eq!(a.total(), 11);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    #[derive(Eq)]
    pub struct Activity in "activity" as Single {
        /// Sources chronyd polls.
        online_sources: u32 = "online sources", Count, required;
        /// Sources set offline (not polled).
        offline_sources: u32 = "offline sources", Count, required;
        /// Sources in a burst that go back online afterwards.
        burst_online_return_sources: u32 = "burst online-return sources", Count, required;
        /// Sources in a burst that go back offline afterwards.
        burst_offline_return_sources: u32 = "burst offline-return sources", Count, required;
        /// Sources whose name is not resolved yet.
        unresolved_sources: u32 = "unresolved sources", Count, required;
    }
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
