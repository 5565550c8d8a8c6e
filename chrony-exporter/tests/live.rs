//! The exporter against a real chronyd (testkit harness): values as chronyc
//! prints them, promtool on every collector's output, frozen, dead and
//! restarted chronyd, concurrent scrapes sharing a read, the exporter's
//! own metrics, several addresses, UDP refusals.

mod common;

use common::*;
use std::io::Read as _;
use std::time::{Duration, Instant};

const COLLECTORS: [&str; 10] = [
    "tracking",
    "sources",
    "sourcestats",
    "activity",
    "rtcdata",
    "smoothing",
    "serverstats",
    "selectdata",
    "ntpdata",
    "authdata",
];

/// The collector's report was read in this scrape.
fn served(m: &Metrics, c: &str) -> bool {
    m.value("chrony_scrape_collector_success", &[("collector", c)]) == 1.0
}

#[test]
fn scrape_matches_chronyc_and_passes_promtool() {
    let d = chronyd(3);
    let e = Exporter::start(&["--chrony.address", &unix_address(&d)]);
    let before = e.metrics();
    let tracking = chronyc_rows(&d, &["tracking"]);
    let sources = chronyc_rows(&d, &["sources"]);
    let after = e.metrics();
    assert_eq!(after.value("chrony_up", &[]), 1.0);

    // Tracking: what chronyc printed (reference ID, stratum) matches
    // before or after.
    let t = &tracking[0];
    let refid = &t[0];
    let ok_refid = [&before, &after].iter().any(|m| {
        m.find(
            "chrony_tracking_info",
            &[("tracking_refid", refid.as_str())],
        )
        .len()
            == 1
    });
    assert!(
        ok_refid,
        "reference ID {refid}: {:?}",
        after.find("chrony_tracking_info", &[])
    );
    let stratum: f64 = t[2].parse().unwrap();
    assert!([&before, &after]
        .iter()
        .any(|m| m.value("chrony_tracking_stratum", &[]) == stratum));

    // Sources: the same addresses, each with its stratum and poll.
    for row in &sources {
        let addr = row[2].as_str();
        let found = [&before, &after].iter().any(|m| {
            let labels = [("source_address", addr)];
            m.find("chrony_sources_stratum", &labels)
                .first()
                .map(|s| s.value)
                == row[3].parse::<f64>().ok()
                && m.find("chrony_sources_polling_interval_seconds", &labels)
                    .first()
                    .map(|s| s.value)
                    == Some(2f64.powi(row[4].parse().unwrap()))
        });
        assert!(found, "source {row:?} not in the metrics");
    }
    assert_eq!(
        after.find("chrony_sources_stratum", &[]).len(),
        sources.len()
    );

    // Every collector ran (enabled by default on the socket) and reported.
    for c in COLLECTORS {
        assert_eq!(
            after
                .find("chrony_scrape_collector_success", &[("collector", c)])
                .len(),
            1,
            "{c}"
        );
    }
    for c in [
        "tracking",
        "sources",
        "sourcestats",
        "activity",
        "serverstats",
        "ntpdata",
    ] {
        assert!(served(&after, c), "{c} not read");
    }
    // No RTC and no smoothing in the harness: "not available", not failed.
    for c in ["rtcdata", "smoothing"] {
        assert_eq!(
            after.value(
                "chrony_scrape_collector_unavailable",
                &[("collector", c), ("reason", "not_available")]
            ),
            1.0
        );
    }

    // promtool on the text output holding every collector's metrics.
    let body = e.get("/metrics", &[]).body;
    for prefix in [
        "chrony_tracking_",
        "chrony_sources_",
        "chrony_sourcestats_",
        "chrony_activity_",
        "chrony_serverstats_",
        "chrony_ntpdata_",
        "chrony_authdata_",
    ] {
        assert!(body.contains(prefix), "no {prefix} metrics");
    }
    promtool_check(&body);

    // OpenMetrics when asked for, text otherwise.
    let om = e.get(
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        )],
    );
    assert!(om
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(om.body.ends_with("# EOF\n"));
    let text = e.get("/metrics", &[("Accept", "text/plain")]);
    assert!(text
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(text.header("content-encoding").is_none());

    // gzip when accepted (Prometheus sends `Accept-Encoding: gzip`): the
    // same series, in under a third of the bytes (a tenth at 128 sources).
    let zipped = e.get("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(zipped.header("vary"), Some("Accept, Accept-Encoding"));
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&zipped.bytes[..])
        .read_to_string(&mut unzipped)
        .expect("a gzip body");
    assert!(
        zipped.bytes.len() * 3 < unzipped.len(),
        "{} of {}",
        zipped.bytes.len(),
        unzipped.len()
    );
    let series = |m: &Metrics| {
        let mut v: Vec<String> = m
            .samples
            .iter()
            .map(|s| format!("{}{:?}", s.name, s.labels))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        series(&Metrics::parse(&unzipped)),
        series(&Metrics::parse(&text.body))
    );
    let refused = e.get("/metrics", &[("Accept-Encoding", "gzip;q=0, identity")]);
    assert!(refused.header("content-encoding").is_none());
    assert!(refused.body.contains("chrony_up 1\n"));
    let uncompressed = Exporter::start(&[
        "--chrony.address",
        &unix_address(&d),
        "--web.disable-compression",
    ]);
    let r = uncompressed.get("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.status, 200);
    assert!(r.header("content-encoding").is_none());
    assert_eq!(r.header("vary"), Some("Accept"));
    assert!(r.body.contains("chrony_up 1\n"));

    let landing = e.get("/", &[]);
    assert_eq!(landing.status, 200);
    assert!(landing.body.contains("href=\"/metrics\""));
    assert_eq!(e.get("/nothing", &[]).status, 404);
}

#[test]
fn frozen_dead_and_restarted_chronyd() {
    let mut d = chronyd(1);
    let e = Exporter::start(&[
        "--chrony.address",
        &unix_address(&d),
        "--chrony.timeout",
        "4s",
    ]);
    assert_eq!(e.metrics().value("chrony_up", &[]), 1.0);

    // Frozen: chrony_up 0 with a 200 inside the scrape timeout (2 s minus
    // the margin); then the next scrape after SIGCONT is complete.
    d.freeze().expect("freeze");
    let start = Instant::now();
    let r = e.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "2")]);
    let took = start.elapsed();
    d.resume().expect("resume");
    assert_eq!(r.status, 200);
    let m = Metrics::parse(&r.body);
    assert_eq!(m.value("chrony_up", &[]), 0.0);
    assert!(
        took < Duration::from_millis(2500),
        "frozen scrape took {took:?}"
    );
    assert_eq!(
        m.value(
            "chrony_scrape_collector_success",
            &[("collector", "tracking")]
        ),
        0.0
    );
    assert!(!m.has("chrony_tracking_stratum"));
    let m = e.metrics();
    assert_eq!(m.value("chrony_up", &[]), 1.0);
    for c in ["tracking", "sources", "sourcestats", "serverstats"] {
        assert!(served(&m, c), "{c} after the freeze");
    }
    assert!(m.has("chrony_sources_stratum"));

    // Dead: up 0, quickly (the socket is gone).
    d.stop().expect("stop");
    let start = Instant::now();
    let m = e.metrics();
    assert_eq!(m.value("chrony_up", &[]), 0.0);
    assert!(start.elapsed() < Duration::from_secs(5));

    // Restarted: the next scrapes are complete again.
    d.restart().expect("restart");
    wait_for(
        "chrony_up 1 after the restart",
        Duration::from_secs(20),
        || e.metrics().value("chrony_up", &[]) == 1.0,
    );
    let m = e.metrics();
    assert!(served(&m, "sources") && m.has("chrony_sources_stratum"));
    let log = e.log_containing("chronyd did not answer");
    assert!(log.contains("chronyd did not answer"), "{log}");
}

/// chronyd's count of command requests it received (`chronyc -c
/// serverstats`, third field).
fn command_requests(d: &chrony_testkit::harness::Chronyd) -> f64 {
    chronyc_rows(d, &["serverstats"])[0][2].parse().unwrap()
}

/// Concurrent scrapes share the read in flight: 50 at once are all
/// complete and cost chronyd a few reads' requests, not 50.
#[test]
fn concurrent_scrapes_share_the_read_in_flight() {
    let d = chronyd(4);
    let e = Exporter::start(&["--chrony.address", &unix_address(&d)]);
    let first = e.metrics();
    let names = |m: &Metrics| {
        let mut v: Vec<String> = m
            .samples
            .iter()
            .filter(|s| {
                s.name.starts_with("chrony_sources_stratum")
                    || s.name.starts_with("chrony_sourcestats_samples")
            })
            .map(|s| format!("{}{:?}", s.name, s.labels.get("source_address")))
            .collect();
        v.sort();
        v
    };
    let want = names(&first);
    assert!(!want.is_empty());
    // Requests chronyd gets for one lone scrape (less chronyc's own).
    let a = command_requests(&d);
    let b = command_requests(&d);
    let chronyc = b - a;
    let _ = e.metrics();
    let per_scrape = command_requests(&d) - b - chronyc;
    assert!(per_scrape > 10.0, "{per_scrape} requests per scrape");

    let before = command_requests(&d);
    let addr = e.addr();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                get(addr, "/metrics", &[])
            })
        })
        .collect();
    for h in handles {
        let r = h.join().unwrap();
        assert_eq!(r.status, 200);
        let m = Metrics::parse(&r.body);
        assert_eq!(m.value("chrony_up", &[]), 1.0);
        assert_eq!(names(&m), want);
        for c in ["tracking", "sources", "sourcestats", "ntpdata"] {
            assert!(served(&m, c), "{c}");
        }
    }
    let reads = (command_requests(&d) - before - chronyc) / per_scrape;
    assert!(
        reads <= 10.0,
        "50 concurrent scrapes cost chronyd {reads:.1} scrapes' requests"
    );
}

/// The exporter's own metrics: build info with its revision and branch,
/// and the process metrics as procfs has them.
#[test]
fn the_exporters_own_metrics_are_true() {
    let d = chronyd(1);
    let e = Exporter::start(&["--chrony.address", &unix_address(&d)]);
    // The process is measured as a scrape starts, while chronyd answers
    // (client_golang too gathers its collectors at once): the first
    // scrape's figures predate the client's sessions, which it opens.
    e.metrics();
    let m = e.metrics();
    let info = m.find("chrony_exporter_build_info", &[]);
    assert_eq!(info.len(), 1);
    for label in ["version", "revision", "branch", "libchrony_version"] {
        assert!(
            !info[0].labels[label].is_empty(),
            "{label}: {:?}",
            info[0].labels
        );
    }
    let pid = e.pid();
    let (soft, _) = procfs::nofile_limits(pid);
    assert_eq!(m.value("process_max_fds", &[]), soft as f64);
    let fds = m.value("process_open_fds", &[]);
    let now = procfs::fds(pid).len() as f64;
    assert!((fds - now).abs() <= 4.0, "{fds} open, procfs says {now}");
    let rss = m.value("process_resident_memory_bytes", &[]);
    let kib = procfs::rss_kib(pid) as f64 * 1024.0;
    assert!(rss > kib / 2.0 && rss < kib * 2.0, "{rss} vs {kib}");
    assert!(m.value("process_virtual_memory_bytes", &[]) >= rss);
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let start = m.value("process_start_time_seconds", &[]);
    assert!(
        start <= unix_now && start > unix_now - 120.0,
        "{start} vs {unix_now}"
    );
    assert!(m.value("process_cpu_seconds_total", &[]) >= 0.0);
    // Not on /probe.
    let r = e.get("/probe?target=127.0.0.1", &[]);
    assert_eq!(r.status, 403);
}

/// Several UDP addresses are tried in order (the default is 127.0.0.1:323,
/// then [::1]:323): the one that answers is used, wherever it is in the
/// list, so an IPv4-only host and a dual-stack one both work.
#[test]
fn the_first_address_that_answers_is_used() {
    let d = builder()
        .servers(1)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let udp = d.udp_address().expect("a UDP command port");
    let dead = format!("[::1]:{}", closed_udp_port());
    let dead4 = format!("127.0.0.1:{}", closed_udp_port());
    for list in [
        format!("{dead},{udp}"),
        format!("{udp},{dead}"),
        format!("{dead4},{dead},{udp}"),
    ] {
        let e = Exporter::start(&["--chrony.address", &list]);
        for _ in 0..2 {
            let m = e.metrics();
            assert_eq!(m.value("chrony_up", &[]), 1.0, "{list}\n{}", e.log());
            assert!(m.has("chrony_tracking_stratum"), "{list}");
        }
    }
    // None answers: up 0, every address named in the log.
    let e = Exporter::start(&["--chrony.address", &format!("{dead4},{dead}")]);
    assert_eq!(e.metrics().value("chrony_up", &[]), 0.0);
    let log = e.log_containing("chronyd did not answer");
    assert!(
        log.contains(&dead4) && log.contains("chronyd did not answer"),
        "{log}"
    );
}

#[test]
fn udp_refusals_are_visible_not_fatal() {
    let d = builder()
        .servers(1)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let udp = d.udp_address().expect("a UDP command port").to_string();
    // Over UDP the socket-only collectors are off by default...
    let e = Exporter::start(&["--chrony.address", &udp]);
    let m = e.metrics();
    assert_eq!(m.value("chrony_up", &[]), 1.0);
    assert!(m
        .find(
            "chrony_scrape_collector_success",
            &[("collector", "serverstats")]
        )
        .is_empty());
    assert!(served(&m, "tracking") && m.has("chrony_tracking_stratum"));
    drop(e);
    // ...and when asked for, chronyd's refusal is its own state.
    let e = Exporter::start(&[
        "--chrony.address",
        &udp,
        "--collector.serverstats",
        "--collector.ntpdata",
    ]);
    let m = e.metrics();
    assert_eq!(m.value("chrony_up", &[]), 1.0);
    for c in ["serverstats", "ntpdata"] {
        assert_eq!(
            m.value("chrony_scrape_collector_success", &[("collector", c)]),
            0.0
        );
        assert_eq!(
            m.value(
                "chrony_scrape_collector_unavailable",
                &[("collector", c), ("reason", "unauthorized")]
            ),
            1.0
        );
    }
    assert!(m.has("chrony_sources_stratum"));
    // Logged once, not at every scrape.
    let _ = e.metrics();
    let log = e.log_containing("collector=serverstats");
    let n = log
        .lines()
        .filter(|l| l.contains("collector=serverstats") && l.contains("level=warn"))
        .count();
    assert_eq!(n, 1, "{log}");
}

/// One deadline, end to end: a report not finished by the scrape's
/// deadline is absent with reason `timeout` (and the log names it), the
/// finished ones are exported, and the client goes on: the next scrape
/// with time enough is complete.
#[test]
fn a_report_past_the_deadline_is_absent_and_the_finished_ones_are_exported() {
    use chrony_testkit::proxy::{Direction, Proxy};
    let d = builder()
        .servers(1)
        .unreachable_servers(49)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    // 100 ms a round trip: tracking takes one, sources (its count and 50
    // records over the two sessions) about 26, 2.6 s. (50 sources: the
    // Docker backend of the matrix takes at most 50 unreachable ones.)
    let proxy = Proxy::builder(d.udp_address().expect("a UDP command port"))
        .latency(Direction::Both, std::time::Duration::from_millis(50))
        .start()
        .expect("the proxy");
    let e = Exporter::start(&[
        "--chrony.address",
        &proxy.address().to_string(),
        "--chrony.concurrency",
        "2",
        "--chrony.timeout",
        "20s",
        "--no-collector.sourcestats",
        "--no-collector.activity",
        "--no-collector.rtcdata",
        "--no-collector.smoothing",
    ]);
    // A 2 s scrape timeout: a 1.5 s budget.
    let r = e.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "2")]);
    assert_eq!(r.status, 200);
    let m = Metrics::parse(&r.body);
    assert_eq!(m.value("chrony_up", &[]), 1.0, "{}", r.body);
    assert!(served(&m, "tracking"));
    assert!(m.has("chrony_tracking_stratum"));
    assert_eq!(
        m.value(
            "chrony_scrape_collector_success",
            &[("collector", "sources")]
        ),
        0.0
    );
    assert_eq!(
        m.value(
            "chrony_scrape_collector_unavailable",
            &[("collector", "sources"), ("reason", "timeout")]
        ),
        1.0
    );
    assert!(!m.has("chrony_sources_stratum"));
    let log = e.log_containing("reason=timeout");
    assert!(
        log.lines().any(|l| l.contains("level=warn")
            && l.contains("collector=sources")
            && l.contains("reason=timeout")),
        "{log}"
    );
    // With time enough, the same exporter's next scrape is complete.
    let m = e.metrics();
    assert_eq!(m.value("chrony_up", &[]), 1.0);
    assert!(served(&m, "sources"));
    assert_eq!(m.find("chrony_sources_stratum", &[]).len(), 50);
}
