//! The exporter as a process, shared by the exporter's tests (through
//! `tests/common`) and its benchmarks (the examples include this file):
//! spawn it, wait for its `listening` line, keep its log, kill it on drop;
//! free loopback ports; what procfs says of a process.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running exporter, killed on drop; its stderr (the log) is kept.
pub struct Exporter {
    pub child: Child,
    /// Every listener's address (one per `--web.listen-address`).
    pub addrs: Vec<SocketAddr>,
    pub log: Arc<Mutex<String>>,
}

impl Exporter {
    /// Starts `binary ARGS` (which must log in logfmt and listen
    /// somewhere) and waits for its `listening` line.
    pub fn spawn(binary: &Path, args: &[&str]) -> Exporter {
        let mut cmd = Command::new(binary);
        cmd.args(args);
        Exporter::spawn_command(cmd)
    }

    /// As [`Exporter::spawn`], for a prepared command (a wrapper that
    /// `exec`s the exporter, e.g. to set a limit first).
    pub fn spawn_command(mut cmd: Command) -> Exporter {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let stderr = child.stderr.take().expect("piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("msg=listening") {
                    let addr = line
                        .split(' ')
                        .find_map(|kv| kv.strip_prefix("listen="))
                        .map(str::to_string);
                    if let (Some(tx), Some(addr)) = (tx.take(), addr) {
                        let _ = tx.send(addr);
                    }
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addrs: Vec<SocketAddr> = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a
                .split(',')
                .map(|a| a.parse().expect("a socket address"))
                .collect(),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chrony-exporter did not start listening:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        Exporter { child, addrs, log }
    }

    /// The first listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Its log once it holds `needle` (or after 10 s without): a line the
    /// exporter wrote before it answered a request may still be on its way
    /// through the pipe when the answer is read.
    pub fn log_containing(&self, needle: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) || start.elapsed() > std::time::Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Any child process, killed on drop.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A UDP port on 127.0.0.1 with nothing bound to it (a datagram sent there
/// is refused at once).
pub fn closed_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What procfs says of a process.
pub mod procfs {
    use std::path::Path;

    fn status_field(pid: u32, field: &str) -> Option<u64> {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix(field))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Resident memory, KiB.
    pub fn rss_kib(pid: u32) -> u64 {
        status_field(pid, "VmRSS:").expect("VmRSS")
    }

    /// Peak resident memory, KiB.
    pub fn peak_rss_kib(pid: u32) -> u64 {
        status_field(pid, "VmHWM:").expect("VmHWM")
    }

    /// Threads.
    pub fn threads(pid: u32) -> u64 {
        status_field(pid, "Threads:").expect("Threads")
    }

    /// CPU time (user and system) in clock ticks, threads included; 0
    /// once the process is gone.
    pub fn cpu_ticks(pid: u32) -> u64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return 0;
        };
        // Fields after the command name (which may hold spaces): utime is
        // the 12th, stime the 13th.
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// CPU time in nanoseconds over every thread (schedstat: finer than
    /// the clock ticks of [`cpu_ticks`]); threads that ended are left out,
    /// so measure a process whose threads live on.
    pub fn cpu_ns(pid: u32) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return 0;
        };
        tasks
            .filter_map(|t| t.ok())
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// The open descriptors, each with what it is (`socket:[123]`,
    /// `/dev/urandom`, ...).
    pub fn fds(pid: u32) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    /// The inodes of the UDP sockets of the system (IPv4 and IPv6).
    pub fn udp_inodes() -> std::collections::HashSet<String> {
        let mut set = std::collections::HashSet::new();
        for table in ["/proc/net/udp", "/proc/net/udp6"] {
            let Ok(text) = std::fs::read_to_string(table) else {
                continue;
            };
            for line in text.lines().skip(1) {
                if let Some(inode) = line.split_whitespace().nth(9) {
                    set.insert(inode.to_string());
                }
            }
        }
        set
    }

    /// The process's UDP sockets and its `/dev/urandom` descriptors: what
    /// libchrony sessions hold (one of each per session).
    pub fn session_fds(pid: u32) -> (usize, usize) {
        let udp = udp_inodes();
        let fds = fds(pid);
        let sockets = fds
            .iter()
            .filter_map(|f| f.strip_prefix("socket:[")?.strip_suffix(']'))
            .filter(|inode| udp.contains(*inode))
            .count();
        let urandom = fds
            .iter()
            .filter(|f| Path::new(f.as_str()) == Path::new("/dev/urandom"))
            .count();
        (sockets, urandom)
    }

    /// The soft and hard limit of open descriptors.
    pub fn nofile_limits(pid: u32) -> (u64, u64) {
        let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("/proc limits");
        let line = text
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("a Max open files line");
        let v: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        (v[0], v[1])
    }

    /// CPU time (clock ticks) of the whole machine: (busy, all).
    pub fn machine_ticks() -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .expect("a cpu line")
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().expect("a number"))
            .collect();
        // user nice system idle iowait irq softirq steal (guest is in user).
        let all: u64 = cpu.iter().take(8).sum();
        let idle = cpu[3] + cpu.get(4).copied().unwrap_or(0);
        (all - idle, all)
    }

    /// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`;
    /// Linux's USER_HZ, 100, if that fails).
    pub fn clock_ticks_per_second() -> f64 {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    }
}

/// One HTTP/1.0 GET: status and body (`None` when the connection failed).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// A Prometheus server (Debian's package, installed by scripts/bootstrap)
/// with `config` in `dir` (its storage there too), listening on a free
/// loopback port; killed on drop.
pub struct Prometheus {
    _child: Kill,
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Starts `binary` (`prometheus`) and waits until it is ready.
    pub fn start(binary: &str, dir: &Path, config: &str) -> Prometheus {
        let file = dir.join("prometheus.yml");
        std::fs::write(&file, config).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the Prometheus server is needed (Debian package prometheus, installed by scripts/bootstrap): {e}")
            });
        let p = Prometheus {
            _child: Kill(child),
            addr,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while http_get(addr, "/-/ready").map(|(s, _)| s) != Some(200) {
            assert!(
                std::time::Instant::now() < deadline,
                "Prometheus not ready in 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    /// The `data.result` of an instant query (at `time`, Unix seconds, or
    /// now).
    pub fn query(&self, query: &str, time: Option<f64>) -> Vec<serde_json::Value> {
        let mut q = String::new();
        for b in query.bytes() {
            if b.is_ascii_alphanumeric() || b"_-.~".contains(&b) {
                q.push(b as char);
            } else {
                q.push_str(&format!("%{b:02X}"));
            }
        }
        let path = match time {
            Some(t) => format!("/api/v1/query?query={q}&time={t:.3}"),
            None => format!("/api/v1/query?query={q}"),
        };
        let (status, body) = http_get(self.addr, &path).expect("Prometheus answers");
        assert_eq!(status, 200, "{query}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON from Prometheus");
        v["data"]["result"].as_array().expect("a result").clone()
    }
}
