//! `Client::connect_default` tries the usual socket paths, then UDP to
//! 127.0.0.1 and ::1, and never hangs: on a machine without a system
//! chronyd it fails quickly with a connection error; with one, it connects.
use chrony::{Client, Error};
use std::time::{Duration, Instant};

#[test]
fn connect_default_connects_or_fails_fast() {
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let result = Client::builder().timeout(timeout).connect_default();
    let elapsed = start.elapsed();
    // Two UDP candidates, each at most one deadline.
    assert!(
        elapsed < timeout * 2 + Duration::from_millis(500),
        "took {elapsed:?}"
    );
    match result {
        Ok(mut c) => {
            c.tracking()
                .expect("a default chronyd that answered must serve tracking");
        }
        Err(Error::Connect { address, .. }) => {
            assert!(
                ["127.0.0.1:323", "[::1]:323"].contains(&address.as_str())
                    || chrony::DEFAULT_SOCKET_PATHS.contains(&address.as_str()),
                "{address}"
            );
        }
        Err(e @ (Error::Timeout { .. } | Error::PermissionDenied { .. })) => {
            eprintln!("no default chronyd reachable: {e}");
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

#[test]
fn invalid_addresses_are_rejected_before_any_io() {
    for bad in [
        "",
        "not a host",
        "chronyd.sock",
        "run/chrony/chronyd.sock",
        "1.2.3.4:99999",
        "[::1",
        "a\0b",
    ] {
        match Client::connect(bad) {
            Err(Error::InvalidAddress { address, reason }) => {
                assert_eq!(address, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn unknown_report_name() {
    // No daemon needed: the name is checked before anything is sent.
    let mut c = Client::connect("127.0.0.1:9").unwrap();
    assert!(matches!(c.record_count("nonsense"), Err(Error::UnknownReport(n)) if n == "nonsense"));
}
