//! An async client for [tokio](https://tokio.rs) (feature `tokio`).
//!
//! [`AsyncClient`] is the blocking [`Client`](crate::Client) without the
//! blocking: the same options ([`ClientBuilder`]), the same reports, models
//! and errors, the same exchange engine (re-sends that keep earlier
//! attempts alive, bad datagrams as lost datagrams, the per-exchange
//! timeout and the whole-call deadline, several sessions in flight). Its
//! sockets are watched with [`tokio::io::unix::AsyncFd`] and its deadlines
//! are [`tokio::time`] timers, so a call never blocks a runtime thread: no
//! blocking system call (libchrony's sockets are non-blocking), no
//! `block_in_place`, no helper thread. libchrony's address-buffer lock
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

use crate::client::{Address, ClientBuilder, ToAddress};
use crate::error::{DataProblem, Error, Result};
use crate::field::{FieldSource, Record};
use crate::generic::GenericRecord;
use crate::reports::FromRecord;
use crate::runner::{report_name, Core, Driver, Job};
use crate::session::{Conn, Exchange, Interest};
use crate::{
    Activity, AuthData, NtpData, RtcData, SelectData, ServerStats, Smoothing, Snapshot, Source,
    SourceStats, Tracking, Transport,
};
use ::tokio::io::unix::AsyncFd;
use std::ffi::{c_int, CStr};
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::Poll;
use std::time::Instant;

/// A descriptor owned by a [`Conn`]; registered with tokio for as long as
/// the `Conn` lives (the registration is dropped before the socket is
/// closed).
struct FdRef(RawFd);

impl AsRawFd for FdRef {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A registration with the reactor of the call that made it.
struct Registration {
    call: u64,
    fd: AsyncFd<FdRef>,
}

/// Numbers the calls, so that a registration from an earlier call (perhaps
/// on another runtime, since dropped) is never reused.
static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Waits with tokio's reactor and timers; one per call.
#[derive(Debug)]
struct TokioDriver {
    call: u64,
}

impl TokioDriver {
    fn new() -> TokioDriver {
        TokioDriver {
            call: CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl Driver for TokioDriver {
    fn register(&mut self, conn: &mut Conn) -> io::Result<()> {
        let current = conn
            .reactor
            .as_ref()
            .and_then(|r| r.downcast_ref::<Registration>())
            .is_some_and(|r| r.call == self.call);
        if !current {
            // Deregister first (the fd stays open), then register with the
            // runtime this call runs on.
            conn.reactor = None;
            let interest = ::tokio::io::Interest::READABLE | ::tokio::io::Interest::WRITABLE;
            // SAFETY: the descriptor is the Conn's open socket, which the
            // Conn alone closes, in its Drop, after dropping `reactor` (this
            // registration) first; the Conn never replaces its descriptor. So
            // the fd stays open and the same for the AsyncFd's whole life,
            // and FdRef always returns it.
            let afd = unsafe { AsyncFd::register_with_interest(FdRef(conn.fd()), interest) }
                .map_err(|e| e.into_parts().1)?;
            conn.reactor = Some(Box::new(Registration {
                call: self.call,
                fd: afd,
            }));
        }
        Ok(())
    }

    async fn wait(
        &mut self,
        running: &mut [Option<(Job, Exchange)>],
        until: Instant,
    ) -> io::Result<Vec<(c_int, Interest)>> {
        {
            let sleep = ::tokio::time::sleep_until(::tokio::time::Instant::from_std(until));
            let mut sleep = std::pin::pin!(sleep);
            poll_fn(|cx| {
                let mut ready = Vec::new();
                for (_, ex) in running.iter_mut().flatten() {
                    for (conn, interest) in ex.watch_conns() {
                        let Some(afd) = conn
                            .reactor
                            .as_ref()
                            .and_then(|r| r.downcast_ref::<Registration>())
                            .map(|r| &r.fd)
                        else {
                            continue;
                        };
                        let polled = match interest {
                            Interest::Read => afd.poll_read_ready(cx),
                            Interest::Write => afd.poll_write_ready(cx),
                        };
                        match polled {
                            // Cleared before the engine reads: it reads until
                            // the socket is empty (EAGAIN), and any datagram
                            // arriving later raises readiness again.
                            Poll::Ready(Ok(mut guard)) => {
                                guard.clear_ready();
                                ready.push((conn.fd(), interest));
                            }
                            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                            Poll::Pending => {}
                        }
                    }
                }
                if !ready.is_empty() || sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(ready));
                }
                Poll::Pending
            })
            .await
        }
    }
}

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
    core: Core,
    address: Address,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("address", &self.address)
            .field("timeout", &self.core.target.policy.timeout)
            .field("retries", &self.core.target.policy.retries)
            .field("deadline", &self.core.deadline)
            .field("concurrency", &self.core.slots.len())
            .finish_non_exhaustive()
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
        let core = self
            .first_answering(&mut TokioDriver::new(), &address, candidates, probe)
            .await?;
        Ok(AsyncClient { core, address })
    }
}

fn missing(report: &str) -> Error {
    Error::BadData {
        report: report.into(),
        field: String::new(),
        problem: DataProblem::Missing,
    }
}

fn one<T: FromRecord>(r: &Record<'_, dyn FieldSource + '_>) -> Result<T> {
    T::from_record(r)?.ok_or_else(|| r.error("", DataProblem::Missing))
}

// The generic `from_record`s need a closure to meet the higher-ranked bound.
#[allow(clippy::redundant_closure)]
impl AsyncClient {
    /// Connects with default options (see [`ClientBuilder`]).
    ///
    /// # Errors
    /// See [`ClientBuilder::connect`].
    pub async fn connect(address: impl ToAddress) -> Result<AsyncClient> {
        ClientBuilder::default().connect_async(address).await
    }

    /// The address this client talks to.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.core.target.policy.transport
    }

    async fn fetch_typed<T, F>(&mut self, report: &'static CStr, mut build: F) -> Result<Vec<T>>
    where
        T: Send,
        F: for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>) -> Result<Option<T>> + Send,
    {
        self.core
            .fetch(
                &mut TokioDriver::new(),
                self.core.call_deadline(),
                report,
                false,
                &mut |r, _| build(r),
            )
            .await
    }

    /// Asks chronyd how many records `report` has.
    ///
    /// # Errors
    /// As [`Client::record_count`](crate::Client::record_count).
    pub async fn record_count(&mut self, report: &str) -> Result<usize> {
        let name = report_name(report)?;
        self.core.count(&mut TokioDriver::new(), name).await
    }

    /// Reads the tracking report.
    ///
    /// # Errors
    /// As [`Client::tracking`](crate::Client::tracking).
    pub async fn tracking(&mut self) -> Result<Tracking> {
        self.fetch_typed(c"tracking", |r| one(r).map(Some))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| missing("tracking"))
    }

    /// Reads the sources report.
    ///
    /// # Errors
    /// As [`Client::sources`](crate::Client::sources).
    pub async fn sources(&mut self) -> Result<Vec<Source>> {
        self.fetch_typed(c"sources", |r| Source::from_record(r))
            .await
    }

    /// Reads the sourcestats report.
    ///
    /// # Errors
    /// As [`Client::source_stats`](crate::Client::source_stats).
    pub async fn source_stats(&mut self) -> Result<Vec<SourceStats>> {
        self.fetch_typed(c"sourcestats", |r| SourceStats::from_record(r))
            .await
    }

    /// Reads the rtcdata report (`None` without RTC tracking).
    ///
    /// # Errors
    /// As [`Client::rtc_data`](crate::Client::rtc_data).
    pub async fn rtc_data(&mut self) -> Result<Option<RtcData>> {
        Ok(self
            .fetch_typed(c"rtcdata", |r| one(r).map(Some))
            .await?
            .into_iter()
            .next())
    }

    /// Reads the activity report.
    ///
    /// # Errors
    /// As [`Client::activity`](crate::Client::activity).
    pub async fn activity(&mut self) -> Result<Activity> {
        self.fetch_typed(c"activity", |r| one(r).map(Some))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| missing("activity"))
    }

    /// Reads the serverstats report (Unix socket only).
    ///
    /// # Errors
    /// As [`Client::server_stats`](crate::Client::server_stats).
    pub async fn server_stats(&mut self) -> Result<ServerStats> {
        self.fetch_typed(c"serverstats", |r| one(r).map(Some))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| missing("serverstats"))
    }

    /// Reads the smoothing report (`None` when smoothing is off).
    ///
    /// # Errors
    /// As [`Client::smoothing`](crate::Client::smoothing).
    pub async fn smoothing(&mut self) -> Result<Option<Smoothing>> {
        Ok(self
            .fetch_typed(c"smoothing", |r| one(r).map(Some))
            .await?
            .into_iter()
            .next())
    }

    /// Reads the selectdata report (Unix socket only).
    ///
    /// # Errors
    /// As [`Client::select_data`](crate::Client::select_data).
    pub async fn select_data(&mut self) -> Result<Vec<SelectData>> {
        self.fetch_typed(c"selectdata", |r| SelectData::from_record(r))
            .await
    }

    /// Reads the ntpdata report (Unix socket only).
    ///
    /// # Errors
    /// As [`Client::ntp_data`](crate::Client::ntp_data).
    pub async fn ntp_data(&mut self) -> Result<Vec<NtpData>> {
        self.fetch_typed(c"ntpdata", |r| NtpData::from_record(r))
            .await
    }

    /// Reads the authdata report (Unix socket only), with each source's
    /// address.
    ///
    /// # Errors
    /// As [`Client::auth_data`](crate::Client::auth_data).
    pub async fn auth_data(&mut self) -> Result<Vec<AuthData>> {
        self.core
            .fetch(
                &mut TokioDriver::new(),
                self.core.call_deadline(),
                c"authdata",
                true,
                &mut |r, address| {
                    Ok(AuthData::from_record(r)?.map(|a| a.with_paired_address(address)))
                },
            )
            .await
    }

    /// Reads every record of `report` as [`GenericRecord`]s.
    ///
    /// # Errors
    /// As [`Client::records`](crate::Client::records).
    pub async fn records(&mut self, report: &str) -> Result<Vec<GenericRecord>> {
        let name = report_name(report)?;
        self.fetch_typed(name, |r| GenericRecord::from_source(r).map(Some))
            .await
    }

    /// Fetches every record of `report` and builds each with `build`.
    ///
    /// # Errors
    /// As [`Client::fetch`](crate::Client::fetch).
    pub async fn fetch<T, F>(&mut self, report: &str, build: F) -> Result<Vec<T>>
    where
        T: Send,
        F: for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>) -> Result<Option<T>> + Send,
    {
        let name = report_name(report)?;
        self.fetch_typed(name, build).await
    }

    /// Reads every report at once (see [`Snapshot`]).
    ///
    /// # Errors
    /// As [`Client::snapshot`](crate::Client::snapshot).
    pub async fn snapshot(&mut self) -> Result<Snapshot> {
        self.core.snapshot(&mut TokioDriver::new()).await
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
}
