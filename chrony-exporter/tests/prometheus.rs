//! End to end: chronyd (testkit harness), the exporter and a real
//! Prometheus (Debian's package, installed by scripts/bootstrap) scraping
//! every second into its own temp dir on loopback; the values Prometheus
//! stores are the ones chronyc prints, and a frozen chronyd shows as
//! chrony_up 0 in Prometheus and recovers after SIGCONT.

mod common;

use common::*;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// The Prometheus server, scraping `target` every second.
struct Server {
    prometheus: Prometheus,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(target: SocketAddr) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let prometheus = Prometheus::start(
            "prometheus",
            dir.path(),
            &format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: chrony\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        );
        let addr = prometheus.addr;
        Server {
            prometheus,
            addr,
            _dir: dir,
        }
    }

    /// The instant vector of `query`: (labels, value) per series.
    fn query(&self, query: &str) -> Vec<(Value, f64)> {
        self.prometheus
            .query(query, None)
            .iter()
            .map(|s| {
                let value = s["value"][1].as_str().unwrap().parse::<f64>().unwrap();
                (s["metric"].clone(), value)
            })
            .collect()
    }

    fn one(&self, query: &str) -> Option<f64> {
        let v = self.query(query);
        (v.len() == 1).then(|| v[0].1)
    }
}

#[test]
fn prometheus_scrapes_what_chronyc_prints_and_sees_a_freeze() {
    let d = chronyd(2);
    let e = Exporter::start(&["--chrony.address", &unix_address(&d)]);
    let p = Server::start(e.addr());

    wait_for("chrony_up 1 in Prometheus", Duration::from_secs(60), || {
        p.one("chrony_up") == Some(1.0) && p.one("chrony_tracking_stratum").is_some()
    });
    // The target is healthy: Prometheus parsed our output (it asks for
    // OpenMetrics first).
    let targets = get(p.addr, "/api/v1/targets", &[]);
    let t: Value = serde_json::from_str(&targets.body).unwrap();
    let active = &t["data"]["activeTargets"][0];
    assert_eq!(active["health"], "up", "{active}");
    assert_eq!(active["lastError"], "", "{active}");
    let log = e.log_containing("format=openmetrics");
    assert!(log.contains("format=openmetrics"), "{log}");

    // Tracking and per-source values as chronyc prints them (the
    // reference and strata are stable once synchronized).
    wait_for(
        "Prometheus and chronyc to agree",
        Duration::from_secs(30),
        || {
            let tracking = chronyc_rows(&d, &["tracking"]);
            let sources = chronyc_rows(&d, &["sources"]);
            let refid = &tracking[0][0];
            let stratum: f64 = tracking[0][2].parse().unwrap();
            let info = p.query(&format!(
                "chrony_tracking_info{{tracking_refid=\"{refid}\"}}"
            ));
            let per_source = sources.iter().all(|row| {
                let addr = &row[2];
                p.one(&format!(
                    "chrony_sources_stratum{{source_address=\"{addr}\"}}"
                )) == row[3].parse().ok()
                    && p.one(&format!(
                        "chrony_sources_polling_interval_seconds{{source_address=\"{addr}\"}}"
                    )) == Some(2f64.powi(row[4].parse().unwrap()))
            });
            info.len() == 1 && p.one("chrony_tracking_stratum") == Some(stratum) && per_source
        },
    );
    assert_eq!(p.query("chrony_sources_stratum").len(), 2);

    // serverstats: chronyd serves no NTP clients here (0, as chronyc says);
    // its command counter grows with every scrape and chronyc counts
    // itself too, so Prometheus's last value is at most chronyc's.
    let stats = d.chronyc(&["serverstats"]).expect("chronyc serverstats");
    let first: Vec<f64> = stats
        .lines()
        .next()
        .unwrap()
        .split(',')
        .filter_map(|v| v.parse().ok())
        .collect();
    let ntp = p
        .one("chrony_serverstats_ntp_packets_received_total")
        .expect("ntp packets");
    assert_eq!(ntp, first[0], "{stats}");
    let cmd = p
        .one("chrony_serverstats_command_packets_received_total")
        .expect("command packets");
    let chronyc_cmd = first[2];
    assert!(
        cmd > 0.0 && cmd <= chronyc_cmd,
        "Prometheus {cmd}, chronyc {chronyc_cmd}"
    );

    // Frozen mid-run: chrony_up 0 in Prometheus, the other series go stale;
    // after SIGCONT it recovers.
    d.freeze().expect("freeze");
    let frozen = std::panic::catch_unwind(|| {
        wait_for("chrony_up 0 in Prometheus", Duration::from_secs(30), || {
            p.one("chrony_up") == Some(0.0) && p.one("chrony_tracking_stratum").is_none()
        })
    });
    d.resume().expect("resume");
    if let Err(e) = frozen {
        std::panic::resume_unwind(e);
    }
    // The scrapes stayed healthy (HTTP 200 inside the 1 s timeout).
    let up = p.one("up").expect("Prometheus's own up");
    assert_eq!(up, 1.0, "a scrape failed while chronyd was frozen");
    wait_for("recovery in Prometheus", Duration::from_secs(30), || {
        p.one("chrony_up") == Some(1.0)
            && p.one("chrony_tracking_stratum").is_some()
            && p.query("chrony_sources_stratum").len() == 2
    });
    // No scrape of the exporter failed during the whole run.
    assert_eq!(p.one("min_over_time(up[10m])"), Some(1.0));
}
