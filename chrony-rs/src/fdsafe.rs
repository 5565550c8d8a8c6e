//! Descriptors and processes: no descriptor of this library reaches a child
//! process, and a forked child never touches its parent's sockets.
//!
//! libchrony 0.2 creates its descriptors without close-on-exec:
//! `chrony_open_socket` makes the socket with a plain `socket(2)` (and, for
//! the Unix socket, a probe socket, a `/dev/urandom` `FILE` and a directory
//! descriptor on the way), and `chrony_init_session` keeps a `/dev/urandom`
//! `FILE` open for the session's life. A `fork`/`exec` in another thread
//! inherits whatever is open at that moment. So:
//!
//! - **Sockets are made here**, with `SOCK_CLOEXEC | SOCK_NONBLOCK` from the
//!   start ([`open_socket`]), in the very layout `chrony_open_socket` uses
//!   (the client socket at `<dir of chronyd's socket>/libchrony.<12
//!   random>/<16 random>/sock`, directories 0711, socket 0666, the checks
//!   against a replaced directory), and handed to `chrony_init_session`,
//!   which takes any descriptor. `chrony_close_socket` removes them as it
//!   removes its own. Random names come from `getrandom(2)`: no descriptor.
//!   No socket of this library is ever inheritable.
//! - **The session's `/dev/urandom` descriptor is found and marked**
//!   close-on-exec right after `chrony_init_session` ([`open_session`]):
//!   `fopen` takes the lowest free descriptor, which is probed just before;
//!   when another thread took it meanwhile, every `/dev/urandom` descriptor
//!   of the process that is not close-on-exec is marked.
//! - **The limit**: between `fopen` inside `chrony_init_session` and that
//!   mark (a few system calls), a child spawned by another thread inherits
//!   the read-only `/dev/urandom` descriptor (never a socket). libchrony
//!   offers no way to close that window from outside. A program that spawns
//!   children while clients open sessions on other threads and must not let
//!   even that descriptor through holds a [`SpawnGuard`] around the spawn:
//!   no session opens while one is held.
//! - **Fork**: a socket remembers the process that opened it. Closed in any
//!   other process (a forked child dropping its copy of a client), only the
//!   descriptor is closed: the parent's socket path and directories stay.
//!   A pooled session of another process is never reused
//!   ([`Owner::is_current`]).

use std::cell::Cell;
use std::ffi::{c_int, CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// libchrony's socket for an empty address, tried first.
const DEFAULT_UNIX: &CStr = c"/var/run/chrony/chronyd.sock";
/// Lengths of the two random path components, as libchrony names them.
pub(crate) const RAND1_LEN: usize = 12;
pub(crate) const RAND2_LEN: usize = 16;
/// The prefix of libchrony's client directories.
pub(crate) const DIR_PREFIX: &str = "libchrony.";

/// Session opens hold this for reading, a [`SpawnGuard`] for writing.
static OPENS: RwLock<()> = RwLock::new(());

thread_local! {
    /// Guards held by this thread: its own session opens then skip the
    /// lock (they cannot race with its own spawns, and must not deadlock).
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// While held, no session of this library is being opened in this
/// process, so every descriptor of the library is close-on-exec: a child
/// spawned meanwhile inherits none of them.
///
/// Sockets are never inheritable anyway; the guard closes the one window
/// that cannot be closed from outside libchrony 0.2, the few system calls
/// between the `fopen("/dev/urandom")` inside `chrony_init_session` and the
/// moment this crate marks that descriptor close-on-exec. Hold one around
/// `Command::spawn` (or `fork` + `exec`) in a program whose other threads
/// open clients at the same time. Opening a client in the thread that holds
/// the guard is fine; other threads' session opens wait until it is
/// dropped, so hold it only around the spawn itself (never while waiting
/// for another thread's client call).
///
/// ```
/// let guard = chrony::SpawnGuard::new();
/// let out = std::process::Command::new("true").status();
/// drop(guard);
/// # let _ = out;
/// ```
#[derive(Debug)]
#[must_use = "the guard protects spawns only while it is held"]
pub struct SpawnGuard {
    _lock: RwLockWriteGuard<'static, ()>,
}

impl SpawnGuard {
    /// Waits until no session is being opened, then keeps new opens out
    /// (in other threads) until the guard is dropped.
    pub fn new() -> SpawnGuard {
        let lock = OPENS.write().unwrap_or_else(|e| e.into_inner());
        HELD.with(|h| h.set(h.get() + 1));
        SpawnGuard { _lock: lock }
    }
}

impl Default for SpawnGuard {
    fn default() -> Self {
        SpawnGuard::new()
    }
}

impl Drop for SpawnGuard {
    fn drop(&mut self) {
        HELD.with(|h| h.set(h.get().saturating_sub(1)));
    }
}

/// Held for the whole opening of a session (socket and `chrony_init_session`).
pub(crate) struct Opening {
    _lock: Option<RwLockReadGuard<'static, ()>>,
}

/// Keeps [`SpawnGuard`]s of other threads out while a session opens.
pub(crate) fn opening() -> Opening {
    let held = HELD.with(Cell::get) > 0;
    Opening {
        _lock: (!held).then(|| OPENS.read().unwrap_or_else(|e| e.into_inner())),
    }
}

/// The process a socket was opened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner(u32);

impl Owner {
    pub(crate) fn current() -> Owner {
        Owner(std::process::id())
    }

    /// True in the process that opened the socket (false in a forked child).
    pub(crate) fn is_current(self) -> bool {
        self == Owner::current()
    }
}

fn cvt(r: c_int) -> io::Result<c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A descriptor closed on drop (for the steps of [`open_socket`]).
struct Fd(c_int);

impl Fd {
    fn into_raw(self) -> c_int {
        let fd = self.0;
        std::mem::forget(self);
        fd
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned by this value and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn new_socket(family: c_int) -> io::Result<Fd> {
    // SAFETY: plain socket(2); the flags make it close-on-exec and
    // non-blocking from the start.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    cvt(fd).map(Fd)
}

/// Opens a socket to `address` as `chrony_open_socket` does (an absolute
/// path: the Unix socket; otherwise IPv4/IPv6 with an optional port; empty:
/// libchrony's defaults), but close-on-exec and non-blocking from its
/// creation.
fn open_socket(address: &CStr) -> io::Result<c_int> {
    let bytes = address.to_bytes();
    if bytes.is_empty() {
        return open_unix(DEFAULT_UNIX)
            .or_else(|_| open_inet(c"127.0.0.1:323"))
            .or_else(|_| open_inet(c"[::1]:323"));
    }
    if bytes[0] == b'/' {
        open_unix(address)
    } else {
        open_inet(address)
    }
}

fn sockaddr_un(path: &[u8]) -> io::Result<libc::sockaddr_un> {
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if path.len() >= sa.sun_path.len() || path.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (d, s) in sa.sun_path.iter_mut().zip(path) {
        *d = *s as libc::c_char;
    }
    Ok(sa)
}

fn connect_un(fd: &Fd, sa: &libc::sockaddr_un) -> io::Result<()> {
    // SAFETY: sa is a valid sockaddr_un of the given size.
    cvt(unsafe {
        libc::connect(
            fd.0,
            (sa as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `n` random letters and digits (libchrony's alphabet), from getrandom(2).
pub(crate) fn random_name(n: usize) -> io::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        // SAFETY: buf is valid for buf.len() bytes; flags 0 blocks only
        // until the kernel's pool is initialized.
        let got = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
        if got < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        // 248 = 4 × 62: rejecting bytes above keeps the letters uniform.
        for &b in &buf[..got as usize] {
            if b < 248 && out.len() < n {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn open_unix(server: &CStr) -> io::Result<c_int> {
    let server_bytes = server.to_bytes();
    let server_sa = sockaddr_un(server_bytes)?;
    // First, can chronyd's socket be reached at all (without binding)?
    {
        let probe = new_socket(libc::AF_UNIX)?;
        connect_un(&probe, &server_sa)?;
    }
    let server_path = Path::new(OsStr::from_bytes(server_bytes));
    let dir0 = match server_path.parent() {
        Some(d) if !d.as_os_str().is_empty() && d != Path::new("/") => d,
        _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
    };
    let rand1 = random_name(RAND1_LEN)?;
    let rand2 = random_name(RAND2_LEN)?;
    let dir1 = dir0.join(format!("{DIR_PREFIX}{rand1}"));
    let dir2 = dir1.join(&rand2);
    let sock = dir2.join("sock");
    let client_sa = sockaddr_un(sock.as_os_str().as_bytes())?;
    let (c_dir1, c_dir2, c_sock) = (c_path(&dir1)?, c_path(&dir2)?, c_path(&sock)?);
    let c_rand2 = CString::new(rand2).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;

    // Undoes the steps done so far when a later one fails.
    let rmdir = |p: &CString| {
        // SAFETY: p is a valid NUL-terminated path.
        unsafe { libc::rmdir(p.as_ptr()) };
    };
    let unlink = |p: &CString| {
        // SAFETY: p is a valid NUL-terminated path.
        unsafe { libc::unlink(p.as_ptr()) };
    };

    // SAFETY: c_dir1 is a valid path.
    cvt(unsafe { libc::mkdir(c_dir1.as_ptr(), 0o711) })?;
    let dir_fd = {
        // SAFETY: c_dir1 is a valid path; O_NOFOLLOW: a symlink put in its
        // place is refused.
        let fd = unsafe {
            libc::open(
                c_dir1.as_ptr(),
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        match cvt(fd) {
            Ok(fd) => Fd(fd),
            Err(e) => {
                rmdir(&c_dir1);
                return Err(e);
            }
        }
    };
    // The directory must be ours and not writable by others (it could have
    // been replaced between mkdir and open).
    // SAFETY: stat is plain data; all zeroes is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: dir_fd is open; st is a valid out-pointer.
    let ok = unsafe { libc::fstat(dir_fd.0, &mut st) } == 0
        && (st.st_mode & libc::S_IFMT) == libc::S_IFDIR
        && (st.st_mode & 0o777 & !0o711) == 0
        // SAFETY: geteuid has no preconditions.
        && st.st_uid == unsafe { libc::geteuid() };
    if !ok {
        rmdir(&c_dir1);
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    // SAFETY: dir_fd is an open directory, c_rand2 a valid name.
    if let Err(e) = cvt(unsafe { libc::mkdirat(dir_fd.0, c_rand2.as_ptr(), 0o711) }) {
        rmdir(&c_dir1);
        return Err(e);
    }
    let fail = |e: io::Error, bound: bool| {
        if bound {
            unlink(&c_sock);
        }
        rmdir(&c_dir2);
        rmdir(&c_dir1);
        Err(e)
    };
    let fd = match new_socket(libc::AF_UNIX) {
        Ok(fd) => fd,
        Err(e) => return fail(e, false),
    };
    // SAFETY: client_sa is a valid sockaddr_un of the given size.
    let bound = cvt(unsafe {
        libc::bind(
            fd.0,
            (&client_sa as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    });
    if let Err(e) = bound {
        return fail(e, false);
    }
    // chronyd may run as another user: it must be able to reply to the
    // socket; the directories protect it.
    // SAFETY: valid paths and an open directory descriptor.
    let perms = unsafe {
        libc::chmod(c_sock.as_ptr(), 0o666) == 0
            && libc::chmod(c_dir2.as_ptr(), 0o711) == 0
            && libc::fchmod(dir_fd.0, 0o711) == 0
    };
    if !perms {
        return fail(io::Error::last_os_error(), true);
    }
    if let Err(e) = connect_un(&fd, &server_sa) {
        return fail(e, true);
    }
    Ok(fd.into_raw())
}

/// libchrony's address syntax: `IP`, `IPv4:port`, `[IPv6]:port`, or a bare
/// IPv6 address; port 323 by default.
fn parse_inet(text: &str) -> Option<std::net::SocketAddr> {
    use std::net::{IpAddr, SocketAddr};
    let colons = text.bytes().filter(|b| *b == b':').count();
    let (host, port) = if colons == 1 || (colons >= 3 && text.starts_with('[')) {
        let (h, p) = text.rsplit_once(':')?;
        let h = if colons >= 3 {
            h.strip_prefix('[')?.strip_suffix(']')?
        } else {
            h
        };
        (h, p.parse::<u16>().ok()?)
    } else {
        (text, crate::address::DEFAULT_PORT)
    };
    Some(SocketAddr::new(host.parse::<IpAddr>().ok()?, port))
}

fn open_inet(address: &CStr) -> io::Result<c_int> {
    let text = address
        .to_str()
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let sa = parse_inet(text).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    // std's sockets are close-on-exec from their creation.
    let any: std::net::SocketAddr = if sa.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any)?;
    socket.connect(sa)?;
    socket.set_nonblocking(true)?;
    Ok(std::os::fd::IntoRawFd::into_raw_fd(socket))
}

/// Closes a socket of [`open_socket`]: in the process that opened it with
/// `chrony_close_socket` (which also removes the Unix socket's path and
/// directories); in any other process (a forked child) only the descriptor.
pub(crate) fn close_socket(fd: c_int, owner: Owner) {
    if owner.is_current() {
        // SAFETY: fd is an open socket owned by the caller, closed once.
        unsafe { libchrony_sys::chrony_close_socket(fd) };
    } else {
        // SAFETY: as above; the path belongs to the opener and stays.
        unsafe { libc::close(fd) };
    }
}

/// The lowest free descriptor number now (where `fopen` will land).
fn lowest_free(any_open: c_int) -> Option<c_int> {
    // SAFETY: F_DUPFD_CLOEXEC duplicates an open descriptor at the lowest
    // free number; the duplicate is closed at once.
    let dup = unsafe { libc::fcntl(any_open, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return None;
    }
    // SAFETY: dup was just created here.
    unsafe { libc::close(dup) };
    Some(dup)
}

/// The device of `/dev/urandom` (its `st_rdev`).
fn urandom_rdev() -> Option<libc::dev_t> {
    static RDEV: std::sync::OnceLock<Option<libc::dev_t>> = std::sync::OnceLock::new();
    *RDEV.get_or_init(|| {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let m = std::fs::metadata("/dev/urandom").ok()?;
        m.file_type()
            .is_char_device()
            .then(|| m.rdev() as libc::dev_t)
    })
}

/// If `fd` is a `/dev/urandom` descriptor without close-on-exec, marks it;
/// true when it was one.
fn mark_if_urandom(fd: c_int, rdev: libc::dev_t) -> bool {
    // SAFETY: stat is plain data; all zeroes is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on any number is safe (EBADF when closed).
    if unsafe { libc::fstat(fd, &mut st) } != 0
        || (st.st_mode & libc::S_IFMT) != libc::S_IFCHR
        || st.st_rdev != rdev
    {
        return false;
    }
    // SAFETY: fd is open (fstat succeeded); F_GETFD/F_SETFD take ints.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
            libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            return true;
        }
    }
    false
}

/// Every descriptor of the process that is `/dev/urandom` and not
/// close-on-exec gets close-on-exec.
fn mark_all_urandom(rdev: libc::dev_t) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<c_int> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        mark_if_urandom(fd, rdev);
    }
}

/// Opens a session's socket to `address` ([`open_socket`]), runs `init` on
/// it (a `chrony_init_session`) and marks the `/dev/urandom` descriptor
/// that opened close-on-exec.
///
/// One thread at a time opens, probes, initializes and marks: two sessions
/// opened at once could see the same hint, and without this both could
/// find the first one's descriptor unmarked, both mark it and both return,
/// leaving the second one's inheritable. The socket and the probe are
/// inside too, so sessions of this library never move each other's
/// `fopen` off its hint: the scan of every descriptor (a `fstat` each,
/// costly with many sessions open) is left for a descriptor some other
/// code opened in those few system calls.
pub(crate) fn open_session<T>(
    address: &CStr,
    init: impl FnOnce(c_int) -> T,
) -> io::Result<(c_int, T)> {
    static MARKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _marking = MARKING.lock().unwrap_or_else(|e| e.into_inner());
    let fd = open_socket(address)?;
    let hint = lowest_free(fd);
    let out = init(fd);
    if let Some(rdev) = urandom_rdev() {
        if !hint.is_some_and(|h| mark_if_urandom(h, rdev)) {
            mark_all_urandom(rdev);
        }
    }
    Ok((fd, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_syntax_is_libchronys() {
        let p = |s: &str| parse_inet(s).map(|a| a.to_string());
        assert_eq!(p("127.0.0.1").as_deref(), Some("127.0.0.1:323"));
        assert_eq!(p("127.0.0.1:1234").as_deref(), Some("127.0.0.1:1234"));
        assert_eq!(p("[::1]:55").as_deref(), Some("[::1]:55"));
        assert_eq!(p("::1").as_deref(), Some("[::1]:323"));
        assert_eq!(p("[::1]"), None, "brackets need a port, as in libchrony");
        assert_eq!(p("localhost"), None);
        assert_eq!(p("1.2.3.4:x"), None);
    }

    #[test]
    fn random_names_use_libchronys_alphabet() {
        let a = random_name(RAND2_LEN).unwrap();
        assert_eq!(a.len(), RAND2_LEN);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, random_name(RAND2_LEN).unwrap());
    }

    #[test]
    fn owner_is_this_process() {
        assert!(Owner::current().is_current());
        assert!(!Owner(0).is_current());
    }
}
