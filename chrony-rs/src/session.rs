//! The exchange engine: every libchrony call of this crate lives here.
//!
//! A [`Conn`] is one socket with one libchrony session. An [`Exchange`] is
//! one request (a record count or one record) and its attempts; a
//! [`Batch`] runs many exchanges at once, one per slot of a client. None of
//! them waits: a driver (the blocking one in [`crate::client`], or the tokio
//! one) asks which sockets to watch and until when ([`Batch::watch`],
//! [`Batch::next_timer`]), waits its own way, and reports back
//! ([`Batch::on_readable`], [`Batch::on_timer`]). Both drivers therefore
//! share one set of rules for re-sends, deadlines and bad datagrams:
//!
//! - **Attempts stay alive.** libchrony draws a new sequence number for
//!   every request, so a re-send on the same session would make it ignore
//!   the reply to the earlier attempt. A re-send therefore goes out on a
//!   fresh socket and session, while the earlier ones keep listening; the
//!   first valid reply wins and the other attempts' sockets are closed (a
//!   late reply then has nowhere to go: nothing is left to drain).
//! - **Schedule as chronyc.** The first attempt waits `timeout`; each
//!   re-send doubles the wait; after `retries` re-sends the last wait ends
//!   the exchange. The call's deadline ends everything earlier.
//! - **Bad datagrams are lost datagrams** (UDP): a datagram libchrony
//!   ignores keeps the attempt waiting; a reply it rejects as invalid (too
//!   short for its report) ends that attempt only, and a new one is sent at
//!   once. Over the Unix socket an invalid reply is an error.
//! - **chronyd's answers end the exchange**: unauthorized, disabled, old or
//!   new server, an unexpected status.
//! - **A failed send is a lost datagram** (a full socket queue, `EAGAIN`,
//!   also for the follow-up request libchrony sends from inside
//!   `chrony_process_response`).
//!
//! libchrony formats address strings into one process-wide static buffer;
//! the four functions that write it run under
//! [`libchrony_sys::BUFFER_LOCK`], and strings are copied out before the
//! lock is released.

use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldContent, FieldSource, FieldType, RawTimespec};
use libchrony_sys as sys;
use std::any::Any;
use std::cell::Cell;
use std::ffi::{c_int, CStr};
use std::io;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// Per-attempt waits are clamped to this range (a zero wait would send
/// every attempt at once; a huge one would overflow `Instant`).
const MIN_WAIT: Duration = Duration::from_millis(1);
const MAX_WAIT: Duration = Duration::from_secs(30 * 86_400);
/// Re-sends beyond this are ignored (each keeps a socket open).
pub(crate) const MAX_RETRIES: u32 = 16;
/// Immediate re-sends after invalid replies, per exchange, beyond the
/// scheduled ones (a daemon that only ever sends short replies must not
/// make us spin).
const MAX_INVALID_RESENDS: u32 = 16;
/// Datagrams processed at most per readiness event of one socket.
const MAX_DRAIN: usize = 256;
/// More fields than any report has: a larger count is not trusted.
const MAX_FIELDS: usize = 1024;

fn is_would_block(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR))
        || e.kind() == io::ErrorKind::WouldBlock
}

fn with_buffer_lock<T>(f: impl FnOnce() -> T) -> T {
    let _guard = sys::lock_buffer();
    f()
}

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
    /// The address as given to libchrony.
    pub(crate) address: String,
    pub(crate) transport: Transport,
    /// The first attempt's wait; doubled per re-send.
    pub(crate) timeout: Duration,
    /// Re-sends after the first attempt.
    pub(crate) retries: u32,
}

impl Policy {
    /// How long one exchange may take with all its attempts:
    /// `timeout × (2^(retries+1) − 1)`.
    pub(crate) fn exchange_bound(&self) -> Duration {
        let mut total = Duration::ZERO;
        let mut wait = self.first_wait();
        for _ in 0..=self.retries.min(MAX_RETRIES) {
            total = total.saturating_add(wait);
            wait = wait.saturating_mul(2).min(MAX_WAIT);
        }
        total
    }

    fn first_wait(&self) -> Duration {
        self.timeout.clamp(MIN_WAIT, MAX_WAIT)
    }
}

fn last_os_error() -> io::Error {
    io::Error::last_os_error()
}

/// libchrony's text for an error code.
pub(crate) fn error_string(code: ErrorCode) -> String {
    // SAFETY: chrony_get_error_string accepts any value and returns a pointer
    // to a static string (or NULL); it touches no shared mutable state.
    let p = unsafe { sys::chrony_get_error_string(code.raw() as sys::chrony_err) };
    if p.is_null() {
        return String::from("unknown error");
    }
    // SAFETY: non-NULL pointers from chrony_get_error_string are static,
    // NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Names of all reports libchrony supports, in its order.
pub(crate) fn supported_reports() -> Vec<String> {
    // SAFETY: no arguments; returns a count.
    let n = unsafe { sys::chrony_get_number_supported_reports() };
    (0..n.clamp(0, 1024))
        .filter_map(|i| {
            // SAFETY: i is within 0..count; the result is a static string or NULL.
            let p = unsafe { sys::chrony_get_report_name(i) };
            // SAFETY: non-NULL results point to static NUL-terminated names.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect()
}

/// One socket with one libchrony session on it.
pub(crate) struct Conn {
    ptr: NonNull<sys::chrony_session>,
    fd: c_int,
    /// Issue 17 hook (fdsafe): the process that opened the socket.
    owner: crate::fdsafe::Owner,
    /// A driver's registration of `fd` (the tokio driver keeps its
    /// `AsyncFd` here). Dropped before the socket is closed, so it never
    /// outlives the descriptor it watches.
    pub(crate) reactor: Option<Box<dyn Any + Send + Sync>>,
}

// SAFETY: libchrony keeps no thread-local state, and its only global mutable
// state (the address buffer) is guarded by BUFFER_LOCK, so a session may
// move between threads. It is not Sync: every use takes `&mut self` or
// borrows it for a record view.
unsafe impl Send for Conn {}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("fd", &self.fd)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Opens a socket to `address` (an absolute path or IP[:port], as
    /// libchrony takes it) and a session on it. The socket is made
    /// non-blocking: a frozen chronyd's full queue is then `EAGAIN`, never
    /// a blocked thread.
    pub(crate) fn open(address: &CStr, shown: &str) -> Result<Conn> {
        // Issue 17 hook (fdsafe): the socket is made close-on-exec and
        // non-blocking from its creation, in libchrony's layout, and no
        // SpawnGuard is held meanwhile.
        let _opening = crate::fdsafe::opening();
        let owner = crate::fdsafe::Owner::current();
        let fd = crate::fdsafe::open_socket(address).map_err(|e| connect_error(shown, e))?;
        let mut ptr: *mut sys::chrony_session = std::ptr::null_mut();
        // Issue 17 hook (fdsafe): the /dev/urandom FILE it opens is marked
        // close-on-exec.
        // SAFETY: &mut ptr is a valid out-pointer; fd is an open socket.
        let err =
            crate::fdsafe::init_session(fd, || unsafe { sys::chrony_init_session(&mut ptr, fd) });
        let Some(ptr) = NonNull::new(ptr).filter(|_| err == sys::chrony_err_CHRONY_OK) else {
            crate::fdsafe::close_socket(fd, owner);
            let code = ErrorCode::from_raw(err).unwrap_or(ErrorCode::NoMemory);
            return Err(Error::Protocol {
                operation: "init session",
                report: String::new(),
                code,
                message: error_string(code),
                os_error: None,
            });
        };
        Ok(Conn {
            ptr,
            fd,
            owner,
            reactor: None,
        })
    }

    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn fd(&self) -> c_int {
        self.fd
    }

    fn needs_response(&self) -> bool {
        // SAFETY: live session pointer.
        unsafe { sys::chrony_needs_response(self.ptr.as_ptr()) }
    }

    /// Sends `req`. Runs under the buffer lock: a record request for
    /// ntpdata/authdata formats the source's address.
    fn send(&mut self, req: Req) -> (sys::chrony_err, io::Error) {
        let ptr = self.ptr.as_ptr();
        with_buffer_lock(|| {
            let e = match req {
                // SAFETY: live session; the report name is a 'static C string.
                Req::Count(r) => unsafe {
                    sys::chrony_request_report_number_records(ptr, r.as_ptr())
                },
                // SAFETY: live session; the report name is a 'static C string,
                // which libchrony may keep until the follow-up is sent.
                Req::Record(r, i) => unsafe { sys::chrony_request_record(ptr, r.as_ptr(), i) },
            };
            (e, last_os_error())
        })
    }

    /// Processes one datagram (the socket is non-blocking).
    fn process(&mut self) -> (sys::chrony_err, io::Error) {
        let ptr = self.ptr.as_ptr();
        with_buffer_lock(|| {
            // SAFETY: live session; the socket is non-blocking, so the
            // receive inside never blocks. Under the buffer lock: it may send
            // a follow-up request that formats an address.
            let e = unsafe { sys::chrony_process_response(ptr) };
            (e, last_os_error())
        })
    }

    /// The record count of the last count reply.
    fn record_count(&self) -> i64 {
        // SAFETY: live session; returns a plain int.
        i64::from(unsafe { sys::chrony_get_report_number_records(self.ptr.as_ptr()) })
    }

    /// A view of the record last received on this session.
    pub(crate) fn record(&self, report: &'static CStr) -> LiveRecord<'_> {
        // SAFETY: live session; returns a plain int.
        let n = unsafe { sys::chrony_get_record_number_fields(self.ptr.as_ptr()) };
        let count = usize::try_from(n).unwrap_or(0).min(MAX_FIELDS);
        // Copy the field names out once: name lookups then cost a few string
        // compares in Rust instead of a libchrony index search per field
        // (measured with callgrind on the bench example, 128 sources: the
        // typed path's lookups fell from 130 M to 20 M instructions).
        let mut names = String::new();
        let mut spans = Vec::with_capacity(count);
        for i in 0..count {
            // count <= MAX_FIELDS, so i fits a c_int.
            // SAFETY: live session, i < field count.
            let p = unsafe { sys::chrony_get_field_name(self.ptr.as_ptr(), i as c_int) };
            let start = names.len();
            if !p.is_null() {
                // SAFETY: non-NULL names are static NUL-terminated strings.
                names.push_str(&unsafe { CStr::from_ptr(p) }.to_string_lossy());
            }
            spans.push((start, names.len()));
        }
        LiveRecord {
            conn: self,
            report,
            count,
            names,
            spans,
            next: Cell::new(0),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The driver's registration goes first, while the fd is still open.
        drop(self.reactor.take());
        // SAFETY: ptr came from chrony_init_session and is deinitialized
        // once; the fd is closed once below (which in the opening process
        // also removes the client's socket and directories).
        unsafe { sys::chrony_deinit_session(self.ptr.as_ptr()) };
        // Issue 17 hook (fdsafe): in a forked child, only the descriptor.
        crate::fdsafe::close_socket(self.fd, self.owner);
    }
}

fn connect_error(address: &str, source: io::Error) -> Error {
    match source.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => Error::PermissionDenied {
            address: address.to_string(),
            source,
        },
        _ => Error::Connect {
            address: address.to_string(),
            source,
        },
    }
}

/// One request.
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

    fn report_name(&self) -> String {
        self.report().to_string_lossy().into_owned()
    }

    fn operation(&self) -> String {
        match self {
            Req::Count(_) => "record count".to_string(),
            Req::Record(_, i) => format!("record {i}"),
        }
    }
}

/// Where an exchange stands.
#[derive(Debug)]
pub(crate) enum Status {
    /// Still waiting.
    Pending,
    /// A valid reply arrived on this connection.
    Done(Conn),
    /// Failed for good.
    Failed(Error),
    /// chronyd answered with an error status (unauthorized, disabled, ...):
    /// the exchange is over, and the session that got the answer is idle
    /// and healthy.
    Refused(Error, Conn),
}

/// Where an attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttemptState {
    /// Its request is in flight: waiting for the reply.
    Live,
    /// Its send found the socket queue full (`EAGAIN`): waiting until the
    /// socket is writable to send again.
    Unsent,
    /// Over: its reply was invalid. The socket may carry a new attempt.
    Over,
}

/// One attempt: a connection and where its request stands.
#[derive(Debug)]
struct Attempt {
    conn: Conn,
    state: AttemptState,
    /// For an unsent attempt: when to try the send again even without a
    /// writability event (a Unix datagram socket whose peer's queue is full
    /// raises none for an edge-triggered poller such as tokio's), and the
    /// growing pause between tries.
    retry_at: Instant,
    backoff: Duration,
    /// Its socket may hold more datagrams than one turn read.
    undrained: bool,
}

/// The first pause before an unsent request is tried again; doubled up to
/// [`MAX_SEND_BACKOFF`].
const SEND_BACKOFF: Duration = Duration::from_millis(1);
const MAX_SEND_BACKOFF: Duration = Duration::from_millis(32);

/// What a driver waits for on a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// A datagram to read.
    Read,
    /// Room in the socket queue.
    Write,
}

/// One request and its attempts.
#[derive(Debug)]
pub(crate) struct Exchange {
    req: Req,
    attempts: Vec<Attempt>,
    /// Scheduled attempts sent so far.
    sent: u32,
    invalid_resends: u32,
    /// The current attempt's wait.
    wait: Duration,
    /// When the next attempt goes out (or, after the last, when the
    /// exchange fails).
    next: Instant,
}

/// What starting an exchange gave.
#[derive(Debug)]
pub(crate) enum Started {
    /// Sent; waiting for the reply.
    Pending(Exchange),
    /// libchrony answered without asking chronyd (a single-record report's
    /// count, a reference clock's empty ntpdata/authdata record).
    Done(Conn),
}

impl Exchange {
    /// Sends the first attempt of `req` on `conn` (opening one when
    /// `None`).
    pub(crate) fn start(
        policy: &Policy,
        c_address: &CStr,
        conn: Option<Conn>,
        req: Req,
        now: Instant,
    ) -> Result<Started> {
        let conn = match conn {
            // Issue 17 hook (fdsafe): never a session of another process.
            Some(c) if c.owner.is_current() => c,
            _ => Conn::open(c_address, &policy.address)?,
        };
        let wait = policy.first_wait();
        let mut ex = Exchange {
            req,
            attempts: Vec::with_capacity(1),
            sent: 1,
            invalid_resends: 0,
            wait,
            next: now + wait,
        };
        Ok(match ex.send_on(policy, conn)? {
            Some(done) => Started::Done(done),
            None => Started::Pending(ex),
        })
    }

    /// When the next attempt is due (or the exchange fails), or an unsent
    /// request is tried again, whichever comes first.
    pub(crate) fn next_timer(&self) -> Instant {
        let now = Instant::now();
        self.attempts
            .iter()
            .filter_map(|a| match a.state {
                AttemptState::Unsent => Some(a.retry_at),
                AttemptState::Live if a.undrained => Some(now),
                _ => None,
            })
            .fold(self.next, Instant::min)
    }

    /// The sockets to watch, and for what.
    pub(crate) fn watch(&self) -> impl Iterator<Item = (c_int, Interest)> + '_ {
        self.attempts.iter().filter_map(|a| match a.state {
            AttemptState::Live => Some((a.conn.fd, Interest::Read)),
            AttemptState::Unsent => Some((a.conn.fd, Interest::Write)),
            AttemptState::Over => None,
        })
    }

    /// The connections to watch, and for what (for a driver that keeps
    /// registrations in [`Conn::reactor`]).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn watch_conns(&self) -> impl Iterator<Item = (&Conn, Interest)> + '_ {
        self.attempts.iter().filter_map(|a| match a.state {
            AttemptState::Live => Some((&a.conn, Interest::Read)),
            AttemptState::Unsent => Some((&a.conn, Interest::Write)),
            AttemptState::Over => None,
        })
    }

    /// Every connection of the exchange (for a driver's registrations).
    pub(crate) fn conns_mut(&mut self) -> impl Iterator<Item = &mut Conn> + '_ {
        self.attempts.iter_mut().map(|a| &mut a.conn)
    }

    /// Sends the request on `conn` as a new attempt: `Some(conn)` when
    /// libchrony answered it locally. A send that fails with `EAGAIN` is a
    /// lost datagram; other failures end the exchange.
    fn send_on(&mut self, policy: &Policy, conn: Conn) -> Result<Option<Conn>> {
        self.attempts.push(Attempt {
            conn,
            state: AttemptState::Unsent,
            retry_at: Instant::now(),
            backoff: SEND_BACKOFF,
            undrained: false,
        });
        let i = self.attempts.len() - 1;
        self.send_attempt(policy, i)
    }

    /// (Re-)sends the request of attempt `i`: `Some(conn)` (the attempt
    /// removed) when libchrony answered it locally.
    fn send_attempt(&mut self, policy: &Policy, i: usize) -> Result<Option<Conn>> {
        let a = &mut self.attempts[i];
        let (err, os) = a.conn.send(self.req);
        a.state = match ErrorCode::from_raw(err) {
            None if !a.conn.needs_response() => {
                return Ok(Some(self.attempts.swap_remove(i).conn));
            }
            None => AttemptState::Live,
            // The socket queue is full (a busy or frozen chronyd): send
            // again when it has room, or after a growing pause.
            Some(ErrorCode::SendFailed) if is_would_block(&os) => {
                a.retry_at = Instant::now() + a.backoff;
                a.backoff = (a.backoff * 2).min(MAX_SEND_BACKOFF);
                AttemptState::Unsent
            }
            Some(code) => return Err(map_error(policy, self.req, code, os)),
        };
        Ok(None)
    }

    /// Sends the attempts waiting on a full queue whose socket `fd` has
    /// room now.
    pub(crate) fn on_writable(&mut self, policy: &Policy, fd: c_int) -> Status {
        let Some(i) = self
            .attempts
            .iter()
            .position(|a| a.state == AttemptState::Unsent && a.conn.fd == fd)
        else {
            return Status::Pending;
        };
        match self.send_attempt(policy, i) {
            Ok(Some(done)) => Status::Done(done),
            Ok(None) => Status::Pending,
            Err(e) => Status::Failed(e),
        }
    }

    /// Processes the datagrams waiting on `fd`.
    pub(crate) fn on_readable(&mut self, policy: &Policy, c_address: &CStr, fd: c_int) -> Status {
        let Some(i) = self
            .attempts
            .iter()
            .position(|a| a.state == AttemptState::Live && a.conn.fd == fd)
        else {
            return Status::Pending;
        };
        self.attempts[i].undrained = false;
        for _ in 0..MAX_DRAIN {
            let (err, os) = self.attempts[i].conn.process();
            match ErrorCode::from_raw(err) {
                None => {
                    if !self.attempts[i].conn.needs_response() {
                        // The first valid reply wins; the other attempts'
                        // sockets close with the exchange.
                        return Status::Done(self.attempts.swap_remove(i).conn);
                    }
                    // Ignored (wrong sequence, garbage) or a follow-up
                    // request sent: keep reading.
                }
                Some(ErrorCode::RecvFailed) if is_would_block(&os) => return Status::Pending,
                Some(ErrorCode::InvalidResponse) if policy.transport == Transport::Udp => {
                    // A mangled reply is a lost datagram: this attempt is
                    // over, a new one goes out at once.
                    self.attempts[i].state = AttemptState::Over;
                    return self.resend_now(policy, c_address);
                }
                Some(ErrorCode::SendFailed) if is_would_block(&os) => {
                    // libchrony's own follow-up request did not go out:
                    // send the request again when the socket has room.
                    let a = &mut self.attempts[i];
                    a.state = AttemptState::Unsent;
                    a.retry_at = Instant::now() + a.backoff;
                    a.backoff = (a.backoff * 2).min(MAX_SEND_BACKOFF);
                    return Status::Pending;
                }
                Some(code) if is_daemon_answer(code) => {
                    let conn = self.attempts.swap_remove(i).conn;
                    return Status::Refused(map_error(policy, self.req, code, os), conn);
                }
                Some(code) => return Status::Failed(map_error(policy, self.req, code, os)),
            }
        }
        // Datagrams may still be queued: read on at the next turn (an
        // edge-triggered poller raises no new event for them).
        self.attempts[i].undrained = true;
        Status::Pending
    }

    fn resend_now(&mut self, policy: &Policy, c_address: &CStr) -> Status {
        if self.invalid_resends >= MAX_INVALID_RESENDS {
            // Leave it to the schedule.
            return Status::Pending;
        }
        self.invalid_resends += 1;
        self.new_attempt(policy, c_address)
    }

    fn new_attempt(&mut self, policy: &Policy, c_address: &CStr) -> Status {
        // Reuse a finished attempt's socket when there is one: its session
        // accepts nothing but the reply to its newest request.
        let conn = match self
            .attempts
            .iter()
            .position(|a| a.state == AttemptState::Over)
        {
            Some(i) => self.attempts.swap_remove(i).conn,
            None => match Conn::open(c_address, &policy.address) {
                Ok(c) => c,
                // Earlier attempts still listen: a socket that cannot be
                // opened now (no descriptors left, a directory being
                // replaced) is one lost datagram, not the end.
                Err(_) if self.attempts.iter().any(|a| a.state != AttemptState::Over) => {
                    return Status::Pending
                }
                Err(e) => return Status::Failed(e),
            },
        };
        match self.send_on(policy, conn) {
            Ok(Some(done)) => Status::Done(done),
            Ok(None) => Status::Pending,
            Err(e) => Status::Failed(e),
        }
    }

    /// Re-sends when the current attempt's wait is over; fails after the
    /// last one.
    pub(crate) fn on_timer(&mut self, policy: &Policy, c_address: &CStr, now: Instant) -> Status {
        let undrained: Vec<c_int> = self
            .attempts
            .iter()
            .filter(|a| a.state == AttemptState::Live && a.undrained)
            .map(|a| a.conn.fd)
            .collect();
        for fd in undrained {
            let status = self.on_readable(policy, c_address, fd);
            if !matches!(status, Status::Pending) {
                return status;
            }
        }
        let mut i = 0;
        while i < self.attempts.len() {
            let a = &self.attempts[i];
            if a.state == AttemptState::Unsent && a.retry_at <= now {
                match self.send_attempt(policy, i) {
                    Ok(Some(done)) => return Status::Done(done),
                    Ok(None) => {}
                    Err(e) => return Status::Failed(e),
                }
            }
            i += 1;
        }
        if now < self.next {
            return Status::Pending;
        }
        if self.sent > policy.retries.min(MAX_RETRIES) {
            return Status::Failed(Error::Timeout {
                address: policy.address.clone(),
                report: self.req.report_name(),
                operation: self.req.operation(),
                timeout: policy.exchange_bound(),
                call_deadline: false,
            });
        }
        self.sent += 1;
        self.wait = self.wait.saturating_mul(2).min(MAX_WAIT);
        self.next = now + self.wait;
        self.new_attempt(policy, c_address)
    }
}

/// chronyd's own answers: they end the exchange, on any transport.
fn is_daemon_answer(code: ErrorCode) -> bool {
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
fn map_error(policy: &Policy, req: Req, code: ErrorCode, os: io::Error) -> Error {
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
        _ => Error::Protocol {
            operation: match (req, send_or_recv) {
                (_, true) if code == ErrorCode::SendFailed => "request",
                (Req::Count(_), _) => "record count",
                (Req::Record(..), _) => "record",
            },
            report,
            code,
            message: error_string(code),
            os_error: send_or_recv.then_some(os),
        },
    }
}

/// The record last received on a connection, read in place.
pub(crate) struct LiveRecord<'s> {
    conn: &'s Conn,
    report: &'static CStr,
    count: usize,
    /// All field names, concatenated; `spans[i]` delimits name `i`.
    names: String,
    spans: Vec<(usize, usize)>,
    /// Where the next name lookup starts: models read fields mostly in
    /// record order, so a lookup usually matches at once.
    next: Cell<usize>,
}

impl LiveRecord<'_> {
    fn ptr(&self) -> *mut sys::chrony_session {
        self.conn.ptr.as_ptr()
    }

    fn name_at(&self, index: usize) -> &str {
        let (a, b) = self.spans[index];
        &self.names[a..b]
    }

    /// The index as a C int, `None` when out of range: getters then return
    /// libchrony's defaults (0, NULL) without calling it.
    fn idx(&self, index: usize) -> Option<c_int> {
        if index < self.count {
            c_int::try_from(index).ok()
        } else {
            None
        }
    }
}

impl FieldSource for LiveRecord<'_> {
    fn report_name(&self) -> &str {
        self.report.to_str().unwrap_or("?")
    }

    fn field_count(&self) -> usize {
        self.count
    }

    fn field_index(&self, name: &str) -> Option<usize> {
        let start = self.next.get().min(self.count);
        let found = (start..self.count)
            .chain(0..start)
            .find(|&i| self.name_at(i) == name)?;
        self.next.set(found + 1);
        Some(found)
    }

    fn field_name(&self, index: usize) -> Option<String> {
        (index < self.count).then(|| self.name_at(index).to_string())
    }

    fn field_type(&self, index: usize) -> FieldType {
        let Some(i) = self.idx(index) else {
            return FieldType::None;
        };
        // SAFETY: live session, index < field count.
        FieldType::from_raw(unsafe { sys::chrony_get_field_type(self.ptr(), i) })
    }

    fn field_content(&self, index: usize) -> FieldContent {
        let Some(i) = self.idx(index) else {
            return FieldContent::None;
        };
        let ptr = self.ptr();
        // SAFETY: live session, index < field count; under the buffer lock
        // because address fields are formatted into the shared buffer.
        FieldContent::from_raw(with_buffer_lock(|| unsafe {
            sys::chrony_get_field_content(ptr, i)
        }))
    }

    fn uinteger(&self, index: usize) -> u64 {
        let Some(i) = self.idx(index) else {
            return 0;
        };
        // SAFETY: live session, index < field count.
        unsafe { sys::chrony_get_field_uinteger(self.ptr(), i) }
    }

    fn integer(&self, index: usize) -> i64 {
        let Some(i) = self.idx(index) else {
            return 0;
        };
        // SAFETY: live session, index < field count.
        unsafe { sys::chrony_get_field_integer(self.ptr(), i) }
    }

    fn float(&self, index: usize) -> f64 {
        let Some(i) = self.idx(index) else {
            return 0.0;
        };
        // SAFETY: live session, index < field count.
        unsafe { sys::chrony_get_field_float(self.ptr(), i) }
    }

    // time_t and c_long are i64 here but 32-bit on some targets.
    #[allow(clippy::useless_conversion)]
    fn timespec(&self, index: usize) -> RawTimespec {
        let Some(i) = self.idx(index) else {
            return RawTimespec::default();
        };
        // SAFETY: live session, index < field count.
        let t = unsafe { sys::chrony_get_field_timespec(self.ptr(), i) };
        // time_t and c_long are 32-bit on some targets: widen explicitly.
        RawTimespec {
            secs: i64::from(t.tv_sec),
            nanos: i64::from(t.tv_nsec),
        }
    }

    fn string(&self, index: usize) -> Option<Vec<u8>> {
        let i = self.idx(index)?;
        let ptr = self.ptr();
        with_buffer_lock(|| {
            // SAFETY: live session, index < field count; under the buffer lock.
            let p = unsafe { sys::chrony_get_field_string(ptr, i) };
            // SAFETY: non-NULL results are NUL-terminated and valid until the
            // next libchrony call; copied before the lock is released.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
        })
    }

    fn constant_name(&self, index: usize, value: u64) -> Option<String> {
        let i = self.idx(index)?;
        // SAFETY: live session, index < field count; returns a static string or NULL.
        let p = unsafe { sys::chrony_get_field_constant_name(self.ptr(), i, value) };
        // SAFETY: non-NULL results are static NUL-terminated strings.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Reads a record count from a connection that just received one, checked
/// against [`MAX_RECORDS`](crate::MAX_RECORDS).
pub(crate) fn checked_count(policy: &Policy, conn: &Conn, report: &CStr) -> Result<usize> {
    let n = conn.record_count();
    match usize::try_from(n) {
        Ok(n) if n <= crate::MAX_RECORDS => Ok(n),
        _ => Err(Error::TooManyRecords {
            address: policy.address.clone(),
            report: report.to_string_lossy().into_owned(),
            // libchrony returns the wire's u32 as an int: undo the sign.
            count: u64::from(n as u32),
            limit: crate::MAX_RECORDS,
        }),
    }
}
