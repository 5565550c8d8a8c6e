//! Test support for users of the `chrony` crate:
//!
//! - [`fake`]: typed builders of every model ([`fake::tracking`],
//!   [`fake::source`], ...: the fields a test cares about set by their Rust
//!   names and types on a valid record), and fake libchrony records
//!   ([`fake::FakeRecord`]) that implement the same [`chrony::FieldSource`]
//!   trait as a live record, so every model can be built with no chronyd;
//! - [`scenarios`]: ready-made records that mirror what real daemons send
//!   (synchronized, unsynchronized, leap pending, reference clocks,
//!   falsetickers, 128 sources, ...);
//! - [`tables`]: field tables captured from real chronyd versions;
//! - `harness` (feature `harness`, off by default): a real chronyd for
//!   tests, as local processes or in Docker containers.
//! - [`proxy`]: a fault-injecting UDP proxy (loss, duplication, delay,
//!   garbage, rewrites, silence) between a client and chronyd.
//!
//! ```
//! use chrony::{FromRecord, Record, Source};
//! use chrony_testkit::scenarios;
//!
//! // Unit-test your own monitoring logic against a falseticker, no daemon needed.
//! let rec = scenarios::source_falseticker();
//! let source = Source::from_record(&Record::new(&rec))?.unwrap();
//! assert!(!source.is_selected());
//! assert_eq!(source.state, chrony::SourceState::Falseticker);
//!
//! // Or a typed builder: this scenario's tracking with one field changed.
//! let t = chrony_testkit::fake::tracking().stratum(3).build();
//! assert_eq!(t.stratum, 3);
//! # Ok::<(), chrony::Error>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod contract;
pub mod fake;
#[cfg(feature = "harness")]
#[cfg_attr(docsrs, doc(cfg(feature = "harness")))]
pub mod harness;
pub mod proxy;
pub mod scenarios;
pub mod tables;

pub use fake::{FakeField, FakeRecord, FakeValue};
