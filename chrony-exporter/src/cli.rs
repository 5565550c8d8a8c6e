//! Command line, shaped like chrony_exporter's (kingpin's `--[no-]flag`).

use crate::collect::Collector;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::net::SocketAddr;
use std::time::Duration;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// The parsed, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address for the chrony library (a socket path or host\[:port\]).
    pub chrony_address: String,
    pub unix: bool,
    pub chrony_timeout: Duration,
    pub chrony_concurrency: usize,
    /// `--web.listen-address`, repeatable: one listener each.
    pub listen: Vec<SocketAddr>,
    pub telemetry_path: String,
    pub log_level: tracing::Level,
    pub log_format: LogFormat,
    pub collectors: Vec<Collector>,
    pub dns_lookups: bool,
    pub dns_ttl: Duration,
    pub max_connections: usize,
    /// `--web.disable-compression`: never gzip, whatever the scraper accepts.
    pub disable_compression: bool,
    pub print_reference: bool,
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

fn help_for(c: Collector) -> String {
    let what = match c {
        Collector::Tracking => "the tracking report (chronyc tracking)",
        Collector::Sources => "the sources report (chronyc sources)",
        Collector::SourceStats => "the sourcestats report (chronyc sourcestats)",
        Collector::Activity => "the activity report (chronyc activity)",
        Collector::RtcData => "the rtcdata report (chronyc rtcdata)",
        Collector::Smoothing => "the smoothing report (chronyc smoothing)",
        Collector::ServerStats => "the serverstats report (chronyc serverstats)",
        Collector::SelectData => "the selectdata report (chronyc selectdata)",
        Collector::NtpData => "the ntpdata report (chronyc ntpdata)",
        Collector::AuthData => "the authdata report (chronyc authdata)",
    };
    let default = if c.unix_only() {
        "default: on with a unix:// address, off over UDP (chronyd serves it on its Unix socket only)"
    } else {
        "default: on"
    };
    format!("Collect {what} [{default}]")
}

pub fn command() -> Command {
    let mut cmd = Command::new("chrony-exporter")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Prometheus exporter for chronyd: all ten monitoring reports through libchrony")
        .arg(
            Arg::new("chrony.address")
                .long("chrony.address")
                .value_name("ADDRESS")
                .default_value("[::1]:323")
                .help("chronyd's command socket: unix:///path/to/chronyd.sock, or HOST[:PORT] over UDP"),
        )
        .arg(
            Arg::new("chrony.timeout")
                .long("chrony.timeout")
                .value_name("DURATION")
                .default_value("5s")
                .value_parser(parse_duration)
                .help("Upper bound of one scrape's read of chronyd (e.g. 5s, 500ms); a shorter Prometheus scrape timeout lowers it"),
        )
        .arg(
            Arg::new("chrony.concurrency")
                .long("chrony.concurrency")
                .value_name("N")
                .default_value("8")
                .value_parser(clap::value_parser!(u32).range(1..=chrony::MAX_CONCURRENCY as i64))
                .help("Requests of one scrape in flight at once (sessions per client); more hides more round trips of a remote chronyd"),
        )
        .arg(
            Arg::new("web.listen-address")
                .long("web.listen-address")
                .value_name("ADDRESS")
                .default_value(":9123")
                .action(ArgAction::Append)
                .value_parser(parse_listen)
                .help("Address to listen on for HTTP (:PORT for all interfaces); repeatable, one listener each"),
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
                .help("HTTP connections served at once; more are closed at once"),
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
            Arg::new("collector.dns-lookups")
                .long("collector.dns-lookups")
                .action(ArgAction::SetTrue)
                .overrides_with("no-collector.dns-lookups")
                .help("Name sources (source_name, tracking_name) by reverse DNS, cached, within the scrape deadline [default: off]"),
        )
        .arg(
            Arg::new("no-collector.dns-lookups")
                .long("no-collector.dns-lookups")
                .action(ArgAction::SetTrue)
                .overrides_with("collector.dns-lookups")
                .hide(true),
        )
        .arg(
            Arg::new("collector.dns-cache-ttl")
                .long("collector.dns-cache-ttl")
                .value_name("DURATION")
                .default_value("5m")
                .value_parser(parse_duration)
                .help("How long a reverse DNS answer (or its absence) is kept"),
        )
        .arg(
            Arg::new("web.config.file")
                .long("web.config.file")
                .value_name("PATH")
                .value_parser(clap::value_parser!(std::path::PathBuf))
                .help("Web configuration (exporter-toolkit format): TLS (tls_server_config) and basic auth (basic_auth_users); reloaded on SIGHUP"),
        )
        .arg(
            Arg::new("web.disable-compression")
                .long("web.disable-compression")
                .action(ArgAction::SetTrue)
                .help("Never gzip metrics (by default they are when the scraper accepts gzip, as Prometheus does: a tenth of the bytes for about 10 M more instructions per scrape at 128 sources)"),
        )
        .arg(
            Arg::new("web.systemd-socket")
                .long("web.systemd-socket")
                .action(ArgAction::SetTrue)
                .help("Serve the socket systemd passes (socket activation, LISTEN_FDS) instead of --web.listen-address"),
        )
        .arg(
            Arg::new("once")
                .long("once")
                .action(ArgAction::SetTrue)
                .help("Scrape chronyd once, write the metrics (Prometheus text 0.0.4) to --output or stdout and exit: 0 when chronyd answered, 1 when it did not (chrony_up 0 is still written) or the file could not be written"),
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
                .value_name("CIDR|HOST,...")
                .action(ArgAction::Append)
                .help("Targets /probe?target=HOST[:PORT] may read over UDP: CIDRs, addresses and host names, repeatable and comma separated [default: none, /probe answers 403]"),
        )
        // chrony_exporter's flags with no report of their own here, so that
        // its command lines start unchanged.
        .arg(
            Arg::new("collector.sources.with-ntpdata")
                .long("collector.sources.with-ntpdata")
                .action(ArgAction::SetTrue)
                .overrides_with("no-collector.sources.with-ntpdata")
                .help("chrony_exporter's name for --collector.ntpdata (which wins when both are given); the ntpdata series are chrony_ntpdata_*"),
        )
        .arg(
            Arg::new("no-collector.sources.with-ntpdata")
                .long("no-collector.sources.with-ntpdata")
                .action(ArgAction::SetTrue)
                .overrides_with("collector.sources.with-ntpdata")
                .help("chrony_exporter's name for --no-collector.ntpdata"),
        )
        .arg(
            Arg::new("collector.chmod-socket")
                .long("collector.chmod-socket")
                .action(ArgAction::SetTrue)
                .overrides_with("no-collector.chmod-socket")
                .help("Accepted for chrony_exporter's command lines; always done: the client socket is mode 0666 in a 0711 directory, as libchrony makes it, so chronyd can answer an exporter running as another user"),
        )
        .arg(
            Arg::new("no-collector.chmod-socket")
                .long("no-collector.chmod-socket")
                .action(ArgAction::SetTrue)
                .overrides_with("collector.chmod-socket")
                .hide(true),
        )
        .arg(
            Arg::new("collector.clients")
                .long("collector.clients")
                .action(ArgAction::SetTrue)
                .overrides_with("no-collector.clients")
                .help("Accepted for chrony_exporter's command lines: libchrony has no clients report, so this logs a warning at start and exports nothing"),
        )
        .arg(
            Arg::new("no-collector.clients")
                .long("no-collector.clients")
                .action(ArgAction::SetTrue)
                .overrides_with("collector.clients")
                .hide(true),
        )
        .arg(
            Arg::new("collector.dns-ptr-cache-min-ttl")
                .long("collector.dns-ptr-cache-min-ttl")
                .value_name("DURATION")
                .value_parser(parse_duration_or_zero)
                .help("chrony_exporter's name for --collector.dns-cache-ttl (which wins when both are given); 0s keeps the default"),
        )
        .arg(
            Arg::new("print-metrics-reference")
                .long("print-metrics-reference")
                .action(ArgAction::SetTrue)
                .hide(true),
        );
    for c in Collector::ALL {
        let on = format!("collector.{}", c.name());
        let off = format!("no-collector.{}", c.name());
        cmd = cmd
            .arg(
                Arg::new(on.clone())
                    .long(on.clone())
                    .action(ArgAction::SetTrue)
                    .overrides_with(off.clone())
                    .help(help_for(c)),
            )
            .arg(
                Arg::new(off.clone())
                    .long(off)
                    .action(ArgAction::SetTrue)
                    .overrides_with(on)
                    .help(format!("Do not collect {}", c.name())),
            );
    }
    cmd
}

/// Go-style durations: `500ms`, `5s`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (use e.g. 5s, 500ms, 2m)"))?;
    let secs = v * scale;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "duration {s:?} out of range (above 0, at most 24h)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// [`parse_duration`], also accepting a zero (`0s`, `0`): `None`.
fn parse_duration_or_zero(s: &str) -> Result<Option<Duration>, String> {
    let zero = s
        .trim()
        .trim_end_matches(['s', 'm', 'h'])
        .parse::<f64>()
        .is_ok_and(|v| v == 0.0);
    if zero {
        Ok(None)
    } else {
        parse_duration(s).map(Some)
    }
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("[::]{s}")
    } else {
        s.to_string()
    };
    full.parse::<SocketAddr>()
        .map_err(|_| format!("not a listen address: {s:?} (use HOST:PORT, [V6]:PORT or :PORT)"))
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

/// The address for the chrony library, and whether it is a Unix socket.
pub fn chrony_address(s: &str) -> Result<(String, bool), String> {
    let (address, unix) = match s.strip_prefix("unix://") {
        Some(path) => {
            if !path.starts_with('/') {
                return Err(format!(
                    "--chrony.address {s:?}: a unix:// address needs an absolute path (unix:///run/chrony/chronyd.sock)"
                ));
            }
            (path.to_string(), true)
        }
        None => {
            if s.starts_with('/') {
                return Err(format!(
                    "--chrony.address {s:?}: write a socket path as unix://{s}"
                ));
            }
            (s.to_string(), false)
        }
    };
    let parsed =
        chrony::Address::parse(&address).map_err(|e| format!("--chrony.address {s:?}: {e}"))?;
    if unix != matches!(parsed, chrony::Address::Unix(_)) {
        return Err(format!("--chrony.address {s:?}: not a valid address"));
    }
    Ok((address, unix))
}

pub fn config(m: &ArgMatches) -> Result<Config, String> {
    let raw: &String = m.get_one("chrony.address").expect("has a default");
    let (chrony_address, unix) = chrony_address(raw)?;
    let mut collectors = Vec::new();
    for c in Collector::ALL {
        let mut on = m.get_flag(&format!("collector.{}", c.name()));
        let mut off = m.get_flag(&format!("no-collector.{}", c.name()));
        if c == Collector::NtpData && !on && !off {
            on = m.get_flag("collector.sources.with-ntpdata");
            off = m.get_flag("no-collector.sources.with-ntpdata");
        }
        let enabled = if on {
            true
        } else if off {
            false
        } else {
            !c.unix_only() || unix
        };
        if enabled {
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
    Ok(Config {
        probe_allow,
        systemd_socket: m.get_flag("web.systemd-socket"),
        once: m.get_flag("once"),
        output: m.get_one::<std::path::PathBuf>("output").cloned(),
        web_config_file: m.get_one::<std::path::PathBuf>("web.config.file").cloned(),
        chrony_address,
        unix,
        chrony_timeout: *m.get_one("chrony.timeout").expect("has a default"),
        chrony_concurrency: *m
            .get_one::<u32>("chrony.concurrency")
            .expect("has a default") as usize,
        listen: m
            .get_many::<SocketAddr>("web.listen-address")
            .expect("has a default")
            .copied()
            .collect(),
        telemetry_path: m
            .get_one::<String>("web.telemetry-path")
            .expect("has a default")
            .clone(),
        log_level: level,
        log_format,
        collectors,
        dns_lookups: m.get_flag("collector.dns-lookups"),
        dns_ttl: dns_ttl(m),
        max_connections: *m
            .get_one::<u32>("web.max-connections")
            .expect("has a default") as usize,
        disable_compression: m.get_flag("web.disable-compression"),
        print_reference: m.get_flag("print-metrics-reference"),
        clients_requested: m.get_flag("collector.clients"),
    })
}

/// `--collector.dns-cache-ttl`, else chrony_exporter's
/// `--collector.dns-ptr-cache-min-ttl`, else the default.
fn dns_ttl(m: &ArgMatches) -> Duration {
    let ttl = "collector.dns-cache-ttl";
    let explicit = m.value_source(ttl) == Some(clap::parser::ValueSource::CommandLine);
    let alias = m
        .get_one::<Option<Duration>>("collector.dns-ptr-cache-min-ttl")
        .copied()
        .flatten();
    match alias {
        Some(d) if !explicit => d,
        _ => *m.get_one(ttl).expect("has a default"),
    }
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

    #[test]
    fn defaults_follow_the_transport() {
        let udp = parse(&[]).unwrap();
        assert!(!udp.unix);
        assert_eq!(udp.chrony_address, "[::1]:323");
        let names: Vec<_> = udp.collectors.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "tracking",
                "sources",
                "sourcestats",
                "activity",
                "rtcdata",
                "smoothing"
            ]
        );
        let unix = parse(&["--chrony.address", "unix:///run/chrony/chronyd.sock"]).unwrap();
        assert!(unix.unix);
        assert_eq!(unix.chrony_address, "/run/chrony/chronyd.sock");
        assert_eq!(unix.collectors.len(), 10);
        assert_eq!(unix.listen, ["[::]:9123".parse().unwrap()]);
        assert_eq!(unix.chrony_timeout, Duration::from_secs(5));
    }

    #[test]
    fn flags_switch_collectors_last_wins() {
        let c = parse(&["--no-collector.tracking", "--collector.serverstats"]).unwrap();
        assert!(!c.collectors.contains(&Collector::Tracking));
        assert!(c.collectors.contains(&Collector::ServerStats));
        let c = parse(&["--no-collector.sources", "--collector.sources"]).unwrap();
        assert!(c.collectors.contains(&Collector::Sources));
        let c = parse(&[
            "--chrony.address=unix:///x/s.sock",
            "--no-collector.ntpdata",
        ])
        .unwrap();
        assert!(!c.collectors.contains(&Collector::NtpData));
    }

    /// A command line of chrony_exporter (every flag it has, both forms of
    /// the switches) starts unchanged, with the meanings its help gives.
    #[test]
    fn chrony_exporter_command_lines_are_accepted() {
        let c = parse(&[
            "--chrony.address=unix:///run/chrony/chronyd.sock",
            "--chrony.timeout=2s",
            "--collector.tracking",
            "--collector.sources",
            "--collector.sourcestats",
            "--no-collector.sources.with-ntpdata",
            "--collector.serverstats",
            "--collector.clients",
            "--collector.chmod-socket",
            "--no-collector.dns-lookups",
            "--collector.dns-ptr-cache-min-ttl=10m",
            "--web.telemetry-path=/metrics",
            "--web.listen-address=:9123",
            "--web.listen-address=127.0.0.1:9124",
            "--log.level=debug",
            "--log.format=json",
        ])
        .unwrap();
        assert!(
            !c.collectors.contains(&Collector::NtpData),
            "with-ntpdata off"
        );
        assert!(c.clients_requested && !c.dns_lookups);
        assert_eq!(c.dns_ttl, Duration::from_secs(600));
        assert_eq!(
            c.listen,
            [
                "[::]:9123".parse().unwrap(),
                "127.0.0.1:9124".parse().unwrap()
            ]
        );
        let c = parse(&[
            "--collector.sources.with-ntpdata",
            "--no-collector.clients",
            "--no-collector.chmod-socket",
            "--collector.dns-ptr-cache-min-ttl=0s",
        ])
        .unwrap();
        assert!(
            c.collectors.contains(&Collector::NtpData),
            "on over UDP too"
        );
        assert!(!c.clients_requested);
        assert_eq!(c.dns_ttl, Duration::from_secs(300), "0s keeps the default");
        // Our own names win over the aliases.
        let c = parse(&[
            "--collector.sources.with-ntpdata",
            "--no-collector.ntpdata",
            "--collector.dns-ptr-cache-min-ttl=10m",
            "--collector.dns-cache-ttl=1m",
        ])
        .unwrap();
        assert!(!c.collectors.contains(&Collector::NtpData));
        assert_eq!(c.dns_ttl, Duration::from_secs(60));
        assert!(parse(&["--collector.dns-ptr-cache-min-ttl=soon"]).is_err());
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse(&["--chrony.address", "unix://relative"]).is_err());
        assert!(parse(&["--chrony.address", "/run/x.sock"]).is_err());
        assert!(parse(&["--chrony.address", "host:notaport"]).is_err());
        assert!(parse(&["--chrony.address", ""]).is_err());
        assert!(parse(&["--chrony.timeout", "soon"]).is_err());
        assert!(parse(&["--chrony.timeout", "0s"]).is_err());
        assert!(parse(&["--web.listen-address", "nowhere"]).is_err());
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
        let c = parse(&[
            "--probe.allow",
            "10.0.0.0/8,ntp.example.org",
            "--probe.allow",
            "::1",
        ])
        .unwrap();
        assert!(c.probe_allow.allows_ip("10.2.3.4".parse().unwrap()));
        assert!(c.probe_allow.allows_ip("::1".parse().unwrap()));
        assert!(c.probe_allow.allows_name("ntp.example.org"));
        assert!(parse(&[]).unwrap().probe_allow.is_empty());
        assert!(parse(&["--output", "/tmp/x.prom"]).is_err());
        let c = parse(&["--once", "--output", "/tmp/x.prom"]).unwrap();
        assert!(c.once && c.output.is_some());
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
    }
}
