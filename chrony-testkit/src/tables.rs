//! Field tables captured from real chronyd versions (facts about the
//! daemons: field names, types, content kinds and the values one test
//! daemon sent), committed under `chrony-testkit/data/`.
//!
//! Each table comes from a chronyd started by the harness with one
//! loopback reference server, one unreachable server, one reference clock
//! and `smoothtime 400 0.001 leaponly`, read over its Unix socket by
//! `examples/capture.rs`.
//!
//! ```
//! let t = chrony_testkit::tables::captured("4.3").unwrap();
//! assert_eq!(t.reports["tracking"][0].fields.len(), 14);
//! ```

use crate::fake::FakeRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every report of one chronyd, as captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedTable {
    /// chronyd's version (`4.0`, `4.3`, `4.6.1`, `4.9`).
    pub chrony_version: String,
    /// The records of each report that was served.
    pub reports: BTreeMap<String, Vec<FakeRecord>>,
    /// Reports that were not served, with the reason (`disabled`,
    /// `unauthorized`).
    pub refused: BTreeMap<String, String>,
}

/// The chronyd versions with a captured table.
pub const VERSIONS: &[&str] = &["4.0", "4.3", "4.6.1", "4.9"];

/// The captured table of chronyd `version`, if there is one.
pub fn captured(version: &str) -> Option<CapturedTable> {
    let text = match version {
        "4.0" => include_str!("../data/chronyd-4.0.json"),
        "4.3" => include_str!("../data/chronyd-4.3.json"),
        "4.6.1" => include_str!("../data/chronyd-4.6.1.json"),
        "4.9" => include_str!("../data/chronyd-4.9.json"),
        _ => return None,
    };
    Some(serde_json::from_str(text).expect("committed tables are valid JSON"))
}

impl CapturedTable {
    /// The first record of `report` whose field `field` has content
    /// `pred` — a convenient way to pick, say, the reference clock's record.
    pub fn find(&self, report: &str, pred: impl Fn(&FakeRecord) -> bool) -> Option<&FakeRecord> {
        self.reports.get(report)?.iter().find(|r| pred(r))
    }
}
