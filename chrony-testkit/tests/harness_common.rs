//! Scenarios shared by harness_process.rs and harness_docker.rs (included
//! there with `#[path]`; compiled on its own it holds no tests).
#![allow(dead_code)]

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use chrony_testkit::harness::{Backend, Chronyd, ChronydBuilder, HarnessError};

/// One line of `chronyc -c sources`.
#[derive(Debug, Clone)]
pub struct Source {
    pub mode: char,
    pub state: char,
    pub name: String,
    pub reach: u32,
}

pub fn sources(c: &Chronyd) -> Vec<Source> {
    let out = c.chronyc(&["sources"]).expect("chronyc sources");
    parse_sources(&out)
}

pub fn parse_sources(out: &str) -> Vec<Source> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert!(f.len() >= 6, "bad sources line {l:?}");
            Source {
                mode: f[0].chars().next().unwrap_or(' '),
                state: f[1].chars().next().unwrap_or(' '),
                name: f[2].to_string(),
                // chronyc prints the reachability register in octal.
                reach: u32::from_str_radix(f[5], 8).expect("reach"),
            }
        })
        .collect()
}

pub fn source_of(c: &Chronyd, addr: IpAddr) -> Option<Source> {
    sources(c).into_iter().find(|s| s.name == addr.to_string())
}

/// Runs the host's chronyc (not the container's) with a deadline.
pub fn host_chronyc(args: &[&str], timeout: Duration) -> Result<String, String> {
    let mut child = Command::new("chronyc")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run chronyc: {e}"))?;
    let end = Instant::now() + timeout;
    loop {
        if let Some(_st) = child.try_wait().map_err(|e| e.to_string())? {
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            return if out.status.success() {
                Ok(stdout)
            } else {
                Err(format!(
                    "chronyc {args:?}: {} {}",
                    stdout,
                    String::from_utf8_lossy(&out.stderr)
                ))
            };
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("chronyc {args:?}: timed out after {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn show(c: &Chronyd) -> String {
    format!("sources: {:?}\nlog:\n{}", c.chronyc(&["sources"]), c.log())
}

/// 2 servers + 1 refclock + 1 unreachable: sources, refclock reachability,
/// freeze/resume, cut/restore, stop_server, restart, stop.
pub fn lifecycle(backend: Backend) {
    let t0 = Instant::now();
    let mut c = ChronydBuilder::new()
        .backend(backend)
        .servers(2)
        .refclocks(1)
        .unreachable_servers(1)
        .start()
        .unwrap_or_else(|e| panic!("start failed: {e}"));
    eprintln!(
        "{backend:?}: chrony {} ready in {:?}",
        c.chrony_version(),
        t0.elapsed()
    );
    assert_eq!(c.backend(), &backend);
    assert!(c.socket_path().is_absolute());
    assert_eq!(c.server_count(), 2);
    assert!(c.udp_address().is_none());

    // Sources: 2 servers, 1 unreachable, 1 refclock.
    let src = sources(&c);
    assert_eq!(src.len(), 4, "{src:?}");
    for i in 0..2 {
        let a = c.server_address(i).to_string();
        assert!(
            src.iter().any(|s| s.name == a && s.mode == '^'),
            "server {a} missing: {src:?}"
        );
    }
    assert_eq!(src.iter().filter(|s| s.mode == '^').count(), 3, "{src:?}");
    assert!(
        src.iter().any(|s| s.mode == '#' && s.name == "RC0"),
        "refclock missing: {src:?}"
    );
    assert!(
        src.iter().any(|s| s.state == '*'),
        "nothing selected: {src:?}"
    );
    // The refclock receives samples.
    c.wait_until(Duration::from_secs(15), |c| {
        sources(c).iter().any(|s| s.name == "RC0" && s.reach != 0)
    })
    .unwrap_or_else(|e| panic!("refclock never reachable: {e}\n{}", show(&c)));
    // The unreachable one stays unreachable.
    let unreachable: Vec<Source> = sources(&c)
        .into_iter()
        .filter(|s| s.mode == '^')
        .filter(|s| (0..2).all(|i| s.name != c.server_address(i).to_string()))
        .collect();
    assert_eq!(unreachable.len(), 1);
    assert_eq!(unreachable[0].reach, 0, "{unreachable:?}");
    assert!(c.is_synchronized());

    // Freeze: chronyc no longer gets answers; resume recovers.
    c.freeze().expect("freeze");
    let frozen = c.chronyc_timeout(&["tracking"], Duration::from_secs(2));
    assert!(frozen.is_err(), "chronyc answered while frozen: {frozen:?}");
    let sock = c.socket_path().display().to_string();
    let host = host_chronyc(
        &["-h", &sock, "-n", "-c", "tracking"],
        Duration::from_secs(2),
    );
    assert!(
        host.is_err(),
        "host chronyc answered while frozen: {host:?}"
    );
    c.resume().expect("resume");
    c.chronyc(&["tracking"]).expect("tracking after resume");

    // Cut server 0: its reachability register decays to 0 (8 polls) and it
    // is not selected.
    let s0 = c.server_address(0);
    c.wait_until(Duration::from_secs(20), |c| {
        source_of(c, s0).is_some_and(|s| s.reach == 0o377)
    })
    .unwrap_or_else(|e| panic!("server 0 never fully reachable: {e}\n{}", show(&c)));
    let t = Instant::now();
    c.cut_server(0).expect("cut_server");
    c.wait_until(Duration::from_secs(20), |c| {
        source_of(c, s0).is_some_and(|s| s.reach == 0 && s.state != '*')
    })
    .unwrap_or_else(|e| panic!("cut server still reachable: {e}\n{}", show(&c)));
    eprintln!("{backend:?}: cut server decayed in {:?}", t.elapsed());
    c.restore_server(0).expect("restore_server");
    c.wait_until(Duration::from_secs(20), |c| {
        source_of(c, s0).is_some_and(|s| s.reach & 1 == 1)
    })
    .unwrap_or_else(|e| panic!("restored server not reachable: {e}\n{}", show(&c)));

    // Stop server 1: same decay.
    let s1 = c.server_address(1);
    c.stop_server(1).expect("stop_server");
    c.wait_until(Duration::from_secs(20), |c| {
        source_of(c, s1).is_some_and(|s| s.reach == 0 && s.state != '*')
    })
    .unwrap_or_else(|e| panic!("stopped server still reachable: {e}\n{}", show(&c)));

    // Restart: same socket, synchronized again (server 0 and the refclock).
    let t = Instant::now();
    c.restart().unwrap_or_else(|e| panic!("restart: {e}"));
    eprintln!("{backend:?}: restart took {:?}", t.elapsed());
    assert!(c.is_synchronized());
    assert_eq!(sources(&c).len(), 4);
    assert!(c.log().contains("chronyd version"));

    // Stop: chronyc fails.
    c.stop().expect("stop");
    assert!(c
        .chronyc_timeout(&["tracking"], Duration::from_secs(3))
        .is_err());
    eprintln!("{backend:?}: lifecycle done in {:?}", t0.elapsed());
}

/// UDP command access from the host chronyc.
pub fn udp_command(backend: Backend) {
    let c = ChronydBuilder::new()
        .backend(backend)
        .servers(1)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("start failed: {e}"));
    let addr = c.udp_address().expect("udp address");
    let (ip, port) = (addr.ip().to_string(), addr.port().to_string());
    let out = host_chronyc(
        &["-h", &ip, "-p", &port, "-n", "-c", "tracking"],
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("UDP tracking via {addr}: {e}\n{}", c.log()));
    let fields: Vec<&str> = out.trim().split(',').collect();
    assert!(fields.len() >= 14, "{out}");
    assert_eq!(fields[1], c.server_address(0).to_string(), "{out}");
    // Without udp_command the UDP port is closed.
    let off = ChronydBuilder::new()
        .backend(backend)
        .servers(0)
        .start()
        .expect("start");
    assert!(off.udp_address().is_none());
}

/// rtc(true): works only with an RTC device; otherwise a clear error. A
/// device that does not exist is always refused with its name (so the test
/// checks something on every machine); with the default devices, the
/// outcome must match whether one exists, and a started chronyd must answer
/// `rtcdata`.
pub fn rtc(backend: Backend) {
    let missing = "/nonexistent/chrony-testkit-rtc";
    match ChronydBuilder::new()
        .backend(backend)
        .servers(0)
        .rtc_device(missing)
        .start()
    {
        Err(HarnessError::Unsupported(why)) => {
            assert!(why.contains(missing) && why.contains("RTC"), "{why}")
        }
        Err(e) => panic!("a missing RTC device must be Unsupported, got {e}"),
        Ok(_) => panic!("started chronyd with a missing RTC device"),
    }
    let devices: Vec<std::path::PathBuf> = match std::env::var_os("CHRONY_TESTKIT_RTC_DEVICE") {
        Some(d) if !d.is_empty() => vec![d.into()],
        _ => vec!["/dev/rtc0".into(), "/dev/rtc".into()],
    };
    let has_rtc = devices.iter().any(|d| d.exists());
    let res = ChronydBuilder::new()
        .backend(backend)
        .servers(1)
        .rtc(true)
        .start();
    match res {
        Ok(c) => {
            assert!(
                has_rtc,
                "started with rtc(true) although none of {devices:?} exists"
            );
            // chronyd -x reads the RTC: rtcdata must answer.
            let r = c.chronyc(&["rtcdata"]);
            assert!(r.is_ok(), "rtcdata with an RTC device: {r:?}");
        }
        Err(HarnessError::Unsupported(why)) => {
            assert!(!has_rtc, "RTC device present but: {why}");
            for d in &devices {
                assert!(why.contains(&d.display().to_string()), "{why}");
            }
        }
        Err(e) => panic!("rtc start failed: {e}"),
    }
}

/// Only the reachable/unreachable split and a wait_for_sync(false) start.
pub fn no_sync(backend: Backend) {
    let c = ChronydBuilder::new()
        .backend(backend)
        .servers(0)
        .unreachable_servers(2)
        .poll(0)
        .extra_config("maxupdateskew 100")
        .start()
        .unwrap_or_else(|e| panic!("start failed: {e}"));
    assert!(!c.is_synchronized());
    let src = sources(&c);
    assert_eq!(src.len(), 2, "{src:?}");
    assert!(src.iter().all(|s| s.reach == 0 && s.state != '*'));
    // wait_for_sync(true) without any reachable source times out with the log.
    let err = ChronydBuilder::new()
        .backend(backend)
        .servers(0)
        .unreachable_servers(1)
        .wait_for_sync(true)
        .start_timeout(Duration::from_secs(3))
        .start()
        .expect_err("cannot synchronize");
    let msg = err.to_string();
    assert!(msg.contains("chronyd version"), "log missing in: {msg}");
}
