//! Shared by the exporter's integration tests: a chronyd from the testkit
//! harness (backend from CHRONY_TESTKIT_BACKEND / CHRONY_TESTKIT_SUITE),
//! the exporter binary on a loopback port (the process helper the
//! benchmarks share, `process.rs`), a small HTTP client and a parser of
//! the text format.
#![allow(dead_code)]

use chrony_testkit::harness::{ensure_images, Backend, Chronyd, ChronydBuilder};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A harness builder on the backend the environment selects (Docker images
/// built first when needed; a missing engine fails the test).
pub fn builder() -> ChronydBuilder {
    let backend = Backend::from_env().expect("valid CHRONY_TESTKIT_* environment");
    if let Backend::Docker(suite) = backend {
        ensure_images(&[suite]).expect("building the chronyd test image");
    }
    ChronydBuilder::new().backend(backend)
}

/// chronyd with `n` loopback servers, synchronized.
pub fn chronyd(servers: usize) -> Chronyd {
    builder()
        .servers(servers)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

pub mod process;
#[allow(unused_imports)]
pub use process::{closed_udp_port, free_port, http_get, procfs, Exporter, Kill, Prometheus};

impl Exporter {
    /// Starts `chrony-exporter ARGS --web.listen-address 127.0.0.1:0
    /// --log.level debug` and waits for its "listening" line.
    pub fn start(args: &[&str]) -> Exporter {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            "debug",
        ]);
        Exporter::spawn(
            std::path::Path::new(env!("CARGO_BIN_EXE_chrony-exporter")),
            &all,
        )
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        get(self.addr(), path, headers)
    }

    /// GET /metrics, checked to be a 200.
    pub fn metrics(&self) -> Metrics {
        let r = self.get("/metrics", &[]);
        assert_eq!(r.status, 200, "{}", r.body);
        Metrics::parse(&r.body)
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy: see `bytes` for a compressed one).
    pub body: String,
    /// The body's bytes, de-chunked.
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/1.1 request with `Connection: close`.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect to the exporter");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send the request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the response");
    parse_response(&raw)
}

pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    request(addr, "GET", path, headers)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!("no HTTP response: {:?}", String::from_utf8_lossy(raw));
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let bytes = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

/// A chunked body's bytes; panics on a malformed one (a bad size, a short
/// chunk, no last chunk), so a broken response never passes as a short
/// one.
fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = s
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let line = String::from_utf8_lossy(&s[..eol]);
        let size = line.split(';').next().unwrap_or("").trim();
        let n =
            usize::from_str_radix(size, 16).unwrap_or_else(|_| panic!("bad chunk size {line:?}"));
        let rest = &s[eol + 2..];
        if n == 0 {
            return out;
        }
        assert!(rest.len() >= n + 2, "a chunk of {n} bytes cut short");
        out.extend_from_slice(&rest[..n]);
        assert_eq!(&rest[n..n + 2], b"\r\n", "a chunk not ended by CRLF");
        s = &rest[n + 2..];
    }
}

/// One sample of the text format.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of a scrape.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub samples: Vec<Sample>,
}

impl Metrics {
    pub fn parse(body: &str) -> Metrics {
        let mut samples = Vec::new();
        for line in body.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("NAME VALUE");
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("value in {line:?}")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n.to_string(), parse_labels(rest.trim_end_matches('}'))),
                None => (series.to_string(), BTreeMap::new()),
            };
            samples.push(Sample {
                name,
                labels,
                value,
            });
        }
        Metrics { samples }
    }

    /// Samples of `name` whose labels include `labels`.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The one value of `name` with `labels`.
    #[track_caller]
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.find(name, labels);
        assert_eq!(found.len(), 1, "{name}{labels:?}: {found:?}");
        found[0].value
    }

    pub fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').to_string(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

/// Waits until `f` returns true (polling every 200 ms) or panics after
/// `timeout` with `what`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// The exporter's address flag for a harness chronyd's Unix socket.
pub fn unix_address(d: &Chronyd) -> String {
    format!("unix://{}", d.socket_path().display())
}

/// `chronyc -n -c ARGS` rows.
pub fn chronyc_rows(d: &Chronyd, args: &[&str]) -> Vec<Vec<String>> {
    d.chronyc(args)
        .unwrap_or_else(|e| panic!("chronyc {args:?}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Runs `promtool check metrics` on `text`; panics with its output when it
/// complains, and with a clear message when promtool is missing.
pub fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool is needed (Debian package prometheus, installed by scripts/bootstrap): {e}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One response on a kept-alive connection (Content-Length bodies).
pub fn read_response(r: &mut impl std::io::BufRead) -> Option<(u16, String)> {
    let mut status = 0;
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(s) = l.strip_prefix("HTTP/1.1 ") {
            status = s.get(..3)?.parse().ok()?;
        } else if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).ok()?;
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}
