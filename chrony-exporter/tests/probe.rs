//! `/probe?target=`: the allow list (a refused target gets no datagram),
//! bad targets, and a fleet of 100 targets, most of them silent, where the
//! healthy ones answer while the silent ones time out within the bound.

mod common;

use common::*;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A loopback UDP socket that never answers and counts what it receives.
struct Silent {
    addr: SocketAddr,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Silent {
    fn new() -> Silent {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (count.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                if socket.recv_from(&mut buf).is_ok() {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Silent { addr, count, stop }
    }

    fn received(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn probe(e: &Exporter, target: &str, timeout: &str) -> Response {
    e.get(
        &format!("/probe?target={target}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", timeout)],
    )
}

#[test]
fn refused_targets_get_403_and_no_datagram() {
    let silent = Silent::new();
    let target = silent.addr.to_string();

    // Probing disabled: 403 for every target.
    let off = Exporter::start(&["--chrony.address", "127.0.0.1:9"]);
    let r = probe(&off, &target, "2");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("disabled"), "{}", r.body);

    // Outside the list: by address, and a name neither listed nor
    // resolving into the networks.
    let e = Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--probe.allow",
        "10.0.0.0/8,ntp.example.invalid",
        "--probe.allow",
        "192.0.2.1",
    ]);
    for t in [target.as_str(), "localhost:1", "[::1]:323", "127.0.0.2"] {
        let r = probe(&e, t, "2");
        assert_eq!(r.status, 403, "{t}: {}", r.body);
    }
    // Unparsable targets: 400, also nothing sent.
    for t in [
        "",
        "unix:///run/chrony/chronyd.sock",
        "%2Frun%2Fchrony%2Fchronyd.sock",
        "host:port",
        "a%20b",
        "%zz",
        "127.0.0.1:99999",
    ] {
        let r = probe(&e, t, "2");
        assert_eq!(r.status, 400, "{t:?}: {}", r.body);
    }
    let r = e.get("/probe", &[]);
    assert_eq!(r.status, 400, "{}", r.body);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(silent.received(), 0, "a refused target got datagrams");

    // The control: allowed, the same socket does receive the requests, and
    // the probe fails inside the scrape timeout with HTTP 200.
    let allowed = Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--chrony.timeout",
        "1s",
        "--probe.allow",
        "127.0.0.0/8",
    ]);
    let start = Instant::now();
    let r = probe(&allowed, &target, "2");
    let took = start.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    let m = Metrics::parse(&r.body);
    assert_eq!(m.value("chrony_probe_success", &[]), 0.0);
    assert_eq!(m.value("chrony_up", &[]), 0.0);
    assert!(took < Duration::from_secs(5), "silent probe took {took:?}");
    assert!(silent.received() > 0, "the allowed probe sent nothing");
    // The exporter's own metrics stay on /metrics.
    assert!(!m.has("chrony_exporter_build_info"), "{}", r.body);
    let own = allowed.metrics();
    assert!(own.has("chrony_exporter_build_info"));
    assert!(!own.has("chrony_probe_success"));
}

#[test]
fn a_fleet_of_100_targets_silent_ones_do_not_delay_healthy_ones() {
    // Two real chronyd with their UDP command port, 98 silent sockets.
    let a = builder()
        .udp_command(true)
        .servers(1)
        .start()
        .expect("chronyd a");
    let b = builder()
        .udp_command(true)
        .servers(1)
        .start()
        .expect("chronyd b");
    let healthy: Vec<String> = [&a, &b]
        .iter()
        .map(|d| d.udp_address().expect("a UDP command port").to_string())
        .collect();
    let silent: Vec<Silent> = (0..98).map(|_| Silent::new()).collect();
    let e = Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--probe.allow",
        "127.0.0.0/8,::1",
        "--web.max-connections",
        "256",
        "--chrony.timeout",
        "10s",
    ]);
    // Scrape timeout 2 s: the probe's bound is 1.5 s.
    let bound = 1.5;
    for round in 0..2 {
        let mut targets: Vec<(bool, String)> =
            silent.iter().map(|s| (false, s.addr.to_string())).collect();
        targets.insert(10, (true, healthy[0].clone()));
        targets.insert(60, (true, healthy[1].clone()));
        let addr = e.addr();
        let threads: Vec<_> = targets
            .into_iter()
            .map(|(ok, t)| {
                std::thread::spawn(move || {
                    let start = Instant::now();
                    let r = get(
                        addr,
                        &format!("/probe?target={t}"),
                        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
                    );
                    (ok, t, r, start.elapsed())
                })
            })
            .collect();
        for th in threads {
            let (ok, t, r, took) = th.join().unwrap();
            assert_eq!(r.status, 200, "round {round} {t}: {}", r.body);
            let m = Metrics::parse(&r.body);
            let duration = m.value("chrony_probe_duration_seconds", &[]);
            if ok {
                // Answered: not held up until the deadline by the silent ones.
                assert_eq!(
                    m.value("chrony_probe_success", &[]),
                    1.0,
                    "round {round} healthy {t} failed:\n{}",
                    r.body
                );
                assert_eq!(m.value("chrony_up", &[]), 1.0);
                assert!(m.has("chrony_tracking_stratum"), "{}", r.body);
                assert!(duration < bound, "round {round} healthy {t}: {duration} s");
            } else {
                assert_eq!(m.value("chrony_probe_success", &[]), 0.0, "{t}");
                assert!(
                    duration <= bound + 0.5,
                    "round {round} silent {t}: {duration} s, bound {bound}"
                );
                // Wall time: the bound plus generous slack for a loaded machine.
                assert!(took < Duration::from_secs(8), "round {round} {t}: {took:?}");
            }
        }
    }
    assert!(silent.iter().all(|s| s.received() > 0));
    let mut e = e;
    assert!(e.alive());
    // 98 targets failing twice: one warning (a line a minute per cause),
    // not one per target.
    let log = e.log_containing("chronyd did not answer");
    let warnings = log
        .lines()
        .filter(|l| l.contains("level=warn") && l.contains("chronyd did not answer"))
        .count();
    assert_eq!(warnings, 1, "{log}");
}
