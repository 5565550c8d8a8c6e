//! The tokio client leaks nothing, counted as `leaks.rs` counts
//! for the blocking client: open descriptors of this process and client
//! socket directories beside chronyd's socket, before and after
//!
//! - 500 reads over 8 sessions, Unix and UDP;
//! - calls cancelled mid-exchange (a frozen chronyd, `tokio::time::timeout`)
//!   and calls cancelled at random points of a 16-source report;
//! - reconnects after chronyd restarts;
//! - 100 connect/read/drop cycles on each transport.
//!
//! Alone in its test binary, so no other test opens descriptors meanwhile.
mod common;

use chrony::Client;
use std::time::Duration;

#[test]
fn tokio_client_leaks_no_fd_and_no_client_socket() {
    let mut d = common::builder()
        .servers(16)
        .poll(0)
        .udp_command(true)
        .wait_for_sync(false)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let socket = d.socket_path().to_path_buf();
    let udp = d.udp_address().expect("UDP port");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let builder = || {
        Client::builder()
            .concurrency(8)
            .timeout(Duration::from_millis(300))
            .retries(1)
    };
    // Warm up what the process opens once (the runtime's driver, the loader).
    rt.block_on(async {
        let mut c = builder().connect_async(&socket).await.unwrap();
        c.sources().await.unwrap();
        let mut c = builder().connect_async(udp).await.unwrap();
        c.sources().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_micros(100), c.sources()).await;
    });
    let base = common::open_fds();
    assert!(
        common::client_dirs(&socket).is_empty(),
        "{:?}",
        common::client_dirs(&socket)
    );

    rt.block_on(async {
        let mut unix = builder().connect_async(&socket).await.unwrap();
        let mut over_udp = builder().connect_async(udp).await.unwrap();
        assert_eq!(unix.sources().await.unwrap().len(), 16);
        assert_eq!(over_udp.sources().await.unwrap().len(), 16);
        let with_sessions = common::open_fds();
        // 8 Unix sessions (socket + /dev/urandom each), 8 UDP ones.
        assert!(
            with_sessions.len() >= base.len() + 32,
            "{} -> {}",
            base.len(),
            with_sessions.len()
        );
        assert_eq!(common::client_dirs(&socket).len(), 8);

        for i in 0..500 {
            assert_eq!(
                unix.source_stats().await.unwrap().len(),
                16,
                "unix read {i}"
            );
            assert_eq!(over_udp.sources().await.unwrap().len(), 16, "udp read {i}");
        }
        // Counted, not compared: a re-send on a loaded machine replaces a
        // session (a new socket) without leaking one.
        assert_eq!(
            common::open_fds().len(),
            with_sessions.len(),
            "descriptors leaked while reading"
        );
        assert_eq!(common::client_dirs(&socket).len(), 8);

        // Cancelled at random points of the exchange (some calls finish):
        // every third call is polled once (its requests sent) and dropped,
        // the others run under timeouts of 50 us to 3 ms.
        let mut cancelled = 0;
        for k in 0..300u64 {
            let c = if k % 2 == 0 { &mut unix } else { &mut over_udp };
            if k % 3 == 0 {
                let mut call = std::pin::pin!(c.sources());
                let first = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(std::future::Future::poll(call.as_mut(), cx))
                })
                .await;
                if first.is_pending() {
                    cancelled += 1;
                }
                continue;
            }
            let wait = Duration::from_micros(50 + (k * 37) % 3000);
            if tokio::time::timeout(wait, c.sources()).await.is_err() {
                cancelled += 1;
            }
        }
        assert!(
            cancelled > 50,
            "only {cancelled} of 300 calls were cancelled"
        );
        assert_eq!(unix.sources().await.unwrap().len(), 16);
        assert_eq!(over_udp.sources().await.unwrap().len(), 16);

        // Cancelled while chronyd is frozen: every request is in flight.
        d.freeze().unwrap();
        for _ in 0..20 {
            let r = tokio::time::timeout(Duration::from_millis(50), unix.sources()).await;
            assert!(r.is_err(), "a frozen chronyd answered: {r:?}");
            let r = tokio::time::timeout(Duration::from_millis(50), over_udp.sources()).await;
            assert!(r.is_err(), "a frozen chronyd answered: {r:?}");
        }
        d.resume().unwrap();
        assert_eq!(unix.sources().await.unwrap().len(), 16);
        assert_eq!(over_udp.sources().await.unwrap().len(), 16);
        assert!(
            common::client_dirs(&socket).len() <= 8,
            "{:?}",
            common::client_dirs(&socket)
        );

        // Reconnects: chronyd restarted under the clients.
        for round in 0..3 {
            d.restart().unwrap();
            let mut ok = false;
            for _ in 0..20 {
                if unix.sources().await.is_ok() && over_udp.sources().await.is_ok() {
                    ok = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert!(ok, "round {round}: no answer after the restart");
        }
        assert!(
            common::client_dirs(&socket).len() <= 8,
            "{:?}",
            common::client_dirs(&socket)
        );
    });
    common::assert_same_fds("after the long-lived clients", &base, &common::open_fds());
    assert!(
        common::client_dirs(&socket).is_empty(),
        "{:?}",
        common::client_dirs(&socket)
    );

    rt.block_on(async {
        for i in 0..100 {
            let mut c = builder().connect_async(&socket).await.unwrap();
            c.tracking()
                .await
                .unwrap_or_else(|e| panic!("unix cycle {i}: {e}"));
            c.sources().await.unwrap();
            let mut c = builder().connect_async(udp).await.unwrap();
            c.sources()
                .await
                .unwrap_or_else(|e| panic!("udp cycle {i}: {e}"));
        }
    });
    common::assert_same_fds("100 connect/read/drop cycles", &base, &common::open_fds());
    assert!(
        common::client_dirs(&socket).is_empty(),
        "{:?}",
        common::client_dirs(&socket)
    );
}
