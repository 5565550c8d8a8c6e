//! Measures the exporter against the library on the same chronyd, in the
//! same run (used by `scripts/bench`).
//!
//! ```text
//! cargo build --release -p chrony-exporter --example exporter_bench
//! target/release/examples/exporter_bench --address SOCKET --exporter target/release/chrony-exporter \
//!     [--iterations N] [--rounds R] [--rss-scrapes N] [--concurrent N] [--concurrency K]
//!     [--pids PID,PID] [--latency N]
//! ```
//!
//! It starts the exporter (every collector on) against the Unix socket
//! `SOCKET` (or, with `--address HOST:PORT`, over UDP with the collectors
//! chronyd serves there) and prints:
//!
//! - `scrape us=X`: one full scrape, `GET /metrics` over a kept-alive
//!   connection (read every report, build and encode the metrics, HTTP);
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
//! - the ratios scrape/snapshot (target: at most 1.5) and serial/scrape
//!   (target: at least 5);
//! - the CPU time the chronyd that answers (the first of `--pids`) spent
//!   per scrape and per serial read, less what it uses with no requests
//!   (polling its sources; measured over 3 s before the rounds). chronyd
//!   answers one request at a time on one thread, so no reader scrapes
//!   faster than the first, and serial divided by it is the highest
//!   serial/scrape this machine allows;
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
//!   scrapes;
//! - K (50) concurrent scrapes: how many were 200 and complete.
//!
//! `--concurrency K` sets the sessions of both the exporter's client and
//! the snapshot client (default 8, the library's). `--latency N` only
//! times N single `tracking` requests (one round trip each) and prints
//! their 10th, 50th and 90th percentiles.
//!
//! Variants alternate in rounds; each figure is the median of the rounds'
//! means.
use chrony::Client;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    address: String,
    exporter: String,
    iterations: usize,
    rounds: usize,
    rss_scrapes: usize,
    concurrent: usize,
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
        concurrent: 50,
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

struct Exporter {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let mut child = Command::new(path)
        .args([
            "--chrony.address",
            &flag,
            "--web.listen-address",
            "127.0.0.1:0",
            "--chrony.timeout",
            "10s",
            "--chrony.concurrency",
            &concurrency.to_string(),
        ])
        .args(collectors.iter().map(|c| format!("--collector.{c}")))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {path}: {e}"));
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("the exporter exited").expect("its log");
        if let Some(a) = line.split(' ').find_map(|kv| kv.strip_prefix("listen=")) {
            break a.parse().expect("an address");
        }
    };
    // Keep draining its log.
    std::thread::spawn(move || for _ in lines {});
    Exporter { child, addr }
}

/// A kept-alive HTTP/1.1 connection.
struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    /// Ask for gzip, as Prometheus does (the body is then not text).
    gzip: bool,
}

impl Conn {
    /// A kept-alive connection; with `gzip` its scrapes ask for gzip.
    fn open(addr: SocketAddr, gzip: bool) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Conn {
            addr,
            reader: BufReader::new(s),
            gzip,
        }
    }

    /// GET /metrics; the status and body. The exporter closes a connection
    /// idle for 5 s (its header read timeout): then once more on a new one.
    fn scrape(&mut self) -> (u16, String) {
        let (status, body) = self.scrape_bytes();
        (status, String::from_utf8(body).expect("UTF-8"))
    }

    /// As [`Conn::scrape`], the body as it came (gzip on a gzip
    /// connection).
    fn scrape_bytes(&mut self) -> (u16, Vec<u8>) {
        match self.try_scrape() {
            (0, _) => {
                *self = Conn::open(self.addr, self.gzip);
                self.try_scrape()
            }
            r => r,
        }
    }

    fn try_scrape(&mut self) -> (u16, Vec<u8>) {
        let request: &[u8] = if self.gzip {
            b"GET /metrics HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n"
        } else {
            b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n"
        };
        if self.reader.get_mut().write_all(request).is_err() {
            return (0, Vec::new());
        }
        let mut status = 0;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return (0, Vec::new());
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
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("the body");
        (status, body)
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

/// CPU time (clock ticks) of the whole machine: (busy, all).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .expect("a cpu line")
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().expect("a number"))
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let all: u64 = cpu.iter().take(8).sum();
    let idle = cpu[3] + cpu.get(4).copied().unwrap_or(0);
    (all - idle, all)
}

/// CPU time (clock ticks) a process used, threads included (0 once gone).
fn process_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces): utime is the
    // 12th, stime the 13th.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`;
/// Linux's USER_HZ, 100, if that fails).
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// How busy the machine was with work outside the benchmark (this
/// process, the exporter and `--pids`, i.e. the chronyd pair).
struct Disturbance {
    pids: Vec<u32>,
    start: ((u64, u64), u64),
}

impl Disturbance {
    fn ours(pids: &[u32]) -> u64 {
        pids.iter().map(|&p| process_ticks(p)).sum()
    }

    fn start(pids: Vec<u32>) -> Disturbance {
        let start = (machine_ticks(), Disturbance::ours(&pids));
        Disturbance { pids, start }
    }

    /// Percent of the machine's CPU time used by other processes since
    /// the start.
    fn percent(&self) -> f64 {
        let ((busy, all), ours) = (machine_ticks(), Disturbance::ours(&self.pids));
        let ((busy0, all0), ours0) = self.start;
        let other = (busy - busy0).saturating_sub(ours - ours0);
        100.0 * other as f64 / (all - all0).max(1) as f64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
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
    let mut conn = Conn::open(exporter.addr, false);
    let mut gzip_conn = Conn::open(exporter.addr, true);
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

    let mut pids = vec![std::process::id(), exporter.child.id()];
    pids.extend(&a.pids);
    let disturbance = Disturbance::start(pids);
    let (mut scrape_us, mut snap_us, mut serial_us) = (Vec::new(), Vec::new(), Vec::new());
    let mut async_us = Vec::new();
    let (mut gzip_us, mut gzip_bytes) = (Vec::new(), 0);
    // The CPU time of the chronyd that answers (the first of --pids),
    // during the scrapes and during the serial reads.
    let served = a.pids.first().copied();
    let daemon = || served.map_or(0, process_ticks);
    let (mut daemon_scrape, mut daemon_serial) = (0, 0);
    // Its own work (polling its sources) goes on meanwhile: its CPU time
    // over 3 s of no requests, per second, is taken off below.
    let idle_per_s = if served.is_some() {
        let (d, t) = (daemon(), Instant::now());
        std::thread::sleep(Duration::from_secs(3));
        (daemon() - d) as f64 / t.elapsed().as_secs_f64()
    } else {
        0.0
    };
    for _ in 0..a.rounds {
        let t = Instant::now();
        let d = daemon();
        for _ in 0..a.iterations {
            let (s, _) = conn.scrape();
            assert_eq!(s, 200);
        }
        daemon_scrape += daemon() - d;
        scrape_us.push(t.elapsed().as_secs_f64() * 1e6 / a.iterations as f64);
        let t = Instant::now();
        for _ in 0..a.iterations {
            let (s, body) = gzip_conn.scrape_bytes();
            assert_eq!(s, 200);
            gzip_bytes = body.len();
        }
        gzip_us.push(t.elapsed().as_secs_f64() * 1e6 / a.iterations as f64);
        let t = Instant::now();
        for _ in 0..a.iterations {
            if unix {
                snap_client.snapshot().expect("snapshot");
            } else {
                snap_client.snapshot_of(UDP_REPORTS).expect("snapshot_of");
            }
        }
        snap_us.push(t.elapsed().as_secs_f64() * 1e6 / a.iterations as f64);
        let t = Instant::now();
        rt.block_on(async {
            for _ in 0..a.iterations {
                async_client
                    .snapshot_of(async_reports)
                    .await
                    .expect("snapshot_of");
            }
        });
        async_us.push(t.elapsed().as_secs_f64() * 1e6 / a.iterations as f64);
        let t = Instant::now();
        let d = daemon();
        for _ in 0..a.iterations {
            serial(&mut serial_client, unix);
        }
        daemon_serial += daemon() - d;
        serial_us.push(t.elapsed().as_secs_f64() * 1e6 / a.iterations as f64);
    }
    let other = disturbance.percent();
    // The loops' whole time, for chronyd's idle share below.
    let total = |v: &[f64]| v.iter().sum::<f64>() * a.iterations as f64;
    let (scrape_total, serial_total) = (total(&scrape_us), total(&serial_us));
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
    println!("ratio serial/scrape={:.2} (target >= 5)", ser / scrape);
    if served.is_some() {
        // chronyd answers one request at a time on one thread: no reader
        // finishes a scrape in less than the CPU time chronyd spends
        // answering it (its time over the loop less its idle rate).
        let n = (a.rounds * a.iterations) as f64;
        let hz = clock_ticks_per_second();
        let per = |ticks: u64, total_us: f64| {
            let idle = idle_per_s * total_us / 1e6;
            ((ticks as f64 - idle).max(0.0)) * 1e6 / hz / n
        };
        let (floor, serial_cpu) = (
            per(daemon_scrape, scrape_total),
            per(daemon_serial, serial_total),
        );
        if daemon_scrape < 100 {
            // /proc counts CPU time in ticks (10 ms at Linux's usual 100 a
            // second): below 100 of them the
            // figure would be noise, or a floor of 0.
            println!(
                "chronyd cpu per scrape: the scrape loops were too short to measure ({daemon_scrape} ticks; run more iterations)"
            );
        } else {
            println!(
                "chronyd cpu us per scrape={floor:.0} per serial read={serial_cpu:.0} (less {:.1}% of a CPU it uses idle): no scrape here can be faster than {floor:.0} us, so serial/scrape cannot exceed {:.2} on this machine",
                idle_per_s * 100.0 / hz,
                ser / floor
            );
        }
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

    if a.rss_scrapes == 0 {
        return;
    }
    // Memory: RSS after 1,000 and after N scrapes.
    let pid = exporter.child.id();
    let done = 1 + a.rounds * a.iterations;
    let mut rss_1000 = 0;
    for i in done..a.rss_scrapes.max(1000) {
        let (s, _) = conn.scrape();
        assert_eq!(s, 200);
        if i + 1 == 1000 {
            rss_1000 = rss_kib(pid);
        }
    }
    if rss_1000 == 0 {
        rss_1000 = rss_kib(pid);
    }
    let rss_end = rss_kib(pid);
    println!(
        "rss after 1000 scrapes kib={rss_1000} after {} scrapes kib={rss_end} (target <= 16384, no growth)",
        a.rss_scrapes.max(1000)
    );

    // Concurrent scrapes, each on its own connection.
    let addr = exporter.addr;
    let handles: Vec<_> = (0..a.concurrent)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::open(addr, false);
                let (s, body) = c.scrape();
                s == 200 && complete(&body, sources, unix)
            })
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().unwrap_or(false))
        .filter(|&ok| ok)
        .count();
    println!("concurrent scrapes={} complete_200={ok}", a.concurrent);
}
