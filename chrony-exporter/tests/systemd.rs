//! systemd: socket activation (`--web.systemd-socket` under
//! `systemd-socket-activate`, package systemd from scripts/bootstrap) and
//! `Type=notify` readiness (READY=1 on a Unix datagram NOTIFY_SOCKET).

mod common;

use common::*;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Two sockets in the .socket unit (`-l` twice): both are served.
#[test]
fn socket_activation_serves_the_passed_sockets() {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let second: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("exporter.log");
    let mut activate = Command::new("systemd-socket-activate");
    activate.args(["-l", &addr.to_string(), "-l", &second.to_string()]);
    // It starts the program with a clean environment: pass on where
    // libchrony is when that comes from the environment.
    if std::env::var_os("LD_LIBRARY_PATH").is_some() {
        activate.args(["-E", "LD_LIBRARY_PATH"]);
    }
    let child = activate
        .arg(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args([
            "--web.systemd-socket",
            "--chrony.address",
            "127.0.0.1:9",
            "--chrony.timeout",
            "1s",
            // Ignored with --web.systemd-socket: the passed socket is served.
            "--web.listen-address",
            "127.0.0.1:1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("systemd-socket-activate is needed (package systemd, scripts/bootstrap): {e}")
        });
    let _child = Kill(child);
    // systemd-socket-activate listens first and starts the exporter on
    // the first connection.
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "systemd-socket-activate did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for a in [addr, second, addr] {
        let r = get(a, "/metrics", &[]);
        assert_eq!(r.status, 200, "{a}: {}", r.body);
        let m = Metrics::parse(&r.body);
        assert_eq!(m.value("chrony_up", &[]), 0.0);
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("listen={addr},{second}")) && text.contains("systemd_socket=true"),
        "{text}"
    );
}

#[test]
fn systemd_socket_without_a_socket_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .arg("--web.systemd-socket")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("systemd passed no socket"), "{err}");
}

#[test]
fn ready_is_notified_once_listening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_chrony-exporter"))
        .args([
            "--chrony.address",
            "127.0.0.1:9",
            "--web.listen-address",
            &addr.to_string(),
        ])
        .env("NOTIFY_SOCKET", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let mut buf = [0u8; 4096];
    let n = notify.recv(&mut buf).unwrap_or_else(|e| {
        let _ = child.0.kill();
        let mut err = String::new();
        let _ = child.0.stderr.take().unwrap().read_to_string(&mut err);
        panic!("no notification within 20 s ({e}):\n{err}")
    });
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.lines().any(|l| l == "READY=1"), "{msg:?}");
    // Ready means listening: the first request right after it works.
    let r = get(addr, "/", &[]);
    assert_eq!(r.status, 200);
    // SIGTERM: STOPPING=1.
    Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    let n = notify.recv(&mut buf).expect("STOPPING=1 after SIGTERM");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.lines().any(|l| l == "STOPPING=1"), "{msg:?}");
}
