//! Every libchrony call of this crate: [`Conn`], the engine's [`Link`]
//! to chronyd (one socket with one libchrony session on it), the view of a
//! received record ([`LiveRecord`]), and libchrony's static tables.
//!
//! libchrony formats address strings into one process-wide static buffer;
//! the four functions that write it run under
//! [`libchrony_sys::BUFFER_LOCK`], and strings are copied out before the
//! lock is released.

use crate::engine::{Link, Op, Outcome, Req};
use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldContent, FieldSource, FieldType, RawTimespec};
use libchrony_sys as sys;
use std::cell::Cell;
use std::ffi::{c_int, CStr, CString};
use std::io;
use std::ptr::NonNull;

/// More fields than any report has: a larger count is not trusted.
const MAX_FIELDS: usize = 1024;

fn with_buffer_lock<T>(f: impl FnOnce() -> T) -> T {
    let _guard = sys::lock_buffer();
    f()
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

/// A libchrony result with the operating system's error of the call.
fn outcome(err: sys::chrony_err) -> Outcome {
    match ErrorCode::from_raw(err) {
        None => Ok(()),
        Some(code) => Err((code, last_os_error())),
    }
}

/// One socket with one libchrony session on it.
pub(crate) struct Conn {
    ptr: NonNull<sys::chrony_session>,
    fd: c_int,
    /// The process that opened the socket (see `fdsafe`).
    owner: crate::fdsafe::Owner,
    /// The allocation of a record view's field names, kept between
    /// records (a view takes it and gives it back when dropped).
    names: Cell<Vec<&'static [u8]>>,
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

impl Link for Conn {
    type Endpoint = CString;
    type Record<'a> = LiveRecord<'a>;

    /// Opens a socket to `address` (an absolute path or IP[:port], as
    /// libchrony takes it) and a session on it. The socket is made
    /// non-blocking: a frozen chronyd's full queue is then `EAGAIN`, never
    /// a blocked thread.
    fn open(address: &CString, shown: &str) -> Result<Conn> {
        // The socket is made close-on-exec and non-blocking from its
        // creation, in libchrony's layout, and no SpawnGuard is held
        // meanwhile (see `fdsafe`).
        let _opening = crate::fdsafe::opening();
        let owner = crate::fdsafe::Owner::current();
        let mut ptr: *mut sys::chrony_session = std::ptr::null_mut();
        // The /dev/urandom FILE it opens is marked close-on-exec. The OS
        // error is taken at once, before the marking's system calls.
        let (fd, (err, os)) = crate::fdsafe::open_session(address, |fd| {
            // SAFETY: &mut ptr is a valid out-pointer; fd is an open socket.
            let err = unsafe { sys::chrony_init_session(&mut ptr, fd) };
            (err, last_os_error())
        })
        .map_err(|e| connect_error(shown, e))?;
        let Some(ptr) = NonNull::new(ptr).filter(|_| err == sys::chrony_err_CHRONY_OK) else {
            crate::fdsafe::close_socket(fd, owner);
            let code = ErrorCode::from_raw(err).unwrap_or(ErrorCode::NoMemory);
            if matches!(code, ErrorCode::NoRandom | ErrorCode::NoMemory) {
                // libchrony opens /dev/urandom for every session: out of
                // descriptors, that is CHRONY_NO_RANDOM.
                let what = match code {
                    ErrorCode::NoRandom => "libchrony could not open /dev/urandom",
                    _ => "libchrony could not allocate a session",
                };
                return Err(Error::ResourceExhausted {
                    address: shown.to_string(),
                    cause: format!("{what} ({}, {})", code.name(), errno_name(&os)),
                    source: os,
                });
            }
            return Err(Error::Protocol {
                operation: Op::InitSession.label(),
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
            names: Cell::new(Vec::new()),
        })
    }

    fn fd(&self) -> c_int {
        self.fd
    }

    /// A session of another process (a forked child's copy) is never
    /// used.
    fn is_usable(&self) -> bool {
        self.owner.is_current()
    }

    fn needs_response(&self) -> bool {
        // SAFETY: live session pointer.
        unsafe { sys::chrony_needs_response(self.ptr.as_ptr()) }
    }

    /// Sends `req`. Runs under the buffer lock: a record request for
    /// ntpdata/authdata formats the source's address.
    fn send(&mut self, req: Req) -> Outcome {
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
            outcome(e)
        })
    }

    /// Processes one datagram (the socket is non-blocking).
    fn process(&mut self) -> Outcome {
        let ptr = self.ptr.as_ptr();
        with_buffer_lock(|| {
            // SAFETY: live session; the socket is non-blocking, so the
            // receive inside never blocks. Under the buffer lock: it may send
            // a follow-up request that formats an address.
            let e = unsafe { sys::chrony_process_response(ptr) };
            outcome(e)
        })
    }

    fn error_string(code: ErrorCode) -> String {
        error_string(code)
    }

    /// The record count of the last count reply.
    fn record_count(&self) -> i64 {
        // SAFETY: live session; returns a plain int.
        i64::from(unsafe { sys::chrony_get_report_number_records(self.ptr.as_ptr()) })
    }

    /// A view of the record last received on this session.
    fn record(&self, report: &'static CStr) -> LiveRecord<'_> {
        // SAFETY: live session; returns a plain int.
        let n = unsafe { sys::chrony_get_record_number_fields(self.ptr.as_ptr()) };
        let count = usize::try_from(n).unwrap_or(0).min(MAX_FIELDS);
        // Take the field names once: name lookups then cost a few byte
        // compares in Rust instead of a libchrony index search per field.
        // The names are libchrony's static strings: borrowed, not copied.
        let mut names = self.names.take();
        names.clear();
        names.reserve(count);
        for i in 0..count {
            // count <= MAX_FIELDS, so i fits a c_int.
            // SAFETY: live session, i < field count.
            let p = unsafe { sys::chrony_get_field_name(self.ptr.as_ptr(), i as c_int) };
            names.push(if p.is_null() {
                &[][..]
            } else {
                // SAFETY: non-NULL names are static NUL-terminated strings
                // (libchrony's field tables), valid for the whole program.
                unsafe { CStr::from_ptr::<'static>(p) }.to_bytes()
            });
        }
        LiveRecord {
            conn: self,
            report,
            count,
            names,
            next: Cell::new(0),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // A driver's registration of the socket is gone already: it is
        // declared before the link in `engine::Session`.
        // SAFETY: ptr came from chrony_init_session and is deinitialized
        // once; the fd is closed once below (which in the opening process
        // also removes the client's socket and directories).
        unsafe { sys::chrony_deinit_session(self.ptr.as_ptr()) };
        // In a forked child, only the descriptor (see `fdsafe`).
        crate::fdsafe::close_socket(self.fd, self.owner);
    }
}

/// The name of a resource-exhaustion errno, or the error's text.
fn errno_name(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EMFILE) => "EMFILE: too many open files in this process".into(),
        Some(libc::ENFILE) => "ENFILE: too many open files in the system".into(),
        Some(libc::ENOBUFS) => "ENOBUFS: no buffer space".into(),
        Some(libc::ENOMEM) => "ENOMEM: out of memory".into(),
        _ => e.to_string(),
    }
}

fn connect_error(address: &str, source: io::Error) -> Error {
    match source.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            Error::ResourceExhausted {
                address: address.to_string(),
                cause: format!("no socket could be opened ({})", errno_name(&source)),
                source,
            }
        }
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

/// The record last received on a connection, read in place.
pub(crate) struct LiveRecord<'s> {
    conn: &'s Conn,
    report: &'static CStr,
    count: usize,
    /// The field names, as libchrony's static strings.
    names: Vec<&'static [u8]>,
    /// Where the next name lookup starts: models read fields mostly in
    /// record order, so a lookup usually matches at once.
    next: Cell<usize>,
}

impl Drop for LiveRecord<'_> {
    fn drop(&mut self) {
        self.conn.names.set(std::mem::take(&mut self.names));
    }
}

impl LiveRecord<'_> {
    fn ptr(&self) -> *mut sys::chrony_session {
        self.conn.ptr.as_ptr()
    }

    fn name_at(&self, index: usize) -> &'static [u8] {
        self.names[index]
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
        // Fields are mostly read in record order: try the next one first.
        let found = if self.names.get(start) == Some(&name.as_bytes()) {
            start
        } else {
            (start..self.count)
                .chain(0..start)
                .find(|&i| self.name_at(i) == name.as_bytes())?
        };
        self.next.set(found + 1);
        Some(found)
    }

    fn field_name(&self, index: usize) -> Option<String> {
        (index < self.count).then(|| String::from_utf8_lossy(self.name_at(index)).into_owned())
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
