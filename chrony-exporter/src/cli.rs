//! Command line, shaped like chrony_exporter's (kingpin and
//! exporter-toolkit): `--flag value` and `--flag=value`, a `--no-FLAG`
//! for every switch (the last of the two wins), Go durations (`1h30m`,
//! `500ms`), `--help-long` and `--help-man`.

use crate::collector::{Collector, COLLECTORS};
use chrony::Address;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::time::Duration;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// What `--help-long` and `--help-man` ask for instead of running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Print {
    LongHelp,
    ManPage,
    MetricsReference,
}

/// A `--web.listen-address`: a host (name or address; none for every
/// interface) and a port, resolved when the listener is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub host: Option<String>,
    pub port: u16,
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            Some(h) if h.contains(':') => write!(f, "[{h}]:{}", self.port),
            Some(h) => write!(f, "{h}:{}", self.port),
            None => write!(f, ":{}", self.port),
        }
    }
}

/// The addresses tried when `--chrony.address` is not given, in order:
/// chronyd's command port on the IPv4 loopback, then the IPv6 one, as
/// chronyc tries them for UDP (so IPv4-only and dual-stack hosts both
/// work).
pub const DEFAULT_ADDRESSES: [&str; 2] = ["127.0.0.1:323", "[::1]:323"];

/// The parsed, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// chronyd: one Unix socket, or UDP addresses tried in order.
    pub chrony_addresses: Vec<Address>,
    pub unix: bool,
    pub chrony_timeout: Duration,
    pub chrony_concurrency: usize,
    /// `--web.listen-address`, repeatable: one listener each.
    pub listen: Vec<Listen>,
    pub telemetry_path: String,
    pub log_level: tracing::Level,
    pub log_format: LogFormat,
    pub collectors: Vec<&'static Collector>,
    pub dns_lookups: bool,
    pub dns_ttl: Duration,
    pub max_connections: usize,
    /// `--web.disable-compression`: never gzip, whatever the scraper accepts.
    pub disable_compression: bool,
    /// `--help-long`, `--help-man` (and the README's reference).
    pub print: Option<Print>,
    /// `--probe.allow`: empty = `/probe` disabled.
    pub probe_allow: crate::probe::Allow,
    /// `--web.config.file`: TLS and basic auth (exporter-toolkit format).
    pub web_config_file: Option<std::path::PathBuf>,
    /// `--web.systemd-socket`: the listener from socket activation.
    pub systemd_socket: bool,
    /// `--once`: one scrape written to `output` (or stdout), then exit.
    pub once: bool,
    pub output: Option<std::path::PathBuf>,
    /// chrony_exporter's `--collector.clients` was given: libchrony has no
    /// clients report, so it is warned about at start.
    pub clients_requested: bool,
}

/// Adds `--NAME` and `--no-NAME` (kingpin's `--[no-]NAME`), the last one
/// given winning; `--no-NAME` is listed in the help when `show_no`.
fn switch(cmd: Command, name: &str, help: String, no_help: Option<String>) -> Command {
    let off = format!("no-{name}");
    let show_no = no_help.is_some();
    cmd.arg(
        Arg::new(name.to_string())
            .long(name.to_string())
            .action(ArgAction::SetTrue)
            .overrides_with(off.clone())
            .help(help),
    )
    .arg(
        Arg::new(off.clone())
            .long(off)
            .action(ArgAction::SetTrue)
            .overrides_with(name.to_string())
            .help(no_help.unwrap_or_default())
            .hide(!show_no),
    )
}

/// The switch's value: `Some(true)` for `--NAME`, `Some(false)` for
/// `--no-NAME`, `None` when neither was given.
fn switched(m: &ArgMatches, name: &str) -> Option<bool> {
    if m.get_flag(name) {
        Some(true)
    } else if m.get_flag(&format!("no-{name}")) {
        Some(false)
    } else {
        None
    }
}

pub fn command() -> Command {
    let mut cmd = Command::new("chrony-exporter")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Prometheus exporter for chronyd: all ten monitoring reports through libchrony")
        .arg(
            Arg::new("chrony.address")
                .long("chrony.address")
                .value_name("ADDRESS")
                .help("chronyd's command socket: unix:///path/to/chronyd.sock, or HOST[:PORT] over UDP; several UDP addresses separated by commas are tried in order, the first that answers is used [default: 127.0.0.1:323, then [::1]:323, as chronyc tries them]"),
        )
        .arg(
            Arg::new("chrony.timeout")
                .long("chrony.timeout")
                .value_name("DURATION")
                .default_value("5s")
                .value_parser(parse_duration)
                .help("Upper bound of one scrape's read of chronyd (a Go duration: 5s, 500ms, 1m30s); a shorter Prometheus scrape timeout lowers it"),
        )
        .arg(
            Arg::new("chrony.concurrency")
                .long("chrony.concurrency")
                .value_name("N")
                .default_value("8")
                .value_parser(clap::value_parser!(u32).range(1..=chrony::MAX_CONCURRENCY as i64))
                .help("Requests of one read of --chrony.address in flight at once (sessions of its client); more hides more round trips of a remote chronyd. /probe targets use one session each"),
        )
        .arg(
            Arg::new("web.listen-address")
                .long("web.listen-address")
                .value_name("ADDRESS")
                .default_value(":9123")
                .action(ArgAction::Append)
                .value_parser(parse_listen)
                .help("Address to listen on for HTTP: HOST:PORT (a name listens on its first IPv4 address, else its first address), [IPV6]:PORT, or :PORT for all interfaces; repeatable, one listener each"),
        )
        .arg(
            Arg::new("web.telemetry-path")
                .long("web.telemetry-path")
                .value_name("PATH")
                .default_value("/metrics")
                .value_parser(parse_path)
                .help("Path under which to expose metrics"),
        )
        .arg(
            Arg::new("web.max-connections")
                .long("web.max-connections")
                .value_name("N")
                .default_value("256")
                .value_parser(clap::value_parser!(u32).range(1..=65536))
                .help("HTTP connections served at once; a new one beyond it takes the place of one with no request in progress (it is closed only when every connection has one)"),
        )
        .arg(
            Arg::new("log.level")
                .long("log.level")
                .value_name("LEVEL")
                .default_value("info")
                .value_parser(["debug", "info", "warn", "error"])
                .help("Only log messages with this severity or above"),
        )
        .arg(
            Arg::new("log.format")
                .long("log.format")
                .value_name("FORMAT")
                .default_value("logfmt")
                .value_parser(["logfmt", "json"])
                .help("Output format of log messages"),
        )
        .arg(
            Arg::new("collector.dns-cache-ttl")
                .long("collector.dns-cache-ttl")
                .value_name("DURATION")
                .default_value("5m")
                .value_parser(parse_duration)
                .help("How long a reverse DNS answer (or its absence) is kept (a Go duration)"),
        )
        .arg(
            Arg::new("web.config.file")
                .long("web.config.file")
                .value_name("PATH")
                .help("Web configuration (exporter-toolkit format): TLS (tls_server_config), HTTP (http_server_config: headers, http2), basic auth (basic_auth_users) and rate_limit; reloaded on SIGHUP; empty for none"),
        )
        .arg(
            Arg::new("output")
                .long("output")
                .value_name("PATH")
                .requires("once")
                .value_parser(clap::value_parser!(std::path::PathBuf))
                .help("With --once: the file to write atomically (a temporary file in the same directory, renamed), e.g. for node_exporter's textfile collector (name it *.prom)"),
        )
        .arg(
            Arg::new("probe.allow")
                .long("probe.allow")
                .value_name("CIDR|HOST|*.DOMAIN,...")
                .action(ArgAction::Append)
                .help("Targets /probe?target=HOST[:PORT] may read over UDP: CIDRs and addresses admit address targets, host names (exact, or *.DOMAIN for every name under DOMAIN) admit name targets; decided before any DNS query; repeatable and comma separated [default: none, /probe answers 403]"),
        )
        .arg(
            Arg::new("help-long")
                .long("help-long")
                .action(ArgAction::SetTrue)
                .help("Print the long help and exit"),
        )
        .arg(
            Arg::new("help-man")
                .long("help-man")
                .action(ArgAction::SetTrue)
                .help("Print a man page (troff) and exit"),
        )
        .arg(
            Arg::new("print-metrics-reference")
                .long("print-metrics-reference")
                .action(ArgAction::SetTrue)
                .hide(true),
        );
    cmd = switch(
        cmd,
        "collector.dns-lookups",
        "Name sources (source_name, tracking_name) by reverse DNS, cached, within the scrape deadline [default: off]".into(),
        None,
    );
    cmd = switch(
        cmd,
        "web.disable-compression",
        "Never gzip metrics (by default they are when the scraper accepts gzip, as Prometheus does)".into(),
        None,
    );
    cmd = switch(
        cmd,
        "web.systemd-socket",
        "Serve the sockets systemd passes (socket activation, LISTEN_FDS) instead of --web.listen-address".into(),
        None,
    );
    cmd = switch(
        cmd,
        "once",
        "Scrape chronyd once, write the metrics (Prometheus text 0.0.4) to --output or stdout and exit: 0 when chronyd answered, 1 when it did not (chrony_up 0 is still written) or the file could not be written".into(),
        None,
    );
    // chrony_exporter's switches with no report of their own here, so that
    // its command lines start unchanged.
    cmd = switch(
        cmd,
        "collector.sources.with-ntpdata",
        "chrony_exporter's name for --collector.ntpdata (which wins when both are given): the ntpdata report, with chrony_exporter's chrony_sources_peer_* names among its series".into(),
        Some("chrony_exporter's name for --no-collector.ntpdata".into()),
    );
    cmd = switch(
        cmd,
        "collector.chmod-socket",
        "Accepted for chrony_exporter's command lines; always done: the client socket is mode 0666 in a 0711 directory, as libchrony makes it, so chronyd can answer an exporter running as another user".into(),
        None,
    );
    cmd = switch(
        cmd,
        "collector.clients",
        "Accepted for chrony_exporter's command lines: libchrony has no clients report, so this logs a warning at start and exports nothing".into(),
        None,
    );
    for c in COLLECTORS {
        let default = if c.unix_only {
            "default: on with a unix:// address, off over UDP (chronyd serves it on its Unix socket only)"
        } else {
            "default: on"
        };
        cmd = switch(
            cmd,
            &format!("collector.{}", c.name),
            format!("Collect the {0} report (chronyc {0}) [{default}]", c.name),
            Some(format!("Do not collect the {} report", c.name)),
        );
    }
    cmd
}

/// A Go duration (`time.ParseDuration`, as kingpin reads one): a sequence
/// of decimal numbers with a unit each (`ns`, `us`, `µs`, `ms`, `s`, `m`,
/// `h`: `1h30m`, `1.5s`, `300ms`), optionally signed; `0` alone; also a
/// plain number of seconds. The value in seconds.
pub fn parse_go_duration(s: &str) -> Result<f64, String> {
    let bad = || format!("not a duration: {s:?} (use e.g. 5s, 500ms, 1m30s)");
    let t = s.trim();
    if let Ok(v) = t.parse::<f64>() {
        return if v.is_finite() { Ok(v) } else { Err(bad()) };
    }
    let (sign, mut rest) = match t.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(digits);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(bad());
        }
        let value: f64 = number.parse().map_err(|_| bad())?;
        let (scale, len) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("μs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .iter()
        .find(|(unit, _)| tail.starts_with(unit))
        .map(|(unit, scale)| (*scale, unit.len()))
        .ok_or_else(bad)?;
        total += value * scale;
        rest = &tail[len..];
    }
    Ok(sign * total)
}

/// A positive Go duration of at most 24 hours.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let secs = parse_go_duration(s)?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "duration {s:?} out of range (above 0, at most 24h)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_listen(s: &str) -> Result<Listen, String> {
    let bad = || format!("not a listen address: {s:?} (use HOST:PORT, [IPV6]:PORT or :PORT)");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = if host.is_empty() {
        None
    } else if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        Some(v6.to_string())
    } else if host.contains(':') {
        return Err(bad());
    } else if host.parse::<std::net::Ipv4Addr>().is_ok()
        || (host.len() <= 253
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }))
    {
        Some(host.to_string())
    } else {
        return Err(bad());
    };
    Ok(Listen { host, port })
}

fn parse_path(s: &str) -> Result<String, String> {
    if s.starts_with('/') && s.len() > 1 && !s.contains(['?', '#', ' ']) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "not a path: {s:?} (must start with / and not be /)"
        ))
    }
}

/// `--chrony.address`: a `unix://` socket, or UDP addresses separated by
/// commas; whether it is a socket.
pub fn chrony_addresses(s: &str) -> Result<(Vec<Address>, bool), String> {
    if let Some(path) = s.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(format!(
                "--chrony.address {s:?}: a unix:// address needs an absolute path (unix:///run/chrony/chronyd.sock)"
            ));
        }
        return match Address::parse(path) {
            Ok(a @ Address::Unix(_)) => Ok((vec![a], true)),
            Ok(_) => Err(format!("--chrony.address {s:?}: not a valid address")),
            Err(e) => Err(format!("--chrony.address {s:?}: {e}")),
        };
    }
    let mut addresses = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!("--chrony.address {s:?}: an empty address"));
        }
        if part.starts_with('/') || part.starts_with("unix://") {
            return Err(format!(
                "--chrony.address {s:?}: write a socket path as unix:///path, and alone"
            ));
        }
        match Address::parse(part) {
            Ok(Address::Unix(_)) => {
                return Err(format!("--chrony.address {s:?}: not a valid address"))
            }
            Ok(a) => addresses.push(a),
            Err(e) => return Err(format!("--chrony.address {s:?}: {e}")),
        }
    }
    Ok((addresses, false))
}

pub fn config(m: &ArgMatches) -> Result<Config, String> {
    let (chrony_addresses, unix) = match m.get_one::<String>("chrony.address") {
        Some(raw) => chrony_addresses(raw)?,
        None => chrony_addresses(&DEFAULT_ADDRESSES.join(","))?,
    };
    let mut collectors = Vec::new();
    for c in COLLECTORS {
        let mut on = switched(m, &format!("collector.{}", c.name));
        if c.name == "ntpdata" && on.is_none() {
            on = switched(m, "collector.sources.with-ntpdata");
        }
        if on.unwrap_or(!c.unix_only || unix) {
            collectors.push(c);
        }
    }
    let level = match m.get_one::<String>("log.level").map(String::as_str) {
        Some("debug") => tracing::Level::DEBUG,
        Some("warn") => tracing::Level::WARN,
        Some("error") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    let log_format = match m.get_one::<String>("log.format").map(String::as_str) {
        Some("json") => LogFormat::Json,
        _ => LogFormat::Logfmt,
    };
    let probe_allow = crate::probe::Allow::parse(
        m.get_many::<String>("probe.allow")
            .into_iter()
            .flatten()
            .map(String::as_str),
    )?;
    let print = if m.get_flag("help-man") {
        Some(Print::ManPage)
    } else if m.get_flag("help-long") {
        Some(Print::LongHelp)
    } else if m.get_flag("print-metrics-reference") {
        Some(Print::MetricsReference)
    } else {
        None
    };
    Ok(Config {
        probe_allow,
        systemd_socket: m.get_flag("web.systemd-socket"),
        once: m.get_flag("once"),
        output: m.get_one::<std::path::PathBuf>("output").cloned(),
        // exporter-toolkit's default is the empty path: no file.
        web_config_file: m
            .get_one::<String>("web.config.file")
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from),
        chrony_addresses,
        unix,
        chrony_timeout: *m.get_one("chrony.timeout").expect("has a default"),
        chrony_concurrency: *m
            .get_one::<u32>("chrony.concurrency")
            .expect("has a default") as usize,
        listen: m
            .get_many::<Listen>("web.listen-address")
            .expect("has a default")
            .cloned()
            .collect(),
        telemetry_path: m
            .get_one::<String>("web.telemetry-path")
            .expect("has a default")
            .clone(),
        log_level: level,
        log_format,
        collectors,
        dns_lookups: m.get_flag("collector.dns-lookups"),
        dns_ttl: *m.get_one("collector.dns-cache-ttl").expect("has a default"),
        max_connections: *m
            .get_one::<u32>("web.max-connections")
            .expect("has a default") as usize,
        disable_compression: m.get_flag("web.disable-compression"),
        print,
        clients_requested: m.get_flag("collector.clients"),
    })
}

/// The man page (`--help-man`).
pub fn man_page() -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command())
        .render(&mut out)
        .expect("writing to memory cannot fail");
    out
}

/// The collector of the report `name` (tests).
#[cfg(test)]
fn c(name: &str) -> &'static Collector {
    crate::collector::by_name(name).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let mut v = vec!["chrony-exporter"];
        v.extend_from_slice(args);
        let m = command()
            .try_get_matches_from(v)
            .map_err(|e| e.to_string())?;
        config(&m)
    }

    fn names(c: &Config) -> Vec<&'static str> {
        c.collectors.iter().map(|c| c.name).collect()
    }

    #[test]
    fn the_default_address_is_the_ipv4_then_the_ipv6_loopback() {
        let udp = parse(&[]).unwrap();
        assert!(!udp.unix);
        assert_eq!(
            udp.chrony_addresses,
            [
                Address::Udp("127.0.0.1:323".parse().unwrap()),
                Address::Udp("[::1]:323".parse().unwrap())
            ]
        );
        assert_eq!(
            names(&udp),
            [
                "tracking",
                "sources",
                "sourcestats",
                "activity",
                "smoothing",
                "rtcdata"
            ]
        );
        let unix = parse(&["--chrony.address", "unix:///run/chrony/chronyd.sock"]).unwrap();
        assert!(unix.unix);
        assert_eq!(
            unix.chrony_addresses,
            [Address::Unix("/run/chrony/chronyd.sock".into())]
        );
        assert_eq!(unix.collectors.len(), 10);
        assert_eq!(
            unix.listen,
            [Listen {
                host: None,
                port: 9123
            }]
        );
        assert_eq!(unix.chrony_timeout, Duration::from_secs(5));
        // A list, tried in order; a name too.
        let list = parse(&["--chrony.address=[::1]:5323, 127.0.0.1:5323,ntp.example:99"]).unwrap();
        assert_eq!(list.chrony_addresses.len(), 3);
        assert_eq!(
            list.chrony_addresses[1],
            Address::Udp("127.0.0.1:5323".parse().unwrap())
        );
    }

    #[test]
    fn switches_take_the_last_of_the_two_forms() {
        let cfg = parse(&["--no-collector.tracking", "--collector.serverstats"]).unwrap();
        assert!(!cfg.collectors.contains(&c("tracking")));
        assert!(cfg.collectors.contains(&c("serverstats")));
        let cfg = parse(&["--no-collector.sources", "--collector.sources"]).unwrap();
        assert!(cfg.collectors.contains(&c("sources")));
        let cfg = parse(&["--collector.sources", "--no-collector.sources"]).unwrap();
        assert!(!cfg.collectors.contains(&c("sources")));
        let cfg = parse(&[
            "--chrony.address=unix:///x/s.sock",
            "--no-collector.ntpdata",
        ])
        .unwrap();
        assert!(!cfg.collectors.contains(&c("ntpdata")));
        for s in [
            "web.systemd-socket",
            "web.disable-compression",
            "collector.dns-lookups",
            "once",
        ] {
            let on = format!("--{s}");
            let off = format!("--no-{s}");
            let m = command().try_get_matches_from(["x", &on, &off]).unwrap();
            assert_eq!(switched(&m, s), Some(false), "{s}");
            let m = command().try_get_matches_from(["x", &off, &on]).unwrap();
            assert_eq!(switched(&m, s), Some(true), "{s}");
        }
    }

    /// A command line of chrony_exporter 0.13 (every flag it and
    /// exporter-toolkit have, in the forms kingpin accepts) starts
    /// unchanged, with the meanings its help gives.
    #[test]
    fn chrony_exporter_command_lines_are_accepted() {
        let cfg = parse(&[
            "--chrony.address=unix:///run/chrony/chronyd.sock",
            "--chrony.timeout=1h30m",
            "--collector.tracking",
            "--collector.sources",
            "--collector.sourcestats",
            "--no-collector.sources.with-ntpdata",
            "--collector.serverstats",
            "--collector.clients",
            "--collector.chmod-socket",
            "--no-collector.dns-lookups",
            "--web.telemetry-path=/metrics",
            "--web.listen-address=:9123",
            "--web.listen-address=localhost:9124",
            "--web.listen-address",
            "[::1]:9125",
            "--web.config.file=",
            "--no-web.systemd-socket",
            "--log.level=debug",
            "--log.format=json",
        ])
        .unwrap();
        assert!(!cfg.collectors.contains(&c("ntpdata")), "with-ntpdata off");
        assert!(cfg.clients_requested && !cfg.dns_lookups && !cfg.systemd_socket);
        assert_eq!(cfg.chrony_timeout, Duration::from_secs(5400));
        assert_eq!(cfg.web_config_file, None);
        assert_eq!(
            cfg.listen,
            [
                Listen {
                    host: None,
                    port: 9123
                },
                Listen {
                    host: Some("localhost".into()),
                    port: 9124
                },
                Listen {
                    host: Some("::1".into()),
                    port: 9125
                },
            ]
        );
        let cfg = parse(&[
            "--collector.sources.with-ntpdata",
            "--no-collector.clients",
            "--no-collector.chmod-socket",
            "--web.config.file=/etc/web.yml",
        ])
        .unwrap();
        assert!(cfg.collectors.contains(&c("ntpdata")), "on over UDP too");
        assert!(!cfg.clients_requested);
        assert_eq!(cfg.web_config_file, Some("/etc/web.yml".into()));
        // Our own name wins over the alias.
        let cfg = parse(&["--collector.sources.with-ntpdata", "--no-collector.ntpdata"]).unwrap();
        assert!(!cfg.collectors.contains(&c("ntpdata")));
        // kingpin's help flags.
        assert_eq!(
            parse(&["--help-long"]).unwrap().print,
            Some(Print::LongHelp)
        );
        assert_eq!(parse(&["--help-man"]).unwrap().print, Some(Print::ManPage));
        // A flag chrony_exporter does not have is not claimed.
        assert!(parse(&["--collector.dns-ptr-cache-min-ttl=1m"]).is_err());
    }

    #[test]
    fn go_durations() {
        for (text, secs) in [
            ("5s", 5.0),
            ("500ms", 0.5),
            ("1h30m", 5400.0),
            ("1m30.5s", 90.5),
            ("2h45m30s", 9930.0),
            ("1.5h", 5400.0),
            ("300us", 0.0003),
            ("300µs", 0.0003),
            ("10ns", 1e-8),
            ("0", 0.0),
            ("1.5", 1.5),
            ("-1m", -60.0),
            ("+2s", 2.0),
        ] {
            let got = parse_go_duration(text).unwrap();
            assert!((got - secs).abs() < 1e-12, "{text}: {got}");
        }
        for bad in [
            "", "s", "5x", "1h30", "1..5s", ".s", "h1", "5 s", "1e3s", "nan",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("25h").is_err());
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
    }

    #[test]
    fn bad_values_are_errors() {
        for bad in [
            "unix://relative",
            "/run/x.sock",
            "host:notaport",
            "",
            "127.0.0.1,",
            "127.0.0.1,unix:///x.sock",
            "127.0.0.1,/x.sock",
        ] {
            assert!(parse(&["--chrony.address", bad]).is_err(), "{bad:?}");
        }
        assert!(parse(&["--chrony.timeout", "soon"]).is_err());
        assert!(parse(&["--chrony.timeout", "0s"]).is_err());
        for bad in ["nowhere", "a:b", "[::1:80", "::1:80", "a b:80", ":99999"] {
            assert!(parse(&["--web.listen-address", bad]).is_err(), "{bad}");
        }
        assert!(parse(&["--web.telemetry-path", "metrics"]).is_err());
        assert!(parse(&["--log.format", "xml"]).is_err());
        assert!(parse(&["--chrony.concurrency", "0"]).is_err());
        assert!(parse(&["--chrony.concurrency", "33"]).is_err());
        assert_eq!(
            parse(&["--chrony.concurrency", "32"])
                .unwrap()
                .chrony_concurrency,
            32
        );
        assert!(parse(&["--collector.bogus"]).is_err());
        assert!(parse(&["--probe.allow", "10.0.0.0/40"]).is_err());
        let cfg = parse(&[
            "--probe.allow",
            "10.0.0.0/8,ntp.example.org,*.pool.example.org",
            "--probe.allow",
            "::1",
        ])
        .unwrap();
        assert!(cfg.probe_allow.allows_ip("10.2.3.4".parse().unwrap()));
        assert!(cfg.probe_allow.allows_ip("::1".parse().unwrap()));
        assert!(cfg.probe_allow.allows_name("ntp.example.org"));
        assert!(cfg.probe_allow.allows_name("a.pool.example.org"));
        assert!(parse(&[]).unwrap().probe_allow.is_empty());
        assert!(parse(&["--output", "/tmp/x.prom"]).is_err());
        let cfg = parse(&["--once", "--output", "/tmp/x.prom"]).unwrap();
        assert!(cfg.once && cfg.output.is_some());
    }

    #[test]
    fn the_man_page_names_every_flag() {
        let man = String::from_utf8(man_page()).unwrap();
        assert!(
            man.starts_with(".ie") || man.contains(".TH"),
            "{}",
            &man[..200]
        );
        for flag in [
            "chrony.address",
            "web.listen\\-address",
            "collector.authdata",
            "probe.allow",
        ] {
            assert!(man.contains(flag), "{flag}");
        }
    }
}
