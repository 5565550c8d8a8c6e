//! Safe, typed access to chronyd's monitoring reports through
//! [libchrony](https://gitlab.com/chrony/libchrony).
//!
//! A [`Client`] talks to chronyd over its Unix command socket or UDP command
//! port (an address, a path or a host name). Every call is bounded: each
//! request is re-sent on silence as chronyc does (1 s, then 2 s, then 4 s)
//! while earlier attempts keep listening, and the whole call has a deadline
//! (10 s by default), so a dead, frozen or flooded chronyd gives an
//! [`Error`], never a hung process (see [`ClientBuilder`]). A client keeps
//! several sessions and spreads a report's records over them, so a
//! 128-source report costs a few round trips, not 129; [`Client::snapshot`]
//! reads every report at once. Reports come back as plain,
//! immutable structs ([`Tracking`], [`Source`], [`SourceStats`],
//! [`RtcData`]) built by looking each field up by its libchrony name and
//! type, so a chronyd that adds, drops or reorders fields is read correctly
//! or reported precisely.
//!
//! All ten reports of libchrony are covered: [`Tracking`], [`Source`],
//! [`SourceStats`], [`RtcData`], [`Activity`], [`ServerStats`],
//! [`Smoothing`], [`SelectData`], [`NtpData`] and [`AuthData`] as typed
//! models, and any report field by field with [`Client::records`]
//! ([`GenericRecord`]).
//!
//! ```no_run
//! use chrony::Client;
//!
//! let mut client = Client::connect("/run/chrony/chronyd.sock")?;
//! let tracking = client.tracking()?;
//! if !tracking.is_synchronized() {
//!     eprintln!("not synchronized");
//! }
//! // chronyc's "System time", and how far the clock may be from true time.
//! println!("system time {:+e} s, error bound {:e} s", tracking.current_correction, tracking.clock_error_bound());
//! println!("last offset {:+e} s, frequency {:+.3} ppm", tracking.last_offset, tracking.frequency_ppm);
//! println!("last update {}", tracking.reference_time); // 2026-11-25T22:31:57.515378988Z
//! for s in client.sources()? {
//!     println!("{}{} {:<20} reach {:03o}", s.mode.symbol(), s.state.symbol(), s.address, s.reachability);
//! }
//! match client.rtc_data()? {
//!     Some(rtc) => println!("RTC offset {} s", rtc.offset),
//!     None => println!("no RTC tracking"),
//! }
//! # Ok::<(), chrony::Error>(())
//! ```
//!
//! Errors carry context (address, report, field) and a [`ErrorKind`] with
//! a stable label for metrics ([`Error::kind`]). An error's `Display` is
//! its own message only; [`Error::chain`] prints it with every cause
//! (`cannot connect to chronyd at /run/chrony/chronyd.sock: Connection
//! refused (os error 111)`):
//!
//! ```
//! if let Err(e) = chrony::Client::connect("/nonexistent/chronyd.sock") {
//!     eprintln!("chronyd: {}", e.chain());
//!     assert!(e.chain().to_string().ends_with("(os error 2)"));
//! }
//! ```
//!
//! # Offsets
//!
//! chronyd reports several offsets, each answering another question:
//! [`Tracking::clock_error_bound`] is how far the system clock may be from
//! true time (chronyc's bound: |System time| + root dispersion + root
//! delay / 2), the number to alert on; [`Tracking::current_correction`] is
//! chronyc's "System time"; [`Tracking::last_offset`] is the offset
//! measured at the last clock update; a source's offsets
//! ([`Source::adjusted_offset`], [`SourceStats::offset`],
//! [`NtpData::offset`]) are measurements of that source.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `serde` | yes | `Serialize`/`Deserialize` for every model |
//! | `tokio` | no | `tokio::AsyncClient`: the same client for tokio services |
//! | `chrono` | no | [`Timestamp`] to and from `chrono::DateTime<Utc>` |
//! | `jiff` | no | [`Timestamp`] to and from `jiff::Timestamp` |
//! | `test-util` | no | `reports::builder`: a typed test builder per model, generated from its declaration (`chrony-testkit` turns it on for `fake::tracking()` and friends) |
//!
//! # Running a program outside Cargo
//!
//! `cargo run` and `cargo test` find libchrony by themselves. A binary
//! started any other way links `libchrony.so.0` dynamically and fails at
//! start with `libchrony.so.0: cannot open shared object file` unless the
//! dynamic loader finds it. The ways out: a system libchrony where the
//! loader looks (a distribution package, or `make install` and
//! `ldconfig`); an rpath recorded at link time
//! (`RUSTFLAGS="-C link-arg=-Wl,-rpath,/opt/libchrony/lib"`); static
//! linking with the `LIBCHRONY_*` variables (`LIBCHRONY_STATIC=1` and
//! `LIBCHRONY_LIB_DIR` pointing at `libchrony.a`; libchrony is
//! LGPL-2.1-or-later); or `LD_LIBRARY_PATH` at run time.
//!
//! # Async
//!
//! With the `tokio` feature, the same reports without blocking a runtime
//! thread (see the `tokio` module for cancellation and fleets):
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn watch() -> chrony::Result<()> {
//! use chrony::tokio::AsyncClient;
//! use std::time::Duration;
//!
//! let mut client = AsyncClient::connect("127.0.0.1:323").await?;
//! let mut tick = ::tokio::time::interval(Duration::from_secs(10));
//! loop {
//!     tick.tick().await;
//!     match client.tracking().await {
//!         Ok(t) => println!("synchronized={} error_bound={:e}", t.is_synchronized(), t.clock_error_bound()),
//!         Err(e) => eprintln!("chronyd: {}", e.chain()),
//!     }
//! }
//! # }
//! ```
//!
//! # Models
//! Each report is declared once ([`reports`]): every field with its
//! libchrony name, type and [`Presence`]; the declaration generates the
//! struct, its [`FromRecord`] and the schema ([`FromRecord::FIELDS`]) that
//! `chrony-testkit`'s contract suite checks against the field tables of
//! every chronyd version it knows. Models are `#[non_exhaustive]`: chronyd
//! grows its reports, so build them from records, not with struct
//! literals. In tests, `chrony-testkit`'s typed builders start from a valid
//! record and set fields by their Rust names and types
//! (`chrony_testkit::fake::tracking().last_offset(1e-3).build()`, feature
//! `test-util`), giving the model and the record it reads from. A
//! source is a [`SourceId`] in every report (an IP address, an unresolved
//! `ID#` source or a reference clock), printed as chronyc prints it.
//!
//! # Units
//! One rule for every model:
//!
//! - **Measurements are `f64` seconds**: offsets, delays, dispersions,
//!   errors, deviations and response times ([`Tracking::last_offset`],
//!   [`Tracking::root_delay`], [`Source::error`], [`NtpData::peer_delay`],
//!   selectdata's offset limits), signed or not, so they add and compare
//!   without conversion.
//! - **Ages, spans and intervals are [`Duration`](std::time::Duration)s**:
//!   how long ago something happened, how long a window is, the interval
//!   between updates, the time remaining ([`Source::last_sample_ago`],
//!   [`SourceStats::span`], [`Tracking::last_update_interval`],
//!   [`Smoothing::remaining_time`]); `Option<Duration>` where chronyd can
//!   say "never" (`None`). Those chronyd sends as floats are rounded to the
//!   nanosecond.
//! - **Log2 intervals stay integers** as chronyd sends them (`poll`,
//!   `precision`), with a `Duration` accessor for the polling interval
//!   ([`Source::poll_interval`], [`NtpData::poll_interval`]).
//! - **Other units are suffixed**: `frequency_ppm`, `skew_ppm`,
//!   `key_length_bits`. Counts are unsigned integers.
//! - **Times are [`Timestamp`]s**: exact seconds and nanoseconds since the
//!   Unix epoch, decoded as chronyd decodes them, displayed and serialized
//!   as RFC 3339 UTC dates (`2026-11-25T22:31:57.515378988Z`).
//!
//! With `serde`, seconds are the unmarked unit of the JSON too: a
//! `Duration` is a number of seconds (an integer for those chronyd counts
//! in whole seconds), `null` for "never".
//!
//! ```
//! use chrony::{FromRecord, Record, Source};
//! use std::time::Duration;
//! let s = Source::from_record(&Record::new(&chrony_testkit::scenarios::source_selected()))?.unwrap();
//! let fresh = s.last_sample_ago.is_some_and(|ago| ago < 4 * s.poll_interval());
//! assert!(fresh && s.last_sample_ago == Some(Duration::from_secs(23)));
//! assert!(s.error >= 0.0 && s.adjusted_offset.abs() < 1.0);
//! # Ok::<(), chrony::Error>(())
//! ```
//!
//! # Threads
//! [`Client`] is `Send` but not `Sync`. libchrony formats addresses into one
//! process-wide buffer; this crate serializes every libchrony call that
//! touches it, so clients in many threads at once return correct values.
//!
//! # Child processes and fork
//! No descriptor of this crate reaches a child process: sockets are
//! close-on-exec from their creation, and libchrony's `/dev/urandom`
//! descriptor is marked right after libchrony opens it; a [`SpawnGuard`]
//! closes that last short window for programs that spawn children while
//! other threads open clients. A client copied by `fork(2)` never touches
//! the parent's sockets, and a connect over the Unix socket removes the
//! socket directories that killed clients left behind.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod address;
mod blocking;
mod client;
mod display;
mod engine;
pub mod error;
mod fdsafe;
pub mod field;
pub mod generic;
pub mod reports;
#[cfg(feature = "serde")]
mod serde_util;
mod session;
pub mod snapshot;
mod sockdir;
mod surface;
#[cfg(test)]
mod test_record;
mod time;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
mod types;
mod wire;

pub use address::{Address, ToAddress, DEFAULT_PORT};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONCURRENCY, DEFAULT_DEADLINE, DEFAULT_RETRIES,
    DEFAULT_SOCKET_PATHS, DEFAULT_TIMEOUT, DISABLED_MEANS_ABSENT, MAX_CONCURRENCY,
};
pub use engine::{Transport, MAX_RECORDS};
pub use error::{DataProblem, Error, ErrorChain, ErrorCode, ErrorKind, Result};
pub use fdsafe::SpawnGuard;
pub use field::{FieldContent, FieldSource, FieldType, Record};
pub use generic::{GenericField, GenericRecord, Value};
pub use reports::activity::Activity;
pub use reports::authdata::{AuthData, AuthMode, KeyType};
pub use reports::ntpdata::{NtpData, NtpFlags, NtpMode, TimestampSource};
pub use reports::rtcdata::RtcData;
pub use reports::selectdata::{SelectData, SelectOptions, SelectState};
pub use reports::serverstats::ServerStats;
pub use reports::smoothing::{Smoothing, SmoothingFlags};
pub use reports::sources::Source;
pub use reports::sourcestats::SourceStats;
pub use reports::tracking::Tracking;
pub use reports::{Descriptor, FieldSpec, FromRecord, Presence};
pub use snapshot::Snapshot;
pub use time::{Timestamp, MAX_TIMESTAMP_SECS};
pub use types::{LeapStatus, ParseError, RefId, SourceId, SourceMode, SourceState};

/// The ten reports libchrony 0.2 serves, by name (those of
/// [`reports::DESCRIPTORS`], in name order).
///
/// ```
/// assert_eq!(chrony::REPORTS.len(), 10);
/// assert_eq!(chrony::REPORTS[0], "activity");
/// ```
pub const REPORTS: &[&str] = &reports::NAMES;

/// The report names the linked libchrony supports
/// (`chrony_get_report_name`), in its order.
///
/// ```
/// assert!(chrony::supported_reports().iter().any(|r| r == "tracking"));
/// ```
pub fn supported_reports() -> Vec<String> {
    session::supported_reports()
}

/// libchrony's own text for an error code (`chrony_get_error_string`).
///
/// ```
/// assert_eq!(chrony::error_string(chrony::ErrorCode::Disabled), "Disabled");
/// ```
pub fn error_string(code: ErrorCode) -> String {
    session::error_string(code)
}
