//! chrony-exporter: every chronyd monitoring report as Prometheus metrics,
//! on the `chrony` crate's tokio client.
//!
//! Layout: `cli` (flags), `metrics` (the metric table and the two text
//! encodings), `collect` (a pure function from a `Snapshot` to metrics),
//! `scrape` (reading chronyd within a deadline), `dns` (cached reverse
//! names), `probe` (`/probe` of remote chronyd, the allow list),
//! `server` (the accept loop and handlers), `webconfig` (TLS, basic
//! auth), `textfile` (`--once`), `logging`.
#![forbid(unsafe_code)]

mod cli;
mod collect;
mod dns;
mod logging;
mod metrics;
mod probe;
mod scrape;
mod server;
mod textfile;
mod webconfig;

use std::process::ExitCode;
use std::sync::Arc;

/// The libchrony version found at build time ("unknown" without
/// pkg-config).
pub const LIBCHRONY_VERSION: &str = env!("CHRONY_EXPORTER_LIBCHRONY_VERSION");

fn main() -> ExitCode {
    let matches = cli::command().get_matches();
    let config = match cli::config(&matches) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chrony-exporter: error: {e}");
            return ExitCode::from(2);
        }
    };
    if config.print_reference {
        println!("{}\n", metrics::REFERENCE_BEGIN);
        print!("{}", metrics::reference());
        println!("{}", metrics::REFERENCE_END);
        return ExitCode::SUCCESS;
    }
    logging::init(config.log_level, config.log_format);
    if config.clients_requested {
        tracing::warn!(
            "--collector.clients: libchrony has no clients report (chronyc clients); no clients metrics are exported"
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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

async fn run(config: cli::Config) -> ExitCode {
    if config.once {
        return textfile::once(&config).await;
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
            match tokio::net::TcpListener::bind(address).await {
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
    let resolver = config
        .dns_lookups
        .then(|| dns::Resolver::new(config.dns_ttl));
    let scraper = scrape::Scraper::new(
        config.chrony_address.clone(),
        config.chrony_timeout,
        config.chrony_concurrency,
        config.collectors.clone(),
        resolver,
    );
    let prober = probe::Prober::new(
        config.probe_allow.clone(),
        config.chrony_timeout,
        config.chrony_concurrency,
        &config.collectors,
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
    let app = Arc::new(server::App {
        web,
        scraper,
        prober,
        telemetry_path: config.telemetry_path.clone(),
        compression: !config.disable_compression,
    });
    let collectors: Vec<&str> = config.collectors.iter().map(|c| c.name()).collect();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        libchrony = LIBCHRONY_VERSION,
        chrony_address = %config.chrony_address,
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
