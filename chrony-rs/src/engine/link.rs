//! What the engine needs of libchrony: the [`Link`] of one connection,
//! the requests it sends ([`Req`]) and the steps an error can come from
//! ([`Op`]). [`crate::session::Conn`] is the real link; the engine's tests
//! use a scripted one.

use crate::error::{ErrorCode, Result};
use crate::field::FieldSource;
use std::ffi::{c_int, CStr};
use std::io;

/// What a libchrony call on a link gave: `Err` with the code and the
/// operating system's error right after the call.
pub(crate) type Outcome = std::result::Result<(), (ErrorCode, io::Error)>;

/// The libchrony calls of one connection (a socket with a session on it).
pub(crate) trait Link: Sized + Send + 'static {
    /// What [`Link::open`] needs (for libchrony: the address as it takes
    /// it).
    type Endpoint: Clone + Send + Sync + std::fmt::Debug + 'static;
    /// A view of the record last received.
    type Record<'a>: FieldSource
    where
        Self: 'a;

    /// Opens a connection; `shown` is the address for errors.
    fn open(endpoint: &Self::Endpoint, shown: &str) -> Result<Self>;
    /// The socket a driver watches.
    fn fd(&self) -> c_int;
    /// False when the link must not be used and only dropped (a forked
    /// child's copy of its parent's socket).
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
    /// The library's own text for an error code (what
    /// [`Error::Protocol`](crate::Error::Protocol) shows).
    fn error_string(code: ErrorCode) -> String;
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
