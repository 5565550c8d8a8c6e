//! Watch several chronyd at once with the tokio client: every N seconds,
//! one line per host (synchronized or not, clock error bound, reachable sources, or
//! the kind of error), the shape an exporter takes.
//!
//! ```sh
//! cargo run -p chrony --features tokio --example watch -- \
//!     [--interval SECS] [--rounds N] [--timeout SECS] ADDRESS...
//! ```
//!
//! ADDRESS is a Unix socket path, IP[:port] or host[:port]. Each host has
//! its own client; all run concurrently on one current-thread runtime.
use chrony::tokio::AsyncClient;
use chrony::{Client, Error};
use std::time::Duration;

struct Options {
    interval: Duration,
    rounds: Option<u64>,
    timeout: Duration,
    addresses: Vec<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        interval: Duration::from_secs(5),
        rounds: None,
        timeout: Duration::from_secs(1),
        addresses: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    let secs = |v: Option<String>| -> Result<Duration, String> {
        let v = v.ok_or("missing value")?;
        let s: f64 = v.parse().map_err(|_| format!("not a number: {v}"))?;
        Duration::try_from_secs_f64(s).map_err(|e| format!("{v}: {e}"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--interval" => o.interval = secs(args.next())?,
            "--timeout" => o.timeout = secs(args.next())?,
            "--rounds" => {
                let v = args.next().ok_or("missing value")?;
                o.rounds = Some(v.parse().map_err(|_| format!("not a count: {v}"))?);
            }
            "-h" | "--help" => return Err(String::new()),
            _ => o.addresses.push(a),
        }
    }
    if o.addresses.is_empty() {
        return Err("no address given".into());
    }
    Ok(o)
}

async fn poll_once(client: &mut AsyncClient) -> Result<String, Error> {
    let tracking = client.tracking().await?;
    let sources = client.sources().await?;
    let reachable = sources.iter().filter(|s| s.reachability != 0).count();
    Ok(format!(
        "synchronized={} error_bound={:.3e} reachable={}/{}",
        if tracking.is_synchronized() {
            "yes"
        } else {
            "no"
        },
        tracking.clock_error_bound(),
        reachable,
        sources.len()
    ))
}

async fn watch(address: String, o: &Options) {
    let mut ticker = tokio::time::interval(o.interval);
    let mut client: Option<AsyncClient> = None;
    let mut round = 0;
    loop {
        ticker.tick().await;
        if o.rounds.is_some_and(|n| round >= n) {
            return;
        }
        round += 1;
        if client.is_none() {
            match Client::builder()
                .timeout(o.timeout)
                .deadline(o.timeout * 3)
                .connect_async(address.as_str())
                .await
            {
                Ok(c) => client = Some(c),
                Err(e) => {
                    println!("{address} round={round} error={} ({})", e.kind(), e.chain());
                    continue;
                }
            }
        }
        if let Some(c) = client.as_mut() {
            match poll_once(c).await {
                Ok(line) => println!("{address} round={round} {line}"),
                Err(e) => println!("{address} round={round} error={} ({})", e.kind(), e.chain()),
            }
        }
    }
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("watch: {e}");
            }
            eprintln!("usage: watch [--interval SECS] [--rounds N] [--timeout SECS] ADDRESS...");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let tasks: Vec<_> = o.addresses.iter().map(|a| watch(a.clone(), &o)).collect();
        // All hosts concurrently on this one thread.
        join_all(tasks).await;
    });
}

/// Polls every future to completion, concurrently (a tiny `join_all`).
async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for slot in futures.iter_mut() {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}
