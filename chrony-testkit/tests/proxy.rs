//! The fault-injecting proxy against a loopback UDP echo server: loss rate,
//! determinism for a seed, latency, silence, rewrites, garbage,
//! duplication, truncation, and no thread left after a drop.
use chrony_testkit::proxy::{wire, Direction, Garbage, Proxy, Rewrite, Stats};
use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An echo server on loopback; it records the payloads it received.
struct Echo {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn echo() -> Echo {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    // Detached: it blocks in recv_from for the rest of the test process.
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            seen2.lock().unwrap().push(buf[..n].to_vec());
            let _ = s.send_to(&buf[..n], from);
        }
    });
    Echo { addr, seen }
}

fn client(timeout: Duration) -> UdpSocket {
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(timeout)).unwrap();
    c
}

/// Waits until `f(stats)` holds (at most 10 s).
#[track_caller]
fn wait_for(p: &Proxy, what: &str, f: impl Fn(&Stats) -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f(&p.stats()) {
        assert!(Instant::now() < end, "{what}: {:?}", p.stats());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Receives datagrams until none comes for `quiet`.
fn drain(c: &UdpSocket, quiet: Duration) -> Vec<Vec<u8>> {
    c.set_read_timeout(Some(quiet)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok((n, _)) = c.recv_from(&mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

/// Sends `n` numbered datagrams one after the other, each only once the
/// proxy has taken the previous one (so the order of decisions is fixed
/// and no socket buffer overflows); returns the numbers echoed back.
fn numbered_run(p: &Proxy, n: u32) -> BTreeSet<u32> {
    let c = client(Duration::from_millis(200));
    let mut got = BTreeSet::new();
    let mut buf = [0u8; 64];
    c.set_nonblocking(true).unwrap();
    for i in 0..n {
        c.send_to(&i.to_be_bytes(), p.address()).unwrap();
        wait_for(p, "proxy took the datagram", |s| {
            s.from_client == u64::from(i) + 1
        });
        while let Ok((k, _)) = c.recv_from(&mut buf) {
            if k == 4 {
                got.insert(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
            }
        }
    }
    c.set_nonblocking(false).unwrap();
    for d in drain(&c, Duration::from_millis(300)) {
        if d.len() == 4 {
            got.insert(u32::from_be_bytes([d[0], d[1], d[2], d[3]]));
        }
    }
    got
}

#[test]
fn loss_rate_is_close_to_the_setting() {
    let e = echo();
    let p = Proxy::builder(e.addr)
        .seed(7)
        .loss(Direction::ToServer, 0.3)
        .start()
        .unwrap();
    let n = 2000;
    let got = numbered_run(&p, n);
    let s = p.stats();
    assert_eq!(s.from_client, u64::from(n));
    // Binomial(2000, 0.3): mean 600, sd 20.5; +-100 is ~5 sd.
    assert!((500..=700).contains(&s.dropped), "{s:?}");
    assert_eq!(s.to_server + s.dropped, s.from_client, "{s:?}");
    assert_eq!(
        got.len() as u64,
        s.to_server,
        "every forwarded datagram echoed"
    );
}

#[test]
fn same_seed_same_faults() {
    let run = |seed: u64| {
        let e = echo();
        let p = Proxy::builder(e.addr)
            .seed(seed)
            .loss(Direction::Both, 0.25)
            .start()
            .unwrap();
        let got = numbered_run(&p, 300);
        let mut upstream: Vec<u32> = e
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
            .collect();
        upstream.sort_unstable();
        (upstream, got, p.stats())
    };
    let a = run(11);
    let b = run(11);
    let c = run(12);
    assert_eq!(a.0, b.0, "requests reaching the server");
    assert_eq!(a.1, b.1, "replies reaching the client");
    assert_eq!(a.2, b.2, "counters");
    assert!(a.2.dropped > 0);
    assert_ne!(a.1, c.1, "another seed, other faults");
}

#[test]
fn latency_is_applied_each_way() {
    let e = echo();
    let p = Proxy::builder(e.addr)
        .latency(Direction::ToServer, Duration::from_millis(100))
        .latency(Direction::ToClient, Duration::from_millis(150))
        .start()
        .unwrap();
    let c = client(Duration::from_secs(10));
    let mut buf = [0u8; 16];
    for _ in 0..3 {
        let t = Instant::now();
        c.send_to(b"ping", p.address()).unwrap();
        let (n, from) = c.recv_from(&mut buf).unwrap();
        let rtt = t.elapsed();
        assert_eq!((&buf[..n], from), (&b"ping"[..], p.address()));
        assert!(rtt >= Duration::from_millis(250), "round trip {rtt:?}");
    }
    assert_eq!(p.stats().to_client, 3);
}

#[test]
fn silence_drops_everything_until_switched_off() {
    let e = echo();
    let p = Proxy::builder(e.addr).start().unwrap();
    let c = client(Duration::from_secs(5));
    let mut buf = [0u8; 16];
    c.send_to(b"a", p.address()).unwrap();
    assert!(c.recv_from(&mut buf).is_ok());
    p.set_silent(true);
    c.send_to(b"b", p.address()).unwrap();
    wait_for(&p, "dropped", |s| s.dropped == 1);
    assert!(drain(&c, Duration::from_millis(200)).is_empty());
    assert_eq!(
        e.seen.lock().unwrap().len(),
        1,
        "nothing reached the server"
    );
    p.set_silent(false);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.send_to(b"c", p.address()).unwrap();
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"c");
}

#[test]
fn silence_after_n_replies() {
    let e = echo();
    let p = Proxy::builder(e.addr).silence_after(3).start().unwrap();
    let c = client(Duration::from_secs(5));
    let mut buf = [0u8; 16];
    for i in 0..3u8 {
        c.send_to(&[i], p.address()).unwrap();
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[i]);
    }
    c.send_to(b"x", p.address()).unwrap();
    wait_for(&p, "dropped", |s| s.dropped == 1);
    assert!(drain(&c, Duration::from_millis(200)).is_empty());
    assert_eq!(p.stats().to_client, 3);
    // Switched back on for good.
    p.set_silent(false);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for i in 0..3u8 {
        c.send_to(&[i], p.address()).unwrap();
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[i]);
    }
}

/// A fake chronyd reply of `len` bytes answering `command`, with count
/// `count` at the N_SOURCES count offset and sequence 0x01020304.
fn reply(command: u16, count: u32, len: usize) -> Vec<u8> {
    let mut d = vec![0u8; len];
    d[0] = 6;
    d[1] = 2;
    d[wire::REPLY_COMMAND..wire::REPLY_COMMAND + 2].copy_from_slice(&command.to_be_bytes());
    d[wire::REPLY_SEQUENCE..wire::REPLY_SEQUENCE + 4].copy_from_slice(&[1, 2, 3, 4]);
    d[wire::N_SOURCES_COUNT..wire::N_SOURCES_COUNT + 4].copy_from_slice(&count.to_be_bytes());
    d
}

fn count_of(d: &[u8]) -> u32 {
    let c = &d[wire::N_SOURCES_COUNT..wire::N_SOURCES_COUNT + 4];
    u32::from_be_bytes([c[0], c[1], c[2], c[3]])
}

fn exchange(c: &UdpSocket, p: &Proxy, d: &[u8]) -> Vec<u8> {
    c.send_to(d, p.address()).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = c.recv_from(&mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn rewrites_change_only_matching_replies_and_stop_after_k() {
    let e = echo();
    let p = Proxy::builder(e.addr)
        .rewrite(
            Rewrite::reply_to(wire::N_SOURCES)
                .set_u32(wire::N_SOURCES_COUNT, 0x7fff_ffff)
                .times(2),
        )
        .rewrite(Rewrite::reply_to(wire::TRACKING).add_u32(wire::N_SOURCES_COUNT, 1))
        .start()
        .unwrap();
    let c = client(Duration::from_secs(5));
    assert_eq!(
        count_of(&exchange(&c, &p, &reply(wire::N_SOURCES, 3, 32))),
        0x7fff_ffff
    );
    assert_eq!(
        count_of(&exchange(&c, &p, &reply(wire::SOURCE_DATA, 3, 32))),
        3
    );
    assert_eq!(
        count_of(&exchange(&c, &p, &reply(wire::N_SOURCES, 3, 32))),
        0x7fff_ffff
    );
    assert_eq!(
        count_of(&exchange(&c, &p, &reply(wire::N_SOURCES, 3, 32))),
        3,
        "only twice"
    );
    assert_eq!(
        count_of(&exchange(&c, &p, &reply(wire::TRACKING, 3, 32))),
        4
    );
    assert_eq!(
        count_of(&exchange(&c, &p, &reply(wire::TRACKING, 9, 32))),
        10
    );
    // Too short for the edit: unchanged.
    let mut short = reply(wire::N_SOURCES, 0, 32);
    short.truncate(30);
    assert_eq!(exchange(&c, &p, &short), short);
    assert_eq!(p.stats().rewritten, 4);
}

#[test]
fn garbage_comes_just_before_the_reply() {
    for kind in Garbage::ALL.iter().copied() {
        let e = echo();
        let p = Proxy::builder(e.addr)
            .seed(3)
            .garbage(1.0, &[kind])
            .start()
            .unwrap();
        let c = client(Duration::from_secs(5));
        let r = reply(wire::TRACKING, 5, 104);
        c.send_to(&r, p.address()).unwrap();
        let got = drain(&c, Duration::from_millis(300));
        assert_eq!(got.len(), 2, "{kind:?}");
        assert_eq!(got[1], r, "{kind:?}: the reply follows the garbage");
        let g = &got[0];
        match kind {
            Garbage::TruncatedCopy => {
                assert!(g.len() < r.len() && r.starts_with(g), "{kind:?}")
            }
            Garbage::OtherSequence => {
                assert_eq!(g.len(), r.len());
                assert_ne!(g[16..20], r[16..20]);
                assert_eq!((&g[..16], &g[20..]), (&r[..16], &r[20..]));
            }
            _ => assert_ne!(g, &r),
        }
        let s = p.stats();
        assert_eq!((s.garbage, s.to_client), (1, 1), "{kind:?}");
    }
}

#[test]
fn duplication_and_truncation() {
    let e = echo();
    let p = Proxy::builder(e.addr)
        .duplicate(Direction::ToClient, 1.0)
        .jitter(Direction::ToClient, Duration::from_millis(30))
        .start()
        .unwrap();
    let c = client(Duration::from_secs(5));
    for i in 0..5u8 {
        c.send_to(&[i; 8], p.address()).unwrap();
    }
    let got = drain(&c, Duration::from_millis(500));
    assert_eq!(got.len(), 10, "{got:?}");
    for i in 0..5u8 {
        assert_eq!(got.iter().filter(|d| **d == [i; 8]).count(), 2);
    }
    assert_eq!(p.stats().duplicated, 5);
    drop(p);

    let p = Proxy::builder(e.addr)
        .seed(5)
        .truncate(Direction::ToClient, 1.0)
        .start()
        .unwrap();
    for _ in 0..20 {
        c.send_to(&[7u8; 64], p.address()).unwrap();
    }
    let got = drain(&c, Duration::from_millis(500));
    assert_eq!(got.len(), 20);
    assert!(got
        .iter()
        .all(|d| d.len() < 64 && d.iter().all(|b| *b == 7)));
    assert_eq!(p.stats().truncated, 20);
}

#[test]
fn invalid_settings_are_refused() {
    let e = echo();
    let err = Proxy::builder(e.addr)
        .loss(Direction::Both, 1.5)
        .start()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let err = Proxy::builder(e.addr)
        .garbage(0.5, &[])
        .start()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

/// Names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn drop_stops_every_thread_and_frees_the_port() {
    let e = echo();
    let p = Proxy::builder(e.addr)
        .latency(Direction::Both, Duration::from_millis(50))
        .start()
        .unwrap();
    let name = p.thread_name().to_string();
    let addr = p.address();
    // Three clients: three upstream sockets with their reader threads.
    let clients: Vec<UdpSocket> = (0..3).map(|_| client(Duration::from_secs(5))).collect();
    for c in &clients {
        c.send_to(b"x", addr).unwrap();
    }
    for c in &clients {
        let mut buf = [0u8; 4];
        c.recv_from(&mut buf).unwrap();
    }
    // Listener, scheduler and three readers.
    let running = thread_names().iter().filter(|n| **n == name).count();
    assert_eq!(running, 5, "{name}: {:?}", thread_names());
    // A datagram still queued in the scheduler when the proxy drops.
    clients[0].send_to(b"late", addr).unwrap();
    drop(p);
    assert!(
        !thread_names().contains(&name),
        "{name} still running: {:?}",
        thread_names()
    );
    UdpSocket::bind(addr).expect("the port is free again");
}
