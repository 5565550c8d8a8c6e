//! Descriptors: the soft limit is raised to the hard limit at start, a
//! probed target holds at most three descriptors (one session: its socket
//! and libchrony's /dev/urandom), and running out of descriptors fails
//! only the probe that needed a new one.

mod common;

use common::*;
use std::io::Write as _;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// The exporter started by `sh` with `ulimit LIMIT` applied first.
fn start_limited(ulimit: &str, args: &[&str]) -> Exporter {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit {ulimit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args(args)
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            "debug",
        ]);
    Exporter::spawn_command(cmd)
}

/// Two chronyd answering on a UDP command port.
fn udp_chronyd() -> chrony_testkit::harness::Chronyd {
    builder()
        .servers(0)
        .udp_command(true)
        .wait_for_sync(false)
        .extra_config("local stratum 8")
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

fn probe(addr: std::net::SocketAddr, target: &str) -> Metrics {
    let r = get(
        addr,
        &format!("/probe?target={target}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
    );
    assert_eq!(r.status, 200, "{target}: {}", r.body);
    Metrics::parse(&r.body)
}

#[test]
fn the_soft_limit_is_raised_to_the_hard_limit_at_start() {
    // Started with a soft limit well below any hard one, so the raise is
    // seen whatever this machine's hard limit is.
    let e = start_limited("-Sn 64", &["--chrony.address", "127.0.0.1:9"]);
    let (soft, hard) = procfs::nofile_limits(e.pid());
    assert!(hard > 64, "the hard limit ({hard}) leaves nothing to raise");
    assert_eq!(soft, hard, "soft limit not raised from 64");
    let m = e.metrics();
    assert_eq!(m.value("process_max_fds", &[]), hard as f64);
}

#[test]
fn a_probed_target_holds_at_most_three_descriptors() {
    let fleet: Vec<_> = (0..3).map(|_| udp_chronyd()).collect();
    let e = Exporter::start(&[
        "--chrony.address",
        "127.0.0.1:9",
        "--probe.allow",
        "127.0.0.0/8",
    ]);
    let (sockets0, urandom0) = procfs::session_fds(e.pid());
    for round in 0..3 {
        for d in &fleet {
            let target = d.udp_address().unwrap().to_string();
            let m = probe(e.addr(), &target);
            assert_eq!(
                m.value("chrony_probe_success", &[]),
                1.0,
                "round {round} {target}"
            );
        }
    }
    let (sockets, urandom) = procfs::session_fds(e.pid());
    let per_target = (sockets - sockets0 + urandom - urandom0) as f64 / fleet.len() as f64;
    assert!(per_target > 0.0, "the clients are kept between probes");
    assert!(per_target <= 3.0, "{per_target} descriptors per target");
}

#[test]
fn out_of_descriptors_fails_only_the_probe_that_needed_one() {
    let (a, b) = (udp_chronyd(), udp_chronyd());
    let (ta, tb) = (
        a.udp_address().unwrap().to_string(),
        b.udp_address().unwrap().to_string(),
    );
    let e = start_limited(
        "-n 64",
        &[
            "--chrony.address",
            "127.0.0.1:9",
            "--probe.allow",
            "127.0.0.0/8",
            "--web.max-connections",
            "1000",
        ],
    );
    let pid = e.pid();
    assert_eq!(procfs::nofile_limits(pid), (64, 64));
    // A's client is open; then idle connections take every descriptor
    // left (a spare connection is kept for the probes).
    assert_eq!(probe(e.addr(), &ta).value("chrony_probe_success", &[]), 1.0);
    let mut spare = TcpStream::connect(e.addr()).unwrap();
    spare
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut held = Vec::new();
    while procfs::fds(pid).len() < 64 && held.len() < 200 {
        held.push(TcpStream::connect(e.addr()).unwrap());
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(procfs::fds(pid).len(), 64, "the exporter did not run out");
    let mut reader = std::io::BufReader::new(spare.try_clone().unwrap());
    let mut ask = |target: &str| {
        write!(
            spare,
            "GET /probe?target={target} HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 2\r\n\r\n"
        )
        .unwrap();
        let (status, body) = read_response(&mut reader).expect("a response on the kept connection");
        assert_eq!(status, 200, "{body}");
        Metrics::parse(&body)
    };
    // B needs a new socket: its probe fails, cleanly; A's still succeeds.
    let mb = ask(&tb);
    assert_eq!(mb.value("chrony_probe_success", &[]), 0.0);
    assert_eq!(mb.value("chrony_up", &[]), 0.0);
    let ma = ask(&ta);
    assert_eq!(ma.value("chrony_probe_success", &[]), 1.0);
    assert!(ma.has("chrony_tracking_stratum"));
    let log = e.log_containing("chronyd did not answer");
    assert!(log.contains("chronyd did not answer"), "{log}");
    // With descriptors back, B is probed.
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(probe(e.addr(), &tb).value("chrony_probe_success", &[]), 1.0);
}
