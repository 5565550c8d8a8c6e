//! The sample buffer: the metrics of one scrape, each sample's line
//! written once as it is added.

use super::encode::write_value;
use super::table::{rank, Def};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// One sample: its labels as written, `k1="v1",k2="v2"` (escaped, in the
/// order of [`Def::labels`]), and its value (tests).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: String,
    pub value: f64,
}

#[cfg(test)]
impl Sample {
    /// The label values, unescaped.
    pub fn values(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = self.labels.chars();
        while chars.by_ref().any(|c| c == '"') {
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('n') => v.push('\n'),
                        Some(c) => v.push(c),
                        None => {}
                    },
                    '"' => break,
                    c => v.push(c),
                }
            }
            out.push(v);
        }
        out
    }
}

/// Where one sample's labels are in its family's text (and, for the
/// tests, its value).
#[derive(Debug, Clone, Copy)]
struct Span {
    labels: (u32, u32),
    #[cfg(test)]
    value: f64,
}

/// The labels of sample `s` in its family's `text`.
fn labels_in<'t>(text: &'t str, s: &Span) -> &'t str {
    &text[s.labels.0 as usize..s.labels.1 as usize]
}

/// The samples of one metric, written as they are added: `text` holds
/// the sample lines exactly as the encoder outputs them (the same in both
/// formats), so a scrape renders each sample once, with no allocation per
/// sample.
#[derive(Debug)]
pub struct Family {
    pub def: &'static Def,
    /// Position of the metric in the table (output order).
    rank: usize,
    pub(super) text: String,
    spans: Vec<Span>,
    /// The first sample with each hash of its labels.
    seen: HashMap<u64, u32, rustc_hash::FxBuildHasher>,
}

impl Family {
    /// Whether the metric has no sample.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The samples, in the order they were added (tests).
    #[cfg(test)]
    pub fn samples(&self) -> Vec<Sample> {
        self.spans
            .iter()
            .map(|s| Sample {
                labels: labels_in(&self.text, s).to_string(),
                value: s.value,
            })
            .collect()
    }
}

/// The metrics of one scrape, built fresh each time.
#[derive(Debug, Default)]
pub struct Out {
    families: Vec<Family>,
    /// Each metric's family, by the address of its [`Def`] (a `static`:
    /// one address per metric, and names are unique in the table).
    index: HashMap<usize, usize, rustc_hash::FxBuildHasher>,
    /// Samples refused because their label set was already written.
    pub duplicates: usize,
    /// Samples a family started now is expected to get (see
    /// [`Out::expect`]): its buffers are sized once for them.
    expected: usize,
}

/// A label set rendered once (`k1="v1",k2="v2"`, as [`Out::add`] writes
/// it) with its hash, for several metrics with the same label names:
/// the per-source metrics of one record.
#[derive(Debug)]
pub struct Labels {
    names: &'static [&'static str],
    text: String,
    hash: u64,
}

impl Labels {
    pub fn new(names: &'static [&'static str], values: &[&str]) -> Labels {
        debug_assert_eq!(names.len(), values.len());
        let mut text = String::new();
        render_labels(names, values, &mut text);
        let hash = hash(text.as_bytes());
        Labels { names, text, hash }
    }
}

fn render_labels(names: &[&str], values: &[&str], out: &mut String) {
    for (i, (k, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_label(v, out);
        out.push('"');
    }
}

impl Out {
    /// Adds a sample; a second sample with the same label set for the same
    /// metric is dropped (counted in `duplicates`): the output never holds
    /// two series with one identity.
    pub fn add(&mut self, def: &'static Def, labels: &[&str], value: f64) -> bool {
        debug_assert_eq!(labels.len(), def.labels.len(), "{}", def.name);
        let i = self.family_of(def);
        let family = &mut self.families[i];
        // Write the line; take it back if it is a duplicate.
        let line_start = family.text.len();
        family.text.push_str(def.name);
        if labels.is_empty() {
            return self.finish(i, line_start, None, value);
        }
        family.text.push('{');
        let start = family.text.len();
        render_labels(def.labels, labels, &mut family.text);
        let end = family.text.len();
        family.text.push('}');
        let key = hash(&family.text.as_bytes()[start..end]);
        self.finish(i, line_start, Some((start, end, key)), value)
    }

    /// As [`Out::add`], with the labels rendered once beforehand (the same
    /// bytes and the same duplicate check).
    pub fn add_labels(&mut self, def: &'static Def, labels: &Labels, value: f64) -> bool {
        debug_assert_eq!(labels.names, def.labels, "{}", def.name);
        if labels.names.is_empty() {
            return self.add(def, &[], value);
        }
        let i = self.family_of(def);
        let family = &mut self.families[i];
        let line_start = family.text.len();
        family.text.push_str(def.name);
        family.text.push('{');
        let start = family.text.len();
        family.text.push_str(&labels.text);
        let end = family.text.len();
        family.text.push('}');
        self.finish(i, line_start, Some((start, end, labels.hash)), value)
    }

    /// Families started from now on are sized for `n` samples each (the
    /// records of the report being built); only a capacity hint.
    pub fn expect(&mut self, n: usize) {
        self.expected = n;
    }

    /// The index of the metric's family, started if it has none yet.
    fn family_of(&mut self, def: &'static Def) -> usize {
        match self.index.get(&key_of(def)) {
            Some(&i) => i,
            None => {
                self.families.push(Family {
                    def,
                    rank: rank(def),
                    text: String::new(),
                    spans: Vec::new(),
                    seen: HashMap::default(),
                });
                self.index.insert(key_of(def), self.families.len() - 1);
                self.families.len() - 1
            }
        }
    }

    /// Ends the line that `add` wrote from `line_start` (name and labels,
    /// at `labels`: start, end and hash): its value, or nothing when it is
    /// a duplicate.
    fn finish(
        &mut self,
        i: usize,
        line_start: usize,
        labels: Option<(usize, usize, u64)>,
        value: f64,
    ) -> bool {
        let family = &mut self.families[i];
        let mut span = Span {
            labels: (0, 0),
            #[cfg(test)]
            value,
        };
        if let Some((start, end, key)) = labels {
            // Family text stays far below 4 GiB (a scrape is < 1 MB).
            span.labels = (start as u32, end as u32);
            if family.spans.is_empty() && self.expected > 1 {
                family.seen.reserve(self.expected);
            }
            let n = family.spans.len() as u32;
            let duplicate = match family.seen.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(n);
                    false
                }
                Entry::Occupied(o) => {
                    let text = &family.text;
                    let rendered = &text[start..end];
                    // Two label sets with one hash: compare with every sample.
                    labels_in(text, &family.spans[*o.get() as usize]) == rendered
                        || family.spans.iter().any(|s| labels_in(text, s) == rendered)
                }
            };
            if duplicate {
                family.text.truncate(line_start);
                self.duplicates += 1;
                return false;
            }
        } else if !family.spans.is_empty() {
            // The one label set of a metric without labels, already written.
            family.text.truncate(line_start);
            self.duplicates += 1;
            return false;
        }
        family.text.push(' ');
        write_value(value, &mut family.text);
        family.text.push('\n');
        if family.spans.is_empty() && self.expected > 1 {
            // Room for the other samples, with lines a little longer than
            // this first one (values differ in length).
            let more = self.expected - 1;
            let line = family.text.len() - line_start;
            family.text.reserve(more * (line + line / 4 + 8));
            family.spans.reserve_exact(self.expected);
        }
        family.spans.push(span);
        true
    }

    /// The families in the table's order.
    pub fn families(&self) -> Vec<&Family> {
        let mut v: Vec<&Family> = self.families.iter().collect();
        v.sort_by_key(|f| f.rank);
        v
    }

    /// The samples of a metric (tests).
    #[cfg(test)]
    pub fn get(&self, def: &Def) -> Vec<Sample> {
        self.index
            .get(&key_of(def))
            .map(|&i| self.families[i].samples())
            .unwrap_or_default()
    }
}

/// A metric's key in [`Out`]'s index: the address of its `static`.
fn key_of(def: &Def) -> usize {
    std::ptr::from_ref(def) as usize
}

/// The hash that groups label sets (equality is always checked on the
/// text itself, so a collision costs time, never a wrong result): rustc's
/// Fx hash, as for the per-scrape maps. Label sets come from chronyd, not
/// chosen in bulk by an attacker.
fn hash(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(bytes)
}

pub(super) fn escape_label(s: &str, out: &mut String) {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
