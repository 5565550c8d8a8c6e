//! Multi-target probing: `/probe?target=HOST[:PORT]` reads a remote
//! chronyd over UDP, blackbox_exporter style.
//!
//! - The target is parsed as the chrony crate parses an address (`IPv4`,
//!   `IPv4:port`, `IPv6`, `[IPv6]:port`, `host`, `host:port`, port 323
//!   when omitted); a socket path or anything else is 400.
//! - `--probe.allow` decides on the target's text, before anything else:
//!   an address literal must lie in one of the CIDRs (a bare address is a
//!   /32 or /128); a host name must be listed by name, exactly or by a
//!   `*.suffix` entry (`*.ntp.example.org` admits `a.ntp.example.org` and
//!   `a.b.ntp.example.org`, not `ntp.example.org`). CIDRs never admit a
//!   name. A refused target is 403 and costs no DNS query, no thread and
//!   no datagram; without `--probe.allow` every `/probe` is 403.
//! - An admitted name is resolved with a bound on concurrent lookups and
//!   the probe's deadline ([`Forward`]); its first address is probed.
//! - Each target has its own [`Scraper`]: one client with one session
//!   (a socket and libchrony's `/dev/urandom`: two descriptors), kept
//!   between probes, single-flight reads. A target not probed for
//!   [`TARGET_TTL`] is dropped with its client, and at most
//!   [`MAX_TARGETS`] are kept (the least recently probed goes first). A
//!   silent target only ever costs its own probe's deadline; running out
//!   of descriptors fails only the probe that needed a new one.

use crate::collector::Collector;
use crate::dns::Forward;
use crate::logging::Limiter;
use crate::metrics::{declare, Out};
use crate::scrape::Scraper;
use crate::target::Target;
use chrony::{Address, ClientBuilder};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Targets whose scraper (and client) are kept; one more drops the least
/// recently probed.
pub const MAX_TARGETS: usize = 4096;

/// A target not probed for this long is dropped with its client (longer
/// than any scrape interval in use, so a fleet never reconnects).
pub const TARGET_TTL: Duration = Duration::from_secs(600);

/// Sessions of a probed target's client: chronyd serves six reports over
/// UDP, a few round trips each on one session, and each session holds two
/// descriptors.
pub const PROBE_SESSIONS: usize = 1;

declare! {
    METRICS;
    PROBE_SUCCESS: Gauge "chrony_probe_success" [] unit "" report "probe" since "" compat false
        "On /probe only: 1 when the target's chronyd answered within the scrape deadline, 0 when it did not (silent, refused, unresolvable, too slow, or no descriptor left for its client).";
    PROBE_DURATION: Gauge "chrony_probe_duration_seconds" [] unit "seconds" report "probe" since "" compat false
        "On /probe only: seconds the probe took (resolving the target, reading its reports, building the metrics).";
}

/// One entry of `--probe.allow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    /// A network: address and prefix length; admits address literals.
    Net(IpAddr, u8),
    /// A host name, lowercase, without a trailing dot.
    Host(String),
    /// `*.SUFFIX`: every name ending in `.SUFFIX` (lowercase).
    Suffix(String),
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
                "--probe.allow {item:?}: not a CIDR (192.0.2.0/24, 2001:db8::/32), an address, a host name or *.DOMAIN"
            )
        };
        if let Some((net, len)) = item.split_once('/') {
            let ip: IpAddr = net.parse().map_err(|_| bad())?;
            let len: u8 = len.parse().map_err(|_| bad())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if len > max {
                return Err(format!("--probe.allow {item:?}: prefix length above {max}"));
            }
            // An IPv4-mapped network (::ffff:a.b.c.d/96 and longer) is the
            // IPv4 network it maps, as its addresses are matched.
            return match (ip, ip.to_canonical()) {
                (IpAddr::V6(_), v4 @ IpAddr::V4(_)) if len >= 96 => {
                    Ok(AllowEntry::Net(v4, len - 96))
                }
                (IpAddr::V6(_), IpAddr::V4(_)) => Err(format!(
                    "--probe.allow {item:?}: an IPv4-mapped network needs a prefix of 96 or more"
                )),
                _ => Ok(AllowEntry::Net(ip, len)),
            };
        }
        if let Ok(ip) = item
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            let ip = ip.to_canonical();
            return Ok(AllowEntry::Net(ip, if ip.is_ipv4() { 32 } else { 128 }));
        }
        let (suffix, name) = match item.strip_prefix("*.") {
            Some(rest) => (true, normalize_name(rest)),
            None => (false, normalize_name(item)),
        };
        if !valid_host_name(&name) || name.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(bad());
        }
        Ok(if suffix {
            AllowEntry::Suffix(name)
        } else {
            AllowEntry::Host(name)
        })
    }

    /// No entry: probing is disabled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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

    /// The host name is listed, or under a `*.suffix` entry (case and a
    /// trailing dot do not matter).
    pub fn allows_name(&self, name: &str) -> bool {
        let name = normalize_name(name);
        self.entries.iter().any(|e| match e {
            AllowEntry::Host(h) => *h == name,
            AllowEntry::Suffix(s) => name
                .strip_suffix(s.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            AllowEntry::Net(..) => false,
        })
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

/// A target the allow list admitted: an address, or a name to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    Addr(SocketAddr),
    Name { host: String, port: u16 },
}

/// The targets probed lately, with their scrapers.
#[derive(Default)]
struct Targets {
    map: HashMap<SocketAddr, Arc<Scraper>>,
    last_sweep: Option<Instant>,
}

/// Probes targets; one per exporter.
pub struct Prober {
    allow: Allow,
    timeout: Duration,
    builder: ClientBuilder,
    collectors: Vec<&'static Collector>,
    forward: Forward,
    limiter: Arc<Limiter>,
    ttl: Duration,
    targets: Mutex<Targets>,
}

impl Prober {
    /// `collectors`: the enabled ones; those chronyd serves only on its Unix
    /// socket are left out (a remote chronyd refuses them over UDP).
    pub fn new(
        allow: Allow,
        timeout: Duration,
        collectors: &[&'static Collector],
        forward: Forward,
        limiter: Arc<Limiter>,
    ) -> Prober {
        Prober {
            allow,
            timeout,
            builder: chrony::Client::builder()
                .deadline(timeout)
                .timeout(timeout.min(Duration::from_secs(1)))
                .concurrency(PROBE_SESSIONS),
            collectors: collectors
                .iter()
                .copied()
                .filter(|c| !c.unix_only)
                .collect(),
            forward,
            limiter,
            ttl: TARGET_TTL,
            targets: Mutex::default(),
        }
    }

    /// Decides on the target's text alone: no DNS, nothing sent.
    pub fn admit(&self, target: &str) -> Result<Admitted, Refusal> {
        if self.allow.is_empty() {
            return Err(Refusal::Forbidden(
                "probing is disabled (no --probe.allow)".into(),
            ));
        }
        let forbidden = || Refusal::Forbidden(format!("target {target:?} is not in --probe.allow"));
        match parse_target(target)? {
            Address::Udp(sa) if self.allow.allows_ip(sa.ip()) => Ok(Admitted::Addr(sa)),
            Address::Host { host, port } if self.allow.allows_name(&host) => {
                Ok(Admitted::Name { host, port })
            }
            Address::Udp(_) | Address::Host { .. } => Err(forbidden()),
            _ => Err(Refusal::BadTarget(format!(
                "target {target:?}: not HOST[:PORT] (UDP only)"
            ))),
        }
    }

    /// The scraper of `sa` (made on its first probe), dropping the targets
    /// not probed for the TTL and, past [`MAX_TARGETS`], the least
    /// recently probed.
    fn scraper(&self, sa: SocketAddr) -> Arc<Scraper> {
        let mut targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if targets
            .last_sweep
            .is_none_or(|t| now.duration_since(t) >= self.ttl.min(Duration::from_secs(60)))
        {
            targets.last_sweep = Some(now);
            let ttl = self.ttl;
            targets
                .map
                .retain(|_, s| now.duration_since(s.target().last_used()) < ttl);
        }
        if let Some(s) = targets.map.get(&sa) {
            return s.clone();
        }
        if targets.map.len() >= MAX_TARGETS {
            let oldest = targets
                .map
                .iter()
                .min_by_key(|(_, s)| s.target().last_used())
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                targets.map.remove(&k);
            }
        }
        let target = Target::new(
            vec![Address::Udp(sa)],
            self.builder.clone(),
            Scraper::reports(&self.collectors),
        );
        let s = Arc::new(Scraper::new(
            target,
            self.collectors.clone(),
            None,
            false,
            self.limiter.clone(),
        ));
        targets.map.insert(sa, s.clone());
        s
    }

    /// How many targets are kept.
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.targets.lock().unwrap().map.len()
    }

    /// One probe of `target` within `budget`: the target's metrics plus
    /// `chrony_probe_success` and `chrony_probe_duration_seconds`, or the
    /// refusal (nothing was resolved or sent then).
    pub async fn probe(&self, target: &str, budget: Duration) -> Result<Out, Refusal> {
        let start = Instant::now();
        let deadline = tokio::time::Instant::now() + budget.min(self.timeout);
        let address = match self.admit(target)? {
            Admitted::Addr(sa) => Ok(sa),
            Admitted::Name { host, port } => self.forward.resolve(&host, port, deadline).await,
        };
        let (mut out, up) = match address {
            Ok(sa) => {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                self.scraper(sa).scrape(left).await
            }
            Err(why) => {
                if let Some(held) = self.limiter.allow(("probe_unresolved", "")) {
                    tracing::warn!(%target, error = %why, held_back = held, "probe target did not resolve");
                }
                let mut out = Out::default();
                out.add(&crate::collector::UP, &[], 0.0);
                (out, false)
            }
        };
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
        assert!(a.allows_name("NTP1.example.org."));
        assert!(!a.allows_name("ntp2.example.org"));
        // A name is admitted by a name entry only, never by a CIDR.
        assert!(!a.allows_name("10.1.2.3"));
        let s = Allow::parse(["*.ntp.Example.org", "pool.example.net"]).unwrap();
        for ok in [
            "a.ntp.example.org",
            "a.b.ntp.example.org",
            "A.NTP.example.org.",
            "pool.example.net",
        ] {
            assert!(s.allows_name(ok), "{ok}");
        }
        for no in [
            "ntp.example.org",
            "xntp.example.org",
            "a.ntp.example.org.evil",
            "example.org",
            "a.pool.example.net",
        ] {
            assert!(!s.allows_name(no), "{no}");
        }
        // An IPv4-mapped network is the IPv4 network it maps.
        let mapped = Allow::parse(["::ffff:10.0.0.0/104", "::ffff:0.0.0.0/96"]).unwrap();
        assert!(mapped.allows_ip("10.1.2.3".parse().unwrap()));
        assert!(mapped.allows_ip("192.0.2.1".parse().unwrap()));
        let mapped = Allow::parse(["::ffff:10.0.0.0/104"]).unwrap();
        assert!(!mapped.allows_ip("11.0.0.1".parse().unwrap()));
        assert!(!mapped.allows_ip("2001:db8::1".parse().unwrap()));
        assert!(Allow::parse(["::ffff:10.0.0.0/80"]).is_err());
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
            "*.",
            "*",
            "**.example.org",
            "*.10.0.0.1",
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

    /// A forward resolver that counts its lookups (each would be DNS
    /// queries) and answers 127.0.0.1.
    fn counting() -> (Forward, Arc<std::sync::atomic::AtomicUsize>) {
        let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = n.clone();
        let f = Forward::with_lookup(Arc::new(move |_: &str, port: u16| {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }));
        (f, n)
    }

    fn prober(allow: &[&str], forward: Forward) -> Prober {
        Prober::new(
            Allow::parse(allow.iter().copied()).unwrap(),
            Duration::from_millis(300),
            &crate::collector::tests::every(),
            forward,
            Arc::default(),
        )
    }

    #[tokio::test]
    async fn refused_targets_cost_no_lookup_and_no_client() {
        let (f, lookups) = counting();
        let p = prober(&[], f.clone());
        assert!(matches!(
            p.probe("127.0.0.1", Duration::from_secs(1)).await,
            Err(Refusal::Forbidden(_))
        ));
        // CIDRs that would hold every address the names resolve to admit
        // no name: refused on the text, nothing resolved.
        let p = prober(&["127.0.0.0/8", "::/0", "*.ntp.example.org"], f);
        for t in [
            "localhost",
            "nowhere.invalid:323",
            "ntp.example.org",
            "x.example.org",
        ] {
            assert!(
                matches!(
                    p.probe(t, Duration::from_secs(1)).await,
                    Err(Refusal::Forbidden(_))
                ),
                "{t}"
            );
        }
        assert!(matches!(
            p.probe("192.0.2.1:323", Duration::from_secs(1)).await,
            Err(Refusal::Forbidden(_))
        ));
        assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(p.kept(), 0);
        assert!(!p.collectors.iter().any(|c| c.unix_only));
        // An admitted name is resolved (once), then probed.
        let out = p
            .probe("a.ntp.example.org:9", Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(out.get(&PROBE_SUCCESS)[0].value, 0.0);
        assert_eq!(p.kept(), 1);
    }

    #[tokio::test]
    async fn a_failed_probe_says_so_in_its_metrics() {
        use crate::metrics::{encode, Format};
        let p = prober(&["127.0.0.0/8"], counting().0);
        // Nothing listens on the discard port: no answer within 300 ms.
        let out = p
            .probe("127.0.0.1:9", Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(out.get(&PROBE_SUCCESS)[0].value, 0.0);
        assert_eq!(out.get(&crate::collector::UP)[0].value, 0.0);
        let took = out.get(&PROBE_DURATION)[0].value;
        assert!(took > 0.0 && took < 5.0, "{took}");
        let text = encode(&out, Format::Text);
        assert!(!text.contains("chrony_exporter_build_info"), "{text}");
        assert!(!text.contains("process_"), "{text}");
        assert_eq!(text.matches("\nchrony_up 0\n").count(), 1, "{text}");
        assert_eq!(p.kept(), 1);
    }

    #[tokio::test]
    async fn targets_not_probed_for_the_ttl_are_dropped() {
        let mut p = prober(&["127.0.0.0/8"], counting().0);
        p.ttl = Duration::from_millis(100);
        let _ = p.probe("127.0.0.1:9", Duration::from_millis(50)).await;
        let _ = p.probe("127.0.0.2:9", Duration::from_millis(50)).await;
        assert_eq!(p.kept(), 2);
        tokio::time::sleep(Duration::from_millis(150)).await;
        // The next probe sweeps: the two idle ones go, its own stays.
        let _ = p.probe("127.0.0.3:9", Duration::from_millis(50)).await;
        assert_eq!(p.kept(), 1);
    }
}
