//! Multi-target probing: `/probe?target=HOST[:PORT]` reads a remote
//! chronyd over UDP, blackbox_exporter style.
//!
//! - The target is parsed as the chrony crate parses an address (`IPv4`,
//!   `IPv4:port`, `IPv6`, `[IPv6]:port`, `host`, `host:port`, port 323
//!   when omitted); a socket path or anything else is 400.
//! - It must match `--probe.allow` before anything is sent: an address
//!   must lie in one of the CIDRs; a host name must be listed by name, or
//!   every address it resolves to must lie in the CIDRs (then the first of
//!   them is probed, so a second resolution cannot swap the address). A
//!   target outside the list is 403 and no datagram is sent; without
//!   `--probe.allow` every `/probe` is 403.
//! - Each target has its own [`Scraper`] (one idle client kept between
//!   scrapes, per-target log of state changes), so a silent target only
//!   ever costs its own scrape deadline: probes run in their own tasks and
//!   never wait for each other.

use crate::collect::Collector;
use crate::metrics::{Out, PROBE_DURATION, PROBE_SUCCESS};
use crate::scrape::Scraper;
use chrony::Address;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Targets whose scraper (and idle client) is kept; one more evicts one.
pub const MAX_TARGETS: usize = 1024;

/// One entry of `--probe.allow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    /// A network: address and prefix length.
    Net(IpAddr, u8),
    /// A host name, lowercase, without a trailing dot.
    Host(String),
}

/// The parsed `--probe.allow` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allow {
    entries: Vec<AllowEntry>,
}

fn valid_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn normalize_name(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

impl Allow {
    /// Parses the values of `--probe.allow` (each may hold several entries
    /// separated by commas; blanks are ignored).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Allow, String> {
        let mut entries = Vec::new();
        for value in values {
            for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                entries.push(Allow::entry(item)?);
            }
        }
        Ok(Allow { entries })
    }

    fn entry(item: &str) -> Result<AllowEntry, String> {
        let bad = || {
            format!(
                "--probe.allow {item:?}: not a CIDR (192.0.2.0/24, 2001:db8::/32), an address or a host name"
            )
        };
        if let Some((net, len)) = item.split_once('/') {
            let ip: IpAddr = net.parse().map_err(|_| bad())?;
            let len: u8 = len.parse().map_err(|_| bad())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if len > max {
                return Err(format!("--probe.allow {item:?}: prefix length above {max}"));
            }
            return Ok(AllowEntry::Net(ip.to_canonical(), len));
        }
        if let Ok(ip) = item
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            let ip = ip.to_canonical();
            return Ok(AllowEntry::Net(ip, if ip.is_ipv4() { 32 } else { 128 }));
        }
        let name = normalize_name(item);
        if valid_host_name(&name) && !name.chars().all(|c| c.is_ascii_digit() || c == '.') {
            Ok(AllowEntry::Host(name))
        } else {
            Err(bad())
        }
    }

    /// No entry: probing is disabled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn has_networks(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, AllowEntry::Net(..)))
    }

    /// The address lies in one of the networks.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.entries.iter().any(|e| match (e, ip) {
            (AllowEntry::Net(IpAddr::V4(net), len), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), *len)
            }
            (AllowEntry::Net(IpAddr::V6(net), len), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), *len)
            }
            _ => false,
        })
    }

    /// The host name is listed (case and a trailing dot do not matter).
    pub fn allows_name(&self, name: &str) -> bool {
        let name = normalize_name(name);
        self.entries
            .iter()
            .any(|e| matches!(e, AllowEntry::Host(h) if *h == name))
    }
}

fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let full = usize::from(len / 8);
    let rest = len % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

/// Why a probe request was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: no target, or not a UDP address.
    BadTarget(String),
    /// 403: outside `--probe.allow`, or probing disabled.
    Forbidden(String),
}

/// The `target` parameter of a query string, percent-decoded.
pub fn target_param(query: Option<&str>) -> Result<String, Refusal> {
    let mut found = None;
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "target" {
            if found.is_some() {
                return Err(Refusal::BadTarget("target given twice".into()));
            }
            found = Some(percent_decode(v).ok_or_else(|| {
                Refusal::BadTarget("target is not valid UTF-8 percent-encoding".into())
            })?);
        }
    }
    match found {
        Some(t) if !t.trim().is_empty() => Ok(t),
        _ => Err(Refusal::BadTarget("missing ?target=HOST[:PORT]".into())),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a target: a UDP address or a host name with its port.
pub fn parse_target(target: &str) -> Result<Address, Refusal> {
    let bad = |why: String| Refusal::BadTarget(format!("target {target:?}: {why}"));
    if target.len() > 300 || target.contains(['/', ' ', '\0']) {
        return Err(bad("not HOST[:PORT] (UDP only)".into()));
    }
    let address = Address::parse(target).map_err(|e| bad(e.to_string()))?;
    match &address {
        Address::Udp(_) => Ok(address),
        Address::Host { host, .. } if valid_host_name(&normalize_name(host)) => Ok(address),
        _ => Err(bad("not HOST[:PORT] (UDP only)".into())),
    }
}

/// Probes targets; one per exporter.
pub struct Prober {
    allow: Allow,
    timeout: Duration,
    concurrency: usize,
    collectors: Vec<Collector>,
    targets: Mutex<HashMap<SocketAddr, Arc<Scraper>>>,
}

impl Prober {
    /// `collectors`: the enabled ones; those chronyd serves only on its Unix
    /// socket are left out (a remote chronyd refuses them over UDP).
    pub fn new(
        allow: Allow,
        timeout: Duration,
        concurrency: usize,
        collectors: &[Collector],
    ) -> Prober {
        Prober {
            allow,
            timeout,
            concurrency,
            collectors: collectors
                .iter()
                .copied()
                .filter(|c| !c.unix_only())
                .collect(),
            targets: Mutex::new(HashMap::new()),
        }
    }

    /// Checks `target` against the allow list and resolves it (within
    /// `deadline`): the address to probe, or why not. `Ok(Err(msg))`: the
    /// target is allowed by name but did not resolve.
    async fn admit(
        &self,
        target: &str,
        deadline: tokio::time::Instant,
    ) -> Result<Result<SocketAddr, String>, Refusal> {
        if self.allow.is_empty() {
            return Err(Refusal::Forbidden(
                "probing is disabled (no --probe.allow)".into(),
            ));
        }
        let forbidden = || Refusal::Forbidden(format!("target {target:?} is not in --probe.allow"));
        match parse_target(target)? {
            Address::Udp(sa) => {
                if self.allow.allows_ip(sa.ip()) {
                    Ok(Ok(sa))
                } else {
                    Err(forbidden())
                }
            }
            Address::Host { host, port } => {
                let by_name = self.allow.allows_name(&host);
                if !by_name && !self.allow.has_networks() {
                    return Err(forbidden());
                }
                let resolved = tokio::time::timeout_at(
                    deadline,
                    tokio::net::lookup_host((host.as_str(), port)),
                )
                .await;
                let addrs: Vec<SocketAddr> = match resolved {
                    Ok(Ok(a)) => a.collect(),
                    Ok(Err(e)) if by_name => return Ok(Err(format!("cannot resolve {host}: {e}"))),
                    Err(_) if by_name => {
                        return Ok(Err(format!("resolving {host} took the whole deadline")))
                    }
                    _ => return Err(forbidden()),
                };
                if by_name {
                    return match addrs.first() {
                        Some(a) => Ok(Ok(*a)),
                        None => Ok(Err(format!("{host} has no address"))),
                    };
                }
                if !addrs.is_empty() && addrs.iter().all(|a| self.allow.allows_ip(a.ip())) {
                    Ok(Ok(addrs[0]))
                } else {
                    Err(forbidden())
                }
            }
            _ => Err(Refusal::BadTarget(format!(
                "target {target:?}: not HOST[:PORT] (UDP only)"
            ))),
        }
    }

    fn scraper(&self, sa: SocketAddr) -> Arc<Scraper> {
        let mut targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = targets.get(&sa) {
            return s.clone();
        }
        if targets.len() >= MAX_TARGETS {
            if let Some(k) = targets.keys().next().copied() {
                targets.remove(&k);
            }
        }
        let s = Arc::new(Scraper::with_pool(
            sa.to_string(),
            self.timeout,
            self.concurrency,
            self.collectors.clone(),
            None,
            1,
            false,
        ));
        targets.insert(sa, s.clone());
        s
    }

    /// One probe of `target` within `budget`: the target's metrics plus
    /// `chrony_probe_success` and `chrony_probe_duration_seconds`, or the
    /// refusal (nothing was sent then).
    pub async fn probe(&self, target: &str, budget: Duration) -> Result<Out, Refusal> {
        let start = Instant::now();
        let deadline = tokio::time::Instant::now() + budget;
        let (mut out, up) = match self.admit(target, deadline).await? {
            Ok(sa) => {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                self.scraper(sa).scrape_up(left).await
            }
            Err(why) => {
                tracing::debug!(target = %target, error = %why, "probe failed");
                (Out::default(), false)
            }
        };
        if !up {
            // A target that never resolved has no scraper: chrony_up 0 all the same.
            out.add(&crate::metrics::UP, &[], 0.0);
        }
        out.add(&PROBE_SUCCESS, &[], if up { 1.0 } else { 0.0 });
        out.add(&PROBE_DURATION, &[], start.elapsed().as_secs_f64());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_parses_and_matches() {
        let a = Allow::parse([
            "10.0.0.0/8, 192.0.2.7",
            "2001:db8::/32",
            "NTP1.Example.org.",
        ])
        .unwrap();
        assert!(a.allows_ip("10.1.2.3".parse().unwrap()));
        assert!(a.allows_ip("192.0.2.7".parse().unwrap()));
        assert!(!a.allows_ip("192.0.2.8".parse().unwrap()));
        assert!(!a.allows_ip("11.0.0.1".parse().unwrap()));
        assert!(a.allows_ip("2001:db8:1::5".parse().unwrap()));
        assert!(!a.allows_ip("2001:db9::5".parse().unwrap()));
        // IPv4-mapped IPv6 is the IPv4 address.
        assert!(a.allows_ip("::ffff:10.9.9.9".parse().unwrap()));
        assert!(a.allows_name("ntp1.example.org"));
        assert!(!a.allows_name("ntp2.example.org"));
        let odd = Allow::parse(["172.16.0.0/12"]).unwrap();
        assert!(odd.allows_ip("172.31.255.255".parse().unwrap()));
        assert!(!odd.allows_ip("172.32.0.0".parse().unwrap()));
        assert!(Allow::parse([""]).unwrap().is_empty());
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/x",
            "bad name",
            "-x.org",
            "1.2.3.4.5",
        ] {
            assert!(Allow::parse([bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_parse() {
        assert_eq!(
            parse_target("192.0.2.1").unwrap(),
            Address::Udp("192.0.2.1:323".parse().unwrap())
        );
        assert_eq!(
            parse_target("[2001:db8::1]:5323").unwrap(),
            Address::Udp("[2001:db8::1]:5323".parse().unwrap())
        );
        assert!(matches!(
            parse_target("ntp.example.org:1323").unwrap(),
            Address::Host { port: 1323, .. }
        ));
        for bad in [
            "/run/chrony/chronyd.sock",
            "unix:///x",
            "host:port",
            "a b",
            "",
            "x..y",
        ] {
            assert!(
                matches!(parse_target(bad), Err(Refusal::BadTarget(_))),
                "{bad}"
            );
        }
        assert_eq!(
            target_param(Some("target=%5B%3A%3A1%5D%3A323")).unwrap(),
            "[::1]:323"
        );
        assert!(target_param(Some("module=x")).is_err());
        assert!(target_param(None).is_err());
        assert!(target_param(Some("target=a&target=b")).is_err());
        assert!(target_param(Some("target=%zz")).is_err());
    }

    #[tokio::test]
    async fn refusals_come_before_anything_is_sent() {
        let p = Prober::new(Allow::default(), Duration::from_secs(1), 1, &Collector::ALL);
        assert!(matches!(
            p.probe("127.0.0.1", Duration::from_secs(1)).await,
            Err(Refusal::Forbidden(_))
        ));
        let p = Prober::new(
            Allow::parse(["192.0.2.0/24"]).unwrap(),
            Duration::from_secs(1),
            1,
            &Collector::ALL,
        );
        assert!(matches!(
            p.probe("127.0.0.1:323", Duration::from_secs(1)).await,
            Err(Refusal::Forbidden(_))
        ));
        // Not listed by name, and "localhost" resolves outside the networks.
        assert!(matches!(
            p.probe("localhost", Duration::from_secs(1)).await,
            Err(Refusal::Forbidden(_))
        ));
        assert!(p.targets.lock().unwrap().is_empty());
        assert!(!p.collectors.iter().any(|c| c.unix_only()));
    }

    #[tokio::test]
    async fn a_failed_probe_says_so_in_its_metrics() {
        use crate::metrics::{encode, Format};
        let p = Prober::new(
            Allow::parse(["127.0.0.0/8"]).unwrap(),
            Duration::from_millis(300),
            1,
            &Collector::ALL,
        );
        // Nothing listens on the discard port: no answer within 300 ms.
        let out = p
            .probe("127.0.0.1:9", Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(out.get(&PROBE_SUCCESS)[0].value, 0.0);
        assert_eq!(out.get(&crate::metrics::UP)[0].value, 0.0);
        let took = out.get(&PROBE_DURATION)[0].value;
        assert!(took > 0.0 && took < 5.0, "{took}");
        let text = encode(&out, Format::Text);
        assert!(!text.contains("chrony_exporter_build_info"), "{text}");
        assert_eq!(text.matches("\nchrony_up 0\n").count(), 1, "{text}");
        assert_eq!(p.targets.lock().unwrap().len(), 1);
    }
}
