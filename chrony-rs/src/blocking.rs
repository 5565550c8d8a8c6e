//! The blocking driver: waits with `poll(2)`, so the engine's futures
//! complete in their first poll ([`block_on`]).

use crate::engine::{Driver, Interest, Link, Watched};
use std::ffi::c_int;
use std::future::Future;
use std::io;
use std::time::Instant;

/// Waits with `poll(2)`; keeps no registration.
#[derive(Debug, Default)]
pub(crate) struct Blocking {
    pfds: Vec<libc::pollfd>,
}

impl<L: Link> Driver<L> for Blocking {
    type Registration = ();

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn register(&mut self, _link: &L, _registration: &mut Option<()>) -> io::Result<()> {
        Ok(())
    }

    fn wait(
        &mut self,
        watched: &mut [Watched<'_, ()>],
        until: Instant,
    ) -> impl Future<Output = io::Result<()>> + Send {
        std::future::ready(self.poll(watched, until))
    }

    fn offload<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = io::Result<T>> + Send {
        std::future::ready(Ok(f()))
    }
}

impl Blocking {
    fn poll(&mut self, watched: &mut [Watched<'_, ()>], until: Instant) -> io::Result<()> {
        let left = until.saturating_duration_since(Instant::now());
        // Round up so a sub-millisecond remainder still waits.
        let ms = left.as_micros().div_ceil(1000).min(c_int::MAX as u128) as c_int;
        poll_watched(&mut self.pfds, watched, ms, true).map(|_| ())
    }
}

/// One `poll(2)` over the watched sockets, waiting at most `ms`
/// milliseconds (0: only looks), with `pfds` as its reused array; marks
/// each socket ready or not and tells whether one is. A socket waiting to
/// write is asked for writability only with `writable` (the tokio driver
/// retries a full queue on the engine's timer instead); an error or
/// hang-up condition counts as ready either way (poll(2) always reports
/// it), and the next libchrony call on the socket reports it. An
/// interrupted wait reports nothing ready.
pub(crate) fn poll_watched<R>(
    pfds: &mut Vec<libc::pollfd>,
    watched: &mut [Watched<'_, R>],
    ms: c_int,
    writable: bool,
) -> io::Result<bool> {
    pfds.clear();
    pfds.extend(watched.iter().map(|w| libc::pollfd {
        fd: w.fd,
        events: match w.interest {
            Interest::Read => libc::POLLIN,
            Interest::Write if writable => libc::POLLOUT,
            Interest::Write => 0,
        },
        revents: 0,
    }));
    // At most 32 sessions × 17 attempts: far below nfds_t's range.
    let n = pfds.len() as libc::nfds_t;
    // SAFETY: pfds is a valid array of n pollfd structures for the call.
    let r = unsafe { libc::poll(pfds.as_mut_ptr(), n, ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    for (w, p) in watched.iter_mut().zip(pfds.iter()) {
        w.ready = p.revents != 0;
    }
    Ok(r > 0)
}

/// Runs a future whose driver never waits asynchronously (the blocking
/// driver): it completes in its first poll.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    thread_local! {
        // One per thread: a call costs no allocation for it.
        static WAKER: std::task::Waker = std::task::Waker::from(std::sync::Arc::new(Noop));
    }
    let waker = WAKER.with(std::task::Waker::clone);
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
