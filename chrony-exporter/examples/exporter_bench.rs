//! Measures the exporter against the library on the same chronyd, in the
//! same run (used by `scripts/bench`).
//!
//! ```text
//! cargo build --release -p chrony-exporter --example exporter_bench
//! target/release/examples/exporter_bench --address SOCKET --exporter target/release/chrony-exporter \
//!     [--iterations N] [--rounds R] [--rss-scrapes N] [--concurrent N] [--bursts B] [--budget S]
//!     [--concurrency K] [--pids PID,PID] [--latency N]
//! ```
//!
//! It starts the exporter (every collector on) against the Unix socket
//! `SOCKET` (or, with `--address HOST:PORT`, over UDP with the collectors
//! chronyd serves there) and prints:
//!
//! - `scrape us=X`: one full scrape, `GET /metrics` over a kept-alive
//!   connection (read every report, build and encode the metrics, HTTP),
//!   from the request sent to the body's last byte received (each body is
//!   then checked, untimed);
//! - `scrape with gzip us=X`: the same with `Accept-Encoding: gzip`, as
//!   Prometheus asks (the body compressed);
//! - `snapshot us=X`: `Client::snapshot()` of the same chronyd in this
//!   process (over UDP `Client::snapshot_of` the six reports chronyd serves
//!   there, which the exporter reads);
//! - `async snapshot us=X`: `AsyncClient::snapshot_of` the reports the
//!   exporter reads, in this process (the exporter's read without the
//!   exporter), and the scrape minus it (building, encoding, HTTP);
//! - `serial us=X`: the same reports (ten on the socket, six over UDP) read
//!   one request at a time (one session, one report after the other), the
//!   way chrony_exporter reads;
//! - the ratios scrape/snapshot (target: at most 1.5) and serial/scrape;
//! - the CPU time the chronyd that answers (the first of `--pids`) spent
//!   per scrape and per serial read, less what it uses with no requests
//!   (polling its sources; measured over 3 s before the rounds). chronyd
//!   answers one request at a time on one thread, so no reader scrapes
//!   faster than the first: the floor. The scrape's time over that floor
//!   is printed (how far the exporter is from the best any reader can do
//!   here), and serial divided by it is the highest serial/scrape this
//!   machine allows;
//! - the CPU time other processes used during the rounds, as a share of
//!   the machine (this process, the exporter and `--pids`, the chronyd
//!   pair, are left out). The serial loop is one round trip after another
//!   (~906 at 128 sources), each waiting for a sleeping process to wake:
//!   on an idle machine that wake-up is most of a round trip, on a busy one
//!   the CPUs are awake and it is faster, while the snapshot and the
//!   scrape, which keep chronyd busy, get slower. So serial/scrape swings
//!   between ~1 and ~9 with other load: a figure printed as DISTURBED
//!   (above 5%) is no measure of the exporter;
//! - the exporter's resident memory after 1,000 and after N (10,000)
//!   scrapes (at most 16 MiB);
//! - B (5) bursts of K (200) scrapes sent at once, each with a scrape
//!   timeout of `--budget` (2 s) plus the exporter's 0.5 s margin: how
//!   many were 200, complete with `chrony_up 1` and inside the budget, the
//!   slowest, and the exporter's CPU time per scrape against a lone
//!   scrape's (schedstat, every thread; target at most 1.5).
//!
//! It exits with status 1 when a property fails: a scrape that is not
//! complete with `chrony_up 1`, a concurrent scrape outside its budget,
//! memory above 16 MiB. The timing ratios are printed with their targets
//! (figures for a quiet machine, not failures).
//!
//! `--concurrency K` sets the sessions of both the exporter's client and
//! the snapshot client (default 8, the library's). `--latency N` only
//! times N single `tracking` requests (one round trip each) and prints
//! their 10th, 50th and 90th percentiles.
//!
//! Variants alternate in rounds (each round runs a loop of each); each
//! time is the median of a variant's single reads over all rounds, each
//! CPU time a mean per read.
#[path = "../tests/common/process.rs"]
mod process;

use chrony::Client;
use process::{procfs, Exporter};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

struct Args {
    address: String,
    exporter: String,
    iterations: usize,
    rounds: usize,
    rss_scrapes: usize,
    concurrent: usize,
    bursts: usize,
    budget: f64,
    concurrency: usize,
    latency: usize,
    pids: Vec<u32>,
}

fn args() -> Args {
    let mut a = Args {
        address: String::new(),
        exporter: "target/release/chrony-exporter".into(),
        iterations: 50,
        rounds: 10,
        rss_scrapes: 10_000,
        concurrent: 200,
        bursts: 5,
        budget: 2.0,
        concurrency: chrony::DEFAULT_CONCURRENCY,
        latency: 0,
        pids: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--address" => a.address = value(),
            "--exporter" => a.exporter = value(),
            "--iterations" => a.iterations = value().parse().expect("a number"),
            "--rounds" => a.rounds = value().parse().expect("a number"),
            "--rss-scrapes" => a.rss_scrapes = value().parse().expect("a number"),
            "--concurrent" => a.concurrent = value().parse().expect("a number"),
            "--bursts" => a.bursts = value().parse().expect("a number"),
            "--budget" => a.budget = value().parse().expect("seconds"),
            "--concurrency" => a.concurrency = value().parse().expect("a number"),
            "--latency" => a.latency = value().parse().expect("a number"),
            "--pids" => {
                a.pids = value()
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse().expect("a process ID"))
                    .collect()
            }
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.address.is_empty(), "--address SOCKET is required");
    a
}

/// The reports chronyd serves over UDP: what the exporter reads there.
const UDP_REPORTS: &[&str] = &[
    "tracking",
    "sources",
    "sourcestats",
    "activity",
    "rtcdata",
    "smoothing",
];

fn is_unix(address: &str) -> bool {
    address.starts_with('/')
}

fn start_exporter(path: &str, address: &str, concurrency: usize) -> Exporter {
    let flag = if is_unix(address) {
        format!("unix://{address}")
    } else {
        address.to_string()
    };
    let collectors: &[&str] = if is_unix(address) {
        &[
            "activity",
            "rtcdata",
            "smoothing",
            "serverstats",
            "selectdata",
            "ntpdata",
            "authdata",
        ]
    } else {
        &["activity", "rtcdata", "smoothing"]
    };
    let concurrency = concurrency.to_string();
    let mut args = vec![
        "--chrony.address",
        &flag,
        "--web.listen-address",
        "127.0.0.1:0",
        "--chrony.timeout",
        "10s",
        "--chrony.concurrency",
        &concurrency,
    ];
    let switches: Vec<String> = collectors
        .iter()
        .map(|c| format!("--collector.{c}"))
        .collect();
    args.extend(switches.iter().map(String::as_str));
    Exporter::spawn(std::path::Path::new(path), &args)
}

/// A kept-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    /// Ask for gzip, as Prometheus does (the body is then not text).
    gzip: bool,
    /// The last body, in a buffer kept from scrape to scrape (as a
    /// scraper keeps its buffers): the timed exchange is the exporter's
    /// work and the transfer, not this process allocating 760 kB.
    body: Vec<u8>,
}

impl Conn {
    /// A kept-alive connection; with `gzip` its scrapes ask for gzip.
    fn open(addr: SocketAddr, gzip: bool) -> Conn {
        Conn {
            addr,
            reader: Conn::connect(addr),
            gzip,
            body: Vec::new(),
        }
    }

    fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        BufReader::new(s)
    }

    /// GET /metrics; the status and body.
    fn scrape(&mut self) -> (u16, String) {
        let status = self.exchange();
        (status, self.text().to_string())
    }

    /// The last body as text.
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8")
    }

    /// GET /metrics; the status, the body in `self.body` (gzip on a gzip
    /// connection). A connection the exporter closed (idle past its
    /// keep-alive timeout) is opened again for one more try.
    fn exchange(&mut self) -> u16 {
        match self.try_exchange() {
            0 => {
                self.reader = Conn::connect(self.addr);
                self.try_exchange()
            }
            status => status,
        }
    }

    fn try_exchange(&mut self) -> u16 {
        let request: &[u8] = if self.gzip {
            b"GET /metrics HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n"
        } else {
            b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n"
        };
        self.body.clear();
        if self.reader.get_mut().write_all(request).is_err() {
            return 0;
        }
        let mut status = 0;
        let mut length = 0u64;
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return 0;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(s) = l.strip_prefix("HTTP/1.1 ") {
                status = s[..3].parse().unwrap();
            } else if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let got = (&mut self.reader)
            .take(length)
            .read_to_end(&mut self.body)
            .expect("the body");
        assert_eq!(got as u64, length, "the body ended early");
        status
    }
}

/// The reports, one request at a time over one session (over UDP only
/// those chronyd serves there).
fn serial(client: &mut Client, unix: bool) {
    let _ = client.tracking();
    let _ = client.sources();
    let _ = client.source_stats();
    let _ = client.activity();
    let _ = client.rtc_data();
    let _ = client.smoothing();
    if unix {
        let _ = client.server_stats();
        let _ = client.select_data();
        let _ = client.ntp_data();
        let _ = client.auth_data();
    }
}

/// How busy the machine was with work outside the benchmark (this
/// process, the exporter and `--pids`, i.e. the chronyd pair).
struct Disturbance {
    pids: Vec<u32>,
    start: ((u64, u64), u64),
}

impl Disturbance {
    fn ours(pids: &[u32]) -> u64 {
        pids.iter().map(|&p| procfs::cpu_ticks(p)).sum()
    }

    fn start(pids: Vec<u32>) -> Disturbance {
        let start = (procfs::machine_ticks(), Disturbance::ours(&pids));
        Disturbance { pids, start }
    }

    /// Percent of the machine's CPU time used by other processes since
    /// the start.
    fn percent(&self) -> f64 {
        let ((busy, all), ours) = (procfs::machine_ticks(), Disturbance::ours(&self.pids));
        let ((busy0, all0), ours0) = self.start;
        let other = (busy - busy0).saturating_sub(ours - ours0);
        100.0 * other as f64 / (all - all0).max(1) as f64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A scrape is complete when chronyd answered and every collector that
/// chronyd serves on the socket succeeded.
fn complete(body: &str, sources: usize, unix: bool) -> bool {
    let ok = |c: &str| {
        body.contains(&format!(
            "chrony_scrape_collector_success{{collector=\"{c}\"}} 1\n"
        ))
    };
    let collectors: &[&str] = if unix {
        &[
            "tracking",
            "sources",
            "sourcestats",
            "activity",
            "serverstats",
            "selectdata",
            "ntpdata",
            "authdata",
        ]
    } else {
        &["tracking", "sources", "sourcestats", "activity"]
    };
    body.contains("\nchrony_up 1\n")
        && collectors.iter().all(|c| ok(c))
        && body.matches("\nchrony_sources_stratum{").count() == sources
}

fn main() {
    let a = args();
    let unix = is_unix(&a.address);
    let exporter = start_exporter(&a.exporter, &a.address, a.concurrency);
    let mut conn = Conn::open(exporter.addr(), false);
    let mut gzip_conn = Conn::open(exporter.addr(), true);
    let mut snap_client = Client::builder()
        .concurrency(a.concurrency)
        .connect(a.address.as_str())
        .expect("connect");
    let mut serial_client = Client::builder()
        .concurrency(1)
        .connect(a.address.as_str())
        .expect("connect");
    // The read the exporter does (AsyncClient::snapshot_of), here in this
    // process on a one-thread runtime: scrape minus this is the exporter's
    // own cost (building, encoding, HTTP).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut async_client = rt
        .block_on(
            Client::builder()
                .concurrency(a.concurrency)
                .connect_async(a.address.as_str()),
        )
        .expect("connect");
    let async_reports: &[&str] = if unix { chrony::REPORTS } else { UDP_REPORTS };
    let sources = snap_client.sources().expect("sources").len();
    if a.latency > 0 {
        let mut v: Vec<f64> = (0..a.latency)
            .map(|_| {
                let t = Instant::now();
                serial_client.tracking().expect("tracking");
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        v.sort_by(f64::total_cmp);
        println!(
            "tracking round trip us: p10={:.1} median={:.1} p90={:.1}",
            v[v.len() / 10],
            v[v.len() / 2],
            v[v.len() * 9 / 10]
        );
        return;
    }
    let (status, body) = conn.scrape();
    assert_eq!(status, 200);
    assert!(
        complete(&body, sources, unix),
        "the first scrape is not complete:\n{body}"
    );
    println!(
        "# exporter: {sources} sources over {}, {} bytes per scrape, {} iterations x {} rounds, {} sessions",
        if unix { "the Unix socket" } else { "UDP" },
        body.len(),
        a.iterations,
        a.rounds,
        a.concurrency
    );

    // Properties that failed (the exit status).
    let mut failures: Vec<String> = Vec::new();
    let mut pids = vec![std::process::id(), exporter.pid()];
    pids.extend(&a.pids);
    let disturbance = Disturbance::start(pids);
    // Each variant's time, per read: a variant's reads follow each other
    // in a loop (each round runs every variant's loop in turn), and each
    // figure is the median of its single reads over all rounds, which a
    // few slow reads (chronyd busy polling its sources) do not move.
    let (mut scrape_us, mut snap_us, mut serial_us) = (Vec::new(), Vec::new(), Vec::new());
    let mut async_us = Vec::new();
    let (mut gzip_us, mut gzip_bytes) = (Vec::new(), 0);
    // The CPU time (schedstat, every thread) of the chronyd that answers
    // (the first of --pids) during the plain scrape loops and during the
    // serial loops, and the time those loops took.
    let served = a.pids.first().copied();
    let daemon = || served.map_or(0, procfs::cpu_ns);
    let (mut daemon_scrape, mut daemon_serial) = (0, 0);
    let (mut scrape_total, mut serial_total) = (Duration::ZERO, Duration::ZERO);
    // Its own work (polling its sources) goes on meanwhile: its CPU time
    // over 3 s of no requests, per second, is taken off below.
    let idle_per_s = if served.is_some() {
        let (d, t) = (daemon(), Instant::now());
        std::thread::sleep(Duration::from_secs(3));
        (daemon() - d) as f64 / t.elapsed().as_secs_f64()
    } else {
        0.0
    };
    // The exporter's CPU time (every thread) in the plain scrapes.
    let mut lone_cpu_ns = 0;
    let us = |t: Instant| t.elapsed().as_secs_f64() * 1e6;
    for _ in 0..a.rounds {
        let (d, cpu, loop_start) = (daemon(), procfs::cpu_ns(exporter.pid()), Instant::now());
        for _ in 0..a.iterations {
            // Only the exchange is timed: checking the body (a scan of its
            // 760 kB) is this process's work, which the snapshot has no
            // counterpart of.
            let t = Instant::now();
            let s = conn.exchange();
            scrape_us.push(us(t));
            if s != 200 || !complete(conn.text(), sources, unix) {
                failures.push(format!("a lone scrape was not complete: status {s}"));
            }
        }
        lone_cpu_ns += procfs::cpu_ns(exporter.pid()) - cpu;
        daemon_scrape += daemon() - d;
        scrape_total += loop_start.elapsed();
        for _ in 0..a.iterations {
            let t = Instant::now();
            assert_eq!(gzip_conn.exchange(), 200);
            gzip_us.push(us(t));
            gzip_bytes = gzip_conn.body.len();
        }
        for _ in 0..a.iterations {
            let t = Instant::now();
            if unix {
                snap_client.snapshot().expect("snapshot");
            } else {
                snap_client.snapshot_of(UDP_REPORTS).expect("snapshot_of");
            }
            snap_us.push(us(t));
        }
        rt.block_on(async {
            for _ in 0..a.iterations {
                let t = Instant::now();
                async_client
                    .snapshot_of(async_reports)
                    .await
                    .expect("snapshot_of");
                async_us.push(us(t));
            }
        });
        let d = daemon();
        for _ in 0..a.iterations {
            let t = Instant::now();
            serial(&mut serial_client, unix);
            serial_total += t.elapsed();
            serial_us.push(us(t));
        }
        daemon_serial += daemon() - d;
    }
    let other = disturbance.percent();
    let (scrape, snap, ser) = (median(scrape_us), median(snap_us), median(serial_us));
    println!("scrape us={scrape:.0}");
    println!(
        "scrape with gzip (as Prometheus asks) us={:.0} ({gzip_bytes} bytes)",
        median(gzip_us)
    );
    println!("snapshot us={snap:.0}");
    println!("serial us={ser:.0}");
    let asy = median(async_us);
    println!(
        "async snapshot us={asy:.0} (the exporter's read; scrape minus it, the exporter's own cost: {:.0} us)",
        scrape - asy
    );
    println!("ratio scrape/snapshot={:.2} (target <= 1.5)", scrape / snap);
    println!("ratio serial/scrape={:.2}", ser / scrape);
    if served.is_some() {
        // chronyd answers one request at a time on one thread: no reader
        // finishes a scrape in less than the CPU time chronyd spends
        // answering it (its time over the loop less its idle rate).
        let n = (a.rounds * a.iterations) as f64;
        let per = |ns: u64, total: Duration| {
            let idle = idle_per_s * total.as_secs_f64();
            (ns as f64 - idle).max(0.0) / 1e3 / n
        };
        let (floor, serial_cpu) = (
            per(daemon_scrape, scrape_total),
            per(daemon_serial, serial_total),
        );
        println!(
            "chronyd cpu us per scrape={floor:.0} per serial read={serial_cpu:.0} (less {:.1}% of a CPU it uses idle): no scrape here can be faster than {floor:.0} us, so serial/scrape cannot exceed {:.2} on this machine",
            idle_per_s / 1e9 * 100.0,
            ser / floor
        );
        println!(
            "scrape over chronyd's floor={:.2} (the scrape's time / chronyd's CPU per scrape)",
            scrape / floor
        );
    }
    println!(
        "cpu used outside the benchmark during the rounds: {other:.1}% of the machine{}",
        if a.pids.is_empty() {
            " (chronyd included: no --pids)"
        } else if other > 5.0 {
            " (DISTURBED: other load; re-run)"
        } else {
            ""
        }
    );

    let lone_cpu_us = lone_cpu_ns as f64 / 1e3 / (a.rounds * a.iterations) as f64;
    println!("exporter cpu us per lone scrape={lone_cpu_us:.0}");

    if a.rss_scrapes > 0 {
        // Memory: RSS after 1,000 and after N scrapes.
        let pid = exporter.pid();
        let done = 1 + a.rounds * a.iterations;
        let mut rss_1000 = 0;
        for i in done..a.rss_scrapes.max(1000) {
            let (s, _) = conn.scrape();
            if s != 200 {
                failures.push(format!("scrape {i} got status {s}"));
            }
            if i + 1 == 1000 {
                rss_1000 = procfs::rss_kib(pid);
            }
        }
        if rss_1000 == 0 {
            rss_1000 = procfs::rss_kib(pid);
        }
        let rss_end = procfs::rss_kib(pid);
        println!(
            "rss after 1000 scrapes kib={rss_1000} after {} scrapes kib={rss_end} (bound 16384)",
            a.rss_scrapes.max(1000)
        );
        if rss_end > 16 * 1024 {
            failures.push(format!("resident memory {rss_end} KiB, above 16 MiB"));
        }
    }

    if a.concurrent > 0 {
        let burst = concurrent_bursts(&exporter, &a, sources, unix);
        let per = burst.cpu_ns as f64 / 1e3 / (a.bursts * a.concurrent) as f64;
        println!(
            "concurrent: {} bursts of {} scrapes (budget {} s): complete with chrony_up 1 and inside the budget {}/{}, slowest {:.0} ms, exporter cpu us per scrape={per:.0} ({:.2}x a lone scrape, target <= 1.5)",
            a.bursts,
            a.concurrent,
            a.budget,
            burst.ok,
            a.bursts * a.concurrent,
            burst.slowest * 1e3,
            per / lone_cpu_us
        );
        failures.extend(burst.failures);
    }
    if failures.is_empty() {
        println!("properties: all hold");
    } else {
        for f in &failures {
            println!("FAILED: {f}");
        }
        std::process::exit(1);
    }
}

/// What the bursts of concurrent scrapes gave.
struct Bursts {
    /// Scrapes that were 200, complete with `chrony_up 1`, inside the budget.
    ok: usize,
    /// The slowest scrape, seconds.
    slowest: f64,
    /// The exporter's CPU time over the bursts, nanoseconds.
    cpu_ns: u64,
    failures: Vec<String>,
}

/// `--bursts` times, `--concurrent` connections opened first, then a scrape
/// sent on each at once with Prometheus's timeout header (the budget plus
/// the exporter's 0.5 s margin).
fn concurrent_bursts(exporter: &Exporter, a: &Args, sources: usize, unix: bool) -> Bursts {
    let addr = exporter.addr();
    let header = format!("{}", a.budget + 0.5);
    let mut out = Bursts {
        ok: 0,
        slowest: 0.0,
        cpu_ns: 0,
        failures: Vec::new(),
    };
    for burst in 0..a.bursts {
        let conns: Vec<TcpStream> = (0..a.concurrent)
            .map(|_| {
                let s = TcpStream::connect(addr).expect("connect");
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                s
            })
            .collect();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(a.concurrent + 1));
        let handles: Vec<_> = conns
            .into_iter()
            .map(|mut s| {
                let (barrier, header) = (barrier.clone(), header.clone());
                std::thread::spawn(move || {
                    let request = format!(
                        "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nX-Prometheus-Scrape-Timeout-Seconds: {header}\r\n\r\n"
                    );
                    barrier.wait();
                    let t = Instant::now();
                    let _ = s.write_all(request.as_bytes());
                    let mut raw = Vec::new();
                    let _ = s.read_to_end(&mut raw);
                    (t.elapsed().as_secs_f64(), String::from_utf8_lossy(&raw).into_owned())
                })
            })
            .collect();
        let cpu = procfs::cpu_ns(exporter.pid());
        barrier.wait();
        for h in handles {
            let (took, raw) = h.join().expect("a scrape thread");
            let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
            let good = raw.starts_with("HTTP/1.1 200") && complete(body, sources, unix);
            out.slowest = out.slowest.max(took);
            if !good {
                out.failures.push(format!(
                    "burst {burst}: a concurrent scrape was not complete with chrony_up 1"
                ));
            } else if took > a.budget {
                out.failures.push(format!(
                    "burst {burst}: a concurrent scrape took {took:.3} s, over its {} s budget",
                    a.budget
                ));
            } else {
                out.ok += 1;
            }
        }
        out.cpu_ns += procfs::cpu_ns(exporter.pid()) - cpu;
    }
    out
}
