//! Reverse DNS names for `source_name` (`--collector.dns-lookups`).
//!
//! Names are cached for a TTL (also a failed lookup, so an address without
//! a name costs one lookup per TTL). A scrape waits for missing names only
//! until its deadline: a lookup still running then goes on in the
//! background and fills the cache for later scrapes, and the address is its
//! own name meanwhile. At most [`MAX_IN_FLIGHT`] lookups run at once, one
//! per address.

use crate::collect::Names;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
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

/// A cached, bounded reverse resolver.
#[derive(Clone)]
pub struct Resolver {
    ttl: Duration,
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
    pub fn new(ttl: Duration) -> Resolver {
        Resolver {
            ttl,
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
                Ok(permit) => tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    lookup(ip)
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
