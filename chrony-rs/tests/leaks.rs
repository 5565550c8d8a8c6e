//! 1,000 concurrent reads (8 sessions each) and 200 connect/read/drop
//! cycles leak no file descriptor and no client socket directory. Alone in
//! its test binary, so no other test opens descriptors meanwhile.
mod common;

use chrony::Client;
use std::path::Path;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// libchrony's client socket directories beside chronyd's socket.
fn client_dirs(socket: &Path) -> Vec<String> {
    std::fs::read_dir(socket.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("libchrony."))
        .collect()
}

#[test]
fn concurrent_reads_leak_no_fd_and_no_client_socket() {
    let d = common::builder()
        .servers(16)
        .poll(0)
        .wait_for_sync(false)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let socket = d.socket_path().to_path_buf();
    // Warm up whatever the process opens once (the loader, the harness).
    Client::connect(&socket).unwrap().sources().unwrap();
    let fds = open_fds();
    assert!(
        client_dirs(&socket).is_empty(),
        "{:?}",
        client_dirs(&socket)
    );

    let mut c = Client::builder().concurrency(8).connect(&socket).unwrap();
    c.sources().unwrap();
    // One client with 8 sessions: 8 client sockets and directories (each
    // libchrony session also holds /dev/urandom open).
    let with_sessions = open_fds();
    assert!(with_sessions > fds + 8, "{fds} -> {with_sessions}");
    assert_eq!(client_dirs(&socket).len(), 8);
    for i in 0..1000 {
        let n = c.sources().unwrap().len();
        assert_eq!(n, 16, "read {i}");
    }
    assert_eq!(
        open_fds(),
        with_sessions,
        "descriptors leaked while reading"
    );
    assert_eq!(client_dirs(&socket).len(), 8);
    drop(c);
    for _ in 0..200 {
        let mut c = Client::connect(&socket).unwrap();
        c.source_stats().unwrap();
    }
    assert_eq!(open_fds(), fds, "descriptors leaked");
    assert!(
        client_dirs(&socket).is_empty(),
        "{:?}",
        client_dirs(&socket)
    );
}
