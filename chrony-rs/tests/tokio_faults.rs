//! The UDP fault cases of `field_faults.rs` for the tokio client, through
//! the testkit's fault-injecting proxy (seeded), against a real chronyd:
//! garbage and truncated replies, loss with fast re-sends, 300 ms each way
//! with default options, a forged record count, silence mid-report.
#![cfg(feature = "tokio")]
mod common;

use chrony::tokio::AsyncClient;
use chrony::{Client, Error};
use chrony_testkit::harness::Chronyd;
use chrony_testkit::proxy::{wire, Direction, Garbage, Proxy, ProxyBuilder, Rewrite};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn daemon() -> Chronyd {
    common::builder()
        .servers(1)
        .unreachable_servers(2)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

fn udp_addr(d: &Chronyd) -> SocketAddr {
    d.udp_address().unwrap()
}

fn start(b: ProxyBuilder) -> Proxy {
    b.start()
        .unwrap_or_else(|e| panic!("starting the proxy: {e}"))
}

async fn connect(b: chrony::ClientBuilder, p: &Proxy) -> AsyncClient {
    b.connect_async(p.address()).await.unwrap()
}

/// tracking + sources + sourcestats, as the blocking test's round.
async fn round(c: &mut AsyncClient) -> chrony::Result<usize> {
    c.tracking().await?;
    let n = c.sources().await?.len();
    assert_eq!(c.source_stats().await?.len(), n);
    Ok(n)
}

#[test]
fn garbage_and_truncated_replies_are_lost_datagrams() {
    let d = daemon();
    let p = start(
        Proxy::builder(udp_addr(&d))
            .seed(11)
            .garbage(0.3, Garbage::ALL),
    );
    runtime().block_on(async {
        let mut c = connect(Client::builder(), &p).await;
        for i in 0..60 {
            let n = round(&mut c)
                .await
                .unwrap_or_else(|e| panic!("round {i}: {e}"));
            assert_eq!(n, 3);
        }
    });
    assert!(p.stats().garbage > 20, "{:?}", p.stats());
}

/// 20% loss each way, 9 attempts: an exchange fails with p = 0.36^9 =
/// 1.0e-4, a round (9 exchanges) with p < 1e-3; 60 rounds, at most one
/// failure allowed (P(2 or more) < 2e-3).
#[test]
fn loss_with_fast_resends() {
    let d = daemon();
    let p = start(
        Proxy::builder(udp_addr(&d))
            .seed(12)
            .loss(Direction::Both, 0.2),
    );
    let failures = runtime().block_on(async {
        let b = Client::builder()
            .timeout(Duration::from_millis(20))
            .retries(8)
            .deadline(Duration::from_secs(60));
        let mut c = connect(b, &p).await;
        let mut failures = 0;
        for _ in 0..60 {
            if round(&mut c).await.is_err() {
                failures += 1;
            }
        }
        failures
    });
    assert!(p.stats().dropped > 30, "{:?}", p.stats());
    assert!(failures <= 1, "{failures} of 60 rounds failed");
}

#[test]
fn latency_of_300_ms_each_way_with_default_options() {
    let d = daemon();
    let p =
        start(Proxy::builder(udp_addr(&d)).latency(Direction::Both, Duration::from_millis(300)));
    runtime().block_on(async {
        let mut c = connect(Client::builder(), &p).await;
        assert_eq!(round(&mut c).await.unwrap(), 3);
    });
}

#[test]
fn forged_record_count_is_a_typed_error_and_the_client_recovers() {
    let d = daemon();
    let p = start(
        Proxy::builder(udp_addr(&d)).rewrite(
            Rewrite::reply_to(wire::N_SOURCES)
                .set_u32(wire::N_SOURCES_COUNT, 0x7fff_ffff)
                .times(1),
        ),
    );
    runtime().block_on(async {
        let deadline = Duration::from_secs(5);
        let mut c = connect(Client::builder().deadline(deadline), &p).await;
        let t = Instant::now();
        match c.sources().await {
            Err(Error::TooManyRecords { count, .. }) => assert_eq!(count, 0x7fff_ffff),
            other => panic!("expected TooManyRecords, got {other:?}"),
        }
        assert!(t.elapsed() <= deadline.mul_f64(1.1));
        assert_eq!(c.sources().await.unwrap().len(), 3);
    });
}

#[test]
fn silence_mid_report_times_out_within_the_deadline() {
    let d = common::silent_servers(common::builder().servers(1).udp_command(true), 63)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let p = start(Proxy::builder(udp_addr(&d)).silence_after(20));
    let deadline = Duration::from_secs(2);
    runtime().block_on(async {
        let mut c = connect(Client::builder().deadline(deadline), &p).await;
        let t = Instant::now();
        let r = c.sources().await;
        let took = t.elapsed();
        assert!(
            matches!(
                r,
                Err(Error::Timeout {
                    call_deadline: true,
                    ..
                })
            ),
            "{r:?}"
        );
        assert!(took <= deadline.mul_f64(1.1), "took {took:?}");
    });
}
