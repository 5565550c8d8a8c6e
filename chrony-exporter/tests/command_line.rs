//! The command line: chrony_exporter's (kingpin and exporter-toolkit
//! forms: `--flag=value`, Go durations, `--no-FLAG`, an empty
//! `--web.config.file=`, `--help-long`, `--help-man`) starts unchanged;
//! wrong flags fail at start with a message; logs can be JSON.

mod common;

use common::*;
use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args(args)
        .output()
        .expect("running chrony-exporter");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_fail_at_start() {
    let (code, err) = run(&["--no-such-flag"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--no-such-flag"), "{err}");

    let (code, err) = run(&["--collector.bogus"]);
    assert_eq!(code, Some(2), "{err}");

    for bad in [
        "unix://relative/path",
        "/run/chrony.sock",
        "host:notaport",
        "[::1",
        "",
    ] {
        let (code, err) = run(&["--chrony.address", bad]);
        assert_eq!(code, Some(2), "{bad:?}: {err}");
        assert!(err.contains("--chrony.address"), "{bad:?}: {err}");
    }

    let (code, err) = run(&["--chrony.timeout", "forever"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("duration"), "{err}");

    let (code, err) = run(&["--web.listen-address", "not-an-address"]);
    assert_eq!(code, Some(2), "{err}");

    let (code, err) = run(&["--log.format", "xml"]);
    assert_eq!(code, Some(2), "{err}");

    // A port in use: a clear error and exit status 1.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = run(&["--web.listen-address", &addr]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot listen on"), "{err}");

    // --help lists every collector flag pair.
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for c in [
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
    ] {
        assert!(help.contains(&format!("--collector.{c}")), "{c}");
        assert!(help.contains(&format!("--no-collector.{c}")), "{c}");
    }
}

/// A chrony_exporter command line (its flags, both forms of its switches,
/// two listen addresses) starts unchanged: every listener serves the
/// scrape, with-ntpdata means the ntpdata series, and --collector.clients
/// is warned about.
#[test]
fn a_chrony_exporter_command_line_starts_and_serves_every_listener() {
    let d = chronyd(2);
    let e = Exporter::start(&[
        &format!("--chrony.address={}", unix_address(&d)),
        "--chrony.timeout=1m30s",
        "--collector.tracking",
        "--collector.sources",
        "--collector.sourcestats",
        "--collector.sources.with-ntpdata",
        "--collector.serverstats",
        "--collector.clients",
        "--collector.chmod-socket",
        "--no-collector.dns-lookups",
        "--web.telemetry-path=/metrics",
        "--web.config.file=",
        "--no-web.systemd-socket",
        "--log.format=logfmt",
        // A host name; Exporter::start adds a second 127.0.0.1:0 listener.
        "--web.listen-address=localhost:0",
    ]);
    assert_eq!(e.addrs.len(), 2, "{:?}\n{}", e.addrs, e.log());
    assert_ne!(e.addrs[0], e.addrs[1]);
    for addr in &e.addrs {
        let r = get(*addr, "/metrics", &[]);
        assert_eq!(r.status, 200, "{addr}: {}", r.body);
        let m = Metrics::parse(&r.body);
        assert_eq!(m.value("chrony_up", &[]), 1.0, "{addr}");
        assert!(m.has("chrony_tracking_stratum"), "{addr}");
        assert!(
            m.has("chrony_ntpdata_offset_seconds"),
            "{addr}: with-ntpdata"
        );
        // chrony_exporter's names for five ntpdata values, for each
        // source that has sent a packet.
        for n in [
            "offset",
            "delay",
            "dispersion",
            "response_time",
            "jitter_asymmetry",
        ] {
            let name = format!("chrony_sources_peer_{n}_seconds");
            assert_eq!(
                m.find(&name, &[]).len(),
                m.find("chrony_ntpdata_stratum", &[]).len(),
                "{addr}: {name}"
            );
        }
        assert!(
            m.has("chrony_serverstats_ntp_packets_received_total"),
            "{addr}"
        );
    }
    let log = e.log();
    assert_eq!(
        log.matches("--collector.clients: libchrony has no clients report")
            .count(),
        1,
        "{log}"
    );
}

/// kingpin's --help-long (the long help) and --help-man (a man page).
#[test]
fn help_long_and_help_man_print_and_exit() {
    let run = |flag: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
            .arg(flag)
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}");
        String::from_utf8(out.stdout).unwrap()
    };
    let long = run("--help-long");
    assert!(long.contains("--probe.allow"), "{long}");
    assert!(long.contains("--collector.authdata"), "{long}");
    let man = run("--help-man");
    assert!(man.contains(".TH chrony-exporter"), "{man}");
    assert!(man.contains("chrony.address"), "{man}");
    // No flag chrony_exporter lacks is offered as one of its names.
    assert!(!run("--help").contains("dns-ptr-cache-min-ttl"));
}

/// --log.format json: one JSON object per line, with level and message.
#[test]
fn logs_can_be_json() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.format",
            "json",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .next()
        .expect("a log line")
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(v["level"], "INFO", "{line}");
    assert_eq!(v["message"], "listening", "{line}");
    assert!(
        v["listen"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{line}"
    );
}
