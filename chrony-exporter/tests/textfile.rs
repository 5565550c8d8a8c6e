//! Textfile mode (`--once --output PATH`): a live chronyd gives exit 0 and
//! a file promtool accepts; a dead address gives exit 1 and `chrony_up 0`;
//! the file is replaced whole, with no temporary left behind.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn once(args: &[&str], output: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args(args)
        .arg("--once")
        .arg("--output")
        .arg(output)
        .output()
        .expect("running chrony-exporter --once")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn live_chronyd_gives_a_complete_file_and_exit_0() {
    let d = chronyd(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chrony.prom");
    std::fs::write(&path, "chrony_up 0\n").unwrap();
    let out = once(&["--chrony.address", &unix_address(&d)], &path);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let m = Metrics::parse(&text);
    assert_eq!(m.value("chrony_up", &[]), 1.0);
    assert!(m.has("chrony_tracking_stratum"), "{text}");
    assert!(
        m.has("chrony_serverstats_ntp_packets_received_total"),
        "{text}"
    );
    assert!(!text.contains("# EOF"), "OpenMetrics instead of text 0.0.4");
    promtool_check(&text);
    assert_eq!(entries(dir.path()), ["chrony.prom"]);
    // Silent at info when chronyd answered (cron mails what it prints).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "{stderr}");
}

#[test]
fn dead_chronyd_gives_chrony_up_0_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chrony.prom");
    let out = once(
        &["--chrony.address", "127.0.0.1:9", "--chrony.timeout", "1s"],
        &path,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Metrics::parse(&text).value("chrony_up", &[]), 0.0);
    promtool_check(&text);
    assert_eq!(entries(dir.path()), ["chrony.prom"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("chronyd did not answer"), "{log}");

    // An unwritable place: exit 1 with the reason, nothing created.
    let bad = dir.path().join("missing-dir").join("chrony.prom");
    let out = once(
        &["--chrony.address", "127.0.0.1:9", "--chrony.timeout", "1s"],
        &bad,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
    assert_eq!(entries(dir.path()), ["chrony.prom"]);
}

#[test]
fn output_needs_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args(["--output", "/nonexistent/x.prom"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
