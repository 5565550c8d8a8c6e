//! Both clients over a bad network: a seeded fault-injecting proxy
//! ([`chrony_testkit::proxy`]) between the client and the UDP command port
//! of a chronyd the test starts. Each behaviour is written once and run
//! against the blocking client and, with the `tokio` feature, the tokio
//! one (`each_driver!`):
//!
//! - 30% of replies preceded by garbage (random bytes, a truncated copy, a
//!   copy with another sequence number): every round succeeds with default
//!   options;
//! - 20% loss each way, per-attempt timeout 20 ms and 8 re-sends: at most
//!   2 of [`LOSS_ROUNDS`] rounds fail (see there for the arithmetic);
//! - 30% duplication with 0-50 ms random delay both ways: every round, with
//!   the stable fields equal to a direct read;
//! - 300 ms one-way latency: default options succeed;
//! - a forged record count (0x7fffffff): `Error::TooManyRecords` within the
//!   call's bound, the process alive (checked in a child process), the next
//!   call on the same client correct; a count of exactly `MAX_RECORDS` is
//!   accepted, one more refused before any record is asked;
//! - silence in the middle of a 128-source report: `Error::Timeout` within
//!   the call's deadline + 10%, and the whole report once chronyd talks
//!   again;
//! - the record count raised by one once: the call re-reads and succeeds;
//!   raised always: `Error::CountContradicted`;
//! - the re-send schedule, counted at the proxy: a silent chronyd gets
//!   exactly 3 requests (timeout 100 ms, 2 re-sends) and the call fails
//!   after 700 ms, saying so; a slow reply ends the exchange on its first
//!   attempt; replies that are all mangled are `Error::NoValidReply`,
//!   counted.
//!
//! A round is `tracking()` + `sources()` + `source_stats()`. Rates and
//! seconds per round are printed by `cargo run -p chrony-testkit --example
//! faults`; these tests assert only what holds on a loaded 2-core machine.
//! The engine's unit tests check the same rules on a simulated clock.
//!
//! The daemon comes from the testkit harness (local processes by default,
//! Docker with CHRONY_TESTKIT_BACKEND=docker CHRONY_TESTKIT_SUITE=...).
mod common;

use chrony::{Client, Error, Source, SourceStats, Tracking};
use chrony_testkit::harness::Chronyd;
use chrony_testkit::proxy::{wire, Direction, Garbage, Proxy, ProxyBuilder, Rewrite};
use common::{AnyClient, Driver};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

/// Rounds of the garbage, loss and duplication tests.
const ROUNDS: usize = 100;

/// One round: the three reports the fault table measures.
type Round = (Tracking, Vec<Source>, Vec<SourceStats>);

fn round(c: &mut AnyClient) -> chrony::Result<Round> {
    Ok((c.tracking()?, c.sources()?, c.source_stats()?))
}

/// A chronyd with 3 sources (one loopback reference server, two
/// unreachable) and its UDP command port.
fn daemon() -> Chronyd {
    common::builder()
        .servers(1)
        .unreachable_servers(2)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

fn udp_addr(d: &Chronyd) -> SocketAddr {
    d.udp_address().expect("udp_command(true) gives an address")
}

fn proxy(b: ProxyBuilder) -> Proxy {
    b.start()
        .unwrap_or_else(|e| panic!("starting the proxy: {e}"))
}

fn connect(driver: Driver, b: chrony::ClientBuilder, p: &Proxy) -> AnyClient {
    let addr = p.address();
    driver
        .connect(b, addr)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"))
}

/// Runs `n` rounds; returns the failures (round number and error).
fn rounds(c: &mut AnyClient, n: usize) -> Vec<(usize, Error)> {
    (0..n)
        .filter_map(|i| round(c).err().map(|e| (i, e)))
        .collect()
}

each_driver! {
    fn garbage_before_30_percent_of_replies_every_round_succeeds(driver) {
        let d = daemon();
        let p = proxy(
            Proxy::builder(udp_addr(&d))
                .seed(1)
                .garbage(0.3, Garbage::ALL),
        );
        let mut c = connect(driver, Client::builder(), &p);
        let failures = rounds(&mut c, ROUNDS);
        let s = p.stats();
        eprintln!("garbage 30%: {} failures, {s:?}", failures.len());
        assert!(s.garbage > 50, "the proxy sent garbage: {s:?}");
        assert!(
            failures.is_empty(),
            "{} of {ROUNDS} rounds failed, first: {:?}",
            failures.len(),
            failures.first()
        );
    }
}

/// 20% loss each way: an attempt fails with probability 1 - 0.8^2 = 0.36.
/// With 9 attempts an exchange fails only if all do: 0.36^9 = 1.0e-4 (less
/// when a late reply to an earlier attempt is accepted). A round is 9
/// exchanges (tracking's count needs none; each list report is a count and
/// 3 records), so it fails with p <= 9.2e-4; over 100 rounds the expected
/// number of failed rounds is 0.09 and P(more than 2) is about 1.2e-4.
const LOSS_ROUNDS: usize = ROUNDS;

each_driver! {
    fn loss_of_20_percent_each_way_with_fast_resends(driver) {
        let d = daemon();
        let p = proxy(
            Proxy::builder(udp_addr(&d))
                .seed(2)
                .loss(Direction::Both, 0.2),
        );
        let b = Client::builder()
            .timeout(Duration::from_millis(20))
            .retries(8)
            .deadline(Duration::from_secs(60));
        let mut c = connect(driver, b, &p);
        let failures = rounds(&mut c, LOSS_ROUNDS);
        eprintln!("loss 20%: {} failures, {:?}", failures.len(), p.stats());
        assert!(p.stats().dropped > 50, "{:?}", p.stats());
        assert!(
            failures.len() <= 2,
            "{} of {LOSS_ROUNDS} rounds failed: {failures:?}",
            failures.len()
        );
    }
}

/// The fields of a round that do not change from one read to the next
/// once chronyd has selected its source.
fn stable(r: &Round) -> String {
    let (t, sources, stats) = r;
    let mut out = format!(
        "tracking {:?} {:?} {} {:?}\n",
        t.reference_id, t.address, t.stratum, t.leap_status
    );
    for s in sources {
        out += &format!(
            "source {} {:?} {:?} {} {}\n",
            s.address, s.reference_id, s.mode, s.poll, s.stratum
        );
    }
    for s in stats {
        out += &format!("stats {:?} {}\n", s.reference_id, s.address);
    }
    out
}

each_driver! {
    fn duplication_and_reordering_change_nothing(driver) {
        let d = daemon();
        let p = proxy(
            Proxy::builder(udp_addr(&d))
                .seed(3)
                .duplicate(Direction::Both, 0.3)
                .jitter(Direction::Both, Duration::from_millis(50)),
        );
        let mut c = connect(driver, Client::builder(), &p);
        let mut direct = Driver::Blocking
            .connect(Client::builder(), udp_addr(&d))
            .unwrap();
        for i in 0..ROUNDS {
            let via = round(&mut c).unwrap_or_else(|e| panic!("round {i}: {e}"));
            let want = round(&mut direct).unwrap_or_else(|e| panic!("direct read {i}: {e}"));
            assert_eq!(stable(&via), stable(&want), "round {i}");
            assert_eq!(via.1.len(), 3);
        }
        let s = p.stats();
        assert!(s.duplicated > 50, "{s:?}");
    }
}

each_driver! {
    fn latency_of_300_ms_each_way_with_default_options(driver) {
        let d = daemon();
        let p = proxy(
            Proxy::builder(udp_addr(&d)).latency(Direction::Both, Duration::from_millis(300)),
        );
        let mut c = connect(driver, Client::builder(), &p);
        for i in 0..2 {
            let (_, sources, stats) = round(&mut c).unwrap_or_else(|e| panic!("round {i}: {e}"));
            assert_eq!((sources.len(), stats.len()), (3, 3));
        }
    }
}

const CHILD_ENV: &str = "CHRONY_RS_UDP_FAULTS_FORGED_PROXY";

each_driver! {
    /// A forged count of 0x7fffffff in the first N_SOURCES reply. The
    /// client side runs in a child process (this test binary, running this
    /// very test with the proxy's address in [`CHILD_ENV`]), so that an
    /// abort on the allocation this must never attempt fails this test
    /// instead of killing the whole test binary. Run alone, the test is the
    /// parent: it starts chronyd and the proxy and checks what the child
    /// reports (there is no helper test that passes by doing nothing).
    fn forged_record_count_is_a_typed_error_and_the_client_recovers(driver) {
        let name = match driver {
            Driver::Blocking => "blocking",
            #[cfg(feature = "tokio")]
            Driver::Tokio => "tokio",
        };
        if let Ok(addr) = std::env::var(CHILD_ENV) {
            return forged_count_client(driver, &addr);
        }
        let d = daemon();
        let p = proxy(
            Proxy::builder(udp_addr(&d)).rewrite(
                Rewrite::reply_to(wire::N_SOURCES)
                    .set_u32(wire::N_SOURCES_COUNT, 0x7fff_ffff)
                    .times(1),
            ),
        );
        let test = format!("forged_record_count_is_a_typed_error_and_the_client_recovers::{name}");
        let (ok, text) = common::run_child(&test, (CHILD_ENV, &p.address().to_string()));
        assert!(ok, "child failed:\n{text}");
        assert!(text.contains("FORGED-COUNT-CHECKED"), "{text}");
        assert!(text.contains("1 passed"), "the child ran the test: {text}");
        assert_eq!(p.stats().rewritten, 1);
    }
}

/// The client side of the test above, in the child process.
fn forged_count_client(driver: Driver, addr: &str) {
    let deadline = Duration::from_secs(5);
    let mut c = driver
        .connect(Client::builder().deadline(deadline), addr)
        .unwrap();
    let t = Instant::now();
    let r = c.sources();
    let took = t.elapsed();
    match r {
        Err(Error::TooManyRecords { count, report, .. }) => {
            assert_eq!(count, 0x7fff_ffff);
            assert_eq!(report, "sources");
        }
        other => panic!("expected Error::TooManyRecords, got {other:?}"),
    }
    assert!(took <= deadline.mul_f64(1.1), "took {took:?}");
    let next = c.sources().expect("the next call on the same client");
    assert_eq!(next.len(), 3, "{next:?}");
    println!("FORGED-COUNT-CHECKED");
}

each_driver! {
    /// The limit itself. A forged count of exactly `MAX_RECORDS` (once) is
    /// accepted: the client asks for records beyond the three real ones,
    /// chronyd has none, the count is read again and the real three come
    /// back. One more, `MAX_RECORDS + 1`, is `TooManyRecords` before any
    /// record is asked for.
    fn forged_counts_at_the_limit_and_one_above(driver) {
        let d = daemon();
        let limit = u32::try_from(chrony::MAX_RECORDS).expect("the limit fits the wire's u32");
        let forged = |count: u32| {
            proxy(
                Proxy::builder(udp_addr(&d)).rewrite(
                    Rewrite::reply_to(wire::N_SOURCES)
                        .set_u32(wire::N_SOURCES_COUNT, count)
                        .times(1),
                ),
            )
        };

        let at = forged(limit);
        let mut c = connect(driver, Client::builder(), &at);
        match c.sources() {
            Ok(v) => assert_eq!(v.len(), 3, "{v:?}"),
            Err(e) => panic!("a count of exactly MAX_RECORDS ({limit}) must be accepted: {e:?}"),
        }
        let s = at.stats();
        assert_eq!(s.rewritten, 1, "{s:?}");
        // A plain call sends 1 count + 3 records; the accepted forged count
        // made the client ask for records chronyd does not have, then
        // re-read the count (1 + at least 4 + 1 + 3).
        assert!(s.to_server >= 9, "records beyond the real ones were asked for: {s:?}");

        let above = forged(limit + 1);
        let mut c = connect(driver, Client::builder(), &above);
        match c.sources() {
            Err(Error::TooManyRecords { count, limit: l, report, .. }) => {
                assert_eq!(count, u64::from(limit) + 1);
                assert_eq!(l, chrony::MAX_RECORDS);
                assert_eq!(report, "sources");
            }
            other => panic!("expected TooManyRecords for MAX_RECORDS + 1, got {other:?}"),
        }
        let s = above.stats();
        assert_eq!((s.rewritten, s.to_server), (1, 1), "only the count was asked: {s:?}");
        assert_eq!(c.sources().expect("the next call").len(), 3);
    }
}

each_driver! {
    fn silence_in_a_128_source_report_times_out_within_the_deadline(driver) {
        // One reference server and 127 configured servers where nothing
        // answers (loopback, discard port), on either backend.
        let d = common::silent_servers(common::builder().servers(1).udp_command(true), 127)
            .start()
            .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
        let direct = Client::connect(udp_addr(&d)).unwrap().sources().unwrap();
        assert_eq!(direct.len(), 128);
        // The count and 63 records get through, then nothing.
        let p = proxy(Proxy::builder(udp_addr(&d)).silence_after(64));
        let deadline = Duration::from_secs(3);
        let b = Client::builder()
            .timeout(Duration::from_secs(1))
            .deadline(deadline);
        let mut c = connect(driver, b, &p);
        let t = Instant::now();
        let r = c.sources();
        let took = t.elapsed();
        match r {
            Err(Error::Timeout { report, call_deadline: true, .. }) => {
                assert_eq!(report, "sources")
            }
            other => panic!("expected Error::Timeout, got {other:?} after {took:?}"),
        }
        assert!(took <= deadline.mul_f64(1.1), "took {took:?}, deadline {deadline:?}");
        assert_eq!(p.stats().to_client, 64);
        // Talking again: the same client reads the whole report.
        p.set_silent(false);
        assert_eq!(c.sources().expect("after the silence").len(), 128);
    }
}

each_driver! {
    fn count_raised_once_is_re_read_raised_always_is_count_contradicted(driver) {
        let d = daemon();
        let once = proxy(
            Proxy::builder(udp_addr(&d)).rewrite(
                Rewrite::reply_to(wire::N_SOURCES)
                    .add_u32(wire::N_SOURCES_COUNT, 1)
                    .times(1),
            ),
        );
        let mut c = connect(driver, Client::builder(), &once);
        let sources = c.sources().expect("one changed count is re-read");
        assert_eq!(sources.len(), 3);
        assert_eq!(once.stats().rewritten, 1);

        let always = proxy(
            Proxy::builder(udp_addr(&d))
                .rewrite(Rewrite::reply_to(wire::N_SOURCES).add_u32(wire::N_SOURCES_COUNT, 1)),
        );
        let mut c = connect(driver, Client::builder(), &always);
        match c.sources() {
            Err(e @ Error::CountContradicted { .. }) => {
                assert_eq!(e.kind().as_str(), "count_contradicted");
                let text = e.to_string();
                assert!(
                    text.contains("claims 4 records for report sources but serves only 3"),
                    "{text}"
                );
                assert!(!text.contains("kept changing"), "{text}");
            }
            other => panic!("expected Error::CountContradicted, got {other:?}"),
        }
        // And the client is still usable for a report the rewrite leaves
        // alone.
        c.tracking().expect("tracking after CountContradicted");
    }
}

/// One exchange (the sources count is a real round trip), timed, with the
/// requests the proxy saw for it.
fn count(c: &mut AnyClient, p: &Proxy) -> (chrony::Result<usize>, Duration, u64) {
    let before = p.stats().from_client;
    let t = Instant::now();
    let r = c.record_count("sources");
    let took = t.elapsed();
    (r, took, p.stats().from_client - before)
}

/// A client of `driver` with a 100 ms first wait and 2 re-sends.
fn resending(driver: Driver, timeout: Duration, p: &Proxy) -> AnyClient {
    connect(driver, Client::builder().timeout(timeout).retries(2), p)
}

each_driver! {
    fn silence_gives_up_after_the_whole_schedule(driver) {
        let d = daemon();
        let p = proxy(Proxy::builder(udp_addr(&d)));
        let mut c = resending(driver, 100 * MS, &p);
        assert!(count(&mut c, &p).0.is_ok(), "answers before the silence");
        p.set_silent(true);
        let (r, took, requests) = count(&mut c, &p);
        match r {
            Err(e @ Error::Timeout { timeout, call_deadline: false, .. }) => {
                assert_eq!(timeout, 700 * MS);
                assert!(e.to_string().contains("700ms"), "{e}");
            }
            other => panic!("expected Error::Timeout, got {other:?}"),
        }
        assert_eq!(requests, 3, "1 request and 2 re-sends");
        assert!(took >= 700 * MS, "gave up after {took:?}");
        assert!(took < 1200 * MS, "gave up after {took:?}");
    }
}

each_driver! {
    fn a_slow_reply_ends_the_exchange_on_the_first_attempt(driver) {
        let d = daemon();
        let p = proxy(Proxy::builder(udp_addr(&d)).latency(Direction::Both, 150 * MS));
        let mut c = resending(driver, 200 * MS, &p);
        // The fastest of three (a loaded machine may delay one): a client
        // that dropped the first attempt at its re-send would need 200 +
        // 300 ms.
        let mut fastest = Duration::MAX;
        for _ in 0..3 {
            let (r, took, requests) = count(&mut c, &p);
            assert_eq!(r.unwrap(), 3);
            assert_eq!(requests, 2, "one re-send at 200 ms");
            fastest = fastest.min(took);
        }
        assert!(fastest < 450 * MS, "fastest {fastest:?}");

        // A 200 ms link with the default timeout: nothing twice.
        let p = proxy(Proxy::builder(udp_addr(&d)).latency(Direction::Both, 100 * MS));
        let mut c = connect(driver, Client::builder(), &p);
        for _ in 0..3 {
            let (r, _, requests) = count(&mut c, &p);
            assert_eq!(r.unwrap(), 3);
            assert_eq!(requests, 1);
        }
    }
}

each_driver! {
    fn replies_that_are_never_valid_are_named_and_counted(driver) {
        let d = daemon();
        let p = proxy(
            Proxy::builder(udp_addr(&d))
                .seed(7)
                .truncate(Direction::ToClient, 1.0),
        );
        let mut c = resending(driver, 100 * MS, &p);
        let (r, _, requests) = count(&mut c, &p);
        match r {
            Err(e @ Error::NoValidReply { datagrams, .. }) => {
                let sent = p.stats().to_client;
                assert!((3..=sent).contains(&datagrams), "{datagrams} counted, {sent} sent");
                assert_eq!(e.kind().as_str(), "invalid_response");
                let text = e.to_string();
                assert!(text.contains("none of them a valid reply"), "{text}");
                assert!(text.contains(&format!("sent {datagrams} datagram")), "{text}");
            }
            other => panic!("expected Error::NoValidReply, got {other:?}"),
        }
        assert!(requests >= 3, "{requests} requests");
    }
}
