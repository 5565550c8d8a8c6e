//! Both clients give the same error kind for every way of failing to reach
//! chronyd, on each transport: a UDP port nobody listens on (connection
//! refused, reported by the kernel after the first request), a Unix socket
//! path that does not exist, a socket file nobody is bound to any more, and
//! a socket whose daemon went away after the client connected. The async
//! client reports a refusal as soon as the blocking one does, not as a
//! timeout after the whole exchange.
mod common;

use chrony::tokio::AsyncClient;
use chrony::{Client, ErrorKind};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A temp directory for socket files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("chrony-connect-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The kind of the first failure connecting to `address` and reading
/// tracking, and how long the read took.
fn blocking(address: &str) -> (ErrorKind, Duration) {
    let t = Instant::now();
    let r = Client::connect(address).and_then(|mut c| c.tracking());
    (r.expect_err("nothing answers").kind(), t.elapsed())
}

fn asynchronous(address: &str) -> (ErrorKind, Duration) {
    common::runtime().block_on(async {
        let t = Instant::now();
        let r = match AsyncClient::connect(address).await {
            Ok(mut c) => c.tracking().await,
            Err(e) => Err(e),
        };
        (r.expect_err("nothing answers").kind(), t.elapsed())
    })
}

#[track_caller]
fn same(what: &str, address: &str) {
    let (b, tb) = blocking(address);
    let (a, ta) = asynchronous(address);
    assert_eq!(
        b,
        ErrorKind::Connect,
        "{what}: blocking gave {b} after {tb:?}"
    );
    assert_eq!(
        a, b,
        "{what}: async gave {a} after {ta:?}, blocking {b} after {tb:?}"
    );
    // A refusal is no timeout: both are back before the first re-send (1 s).
    assert!(ta < Duration::from_secs(1), "{what}: async took {ta:?}");
}

#[test]
fn udp_port_nobody_listens_on() {
    // A port that was free a moment ago.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    same("UDP, refused", &format!("127.0.0.1:{port}"));
}

#[test]
fn unix_path_that_does_not_exist() {
    let dir = Dir::new("missing");
    same(
        "Unix, no such path",
        dir.0.join("chronyd.sock").to_str().unwrap(),
    );
}

#[test]
fn unix_socket_file_nobody_is_bound_to() {
    let dir = Dir::new("stale");
    let path = dir.0.join("chronyd.sock");
    drop(UnixDatagram::bind(&path).unwrap());
    assert!(path.exists());
    same("Unix, stale socket file", path.to_str().unwrap());
}

#[test]
fn unix_daemon_gone_after_connect() {
    let dir = Dir::new("gone");
    let path = dir.0.join("chronyd.sock");
    let address = path.to_str().unwrap().to_string();
    let daemon = UnixDatagram::bind(&path).unwrap();
    let mut c = Client::connect(address.as_str()).unwrap();
    let rt = common::runtime();
    let mut a = rt.block_on(AsyncClient::connect(address.as_str())).unwrap();
    drop(daemon);
    let b = c.tracking().unwrap_err().kind();
    let t = Instant::now();
    let k = rt.block_on(a.tracking()).unwrap_err().kind();
    assert_eq!(b, ErrorKind::Connect);
    assert_eq!(k, b, "after {:?}", t.elapsed());
}
