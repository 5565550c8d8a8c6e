//! chrony-exporter: every chronyd monitoring report as Prometheus metrics,
//! on the `chrony` crate's tokio client.
//!
//! Layout: `cli` (flags), `collector` (one file per report: its metrics
//! and update; the health metrics), `metrics` (the table, the sample
//! buffer, the encodings), `target` and `flight` (one chronyd: a
//! long-lived client, single-flight reads within the scrape deadline),
//! `scrape` (a read to metrics), `dns` (reverse names, forward resolution
//! of probe targets), `probe` (`/probe`, the allow list), `process`
//! (process_* metrics), `server` (the accept loop, connection bounds,
//! handlers), `webconfig` (TLS, basic auth), `textfile` (`--once`),
//! `logging`, `sys` (the descriptor limit: the only `unsafe`).
#![deny(unsafe_code)]

mod cli;
mod collector;
mod dns;
mod flight;
mod logging;
mod metrics;
mod probe;
mod process;
mod scrape;
mod server;
mod sys;
mod target;
mod textfile;
mod webconfig;

use std::process::ExitCode;
use std::sync::Arc;

/// The libchrony version found at build time ("unknown" without
/// pkg-config).
pub const LIBCHRONY_VERSION: &str = env!("CHRONY_EXPORTER_LIBCHRONY_VERSION");

/// Threads for blocking work (reverse and forward DNS lookups, each
/// bounded on its own; the library's session opens and socket-directory
/// sweeps; the exporter's descriptor count): runtime workers never block.
const MAX_BLOCKING_THREADS: usize = 32;

fn main() -> ExitCode {
    let mut command = cli::command();
    let matches = command.clone().get_matches();
    let config = match cli::config(&matches) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chrony-exporter: error: {e}");
            return ExitCode::from(2);
        }
    };
    match config.print {
        Some(cli::Print::LongHelp) => {
            print!("{}", command.render_long_help());
            return ExitCode::SUCCESS;
        }
        Some(cli::Print::ManPage) => {
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&cli::man_page());
            return ExitCode::SUCCESS;
        }
        Some(cli::Print::MetricsReference) => {
            println!("{}\n", metrics::REFERENCE_BEGIN);
            print!("{}", metrics::reference());
            println!("{}", metrics::REFERENCE_END);
            return ExitCode::SUCCESS;
        }
        None => {}
    }
    logging::init(config.log_level, config.log_format);
    match sys::raise_nofile() {
        Ok(before) => tracing::debug!(
            soft = before.soft,
            hard = before.hard,
            "descriptor limit raised to the hard limit"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot raise the descriptor limit"),
    }
    if config.clients_requested {
        tracing::warn!(
            "--collector.clients: libchrony has no clients report (chronyc clients); no clients metrics are exported"
        );
    }
    // One worker, as node_exporter's default GOMAXPROCS=1: a scrape is
    // one read (chronyd answers one request at a time) and a millisecond
    // or so of CPU work, and a second worker only costs, woken to look for
    // work at the read's replies. Blocking work has its own threads.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chrony-exporter: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

/// The scraper of `--chrony.address` (`own`: with the exporter's own
/// metrics, as `/metrics` has them).
fn local_scraper(config: &cli::Config, limiter: Arc<logging::Limiter>) -> scrape::Scraper {
    let builder = chrony::Client::builder()
        .deadline(config.chrony_timeout)
        .timeout(config.chrony_timeout.min(std::time::Duration::from_secs(1)))
        .concurrency(config.chrony_concurrency);
    let target = target::Target::new(
        config.chrony_addresses.clone(),
        builder,
        scrape::Scraper::reports(&config.collectors),
    );
    let resolver = config
        .dns_lookups
        .then(|| dns::Resolver::new(config.dns_ttl));
    scrape::Scraper::new(target, config.collectors.clone(), resolver, true, limiter)
}

/// A listener for `--web.listen-address`: every interface for `:PORT`
/// (IPv6 and IPv4, or IPv4 alone on a host without IPv6); a name's first
/// IPv4 address, else its first address, as Go listens on a name.
async fn bind(listen: &cli::Listen) -> std::io::Result<tokio::net::TcpListener> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    let port = listen.port;
    let Some(host) = &listen.host else {
        return match tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)))
            .await
        {
            Ok(l) => Ok(l),
            Err(_) => {
                tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).await
            }
        };
    };
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .collect();
    let chosen = found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host} has no address"),
            )
        })?;
    tokio::net::TcpListener::bind(chosen).await
}

async fn run(config: cli::Config) -> ExitCode {
    let limiter = Arc::new(logging::Limiter::default());
    if config.once {
        return textfile::once(&config, local_scraper(&config, limiter)).await;
    }
    let listeners = if config.systemd_socket {
        match systemd_listeners() {
            Ok(l) => l,
            Err(e) => {
                eprintln!("chrony-exporter: error: --web.systemd-socket: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let mut listeners = Vec::new();
        for address in &config.listen {
            match bind(address).await {
                Ok(l) => listeners.push(l),
                Err(e) => {
                    eprintln!("chrony-exporter: error: cannot listen on {address}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        listeners
    };
    let local: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .collect();
    let local = local.join(",");
    let scraper = local_scraper(&config, limiter.clone());
    let prober = probe::Prober::new(
        config.probe_allow.clone(),
        config.chrony_timeout,
        &config.collectors,
        dns::Forward::new(),
        limiter.clone(),
    );
    let web = match webconfig::Shared::load(config.web_config_file.clone()) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            eprintln!("chrony-exporter: error: {e}");
            return ExitCode::from(2);
        }
    };
    spawn_reload_on_sighup(web.clone());
    let tls = web.current().tls.is_some();
    let chrony_address = scraper.target().shown();
    let app = Arc::new(server::App {
        web,
        scraper,
        prober,
        telemetry_path: config.telemetry_path.clone(),
        timeout: config.chrony_timeout,
        compression: !config.disable_compression,
        limiter,
        probe_slots: tokio::sync::Semaphore::new(server::probe_slots(config.max_connections)),
    });
    let collectors: Vec<&str> = config.collectors.iter().map(|c| c.name).collect();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        libchrony = LIBCHRONY_VERSION,
        %chrony_address,
        unix_socket = config.unix,
        collectors = %collectors.join(","),
        listen = %local,
        systemd_socket = config.systemd_socket,
        tls,
        "listening"
    );
    // Type=notify: ready once the listener is there (a no-op without
    // NOTIFY_SOCKET).
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "sd_notify READY=1 failed");
    }
    tokio::select! {
        () = server::serve(listeners, app, config.max_connections) => ExitCode::SUCCESS,
        _ = shutdown() => {
            tracing::info!("shutting down");
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            ExitCode::SUCCESS
        }
    }
}

/// The TCP listeners systemd passed (socket activation: LISTEN_FDS and
/// LISTEN_PID, checked by `listenfd`), each served.
fn systemd_listeners() -> Result<Vec<tokio::net::TcpListener>, String> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Err(
            "systemd passed no socket (LISTEN_FDS/LISTEN_PID unset or for another process): start it from a .socket unit".into(),
        );
    }
    let mut listeners = Vec::new();
    for i in 0..fds.len() {
        let std = fds
            .take_tcp_listener(i)
            .map_err(|e| format!("socket {i} is not a TCP listener: {e}"))?
            .ok_or_else(|| format!("socket {i} is not a TCP listener"))?;
        std.set_nonblocking(true)
            .map_err(|e| format!("cannot make socket {i} non-blocking: {e}"))?;
        listeners.push(tokio::net::TcpListener::from_std(std).map_err(|e| e.to_string())?);
    }
    Ok(listeners)
}

fn spawn_reload_on_sighup(web: Arc<webconfig::Shared>) {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    web.reload();
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot catch SIGHUP: no reload of the web config"),
    }
}

async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

#[cfg(test)]
mod readme {
    use crate::metrics::{reference, REFERENCE_BEGIN, REFERENCE_END};

    /// The README's metrics reference is the table's: regenerate with
    /// `CHRONY_EXPORTER_UPDATE_README=1 cargo test -p chrony-exporter readme`.
    #[test]
    fn readme_reference_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let (Some(b), Some(e)) = (readme.find(REFERENCE_BEGIN), readme.find(REFERENCE_END)) else {
            panic!("README.md lacks the reference markers {REFERENCE_BEGIN} / {REFERENCE_END}");
        };
        let start = b + REFERENCE_BEGIN.len();
        let current = readme[start..e].trim();
        let wanted = reference();
        if current == wanted.trim() {
            return;
        }
        if std::env::var_os("CHRONY_EXPORTER_UPDATE_README").is_some() {
            let updated = format!(
                "{}\n\n{}\n{}",
                &readme[..start],
                wanted.trim(),
                &readme[e..]
            );
            std::fs::write(path, updated).expect("writing README.md");
            return;
        }
        panic!(
            "chrony-exporter/README.md's metrics reference differs from the code; regenerate it with \
             CHRONY_EXPORTER_UPDATE_README=1 cargo test -p chrony-exporter readme \
             (or chrony-exporter --print-metrics-reference)"
        );
    }
}
