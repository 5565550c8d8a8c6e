//! The connections being served, and their bounds:
//!
//! - At most `--web.max-connections` at once. When a new connection
//!   arrives at the limit, one that has no request in progress makes room:
//!   first one that never completed a request (a flood of idle or slow
//!   connections), the oldest first, else the longest idle keep-alive
//!   connection (a scraper reconnects at its next scrape). Only when every
//!   connection has a request in progress is the new one closed at once.
//!   So no number of idle or slow clients locks a scraper out.
//! - A request head must arrive within [`HEADER_TIMEOUT`] of its first
//!   byte, and the first one within that time of the connection's accept
//!   (the TLS handshake included): a client sending a byte now and then is
//!   cut off.
//! - A connection idle between requests is kept for [`IDLE_TIMEOUT`],
//!   longer than Prometheus keeps an idle connection (5 minutes): the
//!   scraper closes it first, so a scrape never goes out on a connection
//!   the exporter is closing.
//!
//! Each connection has a [`Tracker`]: its phase, seen from the bytes read
//! ([`TrackedIo`]) and the requests in progress ([`Tracker::request`]),
//! and a watchdog ([`Tracker::closed`]) that ends it.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// How long a request head (and the first one, from the accept) may take.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection with no request in progress is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(360);

const IDLE: u8 = 0;
const HEADER: u8 = 1;
const BUSY: u8 = 2;

/// Milliseconds since the first call: a clock that fits an atomic.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// One connection's state.
#[derive(Debug)]
pub struct Tracker {
    id: u64,
    phase: AtomicU8,
    /// When the phase began (see [`now_ms`]).
    since: AtomicU64,
    in_flight: AtomicU32,
    /// It completed a request.
    served: AtomicBool,
    evicted: AtomicBool,
    /// HTTP/2: bytes arrive between requests too (pings and their
    /// acknowledgements, window updates, settings), so they say nothing of
    /// a request head; its requests alone move it out of idle.
    multiplexed: AtomicBool,
    wake: Notify,
}

impl Tracker {
    fn new(id: u64) -> Tracker {
        Tracker {
            id,
            // The first request head is due from the accept.
            phase: AtomicU8::new(HEADER),
            since: AtomicU64::new(now_ms()),
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            multiplexed: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn enter(&self, phase: u8) {
        self.since.store(now_ms(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
        self.wake.notify_one();
    }

    /// Bytes arrived: a request head begins on an idle HTTP/1 connection.
    fn read_some(&self) {
        if self.phase.load(Ordering::Acquire) == IDLE && !self.multiplexed.load(Ordering::Acquire) {
            self.enter(HEADER);
        }
    }

    /// The connection speaks HTTP/2 (chosen by ALPN): between requests it
    /// is idle whatever frames arrive, until the idle timeout (hyper's
    /// pings meanwhile drop a peer that went silent).
    pub fn multiplexed(&self) {
        self.multiplexed.store(true, Ordering::Release);
    }

    /// A request is in progress until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.enter(BUSY);
        RequestGuard(self.clone())
    }

    /// When the connection must close if nothing changes (none while a
    /// request is in progress: the handler is bounded by the scrape's
    /// deadline).
    fn deadline(&self) -> Option<u64> {
        let since = self.since.load(Ordering::Relaxed);
        match self.phase.load(Ordering::Acquire) {
            IDLE => Some(since + IDLE_TIMEOUT.as_millis() as u64),
            HEADER => Some(since + HEADER_TIMEOUT.as_millis() as u64),
            _ => None,
        }
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Returns when the connection must close: made room for another, or
    /// idle or slow for too long (the reason).
    pub async fn closed(&self) -> &'static str {
        loop {
            if self.evicted.load(Ordering::Acquire) {
                return "evicted to make room for a new connection";
            }
            let woken = self.wake.notified();
            match self.deadline() {
                Some(at) => {
                    let now = now_ms();
                    if now >= at {
                        return if self.phase.load(Ordering::Acquire) == IDLE {
                            "idle timeout"
                        } else {
                            "request head timeout"
                        };
                    }
                    let sleep = tokio::time::sleep(Duration::from_millis(at - now));
                    tokio::select! {
                        () = sleep => {}
                        () = woken => {}
                    }
                }
                None => woken.await,
            }
        }
    }

    /// Its rank as a victim when room is needed (lowest first), or `None`
    /// while a request is in progress. Connections whose phase began in
    /// the same millisecond go in the order they came (a flood reconnects
    /// hundreds in one): a scraper's new connection, whose head is not
    /// read yet, is not taken before the flood's older ones.
    fn victim_rank(&self) -> Option<(bool, u64, u64)> {
        if self.phase.load(Ordering::Acquire) == BUSY {
            return None;
        }
        Some((
            self.served.load(Ordering::Relaxed),
            self.since.load(Ordering::Relaxed),
            self.id,
        ))
    }
}

/// Ends a request when dropped (also when the connection went away
/// during it).
pub struct RequestGuard(Arc<Tracker>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let t = &self.0;
        t.served.store(true, Ordering::Relaxed);
        if t.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            t.enter(IDLE);
        }
    }
}

/// The connections being served.
pub struct Connections {
    max: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    live: Vec<Arc<Tracker>>,
}

/// Keeps a connection in the table; removes it when dropped.
pub struct Slot {
    conns: Arc<Connections>,
    pub tracker: Arc<Tracker>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut t = self.conns.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = t.live.iter().position(|c| c.id == self.tracker.id) {
            t.live.swap_remove(i);
        }
    }
}

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max: max.max(1),
            table: Mutex::default(),
        })
    }

    /// A slot for a new connection, making room when the limit is reached;
    /// `None` when every connection has a request in progress.
    pub fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if t.live.len() >= self.max {
            let victim = t
                .live
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.victim_rank().map(|r| (r, i)))
                .min()
                .map(|(_, i)| i)?;
            t.live.swap_remove(victim).evict();
        }
        t.next_id += 1;
        let tracker = Arc::new(Tracker::new(t.next_id));
        t.live.push(tracker.clone());
        Some(Slot {
            conns: self.clone(),
            tracker,
        })
    }

    /// Connections in the table.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().unwrap().live.len()
    }
}

/// A connection's stream, telling its tracker when bytes arrive.
pub struct TrackedIo<I> {
    inner: I,
    tracker: Arc<Tracker>,
}

impl<I> TrackedIo<I> {
    pub fn new(inner: I, tracker: Arc<Tracker>) -> TrackedIo<I> {
        TrackedIo { inner, tracker }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for TrackedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.read_some();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for TrackedIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_limit_the_oldest_connection_without_a_request_makes_room() {
        let c = Connections::new(3);
        let a = c.admit().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let b = c.admit().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let busy = c.admit().unwrap();
        let _request = busy.tracker.request();
        // Full: the oldest of the two waiting for a head goes.
        let d = c.admit().unwrap();
        assert!(a.tracker.evicted.load(Ordering::Acquire));
        assert!(!b.tracker.evicted.load(Ordering::Acquire));
        assert_eq!(c.len(), 3);
        // A connection that completed a request goes after the ones that
        // never did, however long it was idle.
        {
            let _r = b.tracker.request();
        }
        let e = c.admit().unwrap();
        assert!(d.tracker.evicted.load(Ordering::Acquire));
        assert!(!b.tracker.evicted.load(Ordering::Acquire));
        // Both served: the one idle longest goes.
        {
            let _r = e.tracker.request();
        }
        let _f = c.admit().unwrap();
        assert!(b.tracker.evicted.load(Ordering::Acquire));
        assert!(!busy.tracker.evicted.load(Ordering::Acquire));
        drop((a, b, d));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn connections_that_came_in_one_millisecond_make_room_in_the_order_they_came() {
        let c = Connections::new(3);
        // Each admitted in the same millisecond as the others (as a flood
        // reconnects): the rank's clock alone cannot order them.
        let admit = || {
            let slot = c.admit().unwrap();
            slot.tracker.since.store(0, Ordering::Relaxed);
            slot
        };
        let first: Vec<Slot> = (0..3).map(|_| admit()).collect();
        // Each admission at the limit takes one out, and its swap_remove
        // reorders the table: the order of arrival must still hold.
        let newer: Vec<Slot> = (0..3).map(|_| admit()).collect();
        for (i, slot) in first.iter().enumerate() {
            assert!(slot.tracker.evicted.load(Ordering::Acquire), "{i}");
        }
        assert!(newer
            .iter()
            .all(|s| !s.tracker.evicted.load(Ordering::Acquire)));
    }

    #[test]
    fn when_every_connection_has_a_request_the_new_one_is_refused() {
        let c = Connections::new(2);
        let (a, b) = (c.admit().unwrap(), c.admit().unwrap());
        let (_ra, _rb) = (a.tracker.request(), b.tracker.request());
        assert!(c.admit().is_none());
        drop(_ra);
        assert!(c.admit().is_some(), "a is idle again");
        assert!(a.tracker.evicted.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn a_head_is_due_within_the_header_timeout_an_idle_connection_lasts() {
        let t = Arc::new(Tracker::new(1));
        // A new connection owes its first head.
        assert_eq!(t.deadline(), Some(t.since.load(Ordering::Relaxed) + 5000));
        let r = t.request();
        assert_eq!(t.deadline(), None);
        drop(r);
        assert_eq!(
            t.deadline(),
            Some(t.since.load(Ordering::Relaxed) + 360_000)
        );
        // A byte of the next head: due within the header timeout.
        t.read_some();
        assert_eq!(t.deadline(), Some(t.since.load(Ordering::Relaxed) + 5000));
        // HTTP/2: frames between requests (a ping's acknowledgement) leave
        // an idle connection idle.
        let h2 = Arc::new(Tracker::new(2));
        h2.multiplexed();
        drop(h2.request());
        h2.read_some();
        assert_eq!(
            h2.deadline(),
            Some(h2.since.load(Ordering::Relaxed) + 360_000)
        );
        t.evict();
        assert_eq!(
            t.closed().await,
            "evicted to make room for a new connection"
        );
    }
}
