//! The `report` example is a contract other tools rely on: its JSON keys,
//! units and exit codes. These tests build it and run it against a chronyd
//! the harness starts.
mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Builds the example (with the same Cargo that runs the tests) and returns
/// its path.
fn report_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "chrony", "--example", "report"])
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the report example failed");
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = deps.parent().unwrap().join("examples/report");
    assert!(bin.exists(), "{} missing", bin.display());
    bin
}

fn run(args: &[&str]) -> Output {
    Command::new(report_binary())
        .args(args)
        .output()
        .expect("run report example")
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn json_contract_of_the_first_four_reports() {
    let d = common::builder()
        .servers(2)
        .unreachable_servers(1)
        .refclocks(1)
        .start()
        .unwrap();
    let sock = d.socket_path().to_str().unwrap();
    let out = run(&["--address", sock, "--json", "all"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let version = d.chrony_version();
    // Also on chronyd 4.0, whose ntpdata record of the unreachable server
    // has no remote address: that record is left out, the report printed.
    assert!(out.status.success(), "chrony {version}, stderr: {stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    for k in ["tracking", "sources", "sourcestats", "rtcdata"] {
        assert!(
            doc.get(k).is_some(),
            "missing {k} in {}",
            keys(&doc).join(",")
        );
    }

    let t = &doc["tracking"];
    assert_eq!(
        keys(t),
        sorted(&[
            "reference_id",
            "address",
            "stratum",
            "leap_status",
            "reference_time",
            "current_correction",
            "last_offset",
            "rms_offset",
            "frequency_ppm",
            "residual_frequency_ppm",
            "skew_ppm",
            "root_delay",
            "root_dispersion",
            "last_update_interval",
        ])
    );
    assert!(t["reference_id"].is_u64());
    assert!(t["address"].is_string() || t["address"].is_null());
    assert!(["normal", "insert", "delete", "unsynchronized"]
        .contains(&t["leap_status"].as_str().unwrap()));
    // Times are RFC 3339 UTC strings with nine decimals (exact).
    let ref_time = t["reference_time"].as_str().unwrap();
    assert!(
        ref_time.len() == 30 && ref_time.ends_with('Z'),
        "reference_time {ref_time}"
    );
    let ref_time = ref_time.parse::<chrony::Timestamp>().unwrap().as_secs_f64();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - ref_time).abs() < 600.0,
        "reference_time {ref_time} is a recent date"
    );

    let sources = doc["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 4);
    for s in sources {
        assert_eq!(
            keys(s),
            sorted(&[
                "address",
                "reference_id",
                "mode",
                "state",
                "poll",
                "stratum",
                "flags",
                "reachability",
                "last_sample_ago",
                "original_offset",
                "adjusted_offset",
                "error",
            ])
        );
        assert!(["client", "peer", "reference_clock"].contains(&s["mode"].as_str().unwrap()));
        assert!([
            "selected",
            "nonselectable",
            "falseticker",
            "jittery",
            "unselected",
            "selectable"
        ]
        .contains(&s["state"].as_str().unwrap()));
        assert_eq!(
            s["mode"] == "reference_clock",
            s["reference_id"].is_u64(),
            "{s}"
        );
        assert!(s["address"].is_string());
    }
    let stats = doc["sourcestats"].as_array().unwrap();
    assert_eq!(stats.len(), 4);
    for s in stats {
        assert_eq!(
            keys(s),
            sorted(&[
                "reference_id",
                "address",
                "samples",
                "runs",
                "span",
                "standard_deviation",
                "residual_frequency_ppm",
                "skew_ppm",
                "offset",
                "offset_error",
            ])
        );
    }
    assert!(doc["rtcdata"].is_null(), "no RTC: rtcdata is null");

    // One report alone is printed bare.
    let out = run(&["--address", sock, "--json", "tracking"]);
    let t2: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys(&t2), keys(t));
    // Tables without --json.
    let out = run(&["--address", sock, "sources"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("RC0"));
}

#[test]
fn failures_go_to_stderr_with_a_non_zero_exit() {
    let out = run(&[
        "--address",
        "/nonexistent/chronyd.sock",
        "--json",
        "tracking",
    ]);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/chronyd.sock") && err.contains("cannot connect"),
        "{err}"
    );

    let out = run(&["--address", "127.0.0.1:1", "--timeout", "0.3", "tracking"]);
    assert!(!out.status.success(), "nothing listens on port 1");

    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}

/// True for a date as chronyc prints it in tables: `Wed Nov 25 22:31:57 2026`.
fn is_chronyc_date(s: &str) -> bool {
    let p: Vec<&str> = s.split(' ').collect();
    p.len() == 5
        && ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].contains(&p[0])
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&p[1])
        && p[2].len() == 2
        && p[3].len() == 8
        && p[3].split(':').count() == 3
        && p[4].len() == 4
}

/// The tables print dates as chronyc does, and ntpdata's reference time
/// has its own line, after the reference ID (as `chronyc ntpdata`).
#[test]
fn tables_print_dates_like_chronyc() {
    let d = common::builder().servers(2).start().unwrap();
    let sock = d.socket_path().to_str().unwrap();
    let out = run(&["--address", sock, "tracking"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Ref time (UTC)  : "))
        .unwrap_or_else(|| panic!("no reference time in {text}"));
    assert!(is_chronyc_date(line), "{line:?}");

    let out = run(&["--address", sock, "ntpdata"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let ids: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("Reference ID    : "))
        .collect();
    assert_eq!(ids.len(), 2, "one block per server: {text}");
    for i in ids {
        let id = lines[i].trim_start_matches("Reference ID    : ");
        let hex = id.split(' ').next().unwrap();
        assert!(
            hex.len() == 8 && u32::from_str_radix(hex, 16).is_ok(),
            "{id:?}"
        );
        assert!(
            !id.contains(':'),
            "no time in the reference ID line: {id:?}"
        );
        let time = lines[i + 1]
            .strip_prefix("Reference time  : ")
            .unwrap_or_else(|| panic!("reference time after the ID: {text}"));
        assert!(is_chronyc_date(time), "{time:?}");
    }
}

/// `report all | head -1`: when the reader goes away the example ends
/// quietly (status 0, nothing on stderr), as a table or as JSON, instead of
/// panicking on the broken pipe.
#[test]
fn a_closed_stdout_ends_the_report_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let d = common::builder().servers(1).start().unwrap();
    let sock = d.socket_path().to_str().unwrap();
    let bin = report_binary();
    for json in [false, true] {
        let mut cmd = Command::new(&bin);
        cmd.args(["--address", sock]);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .args(["all", "all", "all"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run report example");
        // Read the first line, as `head -1` does, then close the pipe.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "a first line");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "json={json}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "json={json}: {stderr}");
        assert!(stderr.is_empty(), "json={json}: {stderr}");
    }
}

/// Synchronized to its own clock (`local`), tracking's reference is
/// `7F7F0101 ()` as chronyc prints it: the ID is not printable text, so the
/// name between the parentheses is empty.
#[test]
fn the_local_reference_prints_like_chronyc() {
    let d = common::builder()
        .servers(0)
        .wait_for_sync(false)
        .extra_config("local stratum 8")
        .start()
        .unwrap();
    let mut c = chrony::Client::connect(d.socket_path()).unwrap();
    d.wait_until(std::time::Duration::from_secs(30), |_| {
        c.tracking()
            .is_ok_and(|t| t.reference_id == chrony::reports::tracking::LOCAL_REFERENCE_ID)
    })
    .expect("chronyd takes its local clock as reference");
    let csv = common::chronyc_rows(&d, &["tracking"]);
    assert_eq!(
        csv[0][..2],
        ["7F7F0101".to_string(), String::new()],
        "chronyc: {csv:?}"
    );
    let sock = d.socket_path().to_str().unwrap();
    let out = run(&["--address", sock, "tracking"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        text.lines().next(),
        Some("Reference ID    : 7F7F0101 ()"),
        "{text}"
    );
}
