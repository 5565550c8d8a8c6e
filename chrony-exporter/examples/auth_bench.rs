//! Basic auth in constant shape, measured: the time to a 401 for an
//! unknown user and for a known user with a wrong password (alternated,
//! medians, their ratio), and the time of a scrape with the right password
//! alone and while other clients flood the exporter with failed logins.
//!
//! ```sh
//! cargo build --release -p chrony-exporter --bin chrony-exporter --example auth_bench
//! target/release/examples/auth_bench [--exporter target/release/chrony-exporter] [--rounds 40] [--cost 10]
//! ```
//!
//! The exporter reads a chronyd that is not there (127.0.0.1:9): every
//! scrape is a quick `chrony_up 0`, so what is timed is the HTTP side and
//! the bcrypt checks. Figures need a quiet machine. It exits with status 1
//! when the two kinds of failed login differ by more than 20% in time (an
//! unknown user checked at another cost than the users' would), or when a
//! scrape with the right password is refused under the flood.

#[path = "../tests/common/process.rs"]
mod process;

use process::Exporter;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    exporter: String,
    rounds: usize,
    cost: u32,
}

fn args() -> Args {
    let mut a = Args {
        exporter: "target/release/chrony-exporter".into(),
        rounds: 40,
        cost: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--exporter" => a.exporter = value,
            "--rounds" => a.rounds = value.parse().expect("--rounds N"),
            "--cost" => a.cost = value.parse().expect("--cost N"),
            other => panic!("unknown flag {other} (--exporter, --rounds, --cost)"),
        }
    }
    a
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// One GET on a new connection: (status, seconds).
fn get(addr: SocketAddr, path: &str, auth: &str) -> (u16, f64) {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let status = std::str::from_utf8(&buf)
        .ok()
        .and_then(|t| t.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, t.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The exporter with the web config `config` (killed on drop).
fn start(exporter: &str, config: &std::path::Path) -> Exporter {
    let config = config.to_string_lossy();
    Exporter::spawn(
        std::path::Path::new(exporter),
        &[
            "--chrony.address",
            "127.0.0.1:9",
            "--chrony.timeout",
            "1s",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
            &config,
        ],
    )
}

fn main() {
    let a = args();
    let dir = std::env::temp_dir().join(format!("auth_bench.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("web.yml");
    let hash = |p: &str| bcrypt::hash(p, a.cost).unwrap();
    std::fs::write(
        &config,
        format!(
            "basic_auth_users:\n  alice: '{}'\n  bob: '{}'\n",
            hash("alice-pw"),
            hash("bob-pw")
        ),
    )
    .unwrap();
    let exporter = start(&a.exporter, &config);
    let addr = exporter.addr();
    let right = basic("alice", "alice-pw");
    // The right password's first check (then remembered).
    assert_eq!(get(addr, "/metrics", &right).0, 200);

    // 1. Unknown user against wrong password, alternated.
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for i in 0..a.rounds {
        let u = basic(&format!("nobody{i}"), "x");
        let w = basic("bob", &format!("wrong{i}"));
        let (su, tu) = get(addr, "/", &u);
        let (sw, tw) = get(addr, "/", &w);
        assert_eq!((su, sw), (401, 401));
        unknown.push(tu);
        wrong.push(tw);
    }
    let (mu, mw) = (median(unknown), median(wrong));
    let shape = mu / mw;
    println!(
        "cost {}: unknown user {:.1} ms, wrong password {:.1} ms (medians of {} alternated), ratio {shape:.3}",
        a.cost,
        mu * 1e3,
        mw * 1e3,
        a.rounds,
    );

    // 2. Scrapes with the right password, alone and under a flood of
    // failed logins (4 clients, each new connection a new wrong password).
    let alone: Vec<f64> = (0..a.rounds)
        .map(|_| get(addr, "/metrics", &right).1)
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let (denied, busy) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let flood: Vec<_> = (0..4)
        .map(|t| {
            let (stop, denied, busy) = (stop.clone(), denied.clone(), busy.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    match get(addr, "/metrics", &basic("bob", &format!("flood{t}-{i}"))).0 {
                        401 => denied.fetch_add(1, Ordering::Relaxed),
                        503 => busy.fetch_add(1, Ordering::Relaxed),
                        s => panic!("a failed login got {s}"),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut flooded = Vec::new();
    for _ in 0..a.rounds {
        let (s, t) = get(addr, "/metrics", &right);
        assert_eq!(
            s, 200,
            "a scrape with the right password was refused under the flood"
        );
        flooded.push(t);
    }
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.join().unwrap();
    }
    let (ma, mf) = (median(alone), median(flooded));
    println!(
        "scrape with the right password: alone {:.2} ms, under a flood of failed logins {:.2} ms (medians of {}), ratio {:.3}; \
         the flood got {} x 401 and {} x 503 (bcrypt queue full)",
        ma * 1e3,
        mf * 1e3,
        a.rounds,
        mf / ma,
        denied.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed)
    );
    drop(exporter);
    let _ = std::fs::remove_dir_all(&dir);
    if !(0.8..=1.2).contains(&shape) {
        eprintln!("FAILED: unknown user and wrong password differ by more than 20% ({shape:.3})");
        std::process::exit(1);
    }
}
