//! Names: reverse DNS for `source_name` (`--collector.dns-lookups`,
//! [`Resolver`]) and the forward resolution of `/probe` targets given by
//! name ([`Forward`]). Both run the system's resolver (getnameinfo,
//! getaddrinfo: blocking calls) on tokio's blocking threads, a bounded
//! number at once, never on a runtime worker.
//!
//! Reverse names:
//! Names are cached for a TTL (also a failed lookup, so an address without
//! a name costs one lookup per TTL). A scrape waits for missing names only
//! until its deadline: a lookup still running then goes on in the
//! background and fills the cache for later scrapes, and the address is its
//! own name meanwhile. At most [`MAX_IN_FLIGHT`] lookups run at once, one
//! per address.
//!
//! Tested here (the resolver against /etc/hosts, a slow fake lookup) and
//! end to end through the container image in `scripts/docker-packaging`
//! (names from the exporter container's /etc/hosts, none without the flag).

use crate::collector::Names;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

pub const MAX_IN_FLIGHT: usize = 16;

struct Entry {
    name: Option<String>,
    expires: Instant,
}

#[derive(Default)]
struct State {
    cache: HashMap<IpAddr, Entry>,
    pending: HashSet<IpAddr>,
}

type Lookup = Arc<dyn Fn(IpAddr) -> Option<String> + Send + Sync>;

/// A cached, bounded reverse resolver.
#[derive(Clone)]
pub struct Resolver {
    ttl: Duration,
    lookup: Lookup,
    state: Arc<Mutex<State>>,
    done: Arc<Notify>,
    slots: Arc<Semaphore>,
}

fn lookup(ip: IpAddr) -> Option<String> {
    let name = dns_lookup::lookup_addr(&ip).ok()?;
    let name = name.trim_end_matches('.').to_string();
    // getnameinfo gives the numeric form back when there is no name.
    (!name.is_empty() && name.parse::<IpAddr>().is_err()).then_some(name)
}

impl Resolver {
    /// Resolves with the system's resolver (getnameinfo: /etc/hosts, DNS,
    /// as nsswitch.conf says).
    pub fn new(ttl: Duration) -> Resolver {
        Resolver::with_lookup(ttl, Arc::new(lookup))
    }

    fn with_lookup(ttl: Duration, lookup: Lookup) -> Resolver {
        Resolver {
            ttl,
            lookup,
            state: Arc::default(),
            done: Arc::new(Notify::new()),
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// The names of `addresses` known by `deadline`.
    pub async fn names(&self, addresses: &[IpAddr], deadline: tokio::time::Instant) -> Names {
        loop {
            // Registered before reading the state, so no completion is missed.
            let notified = self.done.notified();
            let mut names = Names::new();
            let mut missing = false;
            {
                let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                for &ip in addresses {
                    match st.cache.get(&ip) {
                        Some(e) if e.expires > now => {
                            if let Some(n) = &e.name {
                                names.insert(ip, n.clone());
                            }
                        }
                        _ => {
                            missing = true;
                            if st.pending.insert(ip) {
                                self.start(ip);
                            }
                        }
                    }
                }
            }
            if !missing {
                return names;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return names;
            }
        }
    }

    fn start(&self, ip: IpAddr) {
        let this = self.clone();
        tokio::spawn(async move {
            let name = match this.slots.clone().acquire_owned().await {
                Ok(permit) => tokio::task::spawn_blocking({
                    let lookup = this.lookup.clone();
                    move || {
                        let _permit = permit;
                        lookup(ip)
                    }
                })
                .await
                .unwrap_or(None),
                Err(_) => None,
            };
            {
                let mut st = this.state.lock().unwrap_or_else(|e| e.into_inner());
                st.pending.remove(&ip);
                st.cache.insert(
                    ip,
                    Entry {
                        name,
                        expires: Instant::now() + this.ttl,
                    },
                );
                // Forget long-expired entries (sources that went away).
                let now = Instant::now();
                st.cache.retain(|_, e| e.expires + this.ttl > now);
            }
            this.done.notify_waiters();
        });
    }
}

/// How many forward resolutions of probe targets run at once.
pub const MAX_FORWARD: usize = 8;

type ForwardLookup = Arc<dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync>;

/// Resolves host-name targets of `/probe` that the allow list admitted:
/// at most [`MAX_FORWARD`] at once, each within the probe's deadline (a
/// lookup still running then holds its place until it ends, so the bound
/// holds however slow the DNS is).
#[derive(Clone)]
pub struct Forward {
    lookup: ForwardLookup,
    slots: Arc<Semaphore>,
}

fn forward_lookup(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    Ok((host, port).to_socket_addrs()?.collect())
}

impl Forward {
    /// With the system's resolver (getaddrinfo).
    pub fn new() -> Forward {
        Forward::with_lookup(Arc::new(forward_lookup))
    }

    /// With `lookup` in place of the system's resolver.
    pub fn with_lookup(lookup: ForwardLookup) -> Forward {
        Forward {
            lookup,
            slots: Arc::new(Semaphore::new(MAX_FORWARD)),
        }
    }

    /// The first address of `host`, or why there is none by `deadline`.
    pub async fn resolve(
        &self,
        host: &str,
        port: u16,
        deadline: tokio::time::Instant,
    ) -> Result<SocketAddr, String> {
        let late = || format!("resolving {host} took the whole deadline");
        let permit = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| late())?
            .map_err(|_| "the resolver is closed".to_string())?;
        let (lookup, name) = (self.lookup.clone(), host.to_string());
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            lookup(&name, port)
        });
        match tokio::time::timeout_at(deadline, job).await {
            Ok(Ok(Ok(addrs))) => addrs
                .into_iter()
                .next()
                .ok_or_else(|| format!("{host} has no address")),
            Ok(Ok(Err(e))) => Err(format!("cannot resolve {host}: {e}")),
            Ok(Err(_)) => Err(format!("resolving {host} failed")),
            Err(_) => Err(late()),
        }
    }
}

impl Default for Forward {
    fn default() -> Self {
        Forward::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn soon(ms: u64) -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_millis(ms)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn names_from_etc_hosts() {
        // 127.0.0.1 is "localhost" in /etc/hosts (nsswitch: files first);
        // no DNS server is asked.
        let r = Resolver::new(Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let names = r.names(&[ip], soon(5000)).await;
        assert_eq!(names.get(&ip).map(String::as_str), Some("localhost"));
    }

    /// A lookup that takes `delay` and counts its calls and the most that
    /// ran at once.
    fn slow(delay: Duration) -> (Lookup, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (c, r, p) = (calls.clone(), running.clone(), peak.clone());
        let f: Lookup = Arc::new(move |ip: IpAddr| {
            c.fetch_add(1, Ordering::SeqCst);
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(delay);
            r.fetch_sub(1, Ordering::SeqCst);
            Some(format!("host-{ip}"))
        });
        (f, calls, peak)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_lookups_stay_inside_the_deadline_and_fill_the_cache() {
        // A lookup far longer than the scrape's deadline: the scrape ends
        // at its deadline, long before the lookup would.
        let (f, calls, _) = slow(Duration::from_millis(3000));
        let r = Resolver::with_lookup(Duration::from_secs(60), f);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        let names = r.names(&[ip], soon(100)).await;
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "{:?}",
            start.elapsed()
        );
        assert!(names.is_empty(), "no name before the lookup ends");
        // A second scrape meanwhile starts no second lookup.
        let _ = r.names(&[ip], soon(50)).await;
        // A scrape with time enough gets the name when the lookup ends...
        let names = r.names(&[ip], soon(10_000)).await;
        assert_eq!(names.get(&ip).map(String::as_str), Some("host-192.0.2.1"));
        // ...and the next one from the cache at once: without it, this one
        // would start a new 3 s lookup.
        let start = Instant::now();
        let names = r.names(&[ip], soon(10_000)).await;
        assert!(start.elapsed() < Duration::from_millis(1500));
        assert_eq!(names.get(&ip).map(String::as_str), Some("host-192.0.2.1"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_ttl_expires_and_lookups_are_bounded() {
        let (f, calls, peak) = slow(Duration::from_millis(50));
        // A TTL far longer than the 40 lookups take, even on a busy machine.
        let r = Resolver::with_lookup(Duration::from_secs(3), f);
        let ips: Vec<IpAddr> = (1..=40).map(|i| IpAddr::from([198, 51, 100, i])).collect();
        let names = r.names(&ips, soon(5000)).await;
        assert_eq!(names.len(), 40);
        assert!(peak.load(Ordering::SeqCst) <= MAX_IN_FLIGHT);
        assert_eq!(calls.load(Ordering::SeqCst), 40);
        // Cached within the TTL...
        let _ = r.names(&ips[..1], soon(1000)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 40);
        // ...and looked up again after it.
        tokio::time::sleep(Duration::from_millis(3100)).await;
        let names = r.names(&ips[..1], soon(1000)).await;
        assert_eq!(names.len(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 41);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forward_lookups_are_bounded_in_number_and_time() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let f = Forward::with_lookup(Arc::new(move |_: &str, port: u16| {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            // Far longer than the probes' deadline.
            std::thread::sleep(Duration::from_millis(1200));
            r.fetch_sub(1, Ordering::SeqCst);
            Ok(vec![SocketAddr::from(([192, 0, 2, 1], port))])
        }));
        let start = Instant::now();
        let all: Vec<_> = (0..20)
            .map(|_| {
                let f = f.clone();
                tokio::spawn(async move { f.resolve("ntp.example", 323, soon(150)).await })
            })
            .collect();
        for t in all {
            let e = t.await.unwrap().unwrap_err();
            assert!(e.contains("whole deadline"), "{e}");
        }
        // The probes gave up at their deadline, not after a lookup.
        assert!(start.elapsed() < Duration::from_millis(1000));
        // Still at most MAX_FORWARD in the resolver, also after the probes
        // gave up.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(peak.load(Ordering::SeqCst) <= MAX_FORWARD, "{peak:?}");
        // The given-up lookups end in their turn; then a probe with time
        // enough is answered.
        let got = f.resolve("ntp.example", 4123, soon(10_000)).await.unwrap();
        assert_eq!(got, SocketAddr::from(([192, 0, 2, 1], 4123)));
    }
}
