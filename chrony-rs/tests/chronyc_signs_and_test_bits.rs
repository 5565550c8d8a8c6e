//! Two things the other chronyc comparisons could not catch:
//!
//! - ntpdata's test bits in chronyc's order. On a healthy source every test
//!   passes, so a swap of two bits (B and C were once swapped) prints the
//!   same `111 111 1111`. Here the servers are polled with
//!   `maxdelaydevratio 0.001`, so test C fails on most samples while test B
//!   (off by default) passes: the test waits until chronyc shows a source
//!   whose B and C results differ, and compares every source's whole tests
//!   string (and each named `TEST_*` bit) with chronyc's at every read.
//! - A negative poll (-2) in `sources` (a 16-bit signed field that
//!   libchrony 0.2 returns without sign extension) and in ntpdata, compared
//!   with chronyc's columns, for NTP sources and a reference clock.
//!
//! Daemons come from the testkit harness: local processes by default,
//! Docker with CHRONY_TESTKIT_BACKEND=docker CHRONY_TESTKIT_SUITE=...
mod common;

use chrony::{Client, NtpData, NtpFlags, SourceMode, Value};
use common::*;
use std::time::{Duration, Instant};

fn unix_client(d: &chrony_testkit::harness::Chronyd) -> Client {
    Client::connect(d.socket_path().to_str().expect("UTF-8 socket path"))
        .expect("connect to the Unix socket")
}

/// chronyc's ten test characters (`111 111 1101` -> `1111111101`).
fn bits(printed: &str) -> Vec<bool> {
    printed
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| match c {
            '1' => true,
            '0' => false,
            other => panic!("chronyc printed test result {other:?} in {printed:?}"),
        })
        .collect()
}

#[test]
fn ntpdata_test_bits_match_chronyc_when_b_and_c_differ() {
    let d = builder()
        .servers(2)
        .poll(-2)
        .server_options("maxdelaydevratio 0.001")
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let mut client = unix_client(&d);
    let named = [
        ("1", NtpFlags::TEST_1),
        ("2", NtpFlags::TEST_2),
        ("3", NtpFlags::TEST_3),
        ("5", NtpFlags::TEST_5),
        ("6", NtpFlags::TEST_6),
        ("7", NtpFlags::TEST_7),
        ("A", NtpFlags::TEST_A),
        ("B", NtpFlags::TEST_B),
        ("C", NtpFlags::TEST_C),
        ("D", NtpFlags::TEST_D),
    ];
    let limit = Duration::from_secs(90);
    let start = Instant::now();
    let (mut compared, mut differing) = (0usize, 0usize);
    while differing < 3 {
        assert!(
            start.elapsed() < limit,
            "within {limit:?} no source failed test B or C without the other \
             ({compared} records compared): the bit order was never exercised. \
             chronyd log:\n{}",
            d.log()
        );
        let before: Vec<NtpData> = client.ntp_data().unwrap();
        let rows = chronyc_rows(&d, &["ntpdata"]);
        let after: Vec<NtpData> = client.ntp_data().unwrap();
        for c in &rows {
            assert!(c.len() >= 26, "{c:?}");
            let x = before.iter().find(|n| n.address == c[0]);
            let y = after.iter().find(|n| n.address == c[0]);
            let (Some(x), Some(y)) = (x, y) else {
                panic!(
                    "chronyc's source {} is not in the library's {before:?}",
                    c[0]
                );
            };
            // Compare only when no packet arrived between the two reads:
            // then chronyc saw the same sample.
            if (x.received_messages, x.transmitted_messages)
                != (y.received_messages, y.transmitted_messages)
                || x.flags != y.flags
            {
                continue;
            }
            let printed = c[23..26].join(" ");
            assert_eq!(
                x.flags.tests_string(),
                printed,
                "source {}: tests_string() vs chronyc (raw flags {:#x})",
                c[0],
                x.flags.raw
            );
            let b = bits(&printed);
            for (k, (name, bit)) in named.iter().enumerate() {
                assert_eq!(
                    x.flags.passed(*bit),
                    b[k],
                    "source {}: TEST_{name} ({bit:#x}) vs chronyc's {printed}",
                    c[0]
                );
            }
            compared += 1;
            if b[7] != b[8] {
                differing += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(compared >= differing);
}

#[test]
fn negative_poll_matches_chronyc() {
    let d = builder()
        .servers(2)
        .unreachable_servers(1)
        .refclocks(1)
        .poll(-2)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let mut client = unix_client(&d);
    // sources: the poll column (index 4 of `chronyc -c sources`), every
    // source, at least one NTP source and the reference clock at -2.
    retry_compare(10, |ck| {
        let a = client.sources().unwrap();
        let rows = chronyc_rows(&d, &["sources"]);
        let b = client.sources().unwrap();
        assert_eq!(rows.len(), a.len(), "{rows:?} vs {a:?}");
        for ((x, y), c) in a.iter().zip(&b).zip(&rows) {
            ck.check(x.address == c[2], || {
                format!("name {} vs {}", c[2], x.address)
            });
            ck.one_of(&format!("poll of {}", c[2]), x.poll, &c[4], y.poll);
        }
        let reachable_ntp = a
            .iter()
            .filter(|s| s.mode != SourceMode::ReferenceClock && s.is_reachable())
            .count();
        ck.check(reachable_ntp == 2, || {
            format!("two reachable servers: {a:?}")
        });
        for s in &a {
            if s.mode == SourceMode::ReferenceClock || s.is_reachable() {
                ck.check(s.poll == -2, || {
                    format!("{} polls at {}", s.address, s.poll)
                });
            }
        }
    });
    // The generic records say the same (sign-repaired too).
    let generic = client.records("sources").unwrap();
    let typed = client.sources().unwrap();
    assert_eq!(generic.len(), typed.len());
    for (g, t) in generic.iter().zip(&typed) {
        assert_eq!(
            g.get("poll").and_then(Value::as_i64),
            Some(i64::from(t.poll))
        );
    }
    // ntpdata: the poll of the last packet (index 9 of `chronyc -c
    // ntpdata`), for the sources that answered.
    retry_compare(10, |ck| {
        let a = client.ntp_data().unwrap();
        let rows = chronyc_rows(&d, &["ntpdata"]);
        let b = client.ntp_data().unwrap();
        let mut seen = 0;
        for c in &rows {
            let (Some(x), Some(y)) = (
                a.iter().find(|n| n.address == c[0]),
                b.iter().find(|n| n.address == c[0]),
            ) else {
                continue;
            };
            ck.one_of(&format!("ntpdata poll of {}", c[0]), x.poll, &c[9], y.poll);
            if x.received_valid_messages > 0 {
                seen += 1;
                ck.check(x.poll < 0, || format!("{}: packet poll {}", c[0], x.poll));
            }
        }
        ck.check(seen == 2, || format!("two answering servers in {rows:?}"));
    });
}
