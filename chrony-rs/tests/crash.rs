//! SIGKILLed clients do not pile up socket directories (issue 17). A
//! client killed with its 8 sessions open leaves 8 `libchrony.*`
//! directories beside chronyd's socket; the next client's connect removes
//! the stale ones (their socket refuses connections) and never a live one.
//! Before, 5 kills left 40.
//!
//! The killed clients are this test binary run again as a child process
//! (this very test with [`CHILD_ENV`] set): run alone, the test is the
//! parent and does everything.
mod common;

use chrony::Client;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "CHRONY_RS_CRASH_CHILD_SOCKET";
const TEST: &str = "sigkilled_clients_leave_no_pile_of_socket_directories";

/// In the child: open 8 sessions, say so, and wait to be killed.
fn child(socket: &str) {
    let mut c = Client::builder().concurrency(8).connect(socket).unwrap();
    assert_eq!(c.source_stats().unwrap().len(), 8);
    println!("SESSIONS-OPEN");
    std::thread::sleep(Duration::from_secs(120));
}

/// Runs a child that opens 8 sessions, then SIGKILLs it.
fn crash_one(socket: &Path) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning the child");
    let out = child.stdout.take().unwrap();
    let ready = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("SESSIONS-OPEN"));
    // std's kill is SIGKILL: no destructor runs in the child.
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    assert!(ready, "the child never opened its sessions ({status})");
}

#[test]
fn sigkilled_clients_leave_no_pile_of_socket_directories() {
    if let Ok(socket) = std::env::var(CHILD_ENV) {
        return child(&socket);
    }
    let d = common::builder()
        .servers(8)
        .poll(0)
        .wait_for_sync(false)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let socket = d.socket_path().to_path_buf();
    assert!(common::client_dirs(&socket).is_empty());

    // A live client of this process with all its sessions open: its
    // directories must survive every sweep.
    let mut live = Client::builder()
        .concurrency(8)
        .retries(0)
        .connect(&socket)
        .unwrap();
    assert_eq!(live.source_stats().unwrap().len(), 8);
    let live_dirs = common::client_dirs(&socket);
    assert_eq!(live_dirs.len(), 8, "{live_dirs:?}");

    let mut after_kill = Vec::new();
    for round in 0..5 {
        crash_one(&socket);
        let now = common::client_dirs(&socket);
        assert!(
            live_dirs.is_subset(&now),
            "round {round}: a live client's directory was removed"
        );
        after_kill.push(now.len() - live_dirs.len());
        // The live client still answers, without a re-send.
        assert_eq!(live.sources().unwrap().len(), 8, "round {round}");
    }
    // Each child's connect swept its predecessor's 8; the last one's are
    // left until the next connect.
    assert_eq!(after_kill, vec![8; 5], "stale directories after each kill");

    let mut next = Client::connect(&socket).unwrap();
    next.tracking().unwrap();
    let now = common::client_dirs(&socket);
    assert_eq!(
        now.difference(&live_dirs).count(),
        1,
        "after a connect only its own session is left: {now:?}"
    );
    drop(next);
    drop(live);
    assert!(
        common::client_dirs(&socket).is_empty(),
        "{:?}",
        common::client_dirs(&socket)
    );
}
