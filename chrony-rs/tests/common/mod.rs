//! Shared by the integration tests: start a chronyd through the testkit
//! harness (backend chosen by CHRONY_TESTKIT_BACKEND / CHRONY_TESTKIT_SUITE,
//! local processes by default) and compare library values with chronyc's
//! CSV output.
#![allow(dead_code)]

use chrony_testkit::harness::{ensure_images, Backend, Chronyd, ChronydBuilder};
use std::collections::BTreeSet;
use std::path::Path;

/// A builder on the backend the environment selects, with Docker images
/// built first when needed (a test never skips silently: a missing Docker
/// engine fails the test with the harness's message).
pub fn builder() -> ChronydBuilder {
    let backend = Backend::from_env().expect("valid CHRONY_TESTKIT_* environment");
    if let Backend::Docker(suite) = backend {
        ensure_images(&[suite]).expect("building the chronyd test image");
    }
    ChronydBuilder::new().backend(backend)
}

/// Runs `chronyc -n -c ARGS` against the harness daemon and splits the CSV.
pub fn chronyc_rows(d: &Chronyd, args: &[&str]) -> Vec<Vec<String>> {
    let out = d
        .chronyc(args)
        .unwrap_or_else(|e| panic!("chronyc {args:?}: {e}"));
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

pub fn parse_f64(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|_| panic!("chronyc printed a non-number {s:?}"))
}

/// chronyc's value `printed` (rounded to `decimals`) must lie between the
/// library's values read before and after chronyc ran.
#[track_caller]
pub fn assert_between(what: &str, before: f64, printed: &str, after: f64, decimals: i32) {
    let c = parse_f64(printed);
    let tol = 0.5 * 10f64.powi(-decimals) * 1.000001 + 1e-15;
    let (lo, hi) = if before <= after {
        (before, after)
    } else {
        (after, before)
    };
    assert!(
        c >= lo - tol && c <= hi + tol,
        "{what}: chronyc printed {printed}, library read {before:e} before and {after:e} after (tolerance {tol:e})"
    );
}

/// chronyc's integer must equal the library's value before or after.
#[track_caller]
pub fn assert_one_of<T: PartialEq + std::fmt::Debug + std::str::FromStr>(
    what: &str,
    before: T,
    printed: &str,
    after: T,
) where
    T::Err: std::fmt::Debug,
{
    let c: T = printed
        .parse()
        .unwrap_or_else(|e| panic!("{what}: chronyc printed {printed:?}: {e:?}"));
    assert!(
        c == before || c == after,
        "{what}: chronyc printed {printed}, library read {before:?} / {after:?}"
    );
}

/// Collects mismatches instead of panicking, so a comparison can be
/// retried when chronyd's state changed between the reads (sources change
/// state while they gather their first samples).
#[derive(Default)]
pub struct Checker {
    pub problems: Vec<String>,
}

impl Checker {
    pub fn between(&mut self, what: &str, before: f64, printed: &str, after: f64, decimals: i32) {
        if let Err(e) =
            std::panic::catch_unwind(|| assert_between(what, before, printed, after, decimals))
        {
            self.problems.push(panic_text(e));
        }
    }

    pub fn one_of<T>(&mut self, what: &str, before: T, printed: &str, after: T)
    where
        T: PartialEq + std::fmt::Debug + std::str::FromStr + std::panic::UnwindSafe,
        T::Err: std::fmt::Debug,
    {
        if let Err(e) = std::panic::catch_unwind(|| assert_one_of(what, before, printed, after)) {
            self.problems.push(panic_text(e));
        }
    }

    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(what());
        }
    }
}

fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Runs `compare` until it finds no mismatch (at most `attempts` times,
/// 300 ms apart); panics with the last attempt's mismatches.
pub fn retry_compare(attempts: usize, mut compare: impl FnMut(&mut Checker)) {
    let mut last = Vec::new();
    for _ in 0..attempts {
        let mut c = Checker::default();
        compare(&mut c);
        if c.problems.is_empty() {
            return;
        }
        last = c.problems;
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    panic!(
        "library and chronyc disagree after {attempts} attempts:\n{}",
        last.join("\n")
    );
}

/// Checks the selection columns of one `chronyc -c sources` row (state,
/// reach, last sample ago) against the library's reads of that source
/// before (`x`) and after (`y`) chronyc ran; also that the row is the same
/// source. Shared by the sources comparison and the reachability steps.
pub fn check_source_selection(
    ck: &mut Checker,
    x: &chrony::Source,
    y: &chrony::Source,
    c: &[String],
) {
    assert_eq!(c.len(), 10, "{c:?}");
    assert_eq!(c[2], x.address, "source order");
    let what = |f: &str| format!("source {} {f}", x.address);
    ck.check(
        c[1] == x.state.symbol().to_string() || c[1] == y.state.symbol().to_string(),
        || {
            format!(
                "{}: chronyc {} library {} / {}",
                what("state"),
                c[1],
                x.state,
                y.state
            )
        },
    );
    let reach = u8::from_str_radix(&c[5], 8)
        .unwrap_or_else(|e| panic!("reach {:?}: {e}", c[5]))
        .to_string();
    ck.one_of(&what("reach"), x.reachability, &reach, y.reachability);
    // chronyc -c prints chronyd's 0xFFFFFFFF for "never".
    let ago = |s: &chrony::Source| {
        s.last_sample_ago
            .map_or(u64::from(u32::MAX), |d| d.as_secs())
    };
    ck.one_of(&what("last sample ago"), ago(x), &c[6], ago(y));
}

/// chronyc's name for a leap status.
pub fn leap_text(l: chrony::LeapStatus) -> &'static str {
    match l {
        chrony::LeapStatus::Normal => "Normal",
        chrony::LeapStatus::Insert => "Insert second",
        chrony::LeapStatus::Delete => "Delete second",
        chrony::LeapStatus::Unsynchronized => "Not synchronised",
        _ => "?",
    }
}

/// A current-thread tokio runtime with I/O and timers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs test `name` of this test binary alone in a child process with
/// `env` set; returns its success and its output (stdout, then stderr).
pub fn run_child(name: &str, env: (&str, &str)) -> (bool, String) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .output()
        .expect("running the child");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// This process's open descriptors, each as `NUMBER -> TARGET`.
pub fn open_fds() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            let target = std::fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!("{} -> {target}", e.file_name().to_string_lossy())
        })
        // The read_dir descriptor itself.
        .filter(|l| !l.contains("/proc/"))
        .collect()
}

/// Fails naming the descriptors gained and lost between two
/// [`open_fds`].
#[track_caller]
pub fn assert_same_fds(what: &str, before: &BTreeSet<String>, after: &BTreeSet<String>) {
    let gained: Vec<_> = after.difference(before).collect();
    let lost: Vec<_> = before.difference(after).collect();
    assert!(
        gained.is_empty() && lost.is_empty(),
        "{what}: descriptors gained {gained:?}, lost {lost:?}"
    );
}

/// libchrony's client socket directories beside chronyd's socket.
pub fn client_dirs(socket: &Path) -> BTreeSet<String> {
    std::fs::read_dir(socket.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("libchrony."))
        .collect()
}

/// Adds `n` servers where nothing answers (loopback addresses, the discard
/// port), on either backend (the Docker one caps
/// `unreachable_servers`): their records are in every per-source report.
pub fn silent_servers(mut b: ChronydBuilder, n: usize) -> ChronydBuilder {
    for k in 0..n {
        b = b.extra_config(&format!(
            "server 127.0.1.{} port 9 minpoll 6 maxpoll 6",
            k + 1
        ));
    }
    b
}

/// Which client a test drives: one test body, run against each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// [`chrony::Client`].
    Blocking,
    /// [`chrony::tokio::AsyncClient`], on a current-thread runtime of its
    /// own.
    #[cfg(feature = "tokio")]
    Tokio,
}

impl Driver {
    /// Connects a client of this driver with `builder`'s options.
    pub fn connect(
        self,
        builder: chrony::ClientBuilder,
        address: impl chrony::ToAddress,
    ) -> chrony::Result<AnyClient> {
        Ok(match self {
            Driver::Blocking => AnyClient::Blocking(builder.connect(address)?),
            #[cfg(feature = "tokio")]
            Driver::Tokio => {
                let rt = runtime();
                let c = rt.block_on(builder.connect_async(address))?;
                AnyClient::Tokio(rt, c)
            }
        })
    }
}

/// A client of either driver, called alike (every call blocks).
pub enum AnyClient {
    Blocking(chrony::Client),
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Runtime, chrony::tokio::AsyncClient),
}

/// Runs `$call` on the client of either driver, awaited for tokio.
macro_rules! on_either {
    ($client:expr, |$c:ident| $call:expr) => {
        match $client {
            AnyClient::Blocking($c) => $call,
            #[cfg(feature = "tokio")]
            AnyClient::Tokio(rt, $c) => rt.block_on($call),
        }
    };
}

/// A named method per report of the library's list.
macro_rules! any_client_reports {
    ($($name:ident: $model:ty => $out:ty, $doc:literal;)*) => {$(
        pub fn $name(&mut self) -> chrony::Result<$out> {
            on_either!(self, |c| c.$name())
        }
    )*};
}

impl AnyClient {
    chrony::each_report!(any_client_reports);

    pub fn record_count(&mut self, report: &str) -> chrony::Result<usize> {
        on_either!(self, |c| c.record_count(report))
    }
}

/// Writes a test once, run against each driver: `each_driver! { fn
/// name(driver) { ... } }` makes the module `name` with the tests
/// `blocking` and, with the `tokio` feature, `tokio`.
#[macro_export]
macro_rules! each_driver {
    ($(#[$meta:meta])* fn $name:ident($driver:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($driver: $crate::common::Driver) $body

            #[test]
            fn blocking() {
                run($crate::common::Driver::Blocking)
            }

            #[cfg(feature = "tokio")]
            #[test]
            fn tokio() {
                run($crate::common::Driver::Tokio)
            }
        }
    };
}
