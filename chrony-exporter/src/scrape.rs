//! One scrape: a read of chronyd (shared with the scrapes in flight with
//! it, see [`crate::target`]), then the metrics built from it.
//!
//! What the log says of a target is said once per change (chronyd stops
//! or starts answering, a report becomes absent or readable), and each
//! kind of line at most once a minute over all targets ([`Limiter`]): a
//! fleet of failing probe targets does not fill the log.

use crate::collector::{self, BuildInfo, Collector, Names, Status};
use crate::dns::Resolver;
use crate::logging::Limiter;
use crate::metrics::Out;
use crate::target::Target;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The margin left of a scraper's timeout for building, encoding and the
/// network.
const MARGIN: f64 = 0.5;

/// The bound of a scrape: the scraper's timeout (when it sent one) minus a
/// margin for encoding and the network, never more than `timeout`
/// (`--chrony.timeout`).
pub fn budget(timeout: Duration, scrape_timeout: Option<f64>) -> Duration {
    match scrape_timeout.filter(|t| t.is_finite() && *t > 0.0) {
        // At least 10% of the scraper's timeout, so a tiny timeout still
        // reads something; the margin otherwise. A value past what a
        // Duration holds (the header is the client's) is the flag's bound.
        Some(t) => Duration::try_from_secs_f64((t - MARGIN).max(t * 0.1))
            .map_or(timeout, |b| timeout.min(b)),
        None => timeout,
    }
}

/// The exporter's view of one chronyd.
pub struct Scraper {
    target: Arc<Target>,
    enabled: Vec<&'static Collector>,
    resolver: Option<Resolver>,
    /// `/metrics` (the exporter's own metrics: build info, process) rather
    /// than `/probe`.
    own: bool,
    limiter: Arc<Limiter>,
    last: Mutex<LastState>,
}

/// What the log last said of this target, so each change is logged once.
#[derive(Default)]
struct LastState {
    up: Option<bool>,
    reasons: HashMap<&'static str, Option<String>>,
}

impl Scraper {
    /// `own`: write the exporter's own metrics too (`/metrics`).
    pub fn new(
        target: Arc<Target>,
        enabled: Vec<&'static Collector>,
        resolver: Option<Resolver>,
        own: bool,
        limiter: Arc<Limiter>,
    ) -> Scraper {
        Scraper {
            target,
            enabled,
            resolver,
            own,
            limiter,
            last: Mutex::default(),
        }
    }

    /// The target's reports, as its reads ask for them.
    pub fn reports(enabled: &[&'static Collector]) -> Vec<&'static str> {
        enabled.iter().map(|c| c.name).collect()
    }

    pub fn target(&self) -> &Arc<Target> {
        &self.target
    }

    /// Reads chronyd (bounded by `budget`) and builds every metric; whether
    /// chronyd answered.
    pub async fn scrape(&self, budget: Duration) -> (Out, bool) {
        let start = Instant::now();
        let deadline = tokio::time::Instant::now() + budget;
        // The process's figures are read on the blocking pool while
        // chronyd answers, so they add nothing to the scrape's time.
        let process = self.own.then(crate::process::sample);
        let read = self.target.read(deadline).await;
        let (mut out, statuses, up) = match &read.snapshot {
            Ok(snap) => {
                let names = match &self.resolver {
                    Some(r) => r.names(&collector::addresses(snap), deadline).await,
                    None => Names::new(),
                };
                let built = collector::build(snap, &self.enabled, &names);
                (built.out, built.statuses, true)
            }
            Err(why) => (
                Out::default(),
                collector::no_answer(&self.enabled, why),
                false,
            ),
        };
        self.log_changes(read.snapshot.as_ref().err(), &statuses);
        collector::health(
            &mut out,
            up,
            read.took,
            &statuses,
            self.own.then_some(&BuildInfo::CURRENT),
        );
        if let Some(process) = process {
            crate::process::collect(&mut out, &process.await);
        }
        tracing::debug!(
            address = %self.target.shown(),
            up,
            seconds = start.elapsed().as_secs_f64(),
            "scrape"
        );
        (out, up)
    }

    fn log_changes(
        &self,
        error: Option<&String>,
        statuses: &[(&'static Collector, Status, Duration)],
    ) {
        let address = self.target.shown();
        let up = error.is_none();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let before = last.up.replace(up);
        match (before, error) {
            (Some(false), None) => {
                if let Some(held) = self.limiter.allow(("answered_again", "")) {
                    tracing::info!(%address, held_back = held, "chronyd answered again");
                }
            }
            (Some(true) | None, Some(e)) => {
                if let Some(held) = self.limiter.allow(("no_answer", "")) {
                    tracing::warn!(%address, error = %e, held_back = held, "chronyd did not answer");
                }
            }
            (_, Some(e)) => tracing::debug!(%address, error = %e, "chronyd did not answer"),
            _ => {}
        }
        if !up {
            return;
        }
        for (c, st, _) in statuses {
            let reason = st.reason().map(str::to_string);
            let before = last.reasons.insert(c.name, reason.clone());
            if before.as_ref() == Some(&reason) {
                continue;
            }
            match st {
                Status::Absent { reason, message } => {
                    if let Some(held) = self.limiter.allow(("report_absent", c.name)) {
                        tracing::warn!(
                            %address,
                            collector = c.name,
                            %reason,
                            error = %message,
                            held_back = held,
                            "chronyd gives no data for this collector's report (metric chrony_scrape_collector_unavailable)"
                        );
                    }
                }
                // Normal (no RTC, no smoothing): for the curious only.
                Status::NotAvailable => {
                    tracing::debug!(%address, collector = c.name, "report not available in chronyd (feature off)");
                }
                Status::Read if before.is_some_and(|b| b.is_some()) => {
                    if let Some(held) = self.limiter.allow(("report_readable_again", c.name)) {
                        tracing::info!(%address, collector = c.name, held_back = held, "report readable again");
                    }
                }
                Status::Read => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_the_scrape_timeout_less_a_margin_within_the_flag() {
        let five = Duration::from_secs(5);
        assert_eq!(budget(five, None), five);
        assert_eq!(budget(five, Some(2.5)), Duration::from_secs(2));
        assert_eq!(budget(five, Some(60.0)), five);
        assert_eq!(budget(five, Some(0.2)), Duration::from_secs_f64(0.02));
        assert_eq!(budget(five, Some(f64::NAN)), five);
        assert_eq!(budget(five, Some(-1.0)), five);
        // The header is the client's: values no Duration holds are the
        // flag's bound, not a panic.
        assert_eq!(budget(five, Some(1e20)), five);
        assert_eq!(budget(five, Some(f64::MAX)), five);
        assert_eq!(budget(five, Some(f64::MIN_POSITIVE)), Duration::ZERO);
    }
}
