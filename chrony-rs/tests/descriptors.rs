//! No descriptor of the library reaches a child process (issue 17): each
//! child is `ls -l /proc/self/fd`, which lists what it inherited; sockets
//! and `/dev/urandom` descriptors that the test process's first child did
//! not have are counted.
//!
//! - with clients open (8 sessions each), no child inherits anything (libchrony's
//!   `/dev/urandom` FILE was inherited by every child before);
//! - with sessions opened and closed in a loop on other threads (Unix and
//!   UDP), no child ever inherits a socket (the socket is close-on-exec
//!   from its creation), and with a [`chrony::SpawnGuard`] held around each
//!   spawn, nothing at all (the one window left, libchrony's
//!   `fopen("/dev/urandom")` before the crate marks it, is closed too).
//!
//! Alone in its test binary with the tests run one after the other
//! (`--test-threads` does not matter: they share one mutex).
mod common;

use chrony::{Client, SpawnGuard};
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

static SERIAL: Mutex<()> = Mutex::new(());

/// What a child inherited: `(fd, target)` for sockets and /dev/urandom.
fn child_fds() -> BTreeSet<(u32, String)> {
    let out = Command::new("ls")
        .args(["-l", "/proc/self/fd"])
        .output()
        .expect("running ls");
    assert!(out.status.success(), "ls: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            let fd: u32 = left.split_whitespace().last()?.parse().ok()?;
            (fd > 2 && (target.starts_with("socket:") || target == "/dev/urandom"))
                .then(|| (fd, target.to_string()))
        })
        .collect()
}

/// Counts of inherited sockets and /dev/urandom descriptors beyond `base`.
fn inherited(base: &BTreeSet<(u32, String)>) -> (usize, usize) {
    let now = child_fds();
    let extra: Vec<_> = now.difference(base).collect();
    let sockets = extra
        .iter()
        .filter(|(_, t)| t.starts_with("socket:"))
        .count();
    (sockets, extra.len() - sockets)
}

fn daemon() -> chrony_testkit::harness::Chronyd {
    common::builder()
        .servers(2)
        .poll(0)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

#[test]
fn children_inherit_nothing_from_open_clients() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let base = child_fds();
    let d = daemon();
    let mut unix = Client::builder()
        .concurrency(8)
        .connect(d.socket_path())
        .unwrap();
    let mut udp = Client::builder()
        .concurrency(8)
        .connect(d.udp_address().expect("UDP port"))
        .unwrap();
    // Every session open: 8 sockets + 8 /dev/urandom per client.
    unix.source_stats().unwrap();
    udp.sources().unwrap();
    let mut children_with_fds = 0;
    for _ in 0..50 {
        let (s, u) = inherited(&base);
        if s + u > 0 {
            children_with_fds += 1;
        }
    }
    assert_eq!(
        children_with_fds, 0,
        "children inherited descriptors of open clients"
    );
    // Still working.
    assert_eq!(unix.sources().unwrap().len(), 2);
    assert_eq!(udp.sources().unwrap().len(), 2);
}

/// Opens and drops clients on two threads (Unix and UDP) until `stop`.
fn churn(
    d: &chrony_testkit::harness::Chronyd,
    stop: &Arc<AtomicBool>,
) -> Vec<thread::JoinHandle<usize>> {
    let targets = [
        d.socket_path().to_str().unwrap().to_string(),
        d.udp_address().expect("UDP port").to_string(),
    ];
    targets
        .into_iter()
        .map(|address| {
            let stop = Arc::clone(stop);
            thread::spawn(move || {
                let mut opened = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut c = Client::builder()
                        .concurrency(4)
                        .connect(address.as_str())
                        .unwrap();
                    c.sources().unwrap();
                    opened += 4;
                }
                opened
            })
        })
        .collect()
}

#[test]
fn children_spawned_while_sessions_open_inherit_no_socket() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let base = child_fds();
    let d = daemon();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = churn(&d, &stop);
    let (mut sockets, mut urandom) = (0, 0);
    let guarded = AtomicUsize::new(0);
    for i in 0..400 {
        if i % 2 == 0 {
            let (s, u) = inherited(&base);
            sockets += s;
            urandom += u;
        } else {
            // With the guard, not even libchrony's /dev/urandom.
            let guard = SpawnGuard::new();
            let (s, u) = inherited(&base);
            drop(guard);
            if s + u > 0 {
                guarded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let opened: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    eprintln!(
        "{opened} sessions opened meanwhile; 200 unguarded children inherited \
         {sockets} sockets and {urandom} /dev/urandom descriptors"
    );
    assert!(opened > 100, "the sessions did open meanwhile ({opened})");
    assert_eq!(sockets, 0, "children inherited session sockets");
    assert_eq!(
        guarded.load(Ordering::Relaxed),
        0,
        "children spawned under a SpawnGuard inherited descriptors"
    );
}

#[test]
fn spawn_guard_does_not_block_its_own_thread() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = daemon();
    let _guard = SpawnGuard::new();
    // A client opened by the thread that holds the guard.
    let mut c = Client::connect(d.socket_path()).unwrap();
    assert_eq!(c.sources().unwrap().len(), 2);
}
