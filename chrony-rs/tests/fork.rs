//! A forked child that drops its copy of a client leaves the parent's Unix
//! sessions alone (issue 17): before, the child's drop unlinked the
//! parent's bound socket paths, and the parent's next call went unanswered
//! (a timeout with `retries(0)`). Alone in its test binary, and the two
//! tests hold one mutex: no other thread of the process may hold a lock
//! (libchrony's address buffer lock) when a child that uses the client
//! is forked.
mod common;

use chrony::Client;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn forked_child_dropping_a_client_leaves_the_parents_sockets() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = common::builder()
        .servers(3)
        .poll(0)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let socket = d.socket_path().to_path_buf();
    // No re-send: a reply that cannot reach the parent is a timeout.
    let mut client = Client::builder()
        .concurrency(4)
        .retries(0)
        .timeout(Duration::from_secs(2))
        .connect(&socket)
        .unwrap();
    let want: Vec<String> = client
        .sources()
        .unwrap()
        .iter()
        .map(|s| s.address.to_string())
        .collect();
    assert_eq!(want.len(), 3);
    let dirs = common::client_dirs(&socket);
    assert!(dirs.len() >= 2, "several sessions open: {dirs:?}");

    // SAFETY: the child only drops the client (closing descriptors, freeing
    // memory) and leaves with _exit; the test thread is the only one that
    // uses the client.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        drop(client);
        // SAFETY: ends the child at once, without running the parent's
        // atexit handlers or test harness.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status}"
    );
    assert_eq!(
        common::client_dirs(&socket),
        dirs,
        "the child's drop removed the parent's socket directories"
    );

    let start = Instant::now();
    let got: Vec<String> = client
        .sources()
        .expect("the parent's sessions still answer")
        .iter()
        .map(|s| s.address.to_string())
        .collect();
    let took = start.elapsed();
    assert_eq!(got, want);
    // A lost reply would take the whole 2 s timeout; a working session a
    // few milliseconds (generous for a loaded machine).
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    drop(client);
    assert!(
        common::client_dirs(&socket).is_empty(),
        "{:?}",
        common::client_dirs(&socket)
    );
}

/// A client used (not only dropped) in the child opens its own sessions
/// there: the parent's stay untouched.
#[test]
fn forked_child_using_a_client_opens_its_own_sessions() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = common::builder()
        .servers(2)
        .poll(0)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let socket = d.socket_path().to_path_buf();
    let mut client = Client::builder()
        .concurrency(2)
        .retries(0)
        .timeout(Duration::from_secs(2))
        .connect(&socket)
        .unwrap();
    assert_eq!(client.sources().unwrap().len(), 2);
    let dirs = common::client_dirs(&socket);
    // SAFETY: as above; the child makes one call and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = matches!(client.sources(), Ok(v) if v.len() == 2);
        drop(client);
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's call failed (status {status})"
    );
    // The child's own sessions are gone with it; the parent's are there.
    assert_eq!(common::client_dirs(&socket), dirs);
    assert_eq!(client.sources().unwrap().len(), 2);
}
