//! `Client::connect_default` tries the usual socket paths, then UDP to
//! 127.0.0.1 and ::1, and never hangs: on a machine without a system
//! chronyd it fails quickly with a connection error; with one, it connects.
//! Which of the two is expected is found out first, without the library:
//! whether a default socket path exists, and whether UDP port 323 of each
//! loopback address refuses a datagram (nothing listening) or not.
use chrony::{Client, Error};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// What a UDP datagram to `addr` meets.
#[derive(Debug, PartialEq)]
enum Udp {
    /// Nothing listens (ICMP port unreachable), or no such address here.
    Refused,
    /// Something listens (an answer, or silence: chronyd ignores garbage).
    Listening,
}

fn probe(local: &str, addr: &str) -> Udp {
    let Ok(s) = UdpSocket::bind(local) else {
        return Udp::Refused;
    };
    if s.connect(addr).is_err() {
        return Udp::Refused;
    }
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    if s.send(b"probe").is_err() {
        return Udp::Refused;
    }
    let mut buf = [0u8; 64];
    match s.recv(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Udp::Refused,
        _ => Udp::Listening,
    }
}

#[test]
fn connect_default_connects_or_fails_fast() {
    let paths: Vec<&str> = chrony::DEFAULT_SOCKET_PATHS
        .iter()
        .copied()
        .filter(|p| std::path::Path::new(p).exists())
        .collect();
    let udp = [
        probe("127.0.0.1:0", "127.0.0.1:323"),
        probe("[::1]:0", "[::1]:323"),
    ];
    let no_chronyd = paths.is_empty() && udp.iter().all(|u| *u == Udp::Refused);

    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let result = Client::builder().timeout(timeout).connect_default();
    let elapsed = start.elapsed();
    // Two UDP candidates, each at most one exchange.
    assert!(
        elapsed < timeout * 2 * 7 + Duration::from_millis(500),
        "took {elapsed:?}"
    );
    if no_chronyd {
        // Nothing to connect to: a connection error naming a UDP candidate
        // (the last one tried), at once (refusals are not waited for).
        match result {
            Err(Error::Connect { address, .. }) => {
                assert!(
                    ["127.0.0.1:323", "[::1]:323"].contains(&address.as_str()),
                    "{address}"
                );
            }
            other => panic!("no default chronyd here (no socket, UDP refused): expected Error::Connect, got {other:?}"),
        }
        assert!(
            elapsed < Duration::from_millis(500),
            "refusals took {elapsed:?}"
        );
        return;
    }
    // A system chronyd (or something on its port): connected, or a
    // permission / timeout error that says why.
    match result {
        Ok(mut c) => {
            c.tracking()
                .expect("a default chronyd that answered must serve tracking");
        }
        Err(Error::PermissionDenied { address, .. }) => {
            assert!(paths.contains(&address.as_str()), "{address} vs {paths:?}")
        }
        Err(e @ Error::Timeout { .. }) => {
            assert!(
                udp.contains(&Udp::Listening),
                "a timeout although nothing listens on UDP: {e}"
            );
        }
        Err(e) => panic!("socket paths {paths:?}, UDP {udp:?}: unexpected error {e:?}"),
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
