//! What the engine needs of the code that waits: a [`Driver`] tells the
//! time and waits for sockets. The engine never reads the clock itself, so
//! a simulated clock drives it in tests; the blocking driver
//! ([`crate::blocking`]) waits with `poll(2)`, the tokio one with the
//! runtime's reactor.

use super::link::Link;
use std::ffi::c_int;
use std::future::Future;
use std::io;
use std::time::Instant;

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

    /// Runs `f`, which may block (a sweep of a socket directory, opening a
    /// session: the engine opens every session and every re-send's socket
    /// through this), where blocking harms nothing: in place for the
    /// blocking driver, on the runtime's blocking pool for the tokio one.
    /// An error means `f` could not run (the runtime is shutting down).
    fn offload<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = io::Result<T>> + Send;
}
