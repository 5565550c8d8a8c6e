//! `chrony._native`: the I/O of the `chrony` Python package, on the
//! `chrony` crate's engine. It connects, reads reports and hands back
//! plain Python values (tuples of field values, lists, numbers, strings);
//! the package's Python code (`chrony-py/python/chrony/`) turns them into
//! its dataclasses and its exceptions.
//!
//! Every wait on chronyd happens without the GIL: blocking calls run
//! inside `Python::detach`, async calls on the tokio runtime of
//! pyo3-async-runtimes.

mod convert;
mod pool;
mod reports;

use chrony::tokio::AsyncClient;
use chrony::{Address, Client, ClientBuilder};
use pool::{AsyncPool, Pool, Unavailable};
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::Arc;
use std::time::{Duration, Instant};

pyo3::create_exception!(
    _native,
    Error,
    PyException,
    "A failed call: args are (kind, message, libchrony error code or None, report or None)."
);

/// The `kind` of a call on a closed connection.
const CLOSED: &str = "closed";

/// `e` as the module's [`Error`]: its kind label, its message with every
/// cause, libchrony's error code when it has one, and the report.
fn error(e: &chrony::Error) -> PyErr {
    let code = match e {
        chrony::Error::Protocol { code, .. } => Some(code.raw()),
        _ => None,
    };
    Error::new_err((
        e.kind().as_str(),
        e.chain().to_string(),
        code,
        e.report().map(str::to_string),
    ))
}

fn unavailable(u: Unavailable<chrony::Error>, deadline: Duration) -> PyErr {
    match u {
        Unavailable::Closed => Error::new_err((
            CLOSED,
            "the connection is closed",
            None::<u32>,
            None::<String>,
        )),
        Unavailable::Busy => Error::new_err((
            chrony::ErrorKind::Timeout.as_str(),
            format!(
                "no client of this connection came free within the call's deadline ({deadline:?}): \
                 as many calls as it runs at once were running"
            ),
            None::<u32>,
            None::<String>,
        )),
        Unavailable::Connect(e) => error(&e),
    }
}

/// The options every client of a connection is made with.
#[derive(Debug, Clone)]
struct Options {
    deadline: Duration,
    sessions: usize,
}

impl Options {
    fn new(timeout: f64, sessions: usize) -> PyResult<Options> {
        // At most a year: every deadline is an Instant that must not
        // overflow, and a call bound by more is not bound at all.
        const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 86_400);
        let deadline = Duration::try_from_secs_f64(timeout)
            .ok()
            .filter(|d| !d.is_zero() && *d <= MAX_TIMEOUT)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "timeout must be a positive number of seconds, at most a year, not {timeout}"
                ))
            })?;
        if !(1..=chrony::MAX_CONCURRENCY).contains(&sessions) {
            return Err(PyValueError::new_err(format!(
                "sessions must be from 1 to {}, not {sessions}",
                chrony::MAX_CONCURRENCY
            )));
        }
        Ok(Options { deadline, sessions })
    }

    /// The builder of every client of the connection, each with all its
    /// sessions.
    fn builder(&self) -> ClientBuilder {
        Client::builder()
            .deadline(self.deadline)
            .concurrency(self.sessions)
    }

    /// How many reads of a per-source report (or snapshots) a connection
    /// to chronyd's Unix socket runs at once: `None` (as many as clients)
    /// over UDP. chronyd's Unix socket queues few datagrams (10 by
    /// default, `net.unix.max_dgram_qlen`): two reads of `sessions`
    /// requests in flight each keep it busy, more overflow it and every
    /// send then waits for room (eight at once read fewer reports a second
    /// than one). Single-record reports (tracking, ...) send one request a
    /// call and are not held back.
    fn bulk_at_once(transport: chrony::Transport) -> Option<usize> {
        match transport {
            chrony::Transport::Unix => Some(2),
            _ => None,
        }
    }
}

fn transport_name(t: chrony::Transport) -> &'static str {
    match t {
        chrony::Transport::Unix => "unix_socket",
        _ => "command_port",
    }
}

/// A blocking connection: the clients its threads share.
#[pyclass(frozen, module = "chrony._native")]
struct Connection {
    pool: Pool<Client>,
    /// Places for reads of per-source reports over the Unix socket (see
    /// `Options::bulk_at_once`).
    bulk: Option<pool::Gate>,
    address: Address,
    /// What the first client resolved `address` to: the others connect
    /// there, with no second lookup (nor another chronyd behind the name).
    endpoint: Address,
    options: Options,
}

impl Connection {
    /// Runs `call` on one of the connection's clients, without the GIL;
    /// a `bulk` call (a per-source report, a snapshot) waits for a place
    /// among those the connection runs at once.
    fn with_client<T: Send>(
        &self,
        py: Python<'_>,
        bulk: bool,
        call: impl FnOnce(&mut Client) -> chrony::Result<T> + Send,
    ) -> PyResult<T> {
        let deadline = self.options.deadline;
        py.detach(|| {
            let until = Instant::now() + deadline;
            let _pass = match (&self.bulk, bulk) {
                (Some(gate), true) => Some(
                    gate.enter(until)
                        .ok_or_else(|| unavailable(Unavailable::Busy, deadline))?,
                ),
                _ => None,
            };
            self.pool
                .with_client(
                    until,
                    || self.options.builder().connect(self.endpoint.clone()),
                    call,
                )
                .map_err(|u| unavailable(u, deadline))?
                .map_err(|e| error(&e))
        })
    }
}

#[pymethods]
impl Connection {
    /// Connects: to `address`, or with `None` the way chronyc does (the
    /// usual Unix socket paths, then 127.0.0.1 and ::1 over UDP).
    #[staticmethod]
    #[pyo3(signature = (address, timeout, sessions))]
    fn open(
        py: Python<'_>,
        address: Option<String>,
        timeout: f64,
        sessions: usize,
    ) -> PyResult<Connection> {
        let options = Options::new(timeout, sessions)?;
        let builder = options.builder();
        let first = py
            .detach(|| match &address {
                Some(a) => builder.connect(a.as_str()),
                None => builder.connect_default(),
            })
            .map_err(|e| error(&e))?;
        Ok(Connection {
            bulk: Options::bulk_at_once(first.transport()).map(pool::Gate::new),
            address: first.address().clone(),
            endpoint: first.endpoint().clone(),
            pool: Pool::new(first),
            options,
        })
    }

    /// The address the connection talks to, as text.
    #[getter]
    fn address(&self) -> String {
        self.address.to_string()
    }

    /// `unix_socket` or `command_port`.
    #[getter]
    fn transport(&self) -> &'static str {
        transport_name(self.endpoint.transport())
    }

    /// Reads the report of the library's report list named `name` (its
    /// snapshot field: `tracking`, `sources`, `source_stats`, ...): a
    /// tuple per record, in a list for per-source reports, `None` for an
    /// absent optional report.
    fn report<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        reports::read_blocking(self, py, name)
    }

    /// Every report at once: `(address, transport, present, absent)`, the
    /// last two dicts keyed by report field (`absent` gives
    /// `(reason, message)`).
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let snap = self.with_client(py, true, |c| c.snapshot())?;
        reports::snapshot_to_py(py, &snap)
    }

    /// Closes the connection: idle clients now, busy ones when their call
    /// ends. Later calls raise `Error` with kind `closed`.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.pool.close());
    }

    /// `(idle clients, open clients)`, for tests.
    fn _counts(&self) -> (usize, usize) {
        let c = self.pool.counts();
        (c.idle, c.open)
    }
}

struct AsyncShared {
    pool: AsyncPool<AsyncClient>,
    /// As [`Connection`]'s.
    bulk: Option<tokio::sync::Semaphore>,
    address: Address,
    /// Where the other clients connect (see `Connection::endpoint`).
    endpoint: Address,
    options: Options,
}

impl AsyncShared {
    /// One of the connection's clients, back in the pool when the lease
    /// is dropped (when the call ends, or its future is dropped).
    /// A `bulk` call (a per-source report, a snapshot) first waits for a
    /// place among those the connection runs at once, held as long as the
    /// lease.
    async fn lease(&self, bulk: bool) -> PyResult<Leased<'_>> {
        let deadline = self.options.deadline;
        let until = tokio::time::Instant::now() + deadline;
        let pass = match (&self.bulk, bulk) {
            (Some(gate), true) => Some(
                tokio::time::timeout_at(until, gate.acquire())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or_else(|| unavailable(Unavailable::Busy, deadline))?,
            ),
            _ => None,
        };
        let lease = self
            .pool
            .lease(until, || {
                let builder = self.options.builder();
                let endpoint = self.endpoint.clone();
                async move { builder.connect_async(endpoint).await }
            })
            .await
            .map_err(|u| unavailable(u, deadline))?;
        Ok(Leased { lease, _pass: pass })
    }
}

/// A client of an async connection, with its place among the bulk calls.
struct Leased<'a> {
    lease: pool::Lease<'a, AsyncClient>,
    _pass: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl std::ops::Deref for Leased<'_> {
    type Target = AsyncClient;
    fn deref(&self) -> &AsyncClient {
        &self.lease
    }
}

impl std::ops::DerefMut for Leased<'_> {
    fn deref_mut(&mut self) -> &mut AsyncClient {
        &mut self.lease
    }
}

/// An asyncio connection: the same as [`Connection`] on the tokio client.
#[pyclass(frozen, module = "chrony._native")]
struct AsyncConnection {
    shared: Arc<AsyncShared>,
}

#[pymethods]
impl AsyncConnection {
    /// Connects (an awaitable of `AsyncConnection`); `address` as for
    /// `Connection.open`.
    #[staticmethod]
    #[pyo3(signature = (address, timeout, sessions))]
    fn open(
        py: Python<'_>,
        address: Option<String>,
        timeout: f64,
        sessions: usize,
    ) -> PyResult<Bound<'_, PyAny>> {
        let options = Options::new(timeout, sessions)?;
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let builder = options.builder();
            let first = match address {
                Some(a) => builder.connect_async(a).await,
                // chronyc's search (socket paths, then UDP with a probe) is
                // the blocking client's; the async client then connects to
                // the address it found.
                None => {
                    let b = builder.clone();
                    let found = tokio::task::spawn_blocking(move || {
                        b.connect_default().map(|c| c.address().clone())
                    })
                    .await
                    .map_err(|e| PyRuntimeError::new_err(format!("connecting: {e}")))?
                    .map_err(|e| error(&e))?;
                    builder.connect_async(found).await
                }
            }
            .map_err(|e| error(&e))?;
            Ok(AsyncConnection {
                shared: Arc::new(AsyncShared {
                    bulk: Options::bulk_at_once(first.transport()).map(tokio::sync::Semaphore::new),
                    address: first.address().clone(),
                    endpoint: first.endpoint().clone(),
                    pool: AsyncPool::new(first),
                    options,
                }),
            })
        })
    }

    /// The address the connection talks to, as text.
    #[getter]
    fn address(&self) -> String {
        self.shared.address.to_string()
    }

    /// `unix_socket` or `command_port`.
    #[getter]
    fn transport(&self) -> &'static str {
        transport_name(self.shared.endpoint.transport())
    }

    /// An awaitable of what `Connection.report` returns.
    fn report<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        reports::read_async(self.shared.clone(), py, name)
    }

    /// An awaitable of what `Connection.snapshot` returns.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let snap = shared
                .lease(true)
                .await?
                .snapshot()
                .await
                .map_err(|e| error(&e))?;
            Ok(reports::Converted::new(move |py| {
                reports::snapshot_to_py(py, &snap).map(Bound::into_any)
            }))
        })
    }

    /// Closes the connection (see `Connection.close`).
    fn close(&self) {
        self.shared.pool.close();
    }

    /// `(idle clients, open clients)`, for tests.
    fn _counts(&self) -> (usize, usize) {
        let c = self.shared.pool.counts();
        (c.idle, c.open)
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Connection>()?;
    m.add_class::<AsyncConnection>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("MAX_CLIENTS", pool::MAX_CLIENTS)?;
    m.add("MAX_SESSIONS", chrony::MAX_CONCURRENCY)?;
    m.add("DEFAULT_SESSIONS", chrony::DEFAULT_CONCURRENCY)?;
    m.add("DEFAULT_TIMEOUT", chrony::DEFAULT_DEADLINE.as_secs_f64())?;
    m.add_function(wrap_pyfunction!(reports::schema, m)?)?;
    Ok(())
}
