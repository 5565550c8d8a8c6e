//! Per-source reports spread over several sessions: the records come back
//! in record order and equal a serial (one-session) read and chronyc, over
//! the Unix socket and UDP; a chronyd frozen in the middle of a report gives
//! the call's Timeout and leaves nothing behind that spoils the next call.
mod common;

use chrony::{Client, Error};
use chrony_testkit::harness::Chronyd;
use std::time::{Duration, Instant};

const SERVERS: usize = 48;

fn daemon() -> Chronyd {
    common::builder()
        .servers(SERVERS)
        .refclocks(1)
        .poll(0)
        .udp_command(true)
        .wait_for_sync(false)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

fn unix(d: &Chronyd, sessions: usize) -> Client {
    Client::builder()
        .concurrency(sessions)
        .connect(d.socket_path())
        .expect("connect over the Unix socket")
}

/// The chronyd under test is 4.0 (Debian bullseye, in the Docker matrix).
fn v4_0(d: &Chronyd) -> bool {
    let v = d.chrony_version();
    v == "4.0" || v.starts_with("4.0.")
}

/// Identity of every record of every per-source report, in order.
fn identities(c: &mut Client, unix: bool, v4_0: bool) -> Vec<(String, Vec<String>)> {
    let mut out = vec![
        (
            "sources".to_string(),
            c.sources()
                .unwrap()
                .iter()
                .map(|s| s.address.to_string())
                .collect(),
        ),
        (
            "sourcestats".to_string(),
            c.source_stats()
                .unwrap()
                .iter()
                .map(|s| format!("{} {}", s.address, s.reference_id))
                .collect(),
        ),
    ];
    if unix {
        out.push((
            "selectdata".into(),
            c.select_data()
                .unwrap()
                .iter()
                .map(|s| s.address.to_string())
                .collect(),
        ));
        // chronyd 4.0 sends no address in the ntpdata record of a source
        // that has not answered yet: that record is left out, so which
        // sources are there changes while the daemon's sources come up.
        // There, every record read must be one of the sources, in the
        // sources' order; elsewhere the list is compared as it is.
        let ntp: Vec<String> = c
            .ntp_data()
            .unwrap()
            .iter()
            .map(|n| n.address.to_string())
            .collect();
        if v4_0 {
            let sources: &Vec<String> = &out[0].1;
            let mut rest = sources.iter();
            for a in &ntp {
                assert!(
                    rest.any(|s| s == a),
                    "4.0: ntpdata {a} is not a source in order: {ntp:?} vs {sources:?}"
                );
            }
        } else {
            out.push(("ntpdata".into(), ntp));
        }
        out.push((
            "authdata".into(),
            c.auth_data()
                .unwrap()
                .iter()
                .map(|a| format!("{:?}", a.address))
                .collect(),
        ));
    }
    out
}

#[test]
fn records_in_order_equal_a_serial_read_and_chronyc() {
    let d = daemon();
    let mut serial = unix(&d, 1);
    let mut concurrent = unix(&d, 8);
    let want = identities(&mut serial, true, v4_0(&d));
    assert_eq!(want[0].1.len(), SERVERS + 1, "{:?}", want[0]);
    // The NTP sources are 127.0.0.1 ... 127.0.0.N in configuration order,
    // so an out-of-order read shows.
    assert_eq!(identities(&mut concurrent, true, v4_0(&d)), want);

    let udp_addr = d.udp_address().expect("UDP command port");
    let mut udp = Client::builder().concurrency(8).connect(udp_addr).unwrap();
    assert_eq!(identities(&mut udp, false, v4_0(&d)), want[..2].to_vec());

    // chronyc lists the sources in the same order.
    let rows = common::chronyc_rows(&d, &["sources"]);
    let chronyc: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    let ours: Vec<&str> = want[0].1.iter().map(String::as_str).collect();
    assert_eq!(ours, chronyc);
}

#[test]
fn frozen_mid_report_times_out_and_the_next_call_is_clean() {
    let d = daemon();
    let mut reference = unix(&d, 1);
    let want = identities(&mut reference, true, v4_0(&d));
    let deadline = Duration::from_millis(600);
    let mut c = Client::builder()
        .concurrency(8)
        .timeout(Duration::from_millis(400))
        .deadline(deadline)
        .connect(d.socket_path())
        .unwrap();

    // Read back to back while another thread freezes chronyd: the freeze
    // lands inside a report (a 49-record report, read again and again), and
    // that call must end with Timeout.
    let (err, elapsed) = std::thread::scope(|s| {
        let freezer = s.spawn(|| {
            std::thread::sleep(Duration::from_millis(150));
            d.freeze().expect("freeze");
        });
        let start = Instant::now();
        let result = loop {
            let t = Instant::now();
            match c.select_data() {
                Ok(v) => assert_eq!(v.len(), SERVERS + 1),
                Err(e) => break (e, t.elapsed()),
            }
            assert!(start.elapsed() < Duration::from_secs(20), "never froze");
        };
        freezer.join().unwrap();
        result
    });
    d.resume().expect("resume");
    eprintln!("frozen read ended after {elapsed:?}: {err}");
    match &err {
        Error::Timeout { timeout, .. } => assert!(*timeout <= deadline, "{err:?}"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(
        elapsed < deadline + Duration::from_millis(400),
        "took {elapsed:?} with a {deadline:?} deadline"
    );
    // The next calls on the same client are correct: the abandoned
    // sessions were closed and fresh ones replace them (leaks.rs counts
    // descriptors).
    assert_eq!(identities(&mut c, true, v4_0(&d)), want);
}
