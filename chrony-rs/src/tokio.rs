//! An async client for [tokio](https://tokio.rs) (feature `tokio`).
//!
//! [`AsyncClient`] is the blocking [`Client`](crate::Client) without the
//! blocking: the same options ([`ClientBuilder`]), the same reports, models
//! and errors, the same exchange engine (re-sends that keep earlier
//! attempts alive, bad datagrams as lost datagrams, the per-exchange
//! timeout and the whole-call deadline, several sessions in flight). Its
//! sockets are watched with [`tokio::io::unix::AsyncFd`] and its deadlines
//! are [`tokio::time`] timers, so a call never blocks a runtime thread:
//! libchrony's sockets are non-blocking, and what may block (opening a
//! session: a socket directory beside chronyd's socket, libchrony's
//! `/dev/urandom`, the close-on-exec marking; the sweep of stale
//! directories at connect) runs on tokio's blocking pool
//! (`spawn_blocking`), each session once for the client's life and a
//! socket for each re-send. libchrony's address-buffer lock
//! ([`libchrony_sys::BUFFER_LOCK`]) is held only for single field reads and
//! request formatting, never across an `.await`.
//!
//! ```no_run
//! # async fn run() -> chrony::Result<()> {
//! use chrony::tokio::AsyncClient;
//!
//! let mut client = AsyncClient::connect("/run/chrony/chronyd.sock").await?;
//! let tracking = client.tracking().await?;
//! println!("synchronized: {}, within {:e} s of true time", tracking.is_synchronized(), tracking.clock_error_bound());
//! for s in client.sources().await? {
//!     println!("{} reach {:03o}", s.address, s.reachability);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Cancellation
//!
//! Every method is cancel safe in this sense: dropping its future (for
//! example through `tokio::time::timeout` or a `select!` branch that lost)
//! closes the sessions that had a request in flight, with their sockets, so
//! a late reply has nowhere to go; the sessions that were idle stay open.
//! The next call opens fresh sessions as it needs them and returns correct
//! values. Nothing else is lost: the client holds no partial report.
//!
//! # Many daemons
//!
//! One client talks to one chronyd; watch a fleet with one client per
//! host, all on one runtime (see the `watch` example). Each client keeps up
//! to [`ClientBuilder::concurrency`] sessions.
//!
//! Futures are `Send`, so calls can run in spawned tasks of a multi-thread
//! runtime. A client may move between runtimes: each call registers the
//! sockets it uses with the runtime it runs on. Polling a call outside a
//! Tokio runtime panics, as tokio's own I/O types do.

use crate::address::{Address, ToAddress};
use crate::client::ClientBuilder;
use crate::engine::Engine;
use crate::engine::{Driver, Interest, Link, Transport, Watched};
use crate::error::{Error, Result};
use crate::field::{FieldSource, Record};
use crate::generic::GenericRecord;
use crate::reports::{Descriptor, FromRecord, ReportShape};
use crate::session::Conn;
use crate::snapshot::Snapshot;
use crate::surface::{debug_client, report_methods};
use crate::types::SourceId;
use ::tokio::io::unix::AsyncFd;
use ::tokio::runtime::{Handle, Id};
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::Poll;
use std::time::Instant;

/// A descriptor owned by a [`Conn`], registered with tokio for as long as
/// its session lives (the registration is dropped before the socket is
/// closed).
#[derive(Debug)]
struct FdRef(RawFd);

impl AsRawFd for FdRef {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A socket's registration with the reactor of one runtime. It stays for
/// the session's life: a call on the same runtime reuses it (no
/// `epoll_ctl` per call); a call on another runtime registers anew.
#[derive(Debug)]
pub(crate) struct Registration {
    runtime: Id,
    fd: AsyncFd<FdRef>,
}

/// Waits with the reactor and timers of the runtime a call runs on.
#[derive(Debug)]
struct TokioDriver {
    runtime: Id,
    /// Wait for sockets' error readiness too (UDP: see [`Driver::wait`]).
    errors: bool,
    /// The call's timer, reset for each wait: moving its deadline later
    /// costs no timer-wheel operation, a new timer per wait would cost two.
    sleep: Option<std::pin::Pin<Box<::tokio::time::Sleep>>>,
    /// The zero-timeout `poll(2)` of [`TokioDriver::ready_now`], kept
    /// between waits.
    pfds: Vec<libc::pollfd>,
}

impl TokioDriver {
    /// The driver of a call on the current runtime, over `transport`.
    ///
    /// # Panics
    /// Outside a Tokio runtime, as tokio's own I/O types do.
    fn new(transport: Transport) -> TokioDriver {
        TokioDriver {
            runtime: Handle::current().id(),
            errors: transport == Transport::Udp,
            sleep: None,
            pfds: Vec::new(),
        }
    }

    /// Marks the sockets that are ready right now, with a zero-timeout
    /// `poll(2)`; true when one is. A reply that came while the engine
    /// was busy is then taken without a trip through the runtime (the
    /// task going pending, the reactor's turn, the wake-up and a poll of
    /// every socket's readiness), which the blocking driver never pays.
    /// The readiness tokio keeps is not touched: a datagram read here
    /// raises no event later (epoll reports only sockets still readable
    /// when it is asked), and a stale one costs one read that finds the
    /// socket empty, which the engine takes as "still waiting". `pfds`
    /// is the driver's reused array (an argument, so that the wait can
    /// look while it holds the driver's timer).
    fn ready_now(
        pfds: &mut Vec<libc::pollfd>,
        watched: &mut [Watched<'_, Registration>],
    ) -> io::Result<bool> {
        // No writability, as in the reactor's wait below: a request that
        // found the queue full is retried on the engine's timer. A zero
        // timeout never blocks the runtime's thread.
        crate::blocking::poll_watched(pfds, watched, 0, false)
    }
}

impl Driver<Conn> for TokioDriver {
    type Registration = Registration;

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn register(&mut self, link: &Conn, registration: &mut Option<Registration>) -> io::Result<()> {
        if registration
            .as_ref()
            .is_some_and(|r| r.runtime == self.runtime)
        {
            return Ok(());
        }
        // Deregister first (the fd stays open), then register with the
        // runtime this call runs on.
        *registration = None;
        // Readable only: with writability too, every datagram chronyd reads
        // off the socket's queue raises an event that wakes the runtime for
        // nothing.
        // A request that found the queue full is tried again on the
        // engine's retry timer, which it needs anyway (a Unix datagram
        // socket whose peer's queue is full raises no writability event).
        let interest = ::tokio::io::Interest::READABLE;
        // SAFETY: the descriptor is the Conn's open socket, which the Conn
        // alone closes, in its Drop; the registration is dropped first (it
        // is declared before the link in `engine::Session`), and the Conn
        // never replaces its descriptor. So the fd stays open and the same
        // for the AsyncFd's whole life, and FdRef always returns it.
        let fd = unsafe { AsyncFd::register_with_interest(FdRef(link.fd()), interest) }
            .map_err(|e| e.into_parts().1)?;
        *registration = Some(Registration {
            runtime: self.runtime,
            fd,
        });
        Ok(())
    }

    async fn wait(
        &mut self,
        watched: &mut [Watched<'_, Registration>],
        until: Instant,
    ) -> io::Result<()> {
        // Only with several requests in flight: while the engine handled
        // one reply, another has often come. A lone request was sent just
        // now and its reply is not there yet (a single-record report such
        // as tracking would pay one `poll(2)` for nothing).
        let several = watched.len() > 1;
        if several {
            // Spends one unit of the task's budget, as a read of a ready
            // socket through tokio does: a call whose replies are always
            // ready still yields to the runtime's other tasks.
            let progress = poll_fn(::tokio::task::coop::poll_proceed).await;
            if Self::ready_now(&mut self.pfds, watched)? {
                progress.made_progress();
                return Ok(());
            }
        }
        let until = ::tokio::time::Instant::from_std(until);
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                sleep.as_mut().reset(until);
                sleep
            }
            None => self
                .sleep
                .insert(Box::pin(::tokio::time::sleep_until(until))),
        };
        let errors = self.errors;
        let mut looked_again = false;
        let pfds = &mut self.pfds;
        // A socket error (a UDP request refused with ICMP port unreachable)
        // raises no read readiness in tokio, only the error readiness: over
        // UDP a socket a reply is due on is waited on for both, so a
        // refusal ends the call at once, as `poll(2)` does for the blocking
        // client. (Over the Unix socket a refusal fails the send itself.)
        let mut reads: Vec<Option<ReadReady<'_>>> = Vec::new();
        if errors {
            reads.extend(watched.iter().map(|w| match (w.interest, w.registration) {
                (Interest::Read, Some(r)) => Some(Box::pin(
                    r.fd.ready(::tokio::io::Interest::READABLE | ::tokio::io::Interest::ERROR),
                ) as ReadReady<'_>),
                _ => None,
            }));
        }
        poll_fn(|cx| {
            let mut any = false;
            for (i, w) in watched.iter_mut().enumerate() {
                let read = reads.get_mut(i).and_then(Option::as_mut);
                let polled = match (read, w.registration) {
                    (Some(f), _) => f.as_mut().poll(cx),
                    (None, Some(r)) => match w.interest {
                        Interest::Read if !errors => r.fd.poll_read_ready(cx),
                        // Its error-or-read wait is over this turn; a full
                        // queue is retried on the engine's timer.
                        Interest::Read | Interest::Write => continue,
                    },
                    _ => continue,
                };
                match polled {
                    // Cleared before the engine reads: it reads until the
                    // socket is empty (EAGAIN), and any datagram arriving
                    // later raises readiness again. An error is taken by
                    // the engine's next read, which ends the exchange.
                    Poll::Ready(Ok(mut guard)) => {
                        guard.clear_ready();
                        if let Some(read) = reads.get_mut(i) {
                            *read = None;
                        }
                        w.ready = true;
                        any = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
            if any || sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            // A second look, now that every socket has its waker: with
            // several requests in flight a reply has often come meanwhile,
            // and taking it here saves the runtime's turn (parking, an
            // epoll_wait, the wake-up and a poll of every socket's
            // readiness). The wakers stay registered; an event raised
            // later for a socket read here finds it empty (see
            // `ready_now`). A reply taken here spends a unit of the task's
            // budget, as the first look does; with none left the task
            // yields first.
            if !looked_again && several {
                looked_again = true;
                let Poll::Ready(progress) = ::tokio::task::coop::poll_proceed(cx) else {
                    return Poll::Pending;
                };
                match Self::ready_now(pfds, watched) {
                    Ok(true) => {
                        progress.made_progress();
                        return Poll::Ready(Ok(()));
                    }
                    Ok(false) => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            Poll::Pending
        })
        .await
    }

    async fn offload<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<T> {
        match ::tokio::task::spawn_blocking(f).await {
            Ok(v) => Ok(v),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(io::Error::other("the tokio runtime is shutting down")),
        }
    }
}

/// The wait for a socket's read or error readiness.
type ReadReady<'a> = std::pin::Pin<
    Box<
        dyn Future<Output = io::Result<::tokio::io::unix::AsyncFdReadyGuard<'a, FdRef>>>
            + Send
            + 'a,
    >,
>;

/// An async client for tokio: the blocking [`Client`](crate::Client)'s API
/// with `async` methods. See the [module documentation](self).
///
/// ```no_run
/// # async fn run() -> chrony::Result<()> {
/// use std::time::Duration;
/// let mut client = chrony::Client::builder()
///     .timeout(Duration::from_millis(300))
///     .deadline(Duration::from_secs(2))
///     .connect_async("ntp1.example.net")
///     .await?;
/// let snapshot = client.snapshot().await?;
/// # Ok(())
/// # }
/// ```
pub struct AsyncClient {
    engine: Engine<Conn, Registration>,
    address: Address,
    /// The address its sessions talk to (a host name resolved).
    endpoint: Address,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_client(f, "AsyncClient", &self.address, &self.engine)
    }
}

impl ClientBuilder {
    /// Connects an [`AsyncClient`] with these options (feature `tokio`).
    /// As [`connect`](Self::connect), but a host name is resolved with
    /// tokio's resolver and several addresses are probed without blocking.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_async(&self, address: impl ToAddress) -> Result<AsyncClient> {
        let address = address.to_address()?;
        let candidates = match &address {
            Address::Host { host, port } => {
                let found = ::tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .map_err(|source| Error::Resolve {
                        host: host.clone(),
                        source,
                    })?;
                Address::resolved(host, found)?
            }
            other => vec![other.clone()],
        };
        let probe = candidates.len() > 1;
        let (engine, endpoint) = self
            .first_answering(
                &mut TokioDriver::new(address.transport()),
                &address,
                candidates,
                probe,
            )
            .await?;
        Ok(AsyncClient {
            engine,
            address,
            endpoint,
        })
    }
}

impl AsyncClient {
    /// Connects with default options (see [`ClientBuilder`]).
    ///
    /// # Errors
    /// See [`ClientBuilder::connect`].
    pub async fn connect(address: impl ToAddress) -> Result<AsyncClient> {
        ClientBuilder::default().connect_async(address).await
    }

    crate::surface::address_methods!(
        "# async fn run() -> chrony::Result<()> {\n\
         let client = chrony::tokio::AsyncClient::connect(\"localhost\").await?;",
        "# Ok(())\n# }"
    );

    /// Reads any typed report, as [`Client::report`](crate::Client::report).
    ///
    /// ```no_run
    /// # async fn run() -> chrony::Result<()> {
    /// let mut c = chrony::tokio::AsyncClient::connect("127.0.0.1").await?;
    /// let sources: Vec<chrony::Source> = c.report::<chrony::Source>().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Client::report`](crate::Client::report).
    pub async fn report<T: FromRecord + Send>(
        &mut self,
    ) -> Result<<T::Shape as ReportShape<T>>::Output> {
        self.engine
            .report::<T, _>(&mut TokioDriver::new(self.transport()))
            .await
    }

    crate::reports::each_report!(
        report_methods,
        [async] [.await] ".await",
        "# async fn run() -> chrony::Result<()> {\n\
         let mut client = chrony::tokio::AsyncClient::connect(\"/run/chrony/chronyd.sock\").await?;",
        "# Ok(())\n# }";
    );

    /// Asks chronyd how many records `report` has.
    ///
    /// # Errors
    /// As [`Client::record_count`](crate::Client::record_count).
    pub async fn record_count(&mut self, report: &str) -> Result<usize> {
        let name = Descriptor::by_name(report)?.c_name()?;
        self.engine
            .count(&mut TokioDriver::new(self.transport()), name)
            .await
    }

    /// Reads every record of `report` as [`GenericRecord`]s.
    ///
    /// # Errors
    /// As [`Client::records`](crate::Client::records).
    pub async fn records(&mut self, report: &str) -> Result<Vec<GenericRecord>> {
        self.fetch(report, |r| GenericRecord::from_source(r).map(Some))
            .await
    }

    /// Fetches every record of `report` and builds each with `build`.
    ///
    /// # Errors
    /// As [`Client::fetch`](crate::Client::fetch).
    pub async fn fetch<T, F>(&mut self, report: &str, mut build: F) -> Result<Vec<T>>
    where
        T: Send,
        F: for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>) -> Result<Option<T>> + Send,
    {
        self.engine
            .collect(
                &mut TokioDriver::new(self.transport()),
                report,
                |r: &Record<'_, dyn FieldSource + '_>, _: Option<SourceId>| build(r),
            )
            .await
    }

    /// Reads every report at once (see [`Snapshot`]).
    ///
    /// # Errors
    /// As [`Client::snapshot`](crate::Client::snapshot).
    pub async fn snapshot(&mut self) -> Result<Snapshot> {
        self.engine
            .snapshot(&mut TokioDriver::new(self.transport()), None, None)
            .await
    }

    /// Reads the chosen reports at once; the others are
    /// [`NOT_REQUESTED`](crate::snapshot::NOT_REQUESTED) (see
    /// [`Client::snapshot_of`](crate::Client::snapshot_of)).
    ///
    /// ```no_run
    /// # async fn run() -> chrony::Result<()> {
    /// let mut c = chrony::tokio::AsyncClient::connect("/run/chrony/chronyd.sock").await?;
    /// let snap = c.snapshot_of(&["tracking", "sourcestats"]).await?;
    /// assert!(!snap.rtc_data.was_requested());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Client::snapshot_of`](crate::Client::snapshot_of).
    pub async fn snapshot_of(&mut self, reports: &[&str]) -> Result<Snapshot> {
        self.engine
            .snapshot(&mut TokioDriver::new(self.transport()), Some(reports), None)
            .await
    }

    /// Reads the chosen reports at once by `deadline`, keeping what
    /// finished (see [`Client::snapshot_until`](crate::Client::snapshot_until)).
    ///
    /// ```no_run
    /// # async fn run() -> chrony::Result<()> {
    /// use std::time::{Duration, Instant};
    /// let mut c = chrony::tokio::AsyncClient::connect("/run/chrony/chronyd.sock").await?;
    /// let snap = c
    ///     .snapshot_until(&["tracking", "sources"], Instant::now() + Duration::from_secs(1))
    ///     .await?;
    /// println!("{} sources", snap.sources.present().map_or(0, Vec::len));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Client::snapshot_until`](crate::Client::snapshot_until).
    pub async fn snapshot_until(
        &mut self,
        reports: &[&str],
        deadline: Instant,
    ) -> Result<Snapshot> {
        self.engine
            .snapshot(
                &mut TokioDriver::new(self.transport()),
                Some(reports),
                Some(deadline),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn futures_are_send() {
        fn send<T: Send>(_: &T) {}
        let builder = ClientBuilder::default();
        send(&builder.connect_async("127.0.0.1"));
        fn client_futures(c: &mut AsyncClient) {
            send(&c.tracking());
            send(&c.sources());
            send(&c.auth_data());
            send(&c.snapshot());
            send(&c.records("ntpdata"));
        }
        let _ = client_futures;
        fn assert_send<T: Send>() {}
        assert_send::<AsyncClient>();
    }

    /// With several sockets watched, one that already holds a datagram is
    /// reported ready at once by the zero-timeout poll, the others not,
    /// and the wait neither goes through the reactor (the sockets are not
    /// even registered) nor waits for its timer.
    #[test]
    fn ready_sockets_are_taken_without_the_reactor() {
        use std::os::unix::net::UnixDatagram;
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (a, a_peer) = UnixDatagram::pair().expect("pair");
        let (b, _b_peer) = UnixDatagram::pair().expect("pair");
        a_peer.send(b"reply").expect("send");
        let watch = |fd: RawFd, slot: usize| Watched::<'_, Registration> {
            fd,
            interest: Interest::Read,
            registration: None,
            ready: false,
            slot,
        };
        let mut watched = [watch(b.as_raw_fd(), 0), watch(a.as_raw_fd(), 1)];
        rt.block_on(async {
            let mut driver = TokioDriver::new(Transport::Unix);
            let until = Instant::now() + std::time::Duration::from_secs(30);
            ::tokio::time::timeout(
                std::time::Duration::from_secs(5),
                driver.wait(&mut watched, until),
            )
            .await
            .expect("a ready socket ends the wait at once")
            .expect("wait");
        });
        assert!(!watched[0].ready, "b holds nothing");
        assert!(watched[1].ready, "a holds a datagram");
    }
}
