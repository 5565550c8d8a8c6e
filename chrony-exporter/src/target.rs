//! One chronyd as the exporter reads it: its address (or the addresses to
//! try, in order), one long-lived client whose sessions are set up once
//! and kept between scrapes, and single-flight reads ([`crate::flight`])
//! bounded by the scrape's deadline.
//!
//! A read asks for the enabled collectors' reports at once, every exchange
//! ending by the scrape's deadline. A failed read keeps the client when it
//! only ran out of time (its sessions with a request in flight are closed,
//! the idle ones stay, so the client is as good as new) and drops it
//! otherwise: the next read connects afresh.
//!
//! With several addresses (the default: `127.0.0.1:323`, then
//! `[::1]:323`, as chronyc tries them), a read tries the one that last
//! answered first, then the others in order, so an IPv4-only host and a
//! dual-stack one both work without a flag.

use crate::flight::Flights;
use chrony::tokio::AsyncClient;
use chrony::{Address, ClientBuilder, Snapshot};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One read of chronyd, shared by the scrapes that used it.
#[derive(Debug)]
pub struct Read {
    /// The reports, or why chronyd gave none.
    pub snapshot: Result<Snapshot, String>,
    /// How long the read took.
    pub took: Duration,
}

/// The client between reads, and the address that answered last.
struct Idle {
    client: Option<(usize, AsyncClient)>,
    preferred: usize,
}

/// Why a read gave no snapshot.
enum ReadError {
    /// The deadline passed before any report was complete; the client is
    /// still usable (its sessions with a request in flight were closed).
    Deadline(chrony::Error),
    Chrony(chrony::Error),
}

impl ReadError {
    fn text(&self) -> String {
        match self {
            ReadError::Deadline(e) | ReadError::Chrony(e) => e.to_string(),
        }
    }
}

/// Reads `reports` at once, every exchange ending by `deadline`: a report
/// not finished by then is absent (`timeout`), the finished ones present.
async fn read_until(
    client: &mut AsyncClient,
    reports: &[&str],
    deadline: tokio::time::Instant,
) -> Result<Snapshot, ReadError> {
    match client.snapshot_until(reports, deadline.into_std()).await {
        Ok(snap) => Ok(snap),
        // Out of time, in silence or among datagrams none of which was a
        // reply: the client itself is sound.
        Err(
            e @ (chrony::Error::Timeout {
                call_deadline: true,
                ..
            }
            | chrony::Error::NoValidReply {
                call_deadline: true,
                ..
            }),
        ) => Err(ReadError::Deadline(e)),
        Err(e) => Err(ReadError::Chrony(e)),
    }
}

/// One chronyd.
pub struct Target {
    candidates: Vec<Address>,
    builder: ClientBuilder,
    reports: Vec<&'static str>,
    idle: Mutex<Idle>,
    flights: Flights<Read>,
    /// When a scrape last asked for a read.
    last_used: Mutex<Instant>,
}

impl Target {
    /// `candidates`: the addresses to try, in order (at least one);
    /// `reports`: the reports a read asks for.
    pub fn new(
        candidates: Vec<Address>,
        builder: ClientBuilder,
        reports: Vec<&'static str>,
    ) -> Arc<Target> {
        assert!(!candidates.is_empty(), "a target has an address");
        Arc::new(Target {
            candidates,
            builder,
            reports,
            idle: Mutex::new(Idle {
                client: None,
                preferred: 0,
            }),
            flights: Flights::default(),
            last_used: Mutex::new(Instant::now()),
        })
    }

    /// The addresses, as the logs show them.
    pub fn shown(&self) -> String {
        let v: Vec<String> = self.candidates.iter().map(|a| a.to_string()).collect();
        v.join(",")
    }

    /// When a scrape last asked for a read.
    pub fn last_used(&self) -> Instant {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A read of chronyd that started no earlier than a few milliseconds
    /// before this call (see [`crate::flight`]), within `deadline`.
    pub async fn read(self: &Arc<Self>, deadline: tokio::time::Instant) -> Arc<Read> {
        let asked = Instant::now();
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = asked;
        let this = self.clone();
        let read = self
            .flights
            .get(deadline, move || async move { this.run(deadline).await })
            .await;
        read.unwrap_or_else(|| {
            Arc::new(Read {
                snapshot: Err(format!(
                    "{}: no report complete by the scrape deadline",
                    self.shown()
                )),
                took: asked.elapsed(),
            })
        })
    }

    /// One read: the kept client (or a new one) of the address that last
    /// answered, then the other addresses in order.
    async fn run(&self, deadline: tokio::time::Instant) -> Read {
        let start = Instant::now();
        let (mut kept, first) = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            (idle.client.take(), idle.preferred)
        };
        let n = self.candidates.len();
        let mut errors = Vec::new();
        for k in 0..n {
            let i = (first + k) % n;
            let address = &self.candidates[i];
            let mut client = match kept.take() {
                Some((j, c)) if j == i => c,
                _ => {
                    let connect = self.builder.connect_async(address.clone());
                    match tokio::time::timeout_at(deadline, connect).await {
                        Ok(Ok(c)) => c,
                        Ok(Err(e)) => {
                            errors.push(e.to_string());
                            continue;
                        }
                        Err(_) => {
                            errors.push(format!(
                                "{address}: connecting took the whole scrape deadline"
                            ));
                            break;
                        }
                    }
                }
            };
            match read_until(&mut client, &self.reports, deadline).await {
                Ok(snap) => {
                    let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                    idle.client = Some((i, client));
                    idle.preferred = i;
                    return Read {
                        snapshot: Ok(snap),
                        took: start.elapsed(),
                    };
                }
                Err(e) => {
                    errors.push(e.text());
                    if matches!(e, ReadError::Deadline(_)) {
                        kept = Some((i, client));
                        break;
                    }
                }
            }
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((i, _)) = &kept {
            // It answered before (its client is kept), only too slowly.
            idle.preferred = *i;
        }
        idle.client = kept;
        drop(idle);
        Read {
            snapshot: Err(errors.join("; ")),
            took: start.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn builder() -> ClientBuilder {
        chrony::Client::builder()
            .timeout(Duration::from_millis(100))
            .concurrency(1)
    }

    /// A UDP port on 127.0.0.1 with nothing bound to it: a datagram sent
    /// there is refused at once.
    fn closed_port() -> std::net::SocketAddr {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_address_is_tried_and_named_in_the_error() {
        let (a, b) = (closed_port(), closed_port());
        let t = Target::new(
            vec![Address::Udp(a), Address::Udp(b)],
            builder(),
            vec!["tracking"],
        );
        let read = t
            .read(tokio::time::Instant::now() + Duration::from_secs(3))
            .await;
        let err = read.snapshot.as_ref().unwrap_err();
        assert!(
            err.contains(&a.to_string()) && err.contains(&b.to_string()),
            "{err}"
        );
        assert_eq!(t.shown(), format!("{a},{b}"));
    }
}
