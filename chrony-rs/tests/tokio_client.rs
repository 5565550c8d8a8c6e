//! The tokio client (feature `tokio`) against a real chronyd: every report
//! equals the blocking client's; 200 tasks × 10 reads on one
//! current-thread runtime; a frozen daemon gives Timeout while another
//! task's ticker keeps ticking; a call cancelled mid-exchange is followed by
//! a correct call on the same client.
mod common;

use chrony::tokio::AsyncClient;
use chrony::{Client, Error};
use chrony_testkit::harness::Chronyd;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn daemon(servers: usize) -> Chronyd {
    common::builder()
        .servers(servers)
        .refclocks(1)
        .poll(0)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

/// Every report read once, as either client returns them.
struct Reads {
    tracking: chrony::Tracking,
    sources: Vec<chrony::Source>,
    stats: Vec<chrony::SourceStats>,
    select: Vec<chrony::SelectData>,
    ntp: Vec<chrony::NtpData>,
    auth: Vec<chrony::AuthData>,
    activity: chrony::Activity,
    rtc: Option<chrony::RtcData>,
    smoothing: Option<chrony::Smoothing>,
    serverstats_ok: bool,
    records: usize,
}

/// The identity fields of every report, as text (values that move between
/// reads, such as offsets, are left out).
fn view(r: Reads) -> Vec<String> {
    let t = r.tracking;
    let list = |v: Vec<String>| format!("{v:?}");
    vec![
        format!("tracking {} {} {:?}", t.reference_id, t.stratum, t.address),
        format!(
            "sources {}",
            list(
                r.sources
                    .iter()
                    .map(|s| format!("{} {:?}", s.address, s.mode))
                    .collect()
            )
        ),
        format!(
            "sourcestats {}",
            list(
                r.stats
                    .iter()
                    .map(|s| format!("{} {}", s.address, s.reference_id))
                    .collect()
            )
        ),
        format!(
            "selectdata {}",
            list(r.select.iter().map(|s| s.address.to_string()).collect())
        ),
        format!(
            "ntpdata {}",
            list(
                r.ntp
                    .iter()
                    .map(|n| format!("{} {}", n.address, n.stratum))
                    .collect()
            )
        ),
        format!(
            "authdata {}",
            list(
                r.auth
                    .iter()
                    .map(|a| format!("{:?} {:?}", a.address, a.mode))
                    .collect()
            )
        ),
        format!("activity {}", activity_total(&r.activity)),
        format!("rtcdata {:?}", r.rtc),
        format!("smoothing {:?}", r.smoothing),
        format!("serverstats {}", r.serverstats_ok),
        format!("records {}", r.records),
    ]
}

fn blocking_view(c: &mut Client) -> Vec<String> {
    view(Reads {
        tracking: c.tracking().unwrap(),
        sources: c.sources().unwrap(),
        stats: c.source_stats().unwrap(),
        select: c.select_data().unwrap(),
        ntp: c.ntp_data().unwrap(),
        auth: c.auth_data().unwrap(),
        activity: c.activity().unwrap(),
        rtc: c.rtc_data().unwrap(),
        smoothing: c.smoothing().unwrap(),
        serverstats_ok: c.server_stats().is_ok(),
        records: c.records("sources").unwrap().len(),
    })
}

async fn async_view(c: &mut AsyncClient) -> Vec<String> {
    view(Reads {
        tracking: c.tracking().await.unwrap(),
        sources: c.sources().await.unwrap(),
        stats: c.source_stats().await.unwrap(),
        select: c.select_data().await.unwrap(),
        ntp: c.ntp_data().await.unwrap(),
        auth: c.auth_data().await.unwrap(),
        activity: c.activity().await.unwrap(),
        rtc: c.rtc_data().await.unwrap(),
        smoothing: c.smoothing().await.unwrap(),
        serverstats_ok: c.server_stats().await.is_ok(),
        records: c.records("sources").await.unwrap().len(),
    })
}

/// Sources move between online states while chronyd runs; their total
/// does not.
fn activity_total(a: &chrony::Activity) -> u64 {
    u64::from(a.online_sources)
        + u64::from(a.offline_sources)
        + u64::from(a.burst_online_return_sources)
        + u64::from(a.burst_offline_return_sources)
        + u64::from(a.unresolved_sources)
}

#[test]
fn every_report_equals_the_blocking_client() {
    let d = daemon(4);
    let mut blocking = Client::connect(d.socket_path()).unwrap();
    let want = blocking_view(&mut blocking);
    let got = runtime().block_on(async {
        let mut c = AsyncClient::connect(d.socket_path()).await.unwrap();
        let view = async_view(&mut c).await;
        let snap = c.snapshot().await.unwrap();
        assert_eq!(snap.sources.present().unwrap().len(), 5);
        view
    });
    assert_eq!(got, want);

    // Over UDP the Unix-only reports are refused the same way.
    let addr = d.udp_address().unwrap();
    let mut blocking = Client::connect(addr).unwrap();
    let b = blocking.server_stats().unwrap_err();
    runtime().block_on(async {
        let mut c = AsyncClient::connect(addr).await.unwrap();
        assert_eq!(c.transport(), chrony::Transport::Udp);
        let a = c.server_stats().await.unwrap_err();
        assert!(
            matches!(
                (&a, &b),
                (Error::Unauthorized { .. }, Error::Unauthorized { .. })
            ),
            "{a:?} {b:?}"
        );
        let srcs = c.sources().await.unwrap();
        assert_eq!(srcs.len(), blocking.sources().unwrap().len());
    });
}

#[test]
fn two_hundred_tasks_on_one_thread() {
    let d = daemon(3);
    let mut blocking = Client::connect(d.socket_path()).unwrap();
    let want: Vec<String> = blocking
        .sources()
        .unwrap()
        .iter()
        .map(|s| s.address.to_string())
        .collect();
    let mismatches = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));
    let socket = d.socket_path().to_path_buf();
    runtime().block_on(async {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut tasks = Vec::new();
                for _ in 0..200 {
                    let (socket, want) = (socket.clone(), want.clone());
                    let (mismatches, reads) = (mismatches.clone(), reads.clone());
                    tasks.push(tokio::task::spawn_local(async move {
                        let mut c = Client::builder()
                            .concurrency(2)
                            .deadline(Duration::from_secs(30))
                            .connect_async(socket.as_path())
                            .await
                            .unwrap();
                        for _ in 0..10 {
                            let got: Vec<String> = c
                                .sources()
                                .await
                                .unwrap()
                                .iter()
                                .map(|s| s.address.to_string())
                                .collect();
                            reads.fetch_add(1, Ordering::Relaxed);
                            if got != want {
                                mismatches.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
            .await;
    });
    assert_eq!(reads.load(Ordering::Relaxed), 2000);
    assert_eq!(mismatches.load(Ordering::Relaxed), 0);
}

#[test]
fn frozen_daemon_times_out_without_blocking_the_runtime() {
    let d = daemon(2);
    let deadline = Duration::from_millis(500);
    runtime().block_on(async {
        let mut c = Client::builder()
            .deadline(deadline)
            .connect_async(d.socket_path())
            .await
            .unwrap();
        c.tracking().await.unwrap();
        d.freeze().unwrap();
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                let mut i = tokio::time::interval(Duration::from_millis(10));
                loop {
                    i.tick().await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let start = Instant::now();
        let r = c.sources().await;
        let elapsed = start.elapsed();
        let n = ticks.load(Ordering::Relaxed);
        ticker.abort();
        d.resume().unwrap();
        assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
        assert!(
            elapsed < deadline + Duration::from_millis(300),
            "{elapsed:?}"
        );
        // 10 ms ticks for ~500 ms: a blocked runtime would tick at most once.
        assert!(n >= 20, "the ticker ticked {n} times in {elapsed:?}");
        // The same client works again.
        assert_eq!(c.sources().await.unwrap().len(), 3);
    });
}

#[test]
fn cancelled_calls_leave_the_client_usable() {
    let d = daemon(8);
    let mut blocking = Client::connect(d.socket_path()).unwrap();
    let want: Vec<String> = blocking
        .ntp_data()
        .unwrap()
        .iter()
        .map(|n| n.address.to_string())
        .collect();
    runtime().block_on(async {
        let mut c = AsyncClient::connect(d.socket_path()).await.unwrap();
        let mut cancelled = 0;
        for i in 0..50u64 {
            // Cancel after a varying slice of the exchange: requests are in
            // flight, replies may be queued. Even calls: dropped after
            // 1 to 5 polls (the first poll sends and finds no reply yet, so
            // it is pending); odd ones: after a timeout (a call whose
            // replies are always there when it looks may finish first).
            let cut = Duration::from_micros(50 + 40 * i);
            let dropped = if i % 2 == 0 {
                let mut call = std::pin::pin!(c.ntp_data());
                let mut done = false;
                for _ in 0..=(i / 2) % 5 {
                    let polled = std::future::poll_fn(|cx| {
                        std::task::Poll::Ready(call.as_mut().poll(cx).is_ready())
                    })
                    .await;
                    if polled {
                        done = true;
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                !done
            } else {
                tokio::time::timeout(cut, c.ntp_data()).await.is_err()
            };
            if dropped {
                cancelled += 1;
            }
            let got: Vec<String> = c
                .ntp_data()
                .await
                .unwrap()
                .iter()
                .map(|n| n.address.to_string())
                .collect();
            assert_eq!(got, want, "after cancelling at {cut:?}");
        }
        assert!(cancelled > 0, "no call was cancelled");
        // A call cancelled while chronyd is frozen.
        d.freeze().unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(100), c.sources())
                .await
                .is_err()
        );
        d.resume().unwrap();
        assert_eq!(c.sources().await.unwrap().len(), 9);
    });
}

#[test]
fn a_client_moves_between_runtimes() {
    let d = daemon(2);
    let first = runtime();
    let mut c = first
        .block_on(AsyncClient::connect(d.socket_path()))
        .unwrap();
    assert_eq!(first.block_on(c.sources()).unwrap().len(), 3);
    // The runtime that registered the sockets is gone: the next call, on
    // another runtime, registers them again.
    drop(first);
    let second = runtime();
    for _ in 0..3 {
        assert_eq!(second.block_on(c.sources()).unwrap().len(), 3);
        assert!(second.block_on(c.tracking()).is_ok());
    }
}
