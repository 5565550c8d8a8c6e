//! Hostile clients against the exporter (used by `scripts/bench`): floods
//! of connections, and a flood of refused `/probe` targets.
//!
//! ```text
//! cargo build --release -p chrony-exporter --bin chrony-exporter --example hostile_bench
//! target/release/examples/hostile_bench --address SOCKET --exporter target/release/chrony-exporter \
//!     [--seconds 60] [--idle 1000] [--slow 300] [--names 200]
//! ```
//!
//! 1. Connections: the exporter (default `--web.max-connections` 256)
//!    against chronyd's Unix socket `SOCKET`; `--idle` connections that
//!    send nothing and `--slow` ones that send a request head a byte at a
//!    time (a slowloris), each reopened as soon as the exporter closes it;
//!    meanwhile a scraper opens a connection and scrapes every second for
//!    `--seconds`. Prints how many scrapes were 200 with `chrony_up 1`
//!    (all must be), their slowest, and how often the floods were cut.
//! 2. Refused names: an exporter with `--probe.allow 127.0.0.0/8,*.allowed.invalid`
//!    run in a mount namespace of its own whose `/etc/resolv.conf` names a
//!    DNS server this program runs on a loopback address (it counts the
//!    queries and answers each with NXDOMAIN); `--names` requests at once
//!    for names under `refused.invalid`: each must be 403 with no DNS
//!    query and no thread left behind (the exporter's threads before and
//!    after); then one allowed name, which must reach the counting server
//!    (the control: the exporter does ask it). Needs root and `unshare`
//!    (util-linux).
//!
//! Exits with status 1 when a property fails.

#[path = "../tests/common/process.rs"]
mod process;

use process::{procfs, Exporter};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    address: String,
    exporter: String,
    seconds: u64,
    idle: usize,
    slow: usize,
    names: usize,
}

fn args() -> Args {
    let mut a = Args {
        address: String::new(),
        exporter: "target/release/chrony-exporter".into(),
        seconds: 60,
        idle: 1000,
        slow: 300,
        names: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--address" => a.address = value(),
            "--exporter" => a.exporter = value(),
            "--seconds" => a.seconds = value().parse().expect("a number"),
            "--idle" => a.idle = value().parse().expect("a number"),
            "--slow" => a.slow = value().parse().expect("a number"),
            "--names" => a.names = value().parse().expect("a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        a.address.starts_with('/'),
        "--address SOCKET (chronyd's Unix socket) is required"
    );
    a
}

/// One request on a new connection: status and body (0 when it failed).
fn request(addr: SocketAddr, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// Whether the exporter closed a connection (a read returns end of file
/// or an error; no data is expected on these).
fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => true,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
}

fn connect_nonblocking(addr: SocketAddr) -> Option<TcpStream> {
    let s = TcpStream::connect(addr).ok()?;
    s.set_nonblocking(true).ok()?;
    Some(s)
}

/// Keeps `n` connections open that send nothing (`slow`: that send a
/// request head a byte at a time), reopening each as soon as it is closed,
/// until `stop`; counts the reopenings.
fn flood(addr: SocketAddr, n: usize, slow: bool, stop: Arc<AtomicBool>, cut: Arc<AtomicUsize>) {
    let head = b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
    let mut conns: Vec<(Option<TcpStream>, usize)> =
        (0..n).map(|_| (connect_nonblocking(addr), 0)).collect();
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        for (i, (conn, sent)) in conns.iter_mut().enumerate() {
            let gone = match conn {
                Some(s) => {
                    // A slow one sends its next byte about once a second.
                    let wrote = if slow && (i + turn) % 10 == 0 {
                        let b = head.get(*sent).copied().unwrap_or(b'a');
                        *sent += 1;
                        s.write(&[b]).is_err()
                    } else {
                        false
                    };
                    wrote || closed(s)
                }
                None => true,
            };
            if gone {
                cut.fetch_add(1, Ordering::Relaxed);
                *conn = connect_nonblocking(addr);
                *sent = 0;
            }
        }
        turn += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Part 1: floods of idle and slow connections and a scraper every second.
fn connections(a: &Args, failures: &mut Vec<String>) {
    let exporter = Exporter::spawn(
        std::path::Path::new(&a.exporter),
        &[
            "--chrony.address",
            &format!("unix://{}", a.address),
            "--web.listen-address",
            "127.0.0.1:0",
        ],
    );
    let addr = exporter.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let (idle_cut, slow_cut) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let floods = [
        (a.idle, false, idle_cut.clone()),
        (a.slow, true, slow_cut.clone()),
    ]
    .map(|(n, slow, cut)| {
        let stop = stop.clone();
        std::thread::spawn(move || flood(addr, n, slow, stop, cut))
    });
    // Let the floods fill the table first.
    std::thread::sleep(Duration::from_secs(2));
    let (mut ok, mut slowest) = (0, 0.0f64);
    let start = Instant::now();
    for i in 0..a.seconds {
        let next = start + Duration::from_secs(i + 1);
        let t = Instant::now();
        let (status, body) = request(addr, "/metrics");
        slowest = slowest.max(t.elapsed().as_secs_f64());
        if status == 200 && body.contains("\nchrony_up 1\n") {
            ok += 1;
        } else {
            failures.push(format!("scrape {i} under the flood: status {status}"));
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    stop.store(true, Ordering::Relaxed);
    for f in floods {
        let _ = f.join();
    }
    println!(
        "connections: {} idle + {} slow (reopened when closed: idle {} times, slow {} times); scrapes every second: {ok}/{} with chrony_up 1, slowest {:.0} ms",
        a.idle,
        a.slow,
        idle_cut.load(Ordering::Relaxed),
        slow_cut.load(Ordering::Relaxed),
        a.seconds,
        slowest * 1e3
    );
    let mut exporter = exporter;
    if !exporter.alive() {
        failures.push("the exporter exited under the flood".into());
    }
}

/// A DNS server on a loopback address that counts queries and answers
/// each with NXDOMAIN.
struct Dns {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Dns {
    fn start() -> Dns {
        let socket =
            UdpSocket::bind("127.0.0.153:53").expect("binding 127.0.0.153:53 (needs root)");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (q, s) = (queries.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                q.fetch_add(1, Ordering::Relaxed);
                if let Some(reply) = nxdomain(&buf[..n]) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Dns {
            addr,
            queries,
            stop,
        }
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An NXDOMAIN answer to a query: its header (answer, recursion
/// available, code 3) and question, nothing else.
fn nxdomain(q: &[u8]) -> Option<Vec<u8>> {
    let mut end = 12;
    while *q.get(end)? != 0 {
        end += 1 + usize::from(q[end]);
    }
    end += 1 + 4;
    let mut r = q.get(..end)?.to_vec();
    r[2] = 0x80 | (q[2] & 0x01);
    r[3] = 0x83;
    r[6..12].fill(0);
    r[4] = 0;
    r[5] = 1;
    Some(r)
}

/// Part 2: refused host names cost no DNS query and no thread.
fn refused_names(a: &Args, failures: &mut Vec<String>) {
    let dns = Dns::start();
    let dir = std::env::temp_dir().join(format!("hostile-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let resolv = dir.join("resolv.conf");
    std::fs::write(
        &resolv,
        format!(
            "nameserver {}\noptions timeout:1 attempts:1\n",
            dns.addr.ip()
        ),
    )
    .unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"")
        .arg(&resolv)
        .arg(&a.exporter)
        .args([
            "--chrony.address",
            &format!("unix://{}", a.address),
            "--web.listen-address",
            "127.0.0.1:0",
            "--probe.allow",
            "127.0.0.0/8,*.allowed.invalid",
        ]);
    let exporter = Exporter::spawn_command(cmd);
    let (addr, pid) = (exporter.addr(), exporter.pid());
    let threads_before = procfs::threads(pid);
    let rss_before = procfs::rss_kib(pid);
    let barrier = Arc::new(std::sync::Barrier::new(a.names));
    let handles: Vec<_> = (0..a.names)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                request(addr, &format!("/probe?target=host{i}.refused.invalid:323")).0
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap_or(0)).collect();
    let forbidden = statuses.iter().filter(|s| **s == 403).count();
    if forbidden != a.names {
        failures.push(format!("{forbidden} of {} refused names got 403", a.names));
    }
    let queries_refused = dns.queries();
    std::thread::sleep(Duration::from_secs(1));
    let threads_after = procfs::threads(pid);
    let rss_after = procfs::rss_kib(pid);
    // The control: an allowed name is resolved through the counting server.
    let (status, body) = request(addr, "/probe?target=ntp.allowed.invalid:323");
    let control = dns.queries() - queries_refused;
    println!(
        "refused names: {} targets at once, {forbidden} answered 403: DNS queries {queries_refused}, exporter threads {threads_before} before, {threads_after} after, rss {rss_before} -> {rss_after} KiB; the allowed name: status {status}, DNS queries {control}",
        a.names
    );
    if queries_refused != 0 {
        failures.push(format!(
            "refused names caused {queries_refused} DNS queries"
        ));
    }
    if threads_after > threads_before {
        failures.push(format!("threads left: {threads_before} -> {threads_after}"));
    }
    if status != 200 || !body.contains("chrony_probe_success 0") || control == 0 {
        failures.push(format!(
            "the control failed: an allowed name gave status {status} and {control} DNS queries"
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let a = args();
    let mut failures = Vec::new();
    connections(&a, &mut failures);
    refused_names(&a, &mut failures);
    if failures.is_empty() {
        println!("properties: all hold");
    } else {
        for f in &failures {
            println!("FAILED: {f}");
        }
        std::process::exit(1);
    }
}
