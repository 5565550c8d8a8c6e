//! One scrape: read chronyd within a deadline, build the metrics.
//!
//! A scrape takes an idle [`AsyncClient`] from a small pool (or connects a
//! new one), reads every report at once and gives the client back; a
//! scrape that fails or runs out of time drops its client (dropping an
//! `AsyncClient` future is cancel safe), so the next scrape starts fresh.
//! Concurrent scrapes each hold their own client: they never share a
//! half-read state and never wait for each other.

use crate::collect::{self, Collector, Names, Status};
use crate::dns::Resolver;
use crate::metrics::Out;
use chrony::tokio::AsyncClient;
use chrony::{ClientBuilder, Snapshot};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many idle clients are kept between scrapes of the local chronyd.
pub const MAX_IDLE: usize = 4;

/// The exporter's view of chronyd.
pub struct Scraper {
    address: String,
    builder: ClientBuilder,
    timeout: Duration,
    enabled: Vec<Collector>,
    idle: Mutex<Vec<AsyncClient>>,
    max_idle: usize,
    /// Whether `chrony_exporter_build_info` is written (the exporter's own
    /// metric: on `/metrics`, not on `/probe`).
    build_info: bool,
    resolver: Option<Resolver>,
    libchrony_version: String,
    last: Mutex<LastState>,
}

/// What the log last said, so each change is logged once.
#[derive(Default)]
struct LastState {
    up: Option<bool>,
    reasons: HashMap<Collector, Option<String>>,
}

/// The one function that reads chronyd: the reports of the enabled
/// collectors (and only those), at once, over the client's sessions.
async fn read_snapshot(
    client: &mut AsyncClient,
    enabled: &[Collector],
) -> chrony::Result<Snapshot> {
    let reports: Vec<&str> = enabled.iter().map(|c| c.name()).collect();
    client.snapshot_of(&reports).await
}

impl Scraper {
    pub fn new(
        address: String,
        timeout: Duration,
        concurrency: usize,
        enabled: Vec<Collector>,
        resolver: Option<Resolver>,
    ) -> Scraper {
        Scraper::with_pool(
            address,
            timeout,
            concurrency,
            enabled,
            resolver,
            MAX_IDLE,
            true,
        )
    }

    /// As [`Scraper::new`], keeping at most `max_idle` idle clients and
    /// writing the build info only when `build_info` is set.
    pub fn with_pool(
        address: String,
        timeout: Duration,
        concurrency: usize,
        enabled: Vec<Collector>,
        resolver: Option<Resolver>,
        max_idle: usize,
        build_info: bool,
    ) -> Scraper {
        let builder = chrony::Client::builder()
            .deadline(timeout)
            .timeout(timeout.min(Duration::from_secs(1)))
            .concurrency(concurrency);
        Scraper {
            address,
            builder,
            timeout,
            enabled,
            idle: Mutex::new(Vec::new()),
            max_idle,
            build_info,
            resolver,
            libchrony_version: crate::LIBCHRONY_VERSION.to_string(),
            last: Mutex::new(LastState::default()),
        }
    }

    /// The bound of a scrape: the scraper's timeout (when it sent one)
    /// minus a margin for encoding and the network, never more than
    /// `--chrony.timeout`.
    pub fn budget(&self, scrape_timeout: Option<f64>) -> Duration {
        const MARGIN: f64 = 0.5;
        let mut budget = self.timeout;
        if let Some(t) = scrape_timeout.filter(|t| t.is_finite() && *t > 0.0) {
            // At least 10% of the scraper's timeout, so a tiny timeout still
            // reads something; the margin otherwise.
            let b = (t - MARGIN).max(t * 0.1);
            budget = budget.min(Duration::from_secs_f64(b));
        }
        budget
    }

    /// Reads chronyd (bounded by `budget`) and builds every metric.
    pub async fn scrape(&self, budget: Duration) -> Out {
        self.scrape_up(budget).await.0
    }

    /// As [`Scraper::scrape`], also saying whether chronyd answered.
    pub async fn scrape_up(&self, budget: Duration) -> (Out, bool) {
        let start = Instant::now();
        let deadline = tokio::time::Instant::now() + budget;
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let read = tokio::time::timeout_at(deadline, async {
            let mut client = match pooled {
                Some(c) => c,
                None => self.builder.connect_async(self.address.as_str()).await?,
            };
            let snap = read_snapshot(&mut client, &self.enabled).await?;
            Ok::<_, chrony::Error>((client, snap))
        })
        .await;
        let read_time = start.elapsed();
        let (snap, error) = match read {
            Ok(Ok((client, snap))) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < self.max_idle {
                    idle.push(client);
                }
                (Some(snap), None)
            }
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(_) => (
                None,
                Some(format!(
                    "no complete answer within the scrape deadline ({budget:?})"
                )),
            ),
        };

        let (mut out, statuses) = match &snap {
            Some(snap) => {
                let names = match &self.resolver {
                    Some(r) => r.names(&collect::addresses(snap), deadline).await,
                    None => Names::new(),
                };
                let built = collect::build(snap, &self.enabled, &names);
                (built.out, built.statuses)
            }
            None => (
                Out::default(),
                self.enabled
                    .iter()
                    .map(|&c| (c, Status::Absent("no_answer".into()), Duration::ZERO))
                    .collect(),
            ),
        };
        self.log_changes(snap.is_some(), error.as_deref(), &statuses);
        collect::health(
            &mut out,
            snap.is_some(),
            read_time,
            &statuses,
            self.build_info.then_some(self.libchrony_version.as_str()),
        );
        tracing::debug!(
            up = snap.is_some(),
            seconds = start.elapsed().as_secs_f64(),
            "scrape"
        );
        let up = snap.is_some();
        (out, up)
    }

    fn log_changes(
        &self,
        up: bool,
        error: Option<&str>,
        statuses: &[(Collector, Status, Duration)],
    ) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.up != Some(up) {
            match error {
                Some(e) => {
                    tracing::warn!(address = %self.address, error = %e, "chronyd did not answer")
                }
                None => tracing::info!(address = %self.address, "chronyd answered"),
            }
            last.up = Some(up);
        } else if let Some(e) = error {
            tracing::debug!(address = %self.address, error = %e, "chronyd did not answer");
        }
        if !up {
            return;
        }
        for (c, st, _) in statuses {
            let reason = st.reason().map(str::to_string);
            let before = last.reasons.insert(*c, reason.clone());
            if before.as_ref() == Some(&reason) {
                continue;
            }
            match (&reason, st) {
                (Some(r), Status::Absent(_)) => tracing::warn!(
                    collector = c.name(),
                    reason = %r,
                    "chronyd gives no data for this collector's report (metric chrony_scrape_collector_unavailable)"
                ),
                (Some(r), _) => {
                    tracing::info!(collector = c.name(), reason = %r, "report not available in chronyd")
                }
                (None, _) if before.is_some() => {
                    tracing::info!(collector = c.name(), "report readable again")
                }
                _ => {}
            }
        }
    }
}
