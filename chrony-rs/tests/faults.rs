//! How `chrony::Client` behaves when chronyd misbehaves or is unreachable:
//! frozen (deadline honoured, over the Unix socket and UDP, and the same
//! client works again afterwards), restarted (the same client goes on),
//! stopped, a wrong or relative
//! socket path, a socket directory the caller may not write, and no client
//! socket left behind after a client is dropped.
//!
//! The daemon comes from the testkit harness (local processes by default,
//! Docker with CHRONY_TESTKIT_BACKEND=docker CHRONY_TESTKIT_SUITE=...).
mod common;

use chrony::{Client, Error};
use chrony_testkit::harness::{Backend, Chronyd};
use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The first-attempt timeout and the call deadline the fault tests use.
const DEADLINE: Duration = Duration::from_millis(500);
/// What a request may take beyond its deadline (scheduling, the final
/// `chrony_process_response`, a loaded CI machine).
const MARGIN: Duration = Duration::from_millis(300);
/// The margin of the test that floods a frozen chronyd's queue while
/// another client works, on a loaded machine.
const STALL_MARGIN: Duration = Duration::from_secs(2);

fn daemon(udp: bool, refclocks: usize) -> Chronyd {
    common::builder()
        .servers(0)
        .refclocks(refclocks)
        .udp_command(udp)
        .wait_for_sync(false)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

fn unix_client(d: &Chronyd) -> Client {
    let path = d.socket_path().to_str().expect("UTF-8 socket path");
    Client::builder()
        .timeout(DEADLINE)
        .deadline(DEADLINE)
        .connect(path)
        .unwrap_or_else(|e| panic!("connect {path}: {e}"))
}

fn udp_client(d: &Chronyd) -> Client {
    let addr = d.udp_address().expect("udp_command(true) gives an address");
    let c = Client::builder()
        .timeout(DEADLINE)
        .deadline(DEADLINE)
        .connect(addr)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    assert_eq!(c.transport(), chrony::Transport::Udp);
    c
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// The request must fail with `Error::Timeout` after about the deadline.
#[track_caller]
fn assert_times_out<T: std::fmt::Debug>(what: &str, res: chrony::Result<T>, elapsed: Duration) {
    match res {
        Err(Error::Timeout { timeout, .. }) => assert_eq!(timeout, DEADLINE, "{what}"),
        other => panic!("{what}: expected Error::Timeout, got {other:?} after {elapsed:?}"),
    }
    assert!(
        elapsed >= DEADLINE.mul_f64(0.9),
        "{what}: gave up after {elapsed:?}, before the {DEADLINE:?} deadline"
    );
    assert!(
        elapsed < DEADLINE + MARGIN,
        "{what}: took {elapsed:?}, deadline {DEADLINE:?} (+{MARGIN:?} margin)"
    );
}

/// Resumes a frozen chronyd when dropped (also when a test panics).
struct Frozen<'a>(&'a Chronyd);

impl<'a> Frozen<'a> {
    fn freeze(d: &'a Chronyd) -> Frozen<'a> {
        d.freeze().unwrap_or_else(|e| panic!("freeze: {e}"));
        Frozen(d)
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let _ = self.0.resume();
    }
}

#[test]
fn frozen_chronyd_times_out_within_the_deadline_then_recovers() {
    let d = daemon(true, 0);
    let mut unix = unix_client(&d);
    let mut udp = udp_client(&d);
    unix.tracking().expect("tracking over the Unix socket");
    udp.tracking().expect("tracking over UDP");

    let frozen = Frozen::freeze(&d);
    // Twice each: a second request while still frozen is a request of its
    // own (tracking's record count needs no round trip, so it times out on
    // record 0 again), not a wait for the abandoned first one.
    let mut failures = Vec::new();
    for round in 1..=2 {
        for (name, c) in [("unix", &mut unix), ("udp", &mut udp)] {
            // UDP: 3 sends (2 retries) spread within the same deadline.
            let (r, t) = timed(|| c.tracking());
            eprintln!("frozen, {name}, round {round}: {t:?} {r:?}");
            if let Err(Error::Timeout { operation, .. }) = &r {
                if operation != "record 0" {
                    failures.push(format!(
                        "{name} round {round}: timed out on {operation:?}, \
                         not on a fresh \"record 0\" request"
                    ));
                }
            }
            assert_times_out(&format!("{name} round {round}"), r, t);
        }
    }
    // A multi-record report times out on its first request as well.
    let (r, t) = timed(|| unix.sources());
    assert_times_out("unix sources", r, t);
    // A client opened while chronyd is frozen: connecting sends nothing.
    let mut late = unix_client(&d);
    let (r, t) = timed(|| late.tracking());
    assert_times_out("client connected while frozen", r, t);

    d.resume().unwrap_or_else(|e| panic!("resume: {e}"));
    drop(frozen);
    // chronyd now answers the requests queued while it was frozen; those
    // stale replies must be skipped and the same clients work again, with
    // the right data: tracking has one record (chronyd has no sources, so a
    // stale `sources` count of 0 taken for tracking's would show).
    for (name, c) in [("unix", &mut unix), ("udp", &mut udp), ("late", &mut late)] {
        let (r, t) = timed(|| c.tracking());
        eprintln!("resumed, {name}: {t:?} {r:?}");
        if let Err(e) = r {
            failures.push(format!("{name}: tracking after resume: {e:?}"));
        }
        match c.sources() {
            Ok(s) if s.is_empty() => {}
            other => failures.push(format!("{name}: sources after resume: {other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "requests during and after the freeze:\n{}",
        failures.join("\n")
    );
}

#[test]
fn restarted_chronyd_new_and_old_clients() {
    let mut d = daemon(true, 0);
    let mut old_unix = unix_client(&d);
    let mut old_udp = udp_client(&d);
    let mut old_snapshots = unix_client(&d);
    old_unix.tracking().unwrap();
    old_udp.tracking().unwrap();
    // A snapshot opens several sessions at once.
    old_snapshots.snapshot().unwrap();

    d.restart().unwrap_or_else(|e| panic!("restart: {e}"));

    let mut fresh = unix_client(&d);
    fresh
        .tracking()
        .expect("a new client reaches the restarted chronyd");
    udp_client(&d)
        .tracking()
        .expect("a new UDP client reaches the restarted chronyd");

    // The old Unix client's socket was connected to the previous chronyd's
    // socket, which is gone (the new chronyd bound a new one at the same
    // path): the kernel refuses the send, and the client re-opens its
    // session once and goes on, within the call's deadline.
    let (r, t) = timed(|| old_unix.tracking());
    eprintln!("old unix client after restart: {t:?} {r:?}");
    assert!(t < DEADLINE + MARGIN, "old unix client took {t:?}");
    r.unwrap_or_else(|e| panic!("old unix client after restart: {e:?}"));
    old_unix
        .sources()
        .expect("the old unix client keeps working after the restart");
    // Every stale session is replaced at once, not one per call.
    old_snapshots
        .snapshot()
        .expect("a snapshot after the restart, on sessions opened before it");
    // UDP has no connection: the old client just works with the new chronyd
    // (same address and port).
    let (r, t) = timed(|| old_udp.tracking());
    eprintln!("old udp client after restart: {t:?} {r:?}");
    r.unwrap_or_else(|e| panic!("old UDP client after restart: {e:?}"));
}

/// `Error::Connect` with one of `kinds`.
#[track_caller]
fn assert_connect<T: std::fmt::Debug>(what: &str, res: &chrony::Result<T>, kinds: &[ErrorKind]) {
    match res {
        Err(Error::Connect { source, .. }) if kinds.contains(&source.kind()) => {}
        other => panic!("{what}: expected Error::Connect with {kinds:?}, got {other:?}"),
    }
}

#[test]
fn stopped_chronyd_gives_connection_errors() {
    let mut d = daemon(true, 0);
    let sock = d.socket_path().to_str().unwrap().to_string();
    let udp_addr = d.udp_address().unwrap();
    let mut old_unix = unix_client(&d);
    let mut old_udp = udp_client(&d);
    old_unix.tracking().unwrap();
    old_udp.tracking().unwrap();

    d.stop().unwrap_or_else(|e| panic!("stop: {e}"));

    // chronyd removes its socket when it exits: connecting finds nothing.
    assert!(!Path::new(&sock).exists(), "chronyd left its socket behind");
    let (r, t) = timed(|| Client::builder().timeout(DEADLINE).connect(&sock));
    eprintln!("connect to stopped chronyd (unix): {t:?} {r:?}");
    assert_connect("unix connect", &r, &[ErrorKind::NotFound]);
    if let Err(Error::Connect { address, .. }) = &r {
        assert_eq!(address, &sock);
    }

    // A client connected before the stop: its peer is gone.
    let (r, t) = timed(|| old_unix.tracking());
    eprintln!("old unix client after stop: {t:?} {r:?}");
    assert!(t < DEADLINE + MARGIN, "{t:?}");
    // Refused on the old socket; the one re-open finds no socket at all.
    assert_connect(
        "old unix client",
        &r,
        &[ErrorKind::ConnectionRefused, ErrorKind::NotFound],
    );

    // UDP: opening sends nothing, so connecting succeeds; the request fails.
    for (name, mut c) in [
        ("new udp client", udp_client(&d)),
        ("old udp client", old_udp),
    ] {
        let (r, t) = timed(|| c.tracking());
        eprintln!("{name} after stop: {t:?} {r:?}");
        match d.backend() {
            // Nothing listens on 127.0.0.1:PORT any more: ICMP port
            // unreachable comes back at once as ECONNREFUSED.
            Backend::Process => {
                assert_connect(name, &r, &[ErrorKind::ConnectionRefused]);
                assert!(t < DEADLINE, "{name}: refused only after {t:?}");
            }
            // The stopped container's address is gone from the bridge:
            // nothing answers (no ICMP within the deadline), so it is a
            // timeout, not a connection error.
            Backend::Docker(_) => assert_times_out(name, r, t),
        }
    }
    let _ = udp_addr;
}

#[test]
fn wrong_socket_paths() {
    let r = Client::connect("/nonexistent-chrony-faults-dir/chronyd.sock");
    assert_connect("nonexistent dir", &r, &[ErrorKind::NotFound]);
    match r {
        Err(Error::Connect { address, .. }) => {
            assert_eq!(address, "/nonexistent-chrony-faults-dir/chronyd.sock")
        }
        _ => unreachable!(),
    }
    for rel in ["chronyd.sock", "run/chrony/chronyd.sock", "./chronyd.sock"] {
        match Client::connect(rel) {
            Err(Error::InvalidAddress { address, reason }) => {
                assert_eq!(address, rel);
                assert!(reason.contains("absolute"), "{rel}: {reason}");
            }
            other => panic!("{rel}: expected Error::InvalidAddress, got {other:?}"),
        }
    }
    // An existing directory without chronyd's socket in it.
    let dir = private_dir("nosock", 0o700);
    let path = dir.0.join("chronyd.sock");
    let r = Client::connect(path.to_str().unwrap());
    assert_connect("dir without socket", &r, &[ErrorKind::NotFound]);
}

/// A directory under the temp dir, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn private_dir(tag: &str, mode: u32) -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let p = Path::new("/tmp").join(format!(
        "chrony-faults-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    TempDir(p)
}

/// Set for the unprivileged child run of
/// [`unix_socket_dir_without_write_access_is_permission_denied`]: the
/// address the child connects to.
const PROBE_ENV: &str = "CHRONY_FAULTS_PROBE_ADDRESS";
const PROBE_MARK: &str = "CHRONY-FAULTS-PROBE:";

/// The files of libchrony this process loaded (from `/proc/self/maps`)
/// and the other `libchrony*` names beside them (the SONAME link this
/// binary asks for): empty when libchrony is linked statically.
fn loaded_libchrony() -> Vec<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("reading /proc/self/maps");
    let dirs: BTreeSet<PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(Path::new)
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libchrony"))
        })
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("libchrony") && path.is_file() {
                files.push(path);
            }
        }
    }
    files
}

/// Copies of this test binary and of the libchrony it loaded, in a fresh
/// directory that uid 65534 can enter, so the probe does not depend on
/// where the checkout lives: a clone in a directory only root may enter (a
/// `mktemp -d` dir, /root) holds a target dir and, through `.deps`, a
/// libchrony that nobody can reach. Returns the directory (removed when
/// dropped) and the copied binary.
fn probe_copy() -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = private_dir("probe", 0o755);
    let exe = std::env::current_exe().expect("current_exe");
    let copy = dir.0.join("faults-probe");
    std::fs::copy(&exe, &copy).unwrap_or_else(|e| panic!("copying {}: {e}", exe.display()));
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    for lib in loaded_libchrony() {
        let to = dir.0.join(lib.file_name().unwrap());
        std::fs::copy(&lib, &to).unwrap_or_else(|e| panic!("copying {}: {e}", lib.display()));
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (dir, copy)
}

/// Runs a copy of this very test binary ([`probe_copy`]) as user nobody
/// (`setpriv`), filtered to the permission test, which in the child only
/// connects to `address`, requests tracking and prints the result's Debug
/// after [`PROBE_MARK`].
fn probe_as_nobody(address: &str) -> String {
    let (dir, exe) = probe_copy();
    let library_path = match std::env::var_os("LD_LIBRARY_PATH") {
        Some(old) if !old.is_empty() => {
            let mut p = dir.0.clone().into_os_string();
            p.push(":");
            p.push(old);
            p
        }
        _ => dir.0.clone().into_os_string(),
    };
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args([
            "--exact",
            "unix_socket_dir_without_write_access_is_permission_denied",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE_ENV, address)
        .env("LD_LIBRARY_PATH", library_path)
        .current_dir(&dir.0)
        .output()
        .unwrap_or_else(|e| panic!("cannot run setpriv (util-linux) for the probe: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    stdout
        .lines()
        .find_map(|l| l.split_once(PROBE_MARK))
        .map(|(_, s)| s.trim().to_string())
        .unwrap_or_else(|| {
            panic!(
                "the unprivileged probe printed no result (status {:?}; it runs {} as uid 65534, \
                 which must be able to execute it)\nstdout:\n{stdout}\nstderr:\n{stderr}",
                out.status,
                exe.display()
            )
        })
}

fn is_root() -> bool {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .expect("running id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[test]
fn unix_socket_dir_without_write_access_is_permission_denied() {
    if let Ok(address) = std::env::var(PROBE_ENV) {
        // Child mode (unprivileged, started by the parent below).
        let r = Client::builder()
            .timeout(DEADLINE)
            .connect(&address)
            .and_then(|mut c| c.tracking().map(drop));
        println!("{PROBE_MARK} {r:?}");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    assert!(
        is_root(),
        "this test needs root: it switches to user nobody with setpriv to get a \
         caller without write access to chronyd's socket directory (as root, \
         file permissions do not apply); the chronyd harness needs root as well"
    );
    let d = daemon(false, 0);
    let sock = d.socket_path();
    let sock_dir = sock.parent().unwrap();
    let root = sock_dir.parent().unwrap();
    // Let others reach the socket directory's parent, as /run is; the
    // socket directory itself stays 0770 root:root, like chrony's own
    // /run/chrony (0750 _chrony:_chrony).
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711)).unwrap();
    let mode = std::fs::metadata(sock_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "socket dir mode {mode:o}");

    // Root can use it ...
    unix_client(&d).tracking().expect("root reaches chronyd");
    // ... nobody cannot: libchrony cannot create its client socket there.
    let seen = probe_as_nobody(sock.to_str().unwrap());
    eprintln!("as nobody, {}: {seen}", sock.display());
    assert!(
        seen.starts_with("Err(PermissionDenied {") && seen.contains("kind: PermissionDenied"),
        "as nobody: {seen}"
    );
    assert!(
        seen.contains(&format!("{:?}", sock.display().to_string())),
        "{seen}"
    );

    // Control: the same child in a directory it may write (but with no
    // chronyd socket) gets past the permission check: NotFound.
    let open = private_dir("open", 0o777);
    let path = open.0.join("chronyd.sock");
    let seen = probe_as_nobody(path.to_str().unwrap());
    eprintln!("as nobody, {}: {seen}", path.display());
    assert!(
        seen.starts_with("Err(Connect {") && seen.contains("kind: NotFound"),
        "as nobody in a writable dir: {seen}"
    );
    // And the unprivileged client cleaned up after itself there.
    let left: Vec<_> = std::fs::read_dir(&open.0).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn dir_entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn dropped_clients_leave_nothing_in_the_socket_dir() {
    let d = daemon(false, 1);
    let dir = d.socket_path().parent().unwrap().to_path_buf();
    let expected: BTreeSet<String> = ["chronyd.sock", "refclock0.sock"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(dir_entries(&dir), expected, "before any client");

    let mut a = unix_client(&d);
    let mut b = unix_client(&d);
    a.tracking().unwrap();
    a.sources().unwrap();
    b.source_stats().unwrap();
    let during = dir_entries(&dir);
    let private: Vec<_> = during
        .iter()
        .filter(|n| n.starts_with("libchrony."))
        .collect();
    assert_eq!(
        private.len(),
        2,
        "one libchrony.* dir per client: {during:?}"
    );
    drop(a);
    drop(b);
    assert_eq!(dir_entries(&dir), expected, "after dropping the clients");

    // Also after a request that failed (timeout while frozen).
    let mut c = unix_client(&d);
    {
        let _frozen = Frozen::freeze(&d);
        let (r, t) = timed(|| c.tracking());
        assert_times_out("frozen", r, t);
    }
    drop(c);
    assert_eq!(dir_entries(&dir), expected, "after a failed client");
}

/// A frozen chronyd's socket queue fills up (10 datagrams by default on
/// Linux): requests beyond that must still time out within the deadline,
/// and must not block clients of another, healthy chronyd in the same
/// process (libchrony's socket is made non-blocking).
#[test]
fn many_requests_to_a_frozen_chronyd_never_block() {
    let d = daemon(false, 0);
    let healthy = daemon(false, 0);
    let short = Duration::from_millis(100);
    let mut frozen_client = Client::builder()
        .timeout(short)
        .deadline(short)
        .connect(d.socket_path().to_str().unwrap())
        .unwrap();
    frozen_client.tracking().unwrap();
    let _frozen = Frozen::freeze(&d);

    let healthy_path = healthy.socket_path().to_str().unwrap().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = Client::builder()
                .timeout(DEADLINE)
                .connect(&healthy_path)
                .unwrap();
            let mut slowest = Duration::ZERO;
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (r, t) = timed(|| c.sources());
                r.expect("the healthy chronyd keeps answering");
                slowest = slowest.max(t);
                reads += 1;
            }
            (reads, slowest)
        })
    };
    for i in 0..30 {
        let (r, t) = timed(|| frozen_client.tracking());
        assert!(
            matches!(r, Err(Error::Timeout { .. })),
            "request {i}: {r:?}"
        );
        // Bounded, not blocked: a request that blocked on the full queue
        // would never return. The bound is loose (a loaded Docker matrix
        // run once held a request for 0.8 s).
        assert!(t < short + STALL_MARGIN, "request {i} took {t:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, slowest) = watcher.join().expect("watcher thread");
    assert!(reads > 0);
    assert!(
        slowest < DEADLINE,
        "the healthy client was held up for {slowest:?}"
    );
}
