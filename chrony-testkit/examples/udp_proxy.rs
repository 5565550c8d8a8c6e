//! Runs the fault-injecting proxy in front of a chronyd's UDP command port
//! until its standard input closes: for trying a client (or `chronyc -h`)
//! against a slow or lossy link by hand, and for `scripts/bench`'s UDP case.
//!
//! ```text
//! cargo run -p chrony-testkit --example udp_proxy -- --upstream 127.0.0.1:5323 \
//!     [--latency-ms MS] [--loss P] [--seed S]
//! ```
//!
//! Prints `PROXY ADDRESS` (the address to connect to) on its first line.
use chrony_testkit::proxy::{Direction, Proxy};
use std::io::{BufRead, Write};
use std::time::Duration;

fn main() {
    let mut upstream = None;
    let mut latency = Duration::ZERO;
    let mut loss = 0.0;
    let mut seed = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--upstream" => upstream = Some(value().parse().expect("--upstream IP:PORT")),
            "--latency-ms" => {
                latency = Duration::from_millis(value().parse().expect("--latency-ms MS"))
            }
            "--loss" => loss = value().parse().expect("--loss P"),
            "--seed" => seed = value().parse().expect("--seed S"),
            other => panic!("unknown argument {other:?}"),
        }
    }
    let upstream = upstream.expect("--upstream IP:PORT is required");
    let proxy = Proxy::builder(upstream)
        .seed(seed)
        .latency(Direction::Both, latency)
        .loss(Direction::Both, loss)
        .start()
        .unwrap_or_else(|e| panic!("starting the proxy: {e}"));
    println!("PROXY {}", proxy.address());
    std::io::stdout().flush().ok();
    // Runs until the caller closes our standard input (or goes away).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
    eprintln!("udp_proxy: {:?}", proxy.stats());
}
