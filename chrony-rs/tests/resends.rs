//! The re-send schedule, counted and timed through the testkit's UDP
//! proxy (the engine's unit tests check the same rules on a simulated
//! clock):
//! - a silent chronyd, timeout 100 ms and 2 re-sends: exactly 3 requests,
//!   the call fails after 100 + 200 + 400 = 700 ms, and the error says
//!   700 ms;
//! - 150 ms each way with a 200 ms timeout: the re-send at 200 ms goes out,
//!   but the first attempt's reply (at 300 ms) ends the exchange: 2
//!   requests, done before the re-send's reply could come (500 ms);
//! - a 200 ms round trip with the default 1 s timeout sends nothing twice;
//! - replies that are all mangled: `Error::NoValidReply`, counting them,
//!   not the silence of `Error::Timeout`.
mod common;

use chrony::{Client, Error};
use chrony_testkit::harness::Chronyd;
use chrony_testkit::proxy::{Direction, Proxy, ProxyBuilder};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

fn daemon() -> Chronyd {
    common::builder()
        .servers(1)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

fn upstream(d: &Chronyd) -> SocketAddr {
    d.udp_address().unwrap()
}

fn start(b: ProxyBuilder) -> Proxy {
    b.start()
        .unwrap_or_else(|e| panic!("starting the proxy: {e}"))
}

/// One exchange (the sources count is a real round trip), timed, with the
/// requests the proxy saw for it.
fn count(c: &mut Client, p: &Proxy) -> (chrony::Result<usize>, Duration, u64) {
    let before = p.stats().from_client;
    let t = Instant::now();
    let r = c.record_count("sources");
    let took = t.elapsed();
    (r, took, p.stats().from_client - before)
}

#[test]
fn silence_gives_up_after_the_whole_schedule() {
    let d = daemon();
    let p = start(Proxy::builder(upstream(&d)));
    let mut c = Client::builder()
        .timeout(100 * MS)
        .retries(2)
        .connect(p.address())
        .unwrap();
    assert!(count(&mut c, &p).0.is_ok(), "answers before the silence");
    p.set_silent(true);
    let (r, took, requests) = count(&mut c, &p);
    match r {
        Err(e @ Error::Timeout { .. }) => {
            let Error::Timeout {
                timeout,
                call_deadline,
                ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(*timeout, 700 * MS);
            assert!(!call_deadline);
            assert!(e.to_string().contains("700ms"), "{e}");
        }
        other => panic!("expected Error::Timeout, got {other:?}"),
    }
    assert_eq!(requests, 3, "1 request and 2 re-sends");
    assert!(took >= 700 * MS, "gave up after {took:?}");
    assert!(took < 1200 * MS, "gave up after {took:?}");
}

#[test]
fn a_slow_reply_ends_the_exchange_on_the_first_attempt() {
    let d = daemon();
    let p = start(Proxy::builder(upstream(&d)).latency(Direction::Both, 150 * MS));
    let mut c = Client::builder()
        .timeout(200 * MS)
        .retries(2)
        .connect(p.address())
        .unwrap();
    // The fastest of three (a loaded machine may delay one): a client that
    // dropped the first attempt at its re-send would need 200 + 300 ms.
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let (r, took, requests) = count(&mut c, &p);
        assert_eq!(r.unwrap(), 1);
        assert_eq!(requests, 2, "one re-send at 200 ms");
        fastest = fastest.min(took);
    }
    assert!(fastest < 450 * MS, "fastest {fastest:?}");

    // The README's 200 ms link with the default timeout: nothing twice.
    let p = start(Proxy::builder(upstream(&d)).latency(Direction::Both, 100 * MS));
    let mut c = Client::connect(p.address()).unwrap();
    for _ in 0..3 {
        let (r, _, requests) = count(&mut c, &p);
        assert_eq!(r.unwrap(), 1);
        assert_eq!(requests, 1);
    }
}

#[test]
fn replies_that_are_never_valid_are_named_and_counted() {
    let d = daemon();
    let p = start(
        Proxy::builder(upstream(&d))
            .seed(7)
            .truncate(Direction::ToClient, 1.0),
    );
    let mut c = Client::builder()
        .timeout(100 * MS)
        .retries(2)
        .connect(p.address())
        .unwrap();
    let (r, _, requests) = count(&mut c, &p);
    match r {
        Err(e @ Error::NoValidReply { .. }) => {
            let Error::NoValidReply { datagrams, .. } = &e else {
                unreachable!()
            };
            let sent = p.stats().to_client;
            assert!(
                (3..=sent).contains(datagrams),
                "{datagrams} counted, {sent} sent"
            );
            assert_eq!(e.kind().as_str(), "invalid_response");
            let text = e.to_string();
            assert!(text.contains("none of them a valid reply"), "{text}");
            assert!(
                text.contains(&format!("sent {datagrams} datagram")),
                "{text}"
            );
        }
        other => panic!("expected Error::NoValidReply, got {other:?}"),
    }
    assert!(requests >= 3, "{requests} requests");
}
