//! The label rule of the per-source reports.
//!
//! - An NTP source is `source_address` = its IP address as chronyc prints
//!   it; `source_name` = its reverse DNS name with `--collector.dns-lookups`
//!   (when one was found within the scrape deadline), else the address.
//! - A reference clock is named by its reference ID's text (`GPS0`, `PPS`)
//!   in both labels (the hex form when the ID is not printable).
//! - A source chronyd has not resolved yet (`ID#0000000001`) and a record
//!   without an address (unspecified `0.0.0.0`/`::`, or authdata without
//!   its address) get no per-source series: they are counted in
//!   `chrony_scrape_collector_records_skipped{reason="unresolved"|"unspecified"}`
//!   (and the activity report counts unresolved sources).
//! - When two records of one report would get the same label set (the same
//!   address twice, as pool fallback can give), the first in chronyd's order
//!   is written and the others are counted in
//!   `chrony_scrape_collector_records_skipped{reason="duplicate"}`; the scrape
//!   never fails for it. As a last guard, the output drops any second
//!   sample with an identical label set ([`Out::add`](crate::metrics::Out::add)).

use crate::metrics::Labels;
use chrony::{Snapshot, SourceId};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// Reverse DNS names found for addresses (empty without
/// `--collector.dns-lookups`).
pub type Names = HashMap<IpAddr, String>;

/// The label names of the per-source metrics.
pub const SOURCE: &[&str] = &["source_address", "source_name"];

/// One source's labels: its address and name, and the two rendered once
/// for the per-source metrics.
#[derive(Debug)]
pub struct SourceLabel {
    pub address: String,
    pub name: String,
    pub labels: Labels,
}

/// The labels of each source, made once per scrape: the five per-source
/// reports name the same sources, so each source is looked up, formatted
/// and rendered once, not once per report. Each source has one index,
/// which is how a report's duplicates (the same source twice) are found.
/// Two different sources share a label pair only in a corner no chronyd
/// setup reaches (an address's text is its own, and a refid's text is a
/// name or eight hex digits, never an address): should they, `Out`'s own
/// check on the rendered labels still drops the second series.
#[derive(Debug, Default)]
pub struct SourceLabels {
    ids: rustc_hash::FxHashMap<SourceId, Result<u32, &'static str>>,
    all: Vec<SourceLabel>,
    /// The text of each address, formatted once per scrape (formatting an
    /// address costs more than copying its text).
    addrs: rustc_hash::FxHashMap<IpAddr, String>,
}

impl SourceLabels {
    fn addr_text(&mut self, ip: IpAddr) -> String {
        self.addrs
            .entry(ip)
            .or_insert_with(|| ip.to_string())
            .clone()
    }

    /// The label pair for a source, or why it has none.
    fn label_pair(
        &mut self,
        id: SourceId,
        names: &Names,
    ) -> Result<(String, String), &'static str> {
        match id {
            SourceId::Ip(ip) if ip.is_unspecified() => Err("unspecified"),
            SourceId::Ip(ip) => {
                let address = self.addr_text(ip);
                let name = names.get(&ip).cloned().unwrap_or_else(|| address.clone());
                Ok((address, name))
            }
            SourceId::Unresolved(_) => Err("unresolved"),
            SourceId::RefClock(r) => {
                let label = r.label();
                Ok((label.clone(), label))
            }
            // SourceId may grow.
            #[allow(unreachable_patterns)]
            _ => Err("unspecified"),
        }
    }

    /// The index of the source's labels, or why it has none.
    fn of(&mut self, id: SourceId, names: &Names) -> Result<u32, &'static str> {
        if let Some(&known) = self.ids.get(&id) {
            return known;
        }
        let index = self.label_pair(id, names).map(|(address, name)| {
            let labels = Labels::new(SOURCE, &[&address, &name]);
            // Far fewer than 2^32 sources in one scrape.
            let i = self.all.len() as u32;
            self.all.push(SourceLabel {
                address,
                name,
                labels,
            });
            i
        });
        self.ids.insert(id, index);
        index
    }
}

/// What a collector's update gets besides its report: the names, the
/// labels the scrape's collectors share, and the records it skipped.
pub struct Ctx<'a> {
    names: &'a Names,
    labels: &'a mut SourceLabels,
    skips: Vec<(&'static str, usize)>,
}

impl<'a> Ctx<'a> {
    pub fn new(names: &'a Names, labels: &'a mut SourceLabels) -> Ctx<'a> {
        Ctx {
            names,
            labels,
            skips: Vec::new(),
        }
    }

    /// The reverse DNS names of the scrape.
    pub fn names(&self) -> &Names {
        self.names
    }

    /// The text of an address (formatted once per scrape).
    pub fn addr_text(&mut self, ip: IpAddr) -> String {
        self.labels.addr_text(ip)
    }

    /// Counts a record left out, by reason.
    pub fn skip(&mut self, reason: &'static str) {
        match self.skips.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.skips.push((reason, 1)),
        }
    }

    /// The records skipped, per reason.
    pub fn skipped(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        self.skips.iter().copied()
    }

    /// The labels of each record of a per-source report, applying the
    /// label rule: `None` for a record that gets no series.
    pub fn per_source<T>(
        &mut self,
        records: &[T],
        id: impl Fn(&T) -> Option<SourceId>,
    ) -> Vec<Option<u32>> {
        let mut seen = rustc_hash::FxHashSet::default();
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let labels = match id(r) {
                Some(id) => self.labels.of(id, self.names),
                None => Err("unspecified"),
            };
            out.push(match labels {
                Ok(i) if seen.insert(i) => Some(i),
                Ok(_) => {
                    self.skip("duplicate");
                    None
                }
                Err(reason) => {
                    self.skip(reason);
                    None
                }
            });
        }
        out
    }

    /// The labels of the source with index `i` (from [`Ctx::per_source`]).
    pub fn source(&self, i: u32) -> &SourceLabel {
        &self.labels.all[i as usize]
    }
}

/// Every distinct IP address of NTP sources in the snapshot (for reverse
/// lookups before building).
pub fn addresses(snap: &Snapshot) -> Vec<IpAddr> {
    let mut set = HashSet::new();
    if let Some(t) = snap.tracking.present() {
        if let Some(ip) = t.address.and_then(|a| a.ip()) {
            set.insert(ip);
        }
    }
    for s in snap.sources.present().into_iter().flatten() {
        set.extend(s.address.ip());
    }
    for s in snap.source_stats.present().into_iter().flatten() {
        set.extend(s.address.ip());
    }
    let mut v: Vec<IpAddr> = set.into_iter().filter(|ip| !ip.is_unspecified()).collect();
    v.sort();
    v
}
