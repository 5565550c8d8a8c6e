//! Typed models of chronyd's reports, each built from a [`Record`](crate::field::Record) by field
//! name. Nothing here touches libchrony: the same code reads live records
//! and fake ones.
//!
//! Each model is declared once: every field with its libchrony name,
//! content kind and [`Presence`]. The declaration generates the struct,
//! its [`FromRecord`] and its schema ([`FromRecord::FIELDS`], all of them
//! in [`SCHEMAS`]), which `chrony-testkit`'s contract suite checks against
//! the field tables captured from every chronyd version it knows.
//!
//! ```
//! use chrony::reports::{FromRecord, Presence};
//! use chrony::{FieldType, NtpData};
//! let poll = NtpData::FIELDS.iter().find(|f| f.rust_name == "poll").unwrap();
//! assert_eq!((poll.name, poll.field_type, poll.presence), ("poll", FieldType::Integer, Presence::Required));
//! let kernel_tx = NtpData::FIELDS.iter().find(|f| f.name == "kernel transmit timestamps").unwrap();
//! assert_eq!(kernel_tx.presence, Presence::Since("4.6"));
//! ```
//!
//! Models are `#[non_exhaustive]` (chronyd grows its reports), so code
//! outside this crate cannot build one with a struct literal, even with
//! every field given:
//!
//! ```compile_fail
//! let a = chrony::Activity {
//!     online_sources: 1,
//!     offline_sources: 0,
//!     burst_online_return_sources: 0,
//!     burst_offline_return_sources: 0,
//!     unresolved_sources: 0,
//! };
//! ```
//!
//! Build them from records instead; in tests with the typed builders of
//! `chrony::reports::builder` (feature `test-util`), which `chrony-testkit`
//! starts from its scenarios (`chrony_testkit::fake::activity()
//! .offline_sources(2).build()`), or from its fake records and scenarios:
//!
//! ```
//! use chrony::{Activity, FromRecord, Record};
//! let rec = chrony_testkit::scenarios::activity_online();
//! let a = Activity::from_record(&Record::new(&rec))?.unwrap();
//! assert_eq!(a.offline_sources, 0);
//! # Ok::<(), chrony::Error>(())
//! ```
#![forbid(unsafe_code)]

#[macro_use]
mod declare;
mod convert;
mod list;
mod schema;

pub(crate) use list::{each_report, DISABLED_NAMES, NAMES};
pub use list::{DESCRIPTORS, SCHEMAS};
pub use schema::{
    is_reserved, shape, Descriptor, FieldSpec, FromRecord, Presence, ReportShape, ShapeKind,
};

pub mod activity;
pub mod authdata;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod builder;
pub mod ntpdata;
pub mod rtcdata;
pub mod selectdata;
pub mod serverstats;
pub mod smoothing;
pub mod sources;
pub mod sourcestats;
pub mod tracking;
