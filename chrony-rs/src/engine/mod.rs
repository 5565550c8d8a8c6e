//! The exchange engine, without I/O of its own.
//!
//! Two levels, both written against two small traits so that they run as
//! well against a scripted fake as against libchrony:
//!
//! - [`Link`]: the handful of libchrony calls of one connection (open,
//!   send a request, process one datagram, is a reply still due, read the
//!   count or record). [`crate::session::Conn`] is the real one.
//! - [`Driver`]: the part that waits for sockets and tells the time. The
//!   engine never reads the clock itself: every decision takes the `now`
//!   its driver gives, so a simulated clock drives it in tests. The
//!   blocking driver ([`crate::blocking`]) waits with `poll(2)`, the tokio
//!   one with the runtime's reactor.
//!
//! [`exchange`] is one request and its attempts (re-sends, bad datagrams,
//! a full socket queue); [`call`] is one method call of a client: requests
//! spread over its sessions, the whole-call deadline, the re-read of a
//! report that changed and the re-open after a chronyd restart, and the
//! reports read into [`call::ReportSink`]s.

pub(crate) mod call;
pub(crate) mod exchange;
#[cfg(test)]
mod tests;

use crate::error::{Error, ErrorCode, Result};
use crate::field::FieldSource;
use std::ffi::{c_int, CStr};
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// The most records of one report this crate accepts: a record count above
/// it (a corrupted or forged reply) is [`Error::TooManyRecords`], never an
/// allocation or a loop of that size. chronyd serves far fewer sources.
pub const MAX_RECORDS: usize = 65_536;
/// Re-sends beyond this are ignored (each keeps a socket open).
pub(crate) const MAX_RETRIES: u32 = 16;
/// Per-attempt waits are clamped to this range (a zero wait would send
/// every attempt at once; a huge one would overflow `Instant`).
pub(crate) const MIN_WAIT: Duration = Duration::from_millis(1);
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(30 * 86_400);
/// Immediate re-sends after invalid replies, per exchange, beyond the
/// scheduled ones (a daemon that only ever sends short replies must not
/// make us spin).
pub(crate) const MAX_INVALID_RESENDS: u32 = 16;
/// Datagrams processed at most per readiness event of one socket.
pub(crate) const MAX_DRAIN: usize = 256;
/// The first pause before an unsent request is tried again; doubled up to
/// [`MAX_SEND_BACKOFF`].
pub(crate) const SEND_BACKOFF: Duration = Duration::from_millis(1);
pub(crate) const MAX_SEND_BACKOFF: Duration = Duration::from_millis(32);
/// Re-reads of a per-source report whose records ran past its count (a
/// source went away while it was read) before [`Error::ReportChanged`].
pub(crate) const MAX_REREADS: u32 = 2;

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

/// What a libchrony call on a link gave: `Err` with the code and the
/// operating system's error right after the call.
pub(crate) type Outcome = std::result::Result<(), (ErrorCode, io::Error)>;

/// The libchrony calls of one connection (a socket with a session on it).
pub(crate) trait Link: Sized + Send {
    /// What [`Link::open`] needs (for libchrony: the address as it takes
    /// it).
    type Endpoint: Clone + Send + Sync + std::fmt::Debug;
    /// A view of the record last received.
    type Record<'a>: FieldSource
    where
        Self: 'a;

    /// Opens a connection; `shown` is the address for errors.
    fn open(endpoint: &Self::Endpoint, shown: &str) -> Result<Self>;
    /// The socket a driver watches.
    fn fd(&self) -> c_int;
    /// False when the link must not be used and only dropped (issue 17: a
    /// forked child's copy of its parent's socket).
    fn is_usable(&self) -> bool {
        true
    }
    /// Sends a request (`chrony_request_*`).
    fn send(&mut self, req: Req) -> Outcome;
    /// Processes one datagram (`chrony_process_response`).
    fn process(&mut self) -> Outcome;
    /// True while the request's reply is still due.
    fn needs_response(&self) -> bool;
    /// The record count of the last count reply.
    fn record_count(&self) -> i64;
    /// The record last received.
    fn record(&self, report: &'static CStr) -> Self::Record<'_>;
}

/// A link with its driver's registration. The registration is declared
/// first, so it is dropped before the link closes the socket it watches.
#[derive(Debug)]
pub(crate) struct Session<L, R> {
    pub(crate) registration: Option<R>,
    pub(crate) link: L,
}

impl<L, R> Session<L, R> {
    pub(crate) fn new(link: L) -> Self {
        Session {
            registration: None,
            link,
        }
    }
}

/// What a driver waits for on a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// A datagram to read.
    Read,
    /// Room in the socket queue.
    Write,
}

/// One socket a driver waits on; the driver sets `ready`.
#[derive(Debug)]
pub(crate) struct Watched<'a, R> {
    pub(crate) fd: c_int,
    pub(crate) interest: Interest,
    /// The driver's registration of the socket.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) registration: Option<&'a R>,
    pub(crate) ready: bool,
    /// The slot whose exchange watches it.
    pub(crate) slot: usize,
}

/// Waits for sockets and tells the time.
pub(crate) trait Driver<L: Link>: Send {
    /// What the driver keeps per session (the tokio driver: its `AsyncFd`
    /// and the runtime it belongs to); `()` when nothing.
    type Registration: Send + Sync + 'static;

    /// The time every decision of the engine is taken at.
    fn now(&self) -> Instant;

    /// Makes sure `registration` is current for `link` (called before
    /// waiting on it).
    fn register(
        &mut self,
        link: &L,
        registration: &mut Option<Self::Registration>,
    ) -> io::Result<()>;

    /// Waits until one of `watched` is ready (setting its `ready`) or
    /// `until` passes.
    fn wait(
        &mut self,
        watched: &mut [Watched<'_, Self::Registration>],
        until: Instant,
    ) -> impl Future<Output = io::Result<()>> + Send;
}

/// What an exchange asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Req {
    /// The number of records of a report.
    Count(&'static CStr),
    /// Record `index` of a report.
    Record(&'static CStr, c_int),
}

impl Req {
    pub(crate) fn report(&self) -> &'static CStr {
        match self {
            Req::Count(r) | Req::Record(r, _) => r,
        }
    }

    pub(crate) fn report_name(&self) -> String {
        self.report().to_string_lossy().into_owned()
    }

    /// The request as a timeout names it.
    pub(crate) fn described(&self) -> String {
        match self {
            Req::Count(_) => "record count".to_string(),
            Req::Record(_, i) => format!("record {i}"),
        }
    }
}

/// The step of an exchange a libchrony error came from (its
/// [`Error::Protocol`] `operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Sending a request.
    Request,
    /// The reply to a count request.
    RecordCount,
    /// The reply to a record request.
    Record,
    /// Opening a session on a socket.
    InitSession,
    /// Waiting for sockets.
    Poll,
}

impl Op {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Op::Request => "request",
            Op::RecordCount => "record count",
            Op::Record => "record",
            Op::InitSession => "init session",
            Op::Poll => "poll",
        }
    }
}

pub(crate) fn is_would_block(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR))
        || e.kind() == io::ErrorKind::WouldBlock
}

/// chronyd's own answers: they end the exchange, on any transport.
pub(crate) fn is_daemon_answer(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Unauthorized
            | ErrorCode::Disabled
            | ErrorCode::OldServer
            | ErrorCode::NewServer
            | ErrorCode::UnexpectedStatus
    )
}

/// Maps a libchrony error of an exchange.
pub(crate) fn map_error(policy: &Policy, req: Req, code: ErrorCode, os: io::Error) -> Error {
    let address = policy.address.clone();
    let report = req.report_name();
    let send_or_recv = matches!(code, ErrorCode::SendFailed | ErrorCode::RecvFailed);
    match code {
        ErrorCode::Unauthorized => Error::Unauthorized { address, report },
        _ if send_or_recv
            && matches!(
                os.raw_os_error(),
                Some(libc::ECONNREFUSED | libc::ENOENT | libc::ENOTCONN)
            ) =>
        {
            Error::Connect {
                address,
                source: os,
            }
        }
        _ if send_or_recv && matches!(os.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            Error::PermissionDenied {
                address,
                source: os,
            }
        }
        _ => {
            let op = match req {
                _ if code == ErrorCode::SendFailed => Op::Request,
                Req::Count(_) => Op::RecordCount,
                Req::Record(..) => Op::Record,
            };
            Error::Protocol {
                operation: op.label(),
                report,
                code,
                message: crate::session::error_string(code),
                os_error: send_or_recv.then_some(os),
            }
        }
    }
}

/// chronyd's "no such source" (a record index past the end): libchrony
/// reports it as an unexpected status on a record request.
pub(crate) fn no_such_record(req: Req, e: &Error) -> bool {
    matches!(req, Req::Record(..))
        && matches!(
            e,
            Error::Protocol {
                code: ErrorCode::UnexpectedStatus,
                ..
            }
        )
}

/// chronyd's "feature off" (`CHRONY_DISABLED`).
pub(crate) fn is_disabled(e: &Error) -> bool {
    matches!(
        e,
        Error::Protocol {
            code: ErrorCode::Disabled,
            ..
        }
    )
}

/// A record count from a link that just received one, checked against
/// [`MAX_RECORDS`].
pub(crate) fn checked_count<L: Link>(policy: &Policy, link: &L, report: &CStr) -> Result<usize> {
    let n = link.record_count();
    match usize::try_from(n) {
        Ok(n) if n <= MAX_RECORDS => Ok(n),
        _ => Err(Error::TooManyRecords {
            address: policy.address.clone(),
            report: report.to_string_lossy().into_owned(),
            // libchrony returns the wire's u32 as an int: undo the sign.
            count: u64::from(n as u32),
            limit: MAX_RECORDS,
        }),
    }
}
