//! The blocking client.

mod reports;

use crate::address::{self, Address, ToAddress};
use crate::blocking::{block_on, Blocking};
use crate::engine::Engine;
use crate::engine::{Driver, Link, Policy, Target, MAX_RETRIES};
use crate::error::{Error, Result};
use crate::field::{FieldSource, Record};
use crate::reports::sources::Source;
use crate::reports::{FromRecord, DISABLED_NAMES};
use crate::session::Conn;
use crate::snapshot::Snapshot;
use crate::types::SourceId;
use std::ffi::CString;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// Reports whose record request chronyd answers with `CHRONY_DISABLED` when
/// the feature is off (no RTC, no time smoothing): that means "absent", not
/// a failure (from [`DESCRIPTORS`](crate::reports::DESCRIPTORS)).
///
/// ```
/// assert_eq!(chrony::DISABLED_MEANS_ABSENT, ["rtcdata", "smoothing"]);
/// ```
pub const DISABLED_MEANS_ABSENT: &[&str] = &DISABLED_NAMES;

/// The default first wait for a reply, as chronyc's `timeout` (1 s); each
/// re-send doubles it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Re-sends of a request, as chronyc's `retries` (2: attempts waiting 1, 2
/// and 4 s). Over the Unix socket too: a busy chronyd drops replies when its
/// socket's send buffer is full (hundreds of clients at once), and a
/// re-send costs nothing when the reply does come, since earlier attempts
/// keep listening.
pub const DEFAULT_RETRIES: u32 = 2;
/// The default bound of one whole call (every exchange and follow-up of
/// one method call).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// The default number of sessions a client keeps, so that this many
/// requests of one call can be in flight at once.
///
/// Over the Unix socket a few sessions already keep chronyd busy and more
/// gain nothing (the `bench` example shows it: a 128-source report at 1,
/// 4 and 8 sessions); over UDP every extra request in flight hides one
/// more round trip, so the latency of a remote report falls from (N+1)
/// round trips to about 1 + N/K. 8 serves both.
///
/// Each session holds two file descriptors (its socket and libchrony's
/// `/dev/urandom` FILE), so a default client holds up to 16, the 14 beyond
/// the first session only once it reads a per-source report (a re-send
/// holds two more while its exchange lasts). A call that cannot open more
/// runs on the sessions it has; with none it fails with
/// [`Error::ResourceExhausted`].
///
/// ```
/// assert_eq!(chrony::DEFAULT_CONCURRENCY * 2, 16); // descriptors, at most
/// ```
pub const DEFAULT_CONCURRENCY: usize = 8;
/// The most sessions one client keeps.
pub const MAX_CONCURRENCY: usize = crate::engine::MAX_SLOTS;
/// Where chronyd's Unix command socket usually is, in the order tried by
/// [`Client::connect_default`].
pub const DEFAULT_SOCKET_PATHS: &[&str] =
    &["/run/chrony/chronyd.sock", "/var/run/chrony/chronyd.sock"];

/// Options for a [`Client`] (and the tokio client): timeouts, re-sends,
/// the whole-call deadline and the number of sessions.
///
/// Two bounds apply to every call:
///
/// - **Per exchange** (one request and its reply, as chronyc): the first
///   attempt waits [`timeout`](Self::timeout) for a reply (default 1 s);
///   each of the [`retries`](Self::retries) re-sends (default 2) doubles the
///   wait. Earlier attempts keep listening, so a slow reply is still
///   accepted after a re-send. With the defaults an exchange gives up after
///   1 + 2 + 4 = 7 s.
/// - **Per call**: every exchange of one method call (a report's count,
///   all its records and their follow-ups) ends by the
///   [`deadline`](Self::deadline) (default 10 s).
///
/// Whichever passes first gives [`Error::Timeout`] (its `call_deadline`
/// says which).
///
/// ```no_run
/// use std::time::Duration;
/// let mut client = chrony::Client::builder()
///     .timeout(Duration::from_millis(500))
///     .retries(3)
///     .deadline(Duration::from_secs(5))
///     .concurrency(4)
///     .connect("127.0.0.1:323")?;
/// println!("{:?}", client.tracking()?);
/// # Ok::<(), chrony::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    timeout: Duration,
    retries: Option<u32>,
    deadline: Duration,
    concurrency: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            timeout: DEFAULT_TIMEOUT,
            retries: None,
            deadline: DEFAULT_DEADLINE,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

impl ClientBuilder {
    /// How long the first attempt of an exchange waits for a reply before
    /// the request is re-sent (default 1 s, as chronyc); every re-send
    /// doubles the wait. A reply slower than this is still accepted: the
    /// earlier attempts keep listening.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often a request is re-sent when chronyd stays silent (default
    /// [`DEFAULT_RETRIES`], at most 16).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries.min(MAX_RETRIES));
        self
    }

    /// The bound of one whole call: every request, record and follow-up of
    /// one method call (default 10 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How many sessions the client keeps, that is how many requests of one
    /// call are in flight at once (default [`DEFAULT_CONCURRENCY`]; 1 reads
    /// one record after the other; at most [`MAX_CONCURRENCY`]). Sessions
    /// are opened when a call first needs them; each holds two file
    /// descriptors (its socket and libchrony's `/dev/urandom`). When the
    /// process has no descriptor left for one more, the call runs on the
    /// sessions that are open.
    pub fn concurrency(mut self, sessions: usize) -> Self {
        self.concurrency = sessions.clamp(1, MAX_CONCURRENCY);
        self
    }

    fn policy(&self, address: &Address) -> Policy {
        let transport = address.transport();
        Policy {
            address: address.to_string(),
            transport,
            timeout: self.timeout,
            retries: self.retries.unwrap_or(DEFAULT_RETRIES),
        }
    }

    /// A client's state for one concrete (resolved) address, with its first
    /// session open.
    pub(crate) fn engine<R: Send + Sync>(&self, address: &Address) -> Result<Engine<Conn, R>> {
        address::validate(address)?;
        let policy = self.policy(address);
        let c_address =
            CString::new(address.to_libchrony()).map_err(|_| Error::InvalidAddress {
                address: address.to_string(),
                reason: "contains a NUL byte",
            })?;
        // Remove the socket directories that crashed clients left beside
        // chronyd's socket (see `sockdir`).
        if let Address::Unix(path) = address {
            crate::sockdir::sweep(path);
        }
        // Open the first session now: a wrong path or a permission problem
        // shows at connect. The others open when a call needs them.
        let first = Conn::open(&c_address, &policy.address)?;
        let target = Target {
            policy,
            endpoint: c_address,
        };
        Ok(Engine::new(target, first, self.concurrency, self.deadline))
    }

    /// Connects to `address`: text (see [`Address::parse`]), an
    /// [`Address`], a [`SocketAddr`](std::net::SocketAddr), an
    /// [`IpAddr`](std::net::IpAddr) or a [`Path`].
    ///
    /// Opening a UDP session sends nothing, so an absent chronyd shows up at
    /// the first request (as [`Error::Connect`] or [`Error::Timeout`]). A
    /// host name is resolved here; when it has several addresses, each is
    /// asked for its source count in turn and the first that answers is
    /// used, as `chronyc -h` does.
    ///
    /// # Errors
    /// [`Error::InvalidAddress`], [`Error::Resolve`], [`Error::Connect`],
    /// [`Error::PermissionDenied`].
    pub fn connect(&self, address: impl ToAddress) -> Result<Client> {
        let address = address.to_address()?;
        let candidates = address.resolve()?;
        // Several addresses of one host name: each is asked in turn.
        let probe = candidates.len() > 1;
        self.connect_candidates(&address, candidates, probe)
    }

    fn connect_candidates(
        &self,
        shown: &Address,
        candidates: Vec<Address>,
        probe: bool,
    ) -> Result<Client> {
        let (engine, endpoint) =
            block_on(self.first_answering(&mut Blocking::default(), shown, candidates, probe))?;
        Ok(Client {
            engine,
            driver: Blocking::default(),
            address: shown.clone(),
            endpoint,
        })
    }

    /// A client's state for the first candidate that opens (and, with
    /// `probe`, answers a request), or the most telling error of them all.
    /// Written once for both drivers.
    pub(crate) async fn first_answering<D: Driver<Conn>>(
        &self,
        driver: &mut D,
        shown: &Address,
        candidates: Vec<Address>,
        probe: bool,
    ) -> Result<(Engine<Conn, D::Registration>, Address)> {
        let mut errors = Vec::new();
        for candidate in candidates {
            // Sweeping the socket directory and opening a session may
            // block: never on a runtime's worker.
            let (builder, address) = (self.clone(), candidate.clone());
            let opened = driver
                .offload(move || builder.engine(&address))
                .await
                .map_err(|source| Error::Connect {
                    address: candidate.to_string(),
                    source,
                });
            let mut engine = match opened.and_then(|engine| engine) {
                Ok(engine) => engine,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if !probe {
                return Ok((engine, candidate));
            }
            // libchrony answers the tracking count without asking chronyd;
            // the sources count is a real round trip.
            match engine.count(driver, Source::DESCRIPTOR.c_name()?).await {
                Ok(_) => return Ok((engine, candidate)),
                Err(e) => errors.push(e),
            }
        }
        Err(most_telling(errors, shown))
    }

    /// Like [`Client::connect_default`], with these options.
    ///
    /// # Errors
    /// The most telling error of the addresses tried: a permission problem
    /// before anything else, then any answer or timeout of a chronyd, then
    /// the last connection error.
    pub fn connect_default(&self) -> Result<Client> {
        let mut errors = Vec::new();
        for path in DEFAULT_SOCKET_PATHS {
            if !Path::new(path).exists() {
                continue;
            }
            match self.connect(*path) {
                Ok(c) => return Ok(c),
                Err(e) => errors.push(e),
            }
        }
        for ip in ["127.0.0.1", "::1"] {
            let address = Address::parse(ip)?;
            match self.connect_candidates(&address, vec![address.clone()], true) {
                Ok(c) => return Ok(c),
                Err(e) => errors.push(e),
            }
        }
        let shown = Address::parse(DEFAULT_SOCKET_PATHS[0])?;
        Err(most_telling(errors, &shown))
    }
}

/// Of several failures, the one that tells the user most: a permission
/// problem, then anything a chronyd answered (or a timeout), then the last
/// connection error.
pub(crate) fn most_telling(errors: Vec<Error>, shown: &Address) -> Error {
    let rank = |e: &Error| match e {
        Error::PermissionDenied { .. } => 0,
        Error::Connect { .. } | Error::Resolve { .. } => 2,
        _ => 1,
    };
    let mut best: Option<Error> = None;
    for e in errors {
        best = match best {
            Some(b) if rank(&b) < rank(&e) => Some(b),
            _ => Some(e),
        };
    }
    best.unwrap_or_else(|| Error::Connect {
        address: shown.to_string(),
        source: io::Error::from(io::ErrorKind::NotFound),
    })
}

/// A blocking client.
///
/// A client keeps up to [`ClientBuilder::concurrency`] libchrony sessions
/// to one chronyd, opened when first needed: the records of a per-source
/// report are spread over them, so a 128-source report costs a few round
/// trips, not 129. Every call is bounded (see [`ClientBuilder`]). A session
/// whose request was abandoned (a timeout, an error) is closed, so the next
/// call starts clean; when chronyd restarts, the next call re-opens its
/// sessions once and goes on.
///
/// `Client` is `Send` (it can move to another thread) but not `Sync`: use
/// one client per thread. Many clients may run in parallel; libchrony's
/// shared address buffer is serialized through
/// [`libchrony_sys::BUFFER_LOCK`]. Dropping the client closes its sessions
/// and removes their client sockets.
///
/// A `Client` cannot be shared between threads:
///
/// ```compile_fail
/// fn needs_sync<T: Sync>() {}
/// needs_sync::<chrony::Client>();
/// ```
///
/// ```no_run
/// let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
/// let tracking = client.tracking()?;
/// println!("stratum {} last offset {:+.9} s", tracking.stratum, tracking.last_offset);
/// for source in client.sources()? {
///     println!("{} {} reach {:o}", source.state, source.address, source.reachability);
/// }
/// # Ok::<(), chrony::Error>(())
/// ```
pub struct Client {
    pub(crate) engine: Engine<Conn, ()>,
    /// Kept between calls: its `pollfd` buffer is reused.
    pub(crate) driver: Blocking,
    address: Address,
    /// The address its sessions talk to (a host name resolved).
    endpoint: Address,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::surface::debug_client(f, "Client", &self.address, &self.engine)
    }
}

impl Client {
    /// Connects with default options (see [`ClientBuilder`]).
    ///
    /// ```no_run
    /// let mut unix = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// let mut udp = chrony::Client::connect("ntp1.example.net")?;
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// See [`ClientBuilder::connect`].
    pub fn connect(address: impl ToAddress) -> Result<Client> {
        ClientBuilder::default().connect(address)
    }

    /// Connects the way chronyc does without `-h`: the usual Unix socket
    /// paths ([`DEFAULT_SOCKET_PATHS`]), then UDP to 127.0.0.1 and ::1 (each
    /// checked with a request).
    ///
    /// # Errors
    /// The most telling error of the addresses tried (see
    /// [`ClientBuilder::connect_default`]).
    pub fn connect_default() -> Result<Client> {
        ClientBuilder::default().connect_default()
    }

    /// A builder for the timeouts, re-sends, deadline and sessions.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    crate::surface::address_methods!(
        "let client = chrony::Client::connect(\"localhost\")?;",
        "# Ok::<(), chrony::Error>(())"
    );

    /// Reads every report chronyd serves on this transport at once, spread
    /// over the client's sessions, into one [`Snapshot`](crate::Snapshot).
    /// A report chronyd refuses (such as `serverstats` over UDP) is
    /// recorded as absent with its reason; a transport failure (a timeout,
    /// a lost connection) fails the snapshot.
    ///
    /// ```no_run
    /// let mut client = chrony::Client::connect("127.0.0.1")?;
    /// let snap = client.snapshot()?;
    /// assert!(snap.server_stats.present().is_none(), "served on the Unix socket only");
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// Transport errors.
    pub fn snapshot(&mut self) -> Result<Snapshot> {
        block_on(self.engine.snapshot(&mut self.driver, None, None))
    }

    /// Reads the chosen reports at once, like [`snapshot`](Self::snapshot)
    /// for a subset: `reports` names them (from [`REPORTS`](crate::REPORTS)).
    /// A report not chosen is not asked for at all; its part is
    /// [`Part::Absent`](crate::snapshot::Part::Absent) with the label
    /// [`NOT_REQUESTED`](crate::snapshot::NOT_REQUESTED), so it is never
    /// mistaken for one chronyd refused.
    ///
    /// ```no_run
    /// use chrony::snapshot::NOT_REQUESTED;
    /// let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// let snap = client.snapshot_of(&["tracking", "sources"])?;
    /// assert!(snap.tracking.present().is_some());
    /// assert_eq!(snap.ntp_data.absence().map(|a| a.absent.as_str()), Some(NOT_REQUESTED));
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownReport`] for a name not in [`REPORTS`](crate::REPORTS),
    /// else as [`snapshot`](Self::snapshot).
    pub fn snapshot_of(&mut self, reports: &[&str]) -> Result<Snapshot> {
        block_on(self.engine.snapshot(&mut self.driver, Some(reports), None))
    }

    /// Reads the chosen reports at once by `deadline` instead of the
    /// client's own, keeping what finished: a report not finished by then
    /// is [`Part::Absent`](crate::snapshot::Part::Absent) with the label
    /// [`TIMEOUT`](crate::snapshot::TIMEOUT) and a message naming it, the
    /// others are as [`snapshot_of`](Self::snapshot_of) gives them. The
    /// sessions that had a request in flight are closed and the idle ones
    /// kept, so the client goes on serving calls. This is how a scrape
    /// with a budget reads chronyd: one slow report costs that report
    /// only. Pass [`REPORTS`](crate::REPORTS) to choose them all.
    ///
    /// ```no_run
    /// use std::time::{Duration, Instant};
    /// let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// let deadline = Instant::now() + Duration::from_millis(1500);
    /// let snap = client.snapshot_until(chrony::REPORTS, deadline)?;
    /// if let Some(absence) = snap.sources.absence() {
    ///     eprintln!("sources: {} ({})", absence.absent, absence.message);
    /// }
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`snapshot_of`](Self::snapshot_of); when no chosen report
    /// finished by `deadline`, [`Error::Timeout`] (or
    /// [`Error::NoValidReply`]) with `call_deadline` set.
    pub fn snapshot_until(&mut self, reports: &[&str], deadline: Instant) -> Result<Snapshot> {
        block_on(
            self.engine
                .snapshot(&mut self.driver, Some(reports), Some(deadline)),
        )
    }

    /// Asks chronyd how many records `report` has.
    ///
    /// # Errors
    /// [`Error::UnknownReport`], [`Error::TooManyRecords`], transport
    /// errors.
    pub fn record_count(&mut self, report: &str) -> Result<usize> {
        let name = crate::reports::Descriptor::by_name(report)?.c_name()?;
        block_on(self.engine.count(&mut self.driver, name))
    }

    /// Fetches every record of `report` and builds each with `build`, which
    /// sees the record only through [`Record`] / [`FieldSource`]. Records
    /// for which `build` returns `Ok(None)` are skipped.
    ///
    /// # Errors
    /// Transport errors and whatever `build` returns.
    pub fn fetch<T>(
        &mut self,
        report: &str,
        mut build: impl FnMut(&Record<'_, dyn FieldSource + '_>) -> Result<Option<T>>,
    ) -> Result<Vec<T>> {
        block_on(self.engine.collect(
            &mut self.driver,
            report,
            |r: &Record<'_, dyn FieldSource + '_>, _: Option<SourceId>| build(r),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_telling_error_wins() {
        let shown = Address::parse("/run/chrony/chronyd.sock").unwrap();
        let connect = || Error::Connect {
            address: "a".into(),
            source: io::Error::from_raw_os_error(libc::ECONNREFUSED),
        };
        let timeout = Error::Timeout {
            address: "127.0.0.1:323".into(),
            report: "sources".into(),
            operation: "record count".into(),
            timeout: Duration::from_secs(1),
            call_deadline: false,
        };
        let denied = Error::PermissionDenied {
            address: "/run/chrony/chronyd.sock".into(),
            source: io::Error::from_raw_os_error(libc::EACCES),
        };
        assert!(matches!(
            most_telling(vec![denied, connect(), timeout], &shown),
            Error::PermissionDenied { .. }
        ));
        let timeout = Error::Timeout {
            address: "127.0.0.1:323".into(),
            report: "sources".into(),
            operation: "record count".into(),
            timeout: Duration::from_secs(1),
            call_deadline: false,
        };
        assert!(matches!(
            most_telling(vec![connect(), timeout, connect()], &shown),
            Error::Timeout { .. }
        ));
        assert!(matches!(
            most_telling(vec![], &shown),
            Error::Connect { .. }
        ));
    }

    #[test]
    fn client_is_send_not_sync() {
        fn assert_send<T: Send>() {}
        assert_send::<Client>();
        // Not Sync: a `Client` holds a raw session pointer. Checked at
        // compile time by the trait-object trick below.
        trait NotSync {
            fn is_sync() -> bool {
                false
            }
        }
        impl<T: ?Sized> NotSync for T {}
        struct Check<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        impl<T: ?Sized + Sync> Check<T> {
            fn is_sync() -> bool {
                true
            }
        }
        assert!(!Check::<Client>::is_sync());
        assert!(Check::<String>::is_sync());
    }
}
