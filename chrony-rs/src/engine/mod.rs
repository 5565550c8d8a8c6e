//! The exchange engine, without I/O of its own.
//!
//! Written against two small traits, so that it runs as well against a
//! scripted fake as against libchrony: a [`Link`] is the handful of
//! libchrony calls of one connection ([`crate::session::Conn`] is the
//! real one); a [`Driver`] waits for sockets and tells the time (the
//! blocking one with `poll(2)`, the tokio one with the runtime's reactor).
//! Every decision takes the `now` its driver gives, so a simulated clock
//! drives the engine in its tests.
//!
//! One concern per module:
//!
//! - `link` and `driver`: the two traits, and what they exchange.
//! - `policy`: a client's rules (transport, timeout, re-sends) and the
//!   bound of one call.
//! - `errors`: libchrony's outcomes as this crate's errors.
//! - `exchange`: one request and its attempts (re-sends, bad datagrams, a
//!   full socket queue).
//! - `slots`: a client's state ([`Engine`]) and one call's requests spread
//!   over its sessions.
//! - `read`: reports read at once (counts, records, re-reads of a report
//!   that changed, the re-open after a chronyd restart, the deadline).
//! - `sink`: where each report's records go.
//!
//! Modules import their siblings, never this one; this one only gathers
//! what the rest of the crate uses.

mod driver;
mod errors;
mod exchange;
mod link;
mod policy;
mod read;
mod sink;
mod slots;
#[cfg(test)]
mod tests;

pub(crate) use driver::{Driver, Interest, Watched};
pub(crate) use link::{Link, Op, Outcome, Req};
pub use policy::Transport;
pub(crate) use policy::{Deadline, Policy, Target, MAX_RETRIES};
pub(crate) use read::OnDeadline;
pub use read::MAX_RECORDS;
pub(crate) use sink::{ReportSink, Sink, TypedBuild};
pub(crate) use slots::{Engine, MAX_SLOTS};
