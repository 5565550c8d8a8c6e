//! Bad HTTP input and bad flags: bounded, the exporter stays up, the next
//! normal scrape is correct; wrong flags fail at start with a message.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// A normal scrape after the abuse: 200, chronyd up, sources present.
fn assert_normal_scrape(e: &mut Exporter) {
    assert!(e.alive(), "the exporter exited:\n{}", e.log());
    let m = e.metrics();
    assert_eq!(m.value("chrony_up", &[]), 1.0);
    assert!(m.has("chrony_sources_stratum"));
}

#[test]
fn abusive_clients_are_bounded() {
    let d = chronyd(1);
    let mut e = Exporter::start(&[
        "--chrony.address",
        &unix_address(&d),
        "--web.max-connections",
        "64",
    ]);
    assert_normal_scrape(&mut e);

    // Not GET: 405 with Allow.
    for method in ["POST", "PUT", "DELETE"] {
        let r = request(e.addr(), method, "/metrics", &[("Content-Length", "0")]);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }

    // A 1 MB header: refused (431) without reading it all, connection closed.
    let mut s = TcpStream::connect(e.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    // The server may close before all of it is written.
    let _ = s.write_all(big.as_bytes());
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let head = String::from_utf8_lossy(&raw);
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 431"),
        "a 1 MB header got {head:?}"
    );
    assert_normal_scrape(&mut e);

    // One byte a second: cut off by the header read timeout (5 s).
    let mut s = TcpStream::connect(e.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let start = Instant::now();
    let mut closed = false;
    for b in b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: "
        .iter()
        .cycle()
    {
        if start.elapsed() > Duration::from_secs(20) {
            break;
        }
        if s.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {
                // hyper answers 408 before closing.
                closed = true;
                break;
            }
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(950));
    }
    let took = start.elapsed();
    assert!(closed, "a one-byte-a-second client was never cut off");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(12),
        "cut off after {took:?}"
    );
    assert_normal_scrape(&mut e);

    // 1,000 connections at once, held open and idle: at most 64 are kept,
    // the rest closed at once; the exporter stays up and serves again once
    // they are gone.
    let conns: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(e.addr()).ok())
        .collect();
    assert!(conns.len() >= 900, "only {} connections", conns.len());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        e.alive(),
        "the exporter exited under 1,000 connections:\n{}",
        e.log()
    );
    // The accepted idle ones time out by themselves (header read timeout):
    // a normal scrape gets through within a few seconds even while they
    // are held.
    wait_for(
        "a scrape while 1,000 connections are held",
        Duration::from_secs(15),
        || {
            std::panic::catch_unwind(|| get(e.addr(), "/metrics", &[]))
                .is_ok_and(|r| r.status == 200)
        },
    );
    drop(conns);
    assert_normal_scrape(&mut e);
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args(args)
        .output()
        .expect("running chrony-exporter");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_fail_at_start() {
    let (code, err) = run(&["--no-such-flag"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--no-such-flag"), "{err}");

    let (code, err) = run(&["--collector.bogus"]);
    assert_eq!(code, Some(2), "{err}");

    for bad in [
        "unix://relative/path",
        "/run/chrony.sock",
        "host:notaport",
        "[::1",
        "",
    ] {
        let (code, err) = run(&["--chrony.address", bad]);
        assert_eq!(code, Some(2), "{bad:?}: {err}");
        assert!(err.contains("--chrony.address"), "{bad:?}: {err}");
    }

    let (code, err) = run(&["--chrony.timeout", "forever"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("duration"), "{err}");

    let (code, err) = run(&["--web.listen-address", "not-an-address"]);
    assert_eq!(code, Some(2), "{err}");

    let (code, err) = run(&["--log.format", "xml"]);
    assert_eq!(code, Some(2), "{err}");

    // A port in use: a clear error and exit status 1.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = run(&["--web.listen-address", &addr]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot listen on"), "{err}");

    // --help lists every collector flag pair.
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for c in [
        "tracking",
        "sources",
        "sourcestats",
        "activity",
        "rtcdata",
        "smoothing",
        "serverstats",
        "selectdata",
        "ntpdata",
        "authdata",
    ] {
        assert!(help.contains(&format!("--collector.{c}")), "{c}");
        assert!(help.contains(&format!("--no-collector.{c}")), "{c}");
    }
}

#[test]
fn head_is_served_and_logs_can_be_json() {
    // HEAD: the headers of a GET, no body.
    let d = chronyd(1);
    let e = Exporter::start(&["--chrony.address", &unix_address(&d)]);
    let r = request(e.addr(), "HEAD", "/metrics", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty(), "{:?}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    drop(e);

    // --log.format json: one JSON object per line, with level and message.
    let mut child = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.format",
            "json",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .next()
        .expect("a log line")
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(v["level"], "INFO", "{line}");
    assert_eq!(v["message"], "listening", "{line}");
    assert!(
        v["listen"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{line}"
    );
}

/// A chrony_exporter command line (its flags, both forms of its switches,
/// two listen addresses) starts unchanged: every listener serves the
/// scrape, with-ntpdata means the ntpdata series, and --collector.clients
/// is warned about.
#[test]
fn a_chrony_exporter_command_line_starts_and_serves_every_listener() {
    let d = chronyd(2);
    let e = Exporter::start(&[
        &format!("--chrony.address={}", unix_address(&d)),
        "--chrony.timeout=5s",
        "--collector.tracking",
        "--collector.sources",
        "--collector.sourcestats",
        "--collector.sources.with-ntpdata",
        "--collector.serverstats",
        "--collector.clients",
        "--collector.chmod-socket",
        "--no-collector.dns-lookups",
        "--collector.dns-ptr-cache-min-ttl=1m",
        "--web.telemetry-path=/metrics",
        "--log.format=logfmt",
        // Common::start adds a second 127.0.0.1:0 listener.
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_eq!(e.addrs.len(), 2, "{:?}\n{}", e.addrs, e.log());
    assert_ne!(e.addrs[0], e.addrs[1]);
    for addr in &e.addrs {
        let r = get(*addr, "/metrics", &[]);
        assert_eq!(r.status, 200, "{addr}: {}", r.body);
        let m = Metrics::parse(&r.body);
        assert_eq!(m.value("chrony_up", &[]), 1.0, "{addr}");
        assert!(m.has("chrony_tracking_stratum"), "{addr}");
        assert!(
            m.has("chrony_ntpdata_offset_seconds"),
            "{addr}: with-ntpdata"
        );
        assert!(
            m.has("chrony_serverstats_ntp_packets_received_total"),
            "{addr}"
        );
    }
    assert!(
        e.log()
            .contains("--collector.clients: libchrony has no clients report"),
        "{}",
        e.log()
    );
}
