//! Small helpers: running commands with a deadline, free ports, unique names.

use std::ffi::OsStr;
use std::io::Read;
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::HarnessError;

/// Output of a finished command.
pub(crate) struct Output {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn drain<R: Read + Send + 'static>(r: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` and kills it when it is not done after `timeout`.
/// `Ok(None)` means it timed out.
pub(crate) fn run_timeout(
    mut cmd: Command,
    timeout: Duration,
) -> Result<Option<Output>, HarnessError> {
    let what = describe(&cmd);
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HarnessError::io(format!("cannot run `{what}`"), e))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(HarnessError::io(format!("waiting for `{what}`"), e)),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(status.map(|st| Output {
        status: st.code(),
        stdout,
        stderr,
    }))
}

/// Runs a command that must succeed within `timeout`; returns its stdout.
pub(crate) fn run_ok(cmd: Command, timeout: Duration) -> Result<String, HarnessError> {
    let what = describe(&cmd);
    match run_timeout(cmd, timeout)? {
        Some(o) if o.status == Some(0) => Ok(o.stdout),
        Some(o) => Err(HarnessError::Command {
            command: what,
            status: o.status,
            stdout: o.stdout,
            stderr: o.stderr,
        }),
        None => Err(HarnessError::Timeout {
            what: format!("`{what}` (killed after {timeout:?})"),
            log: String::new(),
        }),
    }
}

/// `Command::new(program).args(args)`.
pub(crate) fn cmd<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// Sends `signal` (e.g. "STOP") to a process with the `kill` utility.
pub(crate) fn signal(pid: u32, signal: &str) -> Result<(), HarnessError> {
    run_ok(
        cmd("kill", &[format!("-{signal}"), pid.to_string()]),
        Duration::from_secs(5),
    )
    .map(drop)
}

/// A UDP port that was free on `addr` a moment ago (bind to port 0, release).
pub(crate) fn free_udp_port(addr: Ipv4Addr) -> Result<u16, HarnessError> {
    let sock = UdpSocket::bind((addr, 0))
        .map_err(|e| HarnessError::io(format!("cannot bind a UDP socket on {addr}"), e))?;
    let port = sock
        .local_addr()
        .map_err(|e| HarnessError::io("local_addr", e))?
        .port();
    Ok(port)
}

/// A name unique to this process and call (for temp dirs, containers, ...).
pub(crate) fn unique_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:x}{:05x}{n}", std::process::id(), nanos >> 12)
}

/// A small pseudo-random number (no extra dependency needed).
pub(crate) fn pseudo_random() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// Effective user ID of this process (owner of /proc/self), without unsafe.
pub(crate) fn euid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}
