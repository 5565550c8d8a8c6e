//! The fleet figure (used by `scripts/fleet`): one exporter probing many
//! chronyd through `/probe`, scraped by a real Prometheus, some chronyd
//! frozen for a while.
//!
//! ```text
//! cargo build --release -p chrony-exporter --bin chrony-exporter --example fleet_bench
//! target/release/examples/fleet_bench --exporter target/release/chrony-exporter \
//!     [--targets 500] [--frozen 50] [--seconds 180] [--interval 15] [--timeout 10]
//! ```
//!
//! It starts `--targets` chronyd (chrony-testkit's harness, process
//! backend: each with `-x`, its own temp dir, the UDP command port on a
//! free loopback port, `local stratum 8` and no sources), one exporter
//! started with a soft descriptor limit of 1024 (`ulimit -Sn 1024`, as a
//! unit without `LimitNOFILE` gets) and `--probe.allow 127.0.0.0/8`, and a
//! Prometheus server (Debian's package; temp config and storage, loopback)
//! scraping `/probe?target=127.0.0.1:PORT` of every chronyd each
//! `--interval` seconds with a `--timeout` scrape timeout. For `--seconds`
//! the first `--frozen` chronyd are stopped (SIGSTOP) during the middle
//! half (from 1/4 to 3/4 of the run) and resumed (SIGCONT) after. Then it
//! prints, from Prometheus's HTTP API over the run:
//!
//! - the exporter's descriptor limit (the soft one must have been raised
//!   to the hard one) and the descriptors its clients hold per target
//!   (UDP sockets and `/dev/urandom`, the most seen in samples during the
//!   run; at most 3);
//! - per target: scrapes, the fraction with `up` 1 (HTTP 200) and the
//!   fraction with `chrony_probe_success` 1 (every probe of a target that
//!   was never frozen must succeed);
//! - p50/p99/max of `scrape_duration_seconds` of the healthy targets (the
//!   never-frozen ones), all of the run and while the others were frozen
//!   (target: p99 under 50 ms), and of the frozen ones while frozen;
//! - the exporter's CPU seconds (utime + stime of /proc/PID/stat, over the
//!   run and in total) and its peak RSS (VmHWM of /proc/PID/status).
//!
//! Exits with status 1 when a property fails (a failed healthy probe, the
//! limit not raised, more than 3 descriptors per target); the latency
//! target is printed with the figure.

#[path = "../tests/common/process.rs"]
mod process;

use chrony_testkit::harness::{Backend, Chronyd, ChronydBuilder};
use process::{http_get, procfs, Exporter, Prometheus};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Args {
    exporter: String,
    prometheus: String,
    targets: usize,
    frozen: usize,
    seconds: u64,
    interval: u64,
    timeout: u64,
}

fn args() -> Args {
    let mut a = Args {
        exporter: "target/release/chrony-exporter".into(),
        prometheus: "prometheus".into(),
        targets: 500,
        frozen: 50,
        seconds: 180,
        interval: 15,
        timeout: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--exporter" => a.exporter = value(),
            "--prometheus" => a.prometheus = value(),
            "--targets" => a.targets = value().parse().expect("a number"),
            "--frozen" => a.frozen = value().parse().expect("a number"),
            "--seconds" => a.seconds = value().parse().expect("a number"),
            "--interval" => a.interval = value().parse().expect("a number"),
            "--timeout" => a.timeout = value().parse().expect("a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(a.frozen <= a.targets, "--frozen more than --targets");
    assert!(a.timeout <= a.interval, "--timeout above --interval");
    a
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Whether a chronyd answers on its UDP command port: a port picked free
/// can be taken by another process before chronyd binds it (chronyd then
/// serves its Unix socket only).
fn answers(c: &Chronyd) -> bool {
    let Some(addr) = c.udp_address() else {
        return false;
    };
    chrony::Client::builder()
        .timeout(Duration::from_millis(300))
        .deadline(Duration::from_secs(2))
        .concurrency(1)
        .connect(addr)
        .and_then(|mut client| client.tracking())
        .is_ok()
}

/// `n` chronyd answering on a UDP command port each, started a batch at
/// a time.
fn start_fleet(n: usize) -> Vec<Chronyd> {
    let started = Instant::now();
    let mut all: Vec<Chronyd> = Vec::with_capacity(n);
    let mut replaced = 0;
    while all.len() < n {
        let batch = (n - all.len()).min(32);
        let got: Vec<Chronyd> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..batch)
                .map(|_| {
                    s.spawn(|| {
                        ChronydBuilder::new()
                            .backend(Backend::Process)
                            .servers(0)
                            .udp_command(true)
                            .wait_for_sync(false)
                            .extra_config("local stratum 8")
                            .start()
                            .unwrap_or_else(|e| panic!("starting a chronyd: {e}"))
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for c in got {
            if answers(&c) {
                all.push(c);
            } else {
                replaced += 1;
            }
        }
        assert!(
            replaced < n,
            "chronyd keep failing to answer on their UDP ports"
        );
    }
    println!(
        "# started {n} chronyd in {:.1} s ({replaced} replaced: their UDP port was taken)",
        started.elapsed().as_secs_f64()
    );
    all
}

/// The exporter with a soft descriptor limit of 1024, as a service
/// manager without `LimitNOFILE` starts it.
fn start_exporter(path: &str, chrony_address: &str, targets: usize) -> Exporter {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -Sn 1024 && exec \"$0\" \"$@\"")
        .arg(path)
        .args([
            "--chrony.address",
            chrony_address,
            "--web.listen-address",
            "127.0.0.1:0",
            "--probe.allow",
            "127.0.0.0/8",
            // Prometheus keeps a connection per target.
            "--web.max-connections",
            &(targets + 64).to_string(),
            "--log.level",
            "info",
        ]);
    Exporter::spawn_command(cmd)
}

fn start_prometheus(
    path: &str,
    dir: &std::path::Path,
    exporter: SocketAddr,
    targets: &[String],
    interval: u64,
    timeout: u64,
) -> Prometheus {
    let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let config = format!(
        "global:\n  scrape_interval: {interval}s\n  scrape_timeout: {timeout}s\n\
         scrape_configs:\n  - job_name: chrony-probe\n    metrics_path: /probe\n\
         \x20   static_configs:\n      - targets: [{}]\n\
         \x20   relabel_configs:\n\
         \x20     - source_labels: [__address__]\n        target_label: __param_target\n\
         \x20     - source_labels: [__param_target]\n        target_label: instance\n\
         \x20     - target_label: __address__\n        replacement: '{exporter}'\n",
        list.join(", ")
    );
    Prometheus::start(path, dir, &config)
}

/// Per instance, the raw samples (time, value) of `selector` over
/// `[from, to]`.
fn samples(
    prom: &Prometheus,
    selector: &str,
    from: f64,
    to: f64,
) -> BTreeMap<String, Vec<(f64, f64)>> {
    let range = (to - from).ceil() as u64;
    let mut out = BTreeMap::new();
    for series in prom.query(&format!("{selector}[{range}s]"), Some(to)) {
        let instance = series["metric"]["instance"].as_str().unwrap().to_string();
        let values = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let t = p[0].as_f64().unwrap();
                let v: f64 = p[1].as_str().unwrap().parse().unwrap();
                (t, v)
            })
            .filter(|(t, _)| *t >= from)
            .collect();
        out.insert(instance, values);
    }
    out
}

/// utime + stime in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    procfs::cpu_ticks(pid) as f64 / procfs::clock_ticks_per_second()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn print_durations(what: &str, mut d: Vec<f64>) {
    d.sort_by(f64::total_cmp);
    println!(
        "scrape_duration {what}: n={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        d.len(),
        percentile(&d, 0.5) * 1e3,
        percentile(&d, 0.99) * 1e3,
        d.last().copied().unwrap_or(f64::NAN) * 1e3
    );
}

/// The descriptors the exporter's clients hold, per target: its UDP
/// sockets and `/dev/urandom` descriptors (one of each per session).
fn descriptors_per_target(pid: u32, targets: usize) -> f64 {
    let (sockets, urandom) = procfs::session_fds(pid);
    (sockets + urandom) as f64 / targets as f64
}

fn main() {
    let a = args();
    let mut failures: Vec<String> = Vec::new();
    let fleet = start_fleet(a.targets);
    let targets: Vec<String> = fleet
        .iter()
        .map(|c| c.udp_address().expect("a UDP command port").to_string())
        .collect();
    let exporter = start_exporter(&a.exporter, &targets[0], targets.len());
    let (pid, exporter_addr) = (exporter.pid(), exporter.addr());
    let (soft, hard) = procfs::nofile_limits(pid);
    println!(
        "# exporter descriptor limit: soft {soft}, hard {hard} (started with a soft limit of 1024)"
    );
    if soft != hard {
        failures.push(format!(
            "the soft descriptor limit was not raised: {soft} of {hard}"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let prom = start_prometheus(
        &a.prometheus,
        dir.path(),
        exporter_addr,
        &targets,
        a.interval,
        a.timeout,
    );
    println!(
        "# exporter {exporter_addr}, Prometheus {}: {} targets every {} s (timeout {} s), \
         {} frozen from {} s to {} s of {} s",
        prom.addr,
        a.targets,
        a.interval,
        a.timeout,
        a.frozen,
        a.seconds / 4,
        a.seconds * 3 / 4,
        a.seconds
    );

    // Start once Prometheus has scraped every target (it spreads its
    // first scrapes over the interval; a busy machine delays some more).
    let wait = Duration::from_secs(120.max(4 * a.interval));
    let deadline = Instant::now() + wait;
    loop {
        let n = prom.query("count(up{job=\"chrony-probe\"})", Some(now_unix()));
        let have = n
            .first()
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if have as usize == a.targets {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape every target in {wait:?}: {have} of {}",
            a.targets
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let cpu_start = cpu_seconds(pid);
    let t0 = now_unix();
    let start = Instant::now();
    let run = Duration::from_secs(a.seconds);
    let freeze_at = run / 4;
    let resume_at = run * 3 / 4;
    // The descriptors per target, sampled every few seconds.
    let mut most_fds = 0.0f64;
    let sample_until = |until: Duration, most: &mut f64| loop {
        *most = most.max(descriptors_per_target(pid, a.targets));
        let left = until.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_secs(3)));
    };
    sample_until(freeze_at, &mut most_fds);
    let freeze_t = now_unix();
    for c in &fleet[..a.frozen] {
        c.freeze().expect("SIGSTOP");
    }
    sample_until(resume_at, &mut most_fds);
    let resume_t = now_unix();
    for c in &fleet[..a.frozen] {
        c.resume().expect("SIGCONT");
    }
    sample_until(run, &mut most_fds);
    let t1 = now_unix();
    let cpu_end = cpu_seconds(pid);
    let hwm = procfs::peak_rss_kib(pid);
    let rss = procfs::rss_kib(pid);
    // The last scrapes of the run land in Prometheus.
    std::thread::sleep(Duration::from_secs(a.timeout + 2));

    let up = samples(&prom, "up{job=\"chrony-probe\"}", t0, t1);
    let success = samples(&prom, "chrony_probe_success{job=\"chrony-probe\"}", t0, t1);
    let duration = samples(
        &prom,
        "scrape_duration_seconds{job=\"chrony-probe\"}",
        t0,
        t1,
    );
    let frozen: Vec<&String> = targets[..a.frozen].iter().collect();

    let mut healthy_ok = (0usize, 0usize);
    let mut frozen_ok = (0usize, 0usize);
    for t in &targets {
        let u = up.get(t).cloned().unwrap_or_default();
        let s = success.get(t).cloned().unwrap_or_default();
        let up_ok = u.iter().filter(|(_, v)| *v == 1.0).count();
        let ok = s.iter().filter(|(_, v)| *v == 1.0).count();
        let is_frozen = frozen.contains(&t);
        let acc = if is_frozen {
            &mut frozen_ok
        } else {
            &mut healthy_ok
        };
        acc.0 += ok;
        acc.1 += s.len();
        if !is_frozen && (ok < s.len() || up_ok < u.len() || s.is_empty()) {
            failures.push(format!(
                "healthy target {t}: probe_success 1 in {ok} of {} scrapes, up 1 in {up_ok} of {}",
                s.len(),
                u.len()
            ));
        }
    }
    println!(
        "probe_success healthy: {} of {} scrapes; frozen targets: {} of {} (frozen {:.0} s of {:.0} s)",
        healthy_ok.0,
        healthy_ok.1,
        frozen_ok.0,
        frozen_ok.1,
        resume_t - freeze_t,
        t1 - t0
    );
    let pick = |frozen_set: bool, from: f64, to: f64| -> Vec<f64> {
        duration
            .iter()
            .filter(|(t, _)| frozen.contains(t) == frozen_set)
            .flat_map(|(_, v)| v.iter())
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, v)| *v)
            .collect()
    };
    print_durations(
        "healthy, whole run (target p99 < 50 ms)",
        pick(false, t0, t1),
    );
    print_durations(
        &format!("healthy, while {} frozen", a.frozen),
        pick(false, freeze_t, resume_t),
    );
    print_durations(
        "frozen targets, while frozen",
        pick(true, freeze_t + 1.0, resume_t),
    );
    let now_fds = descriptors_per_target(pid, a.targets);
    println!(
        "descriptors per target (UDP sockets and /dev/urandom): at most {most_fds:.2} during the run, {now_fds:.2} at its end (bound 3)"
    );
    if most_fds > 3.0 {
        failures.push(format!("{most_fds:.2} descriptors per target"));
    }
    println!(
        "exporter cpu_seconds_run={:.2} cpu_seconds_total={:.2} ({:.1}% of one core over the run) \
         peak_rss_kib={hwm} rss_kib={rss}",
        cpu_end - cpu_start,
        cpu_end,
        (cpu_end - cpu_start) / (t1 - t0) * 100.0
    );
    // What the exporter says now of the first failing healthy targets.
    let failing: Vec<&String> = targets
        .iter()
        .filter(|t| !frozen.contains(t))
        .filter(|t| {
            success
                .get(*t)
                .is_none_or(|s| s.iter().any(|(_, v)| *v != 1.0))
        })
        .take(3)
        .collect();
    for t in failing {
        let (status, body) =
            http_get(exporter_addr, &format!("/probe?target={t}")).unwrap_or_default();
        let lines: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("chrony_up") || l.starts_with("chrony_probe_success"))
            .collect();
        println!("# {t} now: status {status}, {lines:?}");
        for l in exporter
            .log()
            .lines()
            .filter(|l| l.contains(t.as_str()))
            .take(3)
        {
            println!("#   log: {l}");
        }
    }
    drop(exporter);
    drop(fleet);
    if failures.is_empty() {
        println!("properties: all hold");
    } else {
        for f in failures.iter().take(20) {
            println!("FAILED: {f}");
        }
        if failures.len() > 20 {
            println!("FAILED: ... and {} more", failures.len() - 20);
        }
        std::process::exit(1);
    }
}
