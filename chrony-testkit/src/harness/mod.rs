//! A chronyd for tests: reference servers, reference clocks and a client
//! chronyd whose command socket a test can query, on this machine
//! ([`Backend::Process`]) or in Docker containers ([`Backend::Docker`]).
//!
//! Every chronyd runs with `-x` (it never adjusts the clock), with its own
//! configuration, socket, pid and drift files under a private temp dir, and
//! talks only to loopback (process backend) or to containers on a private
//! Docker network created for the harness instance. Dropping a [`Chronyd`]
//! (also while unwinding from a panic) stops and removes everything.
//!
//! ```no_run
//! use chrony_testkit::harness::ChronydBuilder;
//! let chronyd = ChronydBuilder::new().servers(2).refclocks(1).start()?;
//! let sources = chronyd.chronyc(&["sources"])?;
//! assert_eq!(sources.lines().count(), 3);
//! # Ok::<(), chrony_testkit::harness::HarnessError>(())
//! ```
//!
//! Environment: `CHRONY_TESTKIT_BACKEND=process|docker` and
//! `CHRONY_TESTKIT_SUITE=bullseye|bookworm|trixie|sid` choose the default backend;
//! `CHRONY_TESTKIT_CHRONYD` / `CHRONY_TESTKIT_CHRONYC` override the host
//! programs; `CHRONY_TESTKIT_RTC_DEVICE` names the RTC device for `rtc(true)`;
//! with `CHRONY_TESTKIT_STARTS_FILE=PATH`, every chronyd started appends
//! one line `TEST_BINARY::TEST_NAME` to PATH (the test is the name of the
//! thread that called `start()`, which libtest names after the test), so a
//! runner can count the tests that touched chronyd (`scripts/matrix` does).
//!
//! RTC: chronyd -x still opens the RTC device when `rtcfile` is configured
//! (it only reads it), so `rtc(true)` works where an RTC device exists
//! (`/dev/rtc0`, passed to the container with `--device`); the device is
//! exclusive, so only one harness at a time can use it. Without a device,
//! `start()` fails with [`HarnessError::Unsupported`] instead of starting a
//! chronyd that would answer `rtcdata` with "RTC driver not running".

mod config;
mod docker;
mod error;
mod process;
mod refclock;
mod util;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

pub use docker::{cleanup_docker_leftovers, docker_available, ensure_images, LABEL};
pub use error::HarnessError;

use config::ClientConf;
use docker::DockerRun;
use process::ProcessRun;

/// Debian release whose chrony runs in the Docker backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// Debian 11, chrony 4.0.
    Bullseye,
    /// Debian 12, chrony 4.3.
    Bookworm,
    /// Debian 13, chrony 4.6.1.
    Trixie,
    /// Debian unstable, chrony 4.9 (at the time of writing).
    Sid,
}

impl Suite {
    /// The Debian suite name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Bullseye => "bullseye",
            Suite::Bookworm => "bookworm",
            Suite::Trixie => "trixie",
            Suite::Sid => "sid",
        }
    }

    /// The chrony version the suite is expected to ship.
    pub fn chrony_version(self) -> &'static str {
        match self {
            Suite::Bullseye => "4.0",
            Suite::Bookworm => "4.3",
            Suite::Trixie => "4.6.1",
            Suite::Sid => "4.9",
        }
    }

    /// All suites.
    pub fn all() -> &'static [Suite] {
        &[Suite::Bullseye, Suite::Bookworm, Suite::Trixie, Suite::Sid]
    }

    /// Parses a suite name.
    pub fn from_name(name: &str) -> Option<Suite> {
        Suite::all().iter().copied().find(|s| s.name() == name)
    }

    /// The image built by `scripts/images` for this suite.
    pub fn image(self) -> String {
        format!("chrony-testkit/chronyd:{}", self.name())
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Where the chronyds run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Host chronyd processes on loopback addresses 127.0.0.K.
    Process,
    /// Containers of image `chrony-testkit/chronyd:SUITE` on a private network.
    Docker(Suite),
}

impl Backend {
    /// From `CHRONY_TESTKIT_BACKEND` and `CHRONY_TESTKIT_SUITE` (default: process).
    pub fn from_env() -> Result<Backend, HarnessError> {
        let backend = std::env::var("CHRONY_TESTKIT_BACKEND").unwrap_or_default();
        let suite = std::env::var("CHRONY_TESTKIT_SUITE").unwrap_or_default();
        let suite = if suite.is_empty() {
            Suite::Bookworm
        } else {
            Suite::from_name(&suite).ok_or_else(|| {
                HarnessError::InvalidConfig(format!("CHRONY_TESTKIT_SUITE={suite}: unknown suite"))
            })?
        };
        match backend.as_str() {
            "" | "process" => Ok(Backend::Process),
            "docker" => Ok(Backend::Docker(suite)),
            other => Err(HarnessError::InvalidConfig(format!(
                "CHRONY_TESTKIT_BACKEND={other}: expected process or docker"
            ))),
        }
    }
}

/// Builder of a [`Chronyd`].
#[derive(Debug, Clone)]
pub struct ChronydBuilder {
    backend: Result<Backend, String>,
    servers: usize,
    unreachable: usize,
    poll: i8,
    refclocks: usize,
    rtc: bool,
    rtc_path: Option<PathBuf>,
    udp_command: bool,
    wait_for_sync: Option<bool>,
    start_timeout: Duration,
    extra: Vec<String>,
    server_options: Vec<String>,
}

impl Default for ChronydBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChronydBuilder {
    /// One reference server, poll -2, backend from the environment
    /// ([`Backend::from_env`]; an invalid value makes `start()` fail).
    pub fn new() -> Self {
        ChronydBuilder {
            backend: Backend::from_env().map_err(|e| e.to_string()),
            servers: 1,
            unreachable: 0,
            poll: -2,
            refclocks: 0,
            rtc: false,
            rtc_path: None,
            udp_command: false,
            wait_for_sync: None,
            start_timeout: Duration::from_secs(30),
            extra: Vec::new(),
            server_options: Vec::new(),
        }
    }

    /// Chooses the backend.
    pub fn backend(mut self, b: Backend) -> Self {
        self.backend = Ok(b);
        self
    }

    /// Number of reference servers (`local stratum 1` chronyds), default 1.
    pub fn servers(mut self, n: usize) -> Self {
        self.servers = n;
        self
    }

    /// Number of configured server addresses where nothing answers.
    pub fn unreachable_servers(mut self, n: usize) -> Self {
        self.unreachable = n;
        self
    }

    /// minpoll/maxpoll of the sources (and the refclock poll), default -2.
    pub fn poll(mut self, log2: i8) -> Self {
        self.poll = log2;
        self
    }

    /// Number of reference clocks (`refclock SOCK`, refid RC0, RC1, ...) fed
    /// with samples by a harness thread.
    pub fn refclocks(mut self, n: usize) -> Self {
        self.refclocks = n;
        self
    }

    /// RTC tracking (`rtcfile` + `rtcdevice`); needs an RTC device, see the
    /// module documentation.
    pub fn rtc(mut self, on: bool) -> Self {
        self.rtc = on;
        self
    }

    /// RTC tracking with this device (instead of `CHRONY_TESTKIT_RTC_DEVICE`
    /// or `/dev/rtc0`, `/dev/rtc`); `start()` fails with
    /// [`HarnessError::Unsupported`] naming it when it does not exist.
    ///
    /// ```
    /// use chrony_testkit::harness::{ChronydBuilder, HarnessError};
    /// let r = ChronydBuilder::new().rtc_device("/nonexistent/rtc").start();
    /// assert!(matches!(r, Err(HarnessError::Unsupported(why)) if why.contains("/nonexistent/rtc")));
    /// ```
    pub fn rtc_device(mut self, device: impl Into<PathBuf>) -> Self {
        self.rtc = true;
        self.rtc_path = Some(device.into());
        self
    }

    /// Enables the UDP command port (see [`Chronyd::udp_address`]).
    pub fn udp_command(mut self, on: bool) -> Self {
        self.udp_command = on;
        self
    }

    /// Whether `start()` waits until a source is selected. Default: true
    /// when there are servers or reference clocks.
    pub fn wait_for_sync(mut self, on: bool) -> Self {
        self.wait_for_sync = Some(on);
        self
    }

    /// How long `start()` (and `restart()`) waits, default 30 s.
    pub fn start_timeout(mut self, d: Duration) -> Self {
        self.start_timeout = d;
        self
    }

    /// A raw configuration line for the client chronyd.
    pub fn extra_config(mut self, line: &str) -> Self {
        self.extra.push(line.to_string());
        self
    }

    /// Options appended to every `server` line of the client chronyd (the
    /// reachable and the unreachable ones), after `iburst minpoll P maxpoll
    /// P`; for example `maxdelaydevratio 0.001`, which makes test C of
    /// `ntpdata` fail on most samples.
    ///
    /// ```
    /// use chrony_testkit::harness::ChronydBuilder;
    /// let b = ChronydBuilder::new().server_options("maxdelaydevratio 0.001");
    /// # let _ = b;
    /// ```
    pub fn server_options(mut self, options: &str) -> Self {
        self.server_options.push(options.to_string());
        self
    }

    /// Starts everything and waits until the client chronyd is ready.
    pub fn start(self) -> Result<Chronyd, HarnessError> {
        let backend = self.backend.clone().map_err(HarnessError::InvalidConfig)?;
        if self.poll < -6 || self.poll > 24 {
            return Err(HarnessError::InvalidConfig(format!(
                "poll {} outside chrony's range -6..=24",
                self.poll
            )));
        }
        if self
            .extra
            .iter()
            .chain(&self.server_options)
            .any(|l| l.contains('\n'))
        {
            return Err(HarnessError::InvalidConfig(
                "extra_config takes one line at a time".into(),
            ));
        }
        let rtc_device = if self.rtc {
            Some(rtc_device(self.rtc_path.as_deref())?)
        } else {
            None
        };
        let dir = make_temp_dir()?;
        let root = dir.path().to_path_buf();
        let sock_dir = root.join("sock");
        process::mkdir_mode(&sock_dir, 0o770)?;
        let socket = sock_dir.join("chronyd.sock");
        let refclocks: Vec<PathBuf> = (0..self.refclocks)
            .map(|k| sock_dir.join(format!("refclock{k}.sock")))
            .collect();
        let wait_sync = self
            .wait_for_sync
            .unwrap_or(self.servers > 0 || self.refclocks > 0);
        let mut conf = ClientConf {
            servers: Vec::new(),
            poll: self.poll,
            refclocks: refclocks.clone(),
            socket: socket.clone(),
            cmd: None,
            cmd_bind_any: false,
            state_dir: root.join("client"),
            rtc_device: rtc_device.clone(),
            extra: self.extra.clone(),
            server_options: self.server_options.join(" "),
        };
        let mut feeder = None;
        if !refclocks.is_empty() {
            let secs = 2f64.powi(i32::from(self.poll)) / 4.0;
            let interval = Duration::from_secs_f64(secs.clamp(0.05, 1.0));
            feeder = Some(refclock::Feeder::start(refclocks, interval));
        }
        let started = match backend {
            Backend::Process => ProcessRun::start(&self, backend, &root, &mut conf)?,
            Backend::Docker(_) => DockerRun::start(&self, backend, &root, &mut conf)?,
        };
        record_start();
        let chronyc_user = (version_at_least(&started.chronyc_version, (4, 8))
            && util::euid() == Some(0))
        .then_some("root");
        let chronyd = Chronyd {
            chronyc_user,
            backend,
            inner: started.run,
            socket,
            udp: started.udp,
            version: started.version,
            servers: started.servers,
            wait_sync,
            timeout: self.start_timeout,
            feeder,
            dir: Some(dir),
        };
        chronyd.wait_ready()?;
        Ok(chronyd)
    }
}

/// With `CHRONY_TESTKIT_STARTS_FILE` set, appends `BINARY::TEST` (see the
/// module docs) to that file; errors are ignored (the count is a report,
/// not a check).
fn record_start() {
    use std::io::Write as _;
    let Some(path) = std::env::var_os("CHRONY_TESTKIT_STARTS_FILE").filter(|p| !p.is_empty())
    else {
        return;
    };
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // Cargo names test binaries `TARGET-HASH`.
    let binary = exe.rsplit_once('-').map_or(exe.as_str(), |(b, _)| b);
    let thread = std::thread::current();
    let line = format!(
        "{binary}::{}\n",
        thread.name().unwrap_or("(unnamed thread)")
    );
    // One write with O_APPEND: lines of parallel tests do not interleave.
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

fn rtc_device(chosen: Option<&Path>) -> Result<PathBuf, HarnessError> {
    let candidates: Vec<PathBuf> = match (chosen, std::env::var_os("CHRONY_TESTKIT_RTC_DEVICE")) {
        (Some(d), _) => vec![d.to_path_buf()],
        (None, Some(d)) if !d.is_empty() => vec![PathBuf::from(d)],
        _ => vec!["/dev/rtc0".into(), "/dev/rtc".into()],
    };
    candidates
        .iter()
        .find(|d| d.exists())
        .cloned()
        .ok_or_else(|| {
            HarnessError::Unsupported(format!(
                "rtc(true) needs an RTC device and none exists here ({}); chronyd -x \
             reads the RTC through that device, without it `rtcdata` answers \
             \"RTC driver not running\" (libchrony: CHRONY_DISABLED)",
                candidates
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// A private temp dir with a short path (Unix socket paths are limited to
/// 107 bytes and libchrony adds about 40 to the socket's directory).
fn make_temp_dir() -> Result<tempfile::TempDir, HarnessError> {
    let mut base = std::env::temp_dir();
    if base.as_os_str().len() > 40 {
        base = PathBuf::from("/tmp");
    }
    tempfile::Builder::new()
        .prefix("chrony-testkit-")
        .tempdir_in(&base)
        .map_err(|e| HarnessError::io(format!("cannot create a temp dir in {}", base.display()), e))
}

/// Whether a version string like "4.6.1" is at least `min` (major, minor).
pub(crate) fn version_at_least(version: &str, min: (u32, u32)) -> bool {
    let mut it = version.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let major = it.next().unwrap_or(0);
    let minor = it.next().unwrap_or(0);
    (major, minor) >= min
}

pub(crate) fn parse_version(out: &str) -> String {
    out.split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("unknown")
        .to_string()
}

/// One backend's running chronyds, as the front end ([`Chronyd`]) uses
/// them. Each backend starts itself ([`Run::start`]) and owns everything
/// it started; the front end only builds the configuration and waits.
pub(crate) trait Run: Send + Sync {
    /// Starts the reference servers and the client chronyd of `spec` (its
    /// configuration so far in `conf`, files under `root`); on failure,
    /// whatever was started is stopped again.
    fn start(
        spec: &ChronydBuilder,
        backend: Backend,
        root: &Path,
        conf: &mut ClientConf,
    ) -> Result<Started, HarnessError>
    where
        Self: Sized;
    /// chronyc for the client chronyd, without arguments.
    fn chronyc_command(&self) -> Command;
    /// Freezes the client chronyd.
    fn freeze(&self) -> Result<(), HarnessError>;
    /// Undoes `freeze`.
    fn resume(&self) -> Result<(), HarnessError>;
    /// Stops the client chronyd (nothing when it is not running).
    fn stop_client(&mut self) -> Result<(), HarnessError>;
    /// Starts the stopped client chronyd again, same configuration.
    fn start_client(&mut self) -> Result<(), HarnessError>;
    /// Stops reference server `i` for good.
    fn stop_server(&self, i: usize) -> Result<(), HarnessError>;
    /// Makes reference server `i`'s replies vanish.
    fn cut_server(&self, i: usize) -> Result<(), HarnessError>;
    /// Undoes `cut_server`.
    fn restore_server(&self, i: usize) -> Result<(), HarnessError>;
    /// The client chronyd's log so far.
    fn log(&self) -> String;
    /// The reference servers' logs.
    fn server_logs(&self) -> String;
    /// `Some(why)` when the client chronyd is not running.
    fn client_exited(&self) -> Option<String>;
    /// Stops and removes everything at once.
    fn teardown(&mut self);
}

/// What [`Run::start`] returns.
pub(crate) struct Started {
    pub run: Box<dyn Run>,
    /// The UDP command port, if enabled.
    pub udp: Option<SocketAddr>,
    /// Addresses of the reachable reference servers.
    pub servers: Vec<IpAddr>,
    /// chrony version of the client chronyd.
    pub version: String,
    /// chrony version of the chronyc that `chronyc_command` runs.
    pub chronyc_version: String,
}

/// A running client chronyd with its reference servers and clocks.
///
/// Dropping it stops and removes everything (processes, containers, network,
/// temp dir).
pub struct Chronyd {
    backend: Backend,
    inner: Box<dyn Run>,
    socket: PathBuf,
    udp: Option<SocketAddr>,
    version: String,
    servers: Vec<IpAddr>,
    wait_sync: bool,
    timeout: Duration,
    /// chronyc >= 4.8 drops root privileges to _chrony unless given `-u root`,
    /// and _chrony cannot create its socket in our private socket dir.
    chronyc_user: Option<&'static str>,
    feeder: Option<refclock::Feeder>,
    dir: Option<tempfile::TempDir>,
}

impl fmt::Debug for Chronyd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chronyd")
            .field("backend", &self.backend)
            .field("socket", &self.socket)
            .field("udp", &self.udp)
            .field("version", &self.version)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

/// Default deadline of [`Chronyd::chronyc`].
pub const CHRONYC_TIMEOUT: Duration = Duration::from_secs(10);

impl Chronyd {
    /// Absolute path of the client chronyd's Unix command socket (for Docker
    /// the same path inside the container; its directory has mode 0770).
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The UDP command port, with `udp_command(true)`: what
    /// [`Proxy::builder`](crate::proxy::Proxy::builder) takes as upstream
    /// and `chrony::Client::connect` takes as address.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use chrony_testkit::harness::ChronydBuilder;
    /// use chrony_testkit::proxy::Proxy;
    /// let d = ChronydBuilder::new().udp_command(true).start()?;
    /// let proxy = Proxy::builder(d.udp_address().unwrap()).seed(1).start()?;
    /// let mut client = chrony::Client::connect(proxy.address())?;
    /// println!("stratum {}", client.tracking()?.stratum);
    /// # Ok(())
    /// # }
    /// ```
    pub fn udp_address(&self) -> Option<SocketAddr> {
        self.udp
    }

    /// Runs `chronyc -h SOCKET -n -c ARGS...` (Docker: the container's own
    /// chronyc via `docker exec`) and returns its stdout; fails when chronyc
    /// fails or takes longer than [`CHRONYC_TIMEOUT`].
    pub fn chronyc(&self, args: &[&str]) -> Result<String, HarnessError> {
        self.chronyc_timeout(args, CHRONYC_TIMEOUT)
    }

    /// [`Chronyd::chronyc`] with a chosen deadline.
    pub fn chronyc_timeout(
        &self,
        args: &[&str],
        timeout: Duration,
    ) -> Result<String, HarnessError> {
        let mut c = self.inner.chronyc_command();
        if let Some(user) = self.chronyc_user {
            c.args(["-u", user]);
        }
        c.arg("-h").arg(&self.socket).args(["-n", "-c"]).args(args);
        util::run_ok(c, timeout)
    }

    /// chrony version of the client chronyd, e.g. "4.3".
    pub fn chrony_version(&self) -> String {
        self.version.clone()
    }

    /// The backend it runs on.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Freezes the client chronyd (SIGSTOP / `docker pause`).
    pub fn freeze(&self) -> Result<(), HarnessError> {
        self.inner.freeze()
    }

    /// Undoes [`Chronyd::freeze`].
    pub fn resume(&self) -> Result<(), HarnessError> {
        self.inner.resume()
    }

    /// Stops the client chronyd (the servers keep running).
    pub fn stop(&mut self) -> Result<(), HarnessError> {
        self.inner.stop_client()
    }

    /// Stops and starts the client chronyd with the same configuration and
    /// socket path, then waits until it is ready (as `start()` did).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop()?;
        self.inner.start_client()?;
        self.wait_ready()
    }

    /// Number of (reachable) reference servers.
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// Address of reference server `i` as the client chronyd sees it (and
    /// as `chronyc -n sources` prints it). Panics when `i` is out of range.
    pub fn server_address(&self, i: usize) -> IpAddr {
        self.servers[i]
    }

    /// Stops reference server `i` for good.
    pub fn stop_server(&self, i: usize) -> Result<(), HarnessError> {
        self.inner.stop_server(i)
    }

    /// Cuts reference server `i` off: its replies vanish (process: SIGSTOP;
    /// Docker: `docker network disconnect`).
    pub fn cut_server(&self, i: usize) -> Result<(), HarnessError> {
        self.inner.cut_server(i)
    }

    /// Undoes [`Chronyd::cut_server`] (same address as before).
    pub fn restore_server(&self, i: usize) -> Result<(), HarnessError> {
        self.inner.restore_server(i)
    }

    /// The client chronyd's log (its stderr) so far.
    pub fn log(&self) -> String {
        self.inner.log()
    }

    /// Logs of the reference servers.
    pub fn server_logs(&self) -> String {
        self.inner.server_logs()
    }

    /// Calls `f` every 100 ms until it returns true; fails (with the log)
    /// when `deadline` has passed.
    pub fn wait_until<F: FnMut(&Chronyd) -> bool>(
        &self,
        deadline: Duration,
        mut f: F,
    ) -> Result<(), HarnessError> {
        let end = Instant::now() + deadline;
        loop {
            if f(self) {
                return Ok(());
            }
            if Instant::now() >= end {
                return Err(HarnessError::Timeout {
                    what: format!("a condition (waited {deadline:?})"),
                    log: self.log(),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the client chronyd has a selected source (tracking reference
    /// ID nonzero and leap status not "Not synchronised").
    pub fn is_synchronized(&self) -> bool {
        self.chronyc_timeout(&["tracking"], Duration::from_secs(3))
            .map(|out| tracking_synced(&out))
            .unwrap_or(false)
    }

    fn client_exited(&self) -> Option<String> {
        self.inner.client_exited()
    }

    fn wait_ready(&self) -> Result<(), HarnessError> {
        let end = Instant::now() + self.timeout;
        loop {
            let last = match self.chronyc_timeout(&["tracking"], Duration::from_secs(3)) {
                Ok(out) if !self.wait_sync || tracking_synced(&out) => return Ok(()),
                Ok(out) => format!("tracking: {}", out.trim()),
                Err(e) => e.to_string(),
            };
            if let Some(why) = self.client_exited() {
                return Err(HarnessError::Exited {
                    what: format!("client chronyd ({why})"),
                    log: self.failure_log(),
                });
            }
            if Instant::now() >= end {
                let what = if self.wait_sync {
                    "the client chronyd to select a source"
                } else {
                    "the client chronyd to answer `chronyc tracking`"
                };
                return Err(HarnessError::Timeout {
                    what: format!("{what} (waited {:?}; last: {last})", self.timeout),
                    log: self.failure_log(),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn failure_log(&self) -> String {
        let servers = self.server_logs();
        if servers.is_empty() {
            self.log()
        } else {
            format!("{}\n--- reference servers ---\n{servers}", self.log())
        }
    }
}

fn tracking_synced(csv: &str) -> bool {
    let fields: Vec<&str> = csv.trim().split(',').collect();
    fields.len() >= 14
        && fields[0] != "00000000"
        && !fields[13].to_ascii_lowercase().starts_with("not synchron")
}

impl Drop for Chronyd {
    fn drop(&mut self) {
        self.feeder.take();
        self.inner.teardown();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}
