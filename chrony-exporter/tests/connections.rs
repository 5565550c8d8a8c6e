//! Hostile and odd HTTP clients: wrong methods, huge and slow request
//! heads, floods of idle and slow connections, long-idle keep-alive
//! connections, HEAD. Each is bounded, the exporter stays up and the next
//! normal scrape is correct.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A normal scrape after the abuse: 200, chronyd up, sources present.
fn assert_normal_scrape(e: &mut Exporter) {
    assert!(e.alive(), "the exporter exited:\n{}", e.log());
    let m = e.metrics();
    assert_eq!(m.value("chrony_up", &[]), 1.0);
    assert!(m.has("chrony_sources_stratum"));
}

#[test]
fn wrong_methods_huge_and_slow_heads_are_bounded() {
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
                // Anything sent back before the close ends the wait too.
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
}

/// A flood of idle connections and of slow ones (a partial head each) far
/// beyond --web.max-connections: each new scrape takes the place of one of
/// them at once, so every scrape is served, on its first attempt, while
/// the flood is held; the exporter stays up.
#[test]
fn floods_of_idle_and_slow_connections_never_lock_out_a_scrape() {
    let d = chronyd(1);
    let mut e = Exporter::start(&[
        "--chrony.address",
        &unix_address(&d),
        "--web.max-connections",
        "64",
    ]);
    assert_normal_scrape(&mut e);
    let idle: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(e.addr()).ok())
        .collect();
    assert!(idle.len() >= 900, "only {} connections", idle.len());
    let mut slow: Vec<TcpStream> = Vec::new();
    for _ in 0..300 {
        let Ok(mut s) = TcpStream::connect(e.addr()) else {
            continue;
        };
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ");
        slow.push(s);
    }
    for round in 0..5 {
        let r = get(e.addr(), "/metrics", &[]);
        assert_eq!(r.status, 200, "round {round}: {}", r.body);
        assert_eq!(Metrics::parse(&r.body).value("chrony_up", &[]), 1.0);
        // The flood reconnects meanwhile.
        for _ in 0..100 {
            if let Ok(s) = TcpStream::connect(e.addr()) {
                slow.push(s);
            }
        }
    }
    assert!(
        e.alive(),
        "the exporter exited under the flood:\n{}",
        e.log()
    );
    drop((idle, slow));
    assert_normal_scrape(&mut e);
}

/// A kept-alive connection idle for longer than a common scrape interval
/// (and than the 5 s request-head timeout) is still served: the idle
/// timeout is minutes, the head timeout only runs once a head begins.
#[test]
fn a_kept_alive_connection_outlives_a_scrape_interval() {
    let d = chronyd(1);
    let e = Exporter::start(&["--chrony.address", &unix_address(&d)]);
    let mut s = TcpStream::connect(e.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = std::io::BufReader::new(s.try_clone().unwrap());
    for round in 0..2 {
        if round == 1 {
            std::thread::sleep(Duration::from_secs(7));
        }
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: keep\r\n\r\n")
            .unwrap_or_else(|err| panic!("round {round}: the connection was closed: {err}"));
        let (status, body) = read_response(&mut reader)
            .unwrap_or_else(|| panic!("round {round}: no response on the kept connection"));
        assert_eq!(status, 200);
        assert!(body.contains("\nchrony_up 1\n"), "round {round}");
    }
}

#[test]
fn head_is_served() {
    // HEAD: the headers of a GET, no body.
    let d = chronyd(1);
    let e = Exporter::start(&["--chrony.address", &unix_address(&d)]);
    let r = request(e.addr(), "HEAD", "/metrics", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty(), "{:?}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
}

/// A `/probe` of a silent target stays in progress for its whole deadline:
/// past three quarters of --web.max-connections such probes are refused at
/// once (503), so a quarter of the connections stays for `/metrics`.
#[test]
fn probes_of_a_silent_target_never_hold_every_connection() {
    let d = chronyd(1);
    // A UDP port that takes datagrams and never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = silent.local_addr().unwrap().to_string();
    let e = Exporter::start(&[
        "--chrony.address",
        &unix_address(&d),
        "--web.max-connections",
        "8",
        "--probe.allow",
        "127.0.0.0/8",
    ]);
    let addr = e.addr();
    let probes: Vec<_> = (0..8)
        .map(|_| {
            let path = format!("/probe?target={target}");
            std::thread::spawn(move || {
                get(addr, &path, &[("X-Prometheus-Scrape-Timeout-Seconds", "4")]).status
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    // While the probes wait on the silent target, a scrape is served.
    let start = Instant::now();
    let r = get(addr, "/metrics", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\nchrony_up 1\n"));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let statuses: Vec<u16> = probes.into_iter().map(|t| t.join().unwrap()).collect();
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    assert_eq!((count(200), count(503)), (6, 2), "{statuses:?}");
}
