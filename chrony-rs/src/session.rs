//! Every libchrony call of this crate lives here.
//!
//! A [`Session`] owns one libchrony session and its socket. Requests are sent
//! and their responses processed with a deadline: the socket is polled, and
//! on timeout the request is re-sent (libchrony itself has neither timeouts
//! nor retransmission).
//!
//! libchrony formats address strings into one process-wide static buffer.
//! `chrony_get_field_string`, `chrony_get_field_content` (address fields),
//! `chrony_request_record` (ntpdata/authdata address their source by its
//! formatted address) and `chrony_process_response` (which sends that
//! follow-up request) all write it, so they run under [`LIBCHRONY_BUFFER`],
//! and strings are copied out before the lock is released.

use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldContent, FieldSource, FieldType, RawTimespec};
use libchrony_sys as sys;
use std::cell::Cell;
use std::ffi::{c_int, CStr, CString};
use std::io;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Guards libchrony's process-wide address buffer.
static LIBCHRONY_BUFFER: Mutex<()> = Mutex::new(());

/// Deadlines are clamped to this range (a zero deadline would send every
/// attempt at once; a huge one would overflow `Instant`).
const MIN_TIMEOUT: Duration = Duration::from_millis(1);
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 86_400);
/// Retries beyond this are ignored (the slices would be too thin).
const MAX_RETRIES: u32 = 16;
/// Stale datagrams dropped at most by one reset.
const MAX_DRAIN: usize = 1024;

fn is_would_block(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR))
        || e.kind() == io::ErrorKind::WouldBlock
}

fn with_buffer_lock<T>(f: impl FnOnce() -> T) -> T {
    // A panic while holding the lock cannot leave the C buffer in a state
    // that matters (it is rewritten by every call), so poisoning is ignored.
    let _guard = LIBCHRONY_BUFFER.lock().unwrap_or_else(|p| p.into_inner());
    f()
}

/// How the session reaches chronyd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// chronyd's Unix datagram command socket (all reports).
    Unix,
    /// UDP to chronyd's command port (only the reports chronyd serves
    /// remotely).
    Udp,
}

/// One open libchrony session.
pub(crate) struct Session {
    ptr: NonNull<sys::chrony_session>,
    fd: c_int,
    address: String,
    transport: Transport,
    timeout: Duration,
    retries: u32,
    /// A request was abandoned (timeout or error mid-exchange): libchrony's
    /// session still waits for its response, and chronyd may still send it.
    dirty: bool,
}

// SAFETY: libchrony keeps no thread-local state, and its only global mutable
// state (the address buffer) is guarded by LIBCHRONY_BUFFER, so a session may
// move between threads. It is not Sync: requests take `&mut self` and records
// borrow the session.
unsafe impl Send for Session {}

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
    (0..n)
        .filter_map(|i| {
            // SAFETY: i is within 0..count; the result is a static string or NULL.
            let p = unsafe { sys::chrony_get_report_name(i) };
            // SAFETY: non-NULL results point to static NUL-terminated names.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect()
}

impl Session {
    /// Opens the socket and a session. `address` must already be validated
    /// (absolute path, or IP with optional port).
    pub(crate) fn open(
        address: &str,
        transport: Transport,
        timeout: Duration,
        retries: u32,
    ) -> Result<Session> {
        let c_address = CString::new(address).map_err(|_| Error::InvalidAddress {
            address: address.to_string(),
            reason: "contains a NUL byte",
        })?;
        // SAFETY: c_address is a valid NUL-terminated string for the call.
        let fd = unsafe { sys::chrony_open_socket(c_address.as_ptr()) };
        if fd < 0 {
            let source = last_os_error();
            return Err(connect_error(address, source));
        }
        // libchrony's socket blocks; a send to a frozen chronyd whose queue
        // is full would then block forever (with the buffer lock held).
        // Non-blocking, a full queue is EAGAIN and waited for with poll().
        // SAFETY: fd is an open socket owned here; F_GETFL/F_SETFL take ints.
        let nonblocking = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
        };
        if !nonblocking {
            let source = last_os_error();
            // SAFETY: fd came from chrony_open_socket and is closed once here.
            unsafe { sys::chrony_close_socket(fd) };
            return Err(connect_error(address, source));
        }
        let mut ptr: *mut sys::chrony_session = std::ptr::null_mut();
        // SAFETY: &mut ptr is a valid out-pointer; fd is an open socket.
        let err = unsafe { sys::chrony_init_session(&mut ptr, fd) };
        let Some(ptr) = NonNull::new(ptr).filter(|_| err == sys::chrony_err_CHRONY_OK) else {
            // SAFETY: fd came from chrony_open_socket and is closed once here.
            unsafe { sys::chrony_close_socket(fd) };
            let code = ErrorCode::from_raw(err).unwrap_or(ErrorCode::NoMemory);
            return Err(Error::Protocol {
                operation: "init session",
                report: String::new(),
                code,
                message: error_string(code),
                os_error: None,
            });
        };
        Ok(Session {
            dirty: false,
            ptr,
            fd,
            address: address.to_string(),
            transport,
            timeout,
            retries,
        })
    }

    pub(crate) fn transport(&self) -> Transport {
        self.transport
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Requests the number of records of `report` and waits for it.
    pub(crate) fn record_count(&mut self, report: &CStr) -> Result<usize> {
        self.transact(report, None, &|ptr| {
            with_buffer_lock(|| {
                // SAFETY: ptr is a live session; report is NUL-terminated.
                let e = unsafe { sys::chrony_request_report_number_records(ptr, report.as_ptr()) };
                (e, last_os_error())
            })
        })?;
        // SAFETY: the count response has been processed on this live session.
        let n = unsafe { sys::chrony_get_report_number_records(self.ptr.as_ptr()) };
        usize::try_from(n).map_err(|_| Error::Protocol {
            operation: "number of records",
            report: report.to_string_lossy().into_owned(),
            code: ErrorCode::InvalidResponse,
            message: format!("negative record count {n}"),
            os_error: None,
        })
    }

    /// Requests record `index` of `report`, waits for it and returns a view
    /// of its fields.
    pub(crate) fn record<'s>(
        &'s mut self,
        report: &'s CStr,
        index: usize,
    ) -> Result<LiveRecord<'s>> {
        let c_index = c_int::try_from(index).map_err(|_| Error::Protocol {
            operation: "request record",
            report: report.to_string_lossy().into_owned(),
            code: ErrorCode::InvalidArgument,
            message: format!("record index {index} too large"),
            os_error: None,
        })?;
        self.transact(report, Some(index), &|ptr| {
            with_buffer_lock(|| {
                // SAFETY: ptr is a live session; report is NUL-terminated.
                // Runs under the buffer lock: it may format an address.
                let e = unsafe { sys::chrony_request_record(ptr, report.as_ptr(), c_index) };
                (e, last_os_error())
            })
        })?;
        // SAFETY: a record has been received on this live session.
        let n = unsafe { sys::chrony_get_record_number_fields(self.ptr.as_ptr()) };
        let count = usize::try_from(n).unwrap_or(0);
        // Copy the field names out once: name lookups then cost a few string
        // compares in Rust instead of a libchrony index search per field
        // (measured with callgrind on the bench example, 128 sources: the
        // typed path's lookups fell from 130 M to 20 M instructions).
        let mut names = String::new();
        let mut spans = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: live session, i < field count.
            let p = unsafe { sys::chrony_get_field_name(self.ptr.as_ptr(), i as c_int) };
            let start = names.len();
            if !p.is_null() {
                // SAFETY: non-NULL names are NUL-terminated; copied at once.
                names.push_str(&unsafe { CStr::from_ptr(p) }.to_string_lossy());
            }
            spans.push((start, names.len()));
        }
        Ok(LiveRecord {
            session: self,
            report,
            count,
            names,
            spans,
            next: Cell::new(0),
        })
    }

    /// Sends with `send` (given the current session pointer), then processes
    /// responses until libchrony needs no more, within the deadline,
    /// re-sending on silence.
    ///
    /// The deadline is split over the attempts in doubling slices (1, 2, 4,
    /// ... parts, as chronyc doubles its timeout): a lost datagram is re-sent
    /// soon, and the last attempt, which libchrony alone can still accept
    /// (a re-sent request gets a new sequence number), has the longest wait.
    fn transact(
        &mut self,
        report: &CStr,
        index: Option<usize>,
        send: &dyn Fn(*mut sys::chrony_session) -> (sys::chrony_err, io::Error),
    ) -> Result<()> {
        if self.dirty {
            self.reset(report)?;
        }
        // Until the exchange completes, the session counts as abandoned.
        self.dirty = true;
        let result = self.exchange(report, send);
        // An exchange that ended with an error status from chronyd is
        // complete; only one still waiting for a response is abandoned.
        // SAFETY: live session pointer.
        self.dirty = unsafe { sys::chrony_needs_response(self.ptr.as_ptr()) };
        match result {
            Ok(true) => Ok(()),
            Ok(false) => {
                let name = report.to_string_lossy();
                Err(Error::Timeout {
                    address: self.address.clone(),
                    report: name.into_owned(),
                    operation: match index {
                        Some(i) => format!("record {i}"),
                        None => "record count".to_string(),
                    },
                    timeout: self.timeout,
                    call_deadline: false,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The exchange itself: `Ok(true)` when complete, `Ok(false)` when the
    /// deadline passed.
    fn exchange(
        &mut self,
        report: &CStr,
        send: &dyn Fn(*mut sys::chrony_session) -> (sys::chrony_err, io::Error),
    ) -> Result<bool> {
        let start = Instant::now();
        let timeout = self.timeout.clamp(MIN_TIMEOUT, MAX_TIMEOUT);
        let attempts = self.retries.min(MAX_RETRIES) + 1;
        let parts = (1u64 << attempts) - 1;
        for attempt in 1..=attempts {
            let done_parts = (1u64 << attempt) - 1;
            let attempt_end = if attempt == attempts {
                start + timeout
            } else {
                start + timeout.mul_f64(done_parts as f64 / parts as f64)
            };
            // Send; a full socket queue (EAGAIN) is waited out within this
            // attempt's slice. The session pointer is read here, after any
            // reset.
            let mut sent = false;
            while !sent {
                let (err, os) = send(self.ptr.as_ptr());
                if err == sys::chrony_err_CHRONY_SEND_FAILED && is_would_block(&os) {
                    let now = Instant::now();
                    if now >= attempt_end {
                        break;
                    }
                    self.wait(libc::POLLOUT, attempt_end - now)
                        .map_err(|e| self.os_failure(report, e))?;
                    continue;
                }
                self.check(err, os, "request", report)?;
                sent = true;
            }
            if !sent {
                // The queue stayed full for this whole slice: nothing to wait for.
                continue;
            }
            loop {
                // SAFETY: live session pointer.
                if !unsafe { sys::chrony_needs_response(self.ptr.as_ptr()) } {
                    return Ok(true);
                }
                let now = Instant::now();
                if now >= attempt_end {
                    break;
                }
                if !self
                    .wait(libc::POLLIN, attempt_end - now)
                    .map_err(|e| self.os_failure(report, e))?
                {
                    continue;
                }
                let ptr = self.ptr.as_ptr();
                let (err, os) = with_buffer_lock(|| {
                    // SAFETY: live session; the socket is non-blocking, so
                    // the receive inside never blocks. Under the buffer lock:
                    // it may send a follow-up request that formats an address.
                    let e = unsafe { sys::chrony_process_response(ptr) };
                    (e, last_os_error())
                });
                if err == sys::chrony_err_CHRONY_RECV_FAILED && is_would_block(&os) {
                    // Spurious wake-up: libchrony still waits for the response.
                    continue;
                }
                self.check(err, os, "response", report)?;
            }
        }
        Ok(false)
    }

    /// Starts a fresh libchrony session on the same socket after an
    /// abandoned exchange, and drops every datagram already queued (late
    /// replies to abandoned requests). A fresh session also means replies
    /// that arrive later still are ignored: they answer requests it never
    /// sent.
    fn reset(&mut self, report: &CStr) -> Result<()> {
        let mut fresh: *mut sys::chrony_session = std::ptr::null_mut();
        // SAFETY: valid out-pointer; the fd is open and owned by self.
        let err = unsafe { sys::chrony_init_session(&mut fresh, self.fd) };
        let Some(fresh) = NonNull::new(fresh).filter(|_| err == sys::chrony_err_CHRONY_OK) else {
            let code = ErrorCode::from_raw(err).unwrap_or(ErrorCode::NoMemory);
            return Err(Error::Protocol {
                operation: "reset session",
                report: report.to_string_lossy().into_owned(),
                code,
                message: error_string(code),
                os_error: None,
            });
        };
        let old = std::mem::replace(&mut self.ptr, fresh);
        // SAFETY: old came from chrony_init_session and is released once;
        // the fd stays open for the fresh session.
        unsafe { sys::chrony_deinit_session(old.as_ptr()) };
        let mut buf = [0u8; 2048];
        // Bounded: a flood of datagrams must not keep us here.
        for _ in 0..MAX_DRAIN {
            // SAFETY: buf is valid for buf.len() bytes; MSG_DONTWAIT never blocks.
            let n = unsafe {
                libc::recv(
                    self.fd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                // EAGAIN: drained. Other errors (ECONNREFUSED after an ICMP
                // error) show up again at the next request.
                break;
            }
        }
        self.dirty = false;
        Ok(())
    }

    /// Waits until the socket is ready for `events` or `left` passes; false
    /// on timeout.
    fn wait(&self, events: libc::c_short, left: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events,
            revents: 0,
        };
        // Round up so a sub-millisecond remainder still waits.
        let ms = left.as_micros().div_ceil(1000).min(c_int::MAX as u128) as c_int;
        // SAFETY: pfd is a valid pollfd array of length 1 for the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        match r {
            r if r > 0 => Ok(true),
            0 => Ok(false),
            _ => {
                let e = last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    fn os_failure(&self, report: &CStr, e: io::Error) -> Error {
        Error::Protocol {
            operation: "poll",
            report: report.to_string_lossy().into_owned(),
            code: ErrorCode::RecvFailed,
            message: e.to_string(),
            os_error: Some(e),
        }
    }

    fn check(
        &self,
        err: sys::chrony_err,
        os: io::Error,
        operation: &'static str,
        report: &CStr,
    ) -> Result<()> {
        let Some(code) = ErrorCode::from_raw(err) else {
            return Ok(());
        };
        let report = report.to_string_lossy().into_owned();
        Err(match code {
            ErrorCode::Unauthorized => Error::Unauthorized {
                address: self.address.clone(),
                report,
            },
            ErrorCode::SendFailed | ErrorCode::RecvFailed
                if matches!(
                    os.raw_os_error(),
                    Some(libc::ECONNREFUSED | libc::ENOENT | libc::ENOTCONN)
                ) =>
            {
                Error::Connect {
                    address: self.address.clone(),
                    source: os,
                }
            }
            ErrorCode::SendFailed | ErrorCode::RecvFailed
                if matches!(os.raw_os_error(), Some(libc::EACCES | libc::EPERM)) =>
            {
                Error::PermissionDenied {
                    address: self.address.clone(),
                    source: os,
                }
            }
            ErrorCode::SendFailed | ErrorCode::RecvFailed => Error::Protocol {
                operation,
                report,
                code,
                message: error_string(code),
                os_error: Some(os),
            },
            _ => Error::Protocol {
                operation,
                report,
                code,
                message: error_string(code),
                os_error: None,
            },
        })
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

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: ptr came from chrony_init_session and is deinitialized
        // once; the fd came from chrony_open_socket and is closed once (this
        // also removes the client's socket and directories).
        unsafe {
            sys::chrony_deinit_session(self.ptr.as_ptr());
            sys::chrony_close_socket(self.fd);
        }
    }
}

/// The record last received on a session, read in place.
pub(crate) struct LiveRecord<'s> {
    session: &'s Session,
    report: &'s CStr,
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
        self.session.ptr.as_ptr()
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

    fn timespec(&self, index: usize) -> RawTimespec {
        let Some(i) = self.idx(index) else {
            return RawTimespec::default();
        };
        // SAFETY: live session, index < field count.
        let t = unsafe { sys::chrony_get_field_timespec(self.ptr(), i) };
        RawTimespec {
            secs: t.tv_sec,
            nanos: t.tv_nsec,
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
