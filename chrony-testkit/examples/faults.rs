//! Runs each row of issue 9's fault table against a chronyd it starts
//! (one loopback reference server and two unreachable servers, UDP command
//! port), with the fault-injecting proxy of `chrony_testkit::proxy` between
//! `chrony::Client` and chronyd, and prints one line per row:
//!
//! ```text
//! ROW ok=X/N secs_per_round=Y
//! ```
//!
//! A round is `tracking()` + `sources()` + `source_stats()`; the proxy is
//! seeded, so the faults are the same on every run.
//!
//! ```text
//! cargo run -p chrony-testkit --example faults -- [--rounds N] [--latency-rounds N]
//!     [--cycles N] [--rows ROW,ROW,...] [--seed S]
//! ```
//! Defaults: 100 rounds, 5 rounds for the latency rows, 10000 Unix-socket
//! cycles, every row, seed 1. Rows: `garbage30`, `loss20`,
//! `loss20-timeout2s-retries6`, `dup30-reorder50ms`, `latency100ms`,
//! `latency250ms`, `latency300ms`, `forged-count`, `unix-cycles`.
//!
//! `forged-count` runs the client in a child process (this example with
//! `--forged-child ADDR`), so a client that aborts on the forged count
//! shows up as a failed row instead of ending the run. `unix-cycles`
//! connects, reads tracking and drops the client N times over the Unix
//! socket and prints the file descriptors and client socket directories
//! left behind.
//!
//! The backend comes from CHRONY_TESTKIT_BACKEND / CHRONY_TESTKIT_SUITE
//! (local processes by default).
use chrony::{Client, ClientBuilder, Error};
use chrony_testkit::harness::{ensure_images, Backend, Chronyd, ChronydBuilder};
use chrony_testkit::proxy::{wire, Direction, Garbage, Proxy, ProxyBuilder, Rewrite};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

struct Opts {
    rounds: usize,
    latency_rounds: usize,
    cycles: usize,
    rows: Option<Vec<String>>,
    seed: u64,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        rounds: 100,
        latency_rounds: 5,
        cycles: 10_000,
        rows: None,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--rounds" => o.rounds = value()?.parse().map_err(|e| format!("{e}"))?,
            "--latency-rounds" => {
                o.latency_rounds = value()?.parse().map_err(|e| format!("{e}"))?
            }
            "--cycles" => o.cycles = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("{e}"))?,
            "--rows" => o.rows = Some(value()?.split(',').map(str::to_string).collect()),
            "--forged-child" => std::process::exit(forged_child(&value()?)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn round(c: &mut Client) -> chrony::Result<()> {
    c.tracking()?;
    c.sources()?;
    c.source_stats()?;
    Ok(())
}

fn print_row(row: &str, ok: usize, n: usize, started: Instant, extra: &str) {
    let per = if n == 0 {
        0.0
    } else {
        started.elapsed().as_secs_f64() / n as f64
    };
    println!("{row} ok={ok}/{n} secs_per_round={per:.4}{extra}");
}

/// `n` rounds through a proxy built by `proxy`, with a client from
/// `client`; prints the row and the first error.
fn proxied_row(
    d: &Chronyd,
    row: &str,
    n: usize,
    proxy: impl FnOnce(ProxyBuilder) -> ProxyBuilder,
    client: ClientBuilder,
) -> Result<(), Box<dyn std::error::Error>> {
    let upstream: SocketAddr = d.udp_address().ok_or("no UDP command port")?;
    let p = proxy(Proxy::builder(upstream)).start()?;
    let mut c = client.connect(p.address())?;
    let started = Instant::now();
    let mut ok = 0;
    let mut first_err: Option<Error> = None;
    for _ in 0..n {
        match round(&mut c) {
            Ok(()) => ok += 1,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let extra = match &first_err {
        Some(e) => format!(" first_error=\"{e}\""),
        None => String::new(),
    };
    print_row(row, ok, n, started, &extra);
    eprintln!("  {row}: proxy {:?}", p.stats());
    Ok(())
}

/// The client side of `forged-count`: the forged call must be
/// `Error::TooManyRecords`, the next call must read the 3 sources.
fn forged_child(addr: &str) -> i32 {
    let mut c = match Client::connect(addr) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connect: {e}");
            return 1;
        }
    };
    match c.sources() {
        Err(Error::TooManyRecords { .. }) => {}
        other => {
            eprintln!("forged count: expected TooManyRecords, got {other:?}");
            return 1;
        }
    }
    match c.sources() {
        Ok(s) if s.len() == 3 => 0,
        other => {
            eprintln!("next call: {other:?}");
            1
        }
    }
}

fn forged_row(d: &Chronyd, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let upstream: SocketAddr = d.udp_address().ok_or("no UDP command port")?;
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut ok = 0;
    let mut first_err = None;
    for _ in 0..n {
        let p = Proxy::builder(upstream)
            .rewrite(
                Rewrite::reply_to(wire::N_SOURCES)
                    .set_u32(wire::N_SOURCES_COUNT, 0x7fff_ffff)
                    .times(1),
            )
            .start()?;
        let out = Command::new(&exe)
            .args(["--forged-child", &p.address().to_string()])
            .env("RUST_BACKTRACE", "0")
            .output()?;
        if out.status.success() {
            ok += 1;
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            first_err.get_or_insert(format!(
                "{}: {}",
                out.status,
                stderr.lines().next().unwrap_or("").trim()
            ));
        }
    }
    let extra = first_err
        .map(|e| format!(" first_error=\"{e}\""))
        .unwrap_or_default();
    print_row("forged-count", ok, n, started, &extra);
    Ok(())
}

fn count_dir(path: &std::path::Path, pred: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| pred(&e.file_name().to_string_lossy()))
                .count()
        })
        .unwrap_or(0)
}

fn unix_cycles(d: &Chronyd, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let sock = d.socket_path().to_str().ok_or("socket path")?.to_string();
    let sock_dir = d.socket_path().parent().ok_or("socket dir")?.to_path_buf();
    let client_dirs = || count_dir(&sock_dir, |n| n.starts_with("libchrony"));
    let fds = || count_dir(std::path::Path::new("/proc/self/fd"), |_| true);
    let (fds0, dirs0) = (fds(), client_dirs());
    let started = Instant::now();
    let mut ok = 0;
    for _ in 0..n {
        if let Ok(mut c) = Client::connect(&sock) {
            if c.tracking().is_ok() {
                ok += 1;
            }
        }
    }
    let extra = format!(
        " fds_leaked={} socket_dirs_leaked={}",
        fds() as i64 - fds0 as i64,
        client_dirs() as i64 - dirs0 as i64
    );
    print_row("unix-cycles", ok, n, started, &extra);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("faults: {e}");
            std::process::exit(2)
        }
    };
    let wanted = |row: &str| o.rows.as_ref().is_none_or(|r| r.iter().any(|x| x == row));
    let backend = Backend::from_env()?;
    if let Backend::Docker(suite) = backend {
        ensure_images(&[suite])?;
    }
    let d = ChronydBuilder::new()
        .backend(backend)
        .servers(1)
        .unreachable_servers(2)
        .udp_command(true)
        .start()?;
    eprintln!("chronyd {} ({backend:?})", d.chrony_version());
    let seed = o.seed;
    let n = o.rounds;
    let defaults = Client::builder;
    if wanted("garbage30") {
        proxied_row(
            &d,
            "garbage30",
            n,
            |b| b.seed(seed).garbage(0.3, Garbage::ALL),
            defaults(),
        )?;
    }
    if wanted("loss20") {
        proxied_row(
            &d,
            "loss20",
            n,
            |b| b.seed(seed).loss(Direction::Both, 0.2),
            defaults(),
        )?;
    }
    if wanted("loss20-timeout2s-retries6") {
        proxied_row(
            &d,
            "loss20-timeout2s-retries6",
            n,
            |b| b.seed(seed).loss(Direction::Both, 0.2),
            Client::builder().timeout(Duration::from_secs(2)).retries(6),
        )?;
    }
    if wanted("dup30-reorder50ms") {
        proxied_row(
            &d,
            "dup30-reorder50ms",
            n,
            |b| {
                b.seed(seed)
                    .duplicate(Direction::Both, 0.3)
                    .jitter(Direction::Both, Duration::from_millis(50))
            },
            defaults(),
        )?;
    }
    for ms in [100u64, 250, 300] {
        let row = format!("latency{ms}ms");
        if wanted(&row) {
            proxied_row(
                &d,
                &row,
                o.latency_rounds,
                |b| b.latency(Direction::Both, Duration::from_millis(ms)),
                defaults(),
            )?;
        }
    }
    if wanted("forged-count") {
        forged_row(&d, o.latency_rounds)?;
    }
    if wanted("unix-cycles") {
        unix_cycles(&d, o.cycles)?;
    }
    Ok(())
}
