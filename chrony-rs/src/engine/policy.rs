//! A client's rules: how it reaches chronyd ([`Transport`]), the
//! per-exchange timeout and re-sends ([`Policy`]), what its links open
//! ([`Target`]), and the bound of one call ([`Deadline`]).

use super::link::Link;
use std::time::{Duration, Instant};

/// Re-sends beyond this are ignored (each keeps a socket open).
pub(crate) const MAX_RETRIES: u32 = 16;
/// Per-attempt waits are clamped to this range (a zero wait would send
/// every attempt at once; a huge one would overflow `Instant`).
pub(crate) const MIN_WAIT: Duration = Duration::from_millis(1);
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(30 * 86_400);

/// How the session reaches chronyd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Transport {
    /// chronyd's Unix datagram command socket (all reports).
    Unix,
    /// UDP to chronyd's command port (only the reports chronyd serves
    /// remotely).
    Udp,
}

/// The exchange rules of one client.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// The address as shown in errors.
    pub(crate) address: String,
    pub(crate) transport: Transport,
    /// The first attempt's wait; doubled per re-send.
    pub(crate) timeout: Duration,
    /// Re-sends after the first attempt.
    pub(crate) retries: u32,
}

impl Policy {
    pub(crate) fn first_wait(&self) -> Duration {
        self.timeout.clamp(MIN_WAIT, MAX_WAIT)
    }
}

/// Where and how a client talks to chronyd: the rules and what its links
/// open.
#[derive(Debug, Clone)]
pub(crate) struct Target<L: Link> {
    pub(crate) policy: Policy,
    pub(crate) endpoint: L::Endpoint,
}

/// When one call must be over, and how long it was given (what a timeout
/// reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) length: Duration,
}

impl Deadline {
    /// `length` from `now`; a length too large for an `Instant` is a year.
    pub(crate) fn after(now: Instant, length: Duration) -> Deadline {
        let at = now
            .checked_add(length)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
        Deadline { at, length }
    }

    /// The deadline `at`, given at `now`.
    pub(crate) fn at(now: Instant, at: Instant) -> Deadline {
        Deadline {
            at,
            length: at.saturating_duration_since(now),
        }
    }
}
