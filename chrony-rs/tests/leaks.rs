//! 1,000 concurrent reads (8 sessions each) and 200 connect/read/drop
//! cycles leak no file descriptor and no client socket directory. Alone in
//! its test binary, so no other test opens descriptors meanwhile.
mod common;

use chrony::Client;

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
    let fds = common::open_fds();
    assert!(
        common::client_dirs(&socket).is_empty(),
        "{:?}",
        common::client_dirs(&socket)
    );

    let mut c = Client::builder().concurrency(8).connect(&socket).unwrap();
    c.sources().unwrap();
    // One client with 8 sessions: 8 client sockets and directories (each
    // libchrony session also holds /dev/urandom open).
    let with_sessions = common::open_fds();
    assert!(
        with_sessions.len() > fds.len() + 8,
        "{fds:?} -> {with_sessions:?}"
    );
    assert_eq!(common::client_dirs(&socket).len(), 8);
    for i in 0..1000 {
        let n = c.sources().unwrap().len();
        assert_eq!(n, 16, "read {i}");
    }
    common::assert_same_fds("while reading", &with_sessions, &common::open_fds());
    assert_eq!(common::client_dirs(&socket).len(), 8);
    drop(c);
    for _ in 0..200 {
        let mut c = Client::connect(&socket).unwrap();
        c.source_stats().unwrap();
    }
    common::assert_same_fds("after 200 connect cycles", &fds, &common::open_fds());
    assert!(
        common::client_dirs(&socket).is_empty(),
        "{:?}",
        common::client_dirs(&socket)
    );
}
