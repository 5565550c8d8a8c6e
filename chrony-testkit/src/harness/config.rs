//! chrony.conf generation shared by both backends.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Configuration of the client chronyd (the one a test talks to).
#[derive(Debug, Clone)]
pub(crate) struct ClientConf {
    /// NTP sources: address and port (`None`: default 123).
    pub servers: Vec<(IpAddr, Option<u16>)>,
    pub poll: i8,
    pub refclocks: Vec<PathBuf>,
    pub socket: PathBuf,
    /// UDP command port and the `cmdallow` subnet.
    pub cmd: Option<(u16, String)>,
    /// Bind the UDP command port to all addresses (Docker) instead of localhost.
    pub cmd_bind_any: bool,
    pub state_dir: PathBuf,
    pub rtc_device: Option<PathBuf>,
    pub extra: Vec<String>,
    /// Appended to every `server` line.
    pub server_options: String,
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

impl ClientConf {
    pub(crate) fn render(&self) -> String {
        let mut c = String::from("# chrony-testkit client chronyd (runs with -x)\n");
        let sd = &self.state_dir;
        let _ = writeln!(c, "driftfile {}", p(&sd.join("chrony.drift")));
        let _ = writeln!(c, "pidfile {}", p(&sd.join("chronyd.pid")));
        // No NTP server socket on the client.
        c.push_str("port 0\n");
        let _ = writeln!(c, "bindcmdaddress {}", p(&self.socket));
        match &self.cmd {
            Some((port, allow)) => {
                let _ = writeln!(c, "cmdport {port}");
                let _ = writeln!(c, "cmdallow {allow}");
                if self.cmd_bind_any {
                    c.push_str("bindcmdaddress 0.0.0.0\n");
                }
            }
            None => c.push_str("cmdport 0\n"),
        }
        for (addr, port) in &self.servers {
            let _ = write!(c, "server {addr}");
            if let Some(port) = port {
                let _ = write!(c, " port {port}");
            }
            let _ = write!(c, " iburst minpoll {0} maxpoll {0}", self.poll);
            if !self.server_options.is_empty() {
                let _ = write!(c, " {}", self.server_options);
            }
            c.push('\n');
        }
        for (k, path) in self.refclocks.iter().enumerate() {
            let _ = writeln!(
                c,
                "refclock SOCK {} refid RC{k} poll {}",
                p(path),
                self.poll
            );
        }
        if let Some(dev) = &self.rtc_device {
            let _ = writeln!(c, "rtcfile {}", p(&sd.join("chrony.rtc")));
            let _ = writeln!(c, "rtcdevice {}", p(dev));
        }
        for line in &self.extra {
            c.push_str(line);
            c.push('\n');
        }
        c
    }
}

/// Configuration of a reference server (`local stratum 1`).
pub(crate) struct ServerConf {
    pub bind: Option<IpAddr>,
    pub port: u16,
    pub allow: String,
    pub state_dir: PathBuf,
    /// Command socket (`None`: disabled).
    pub socket: Option<PathBuf>,
}

impl ServerConf {
    pub(crate) fn render(&self) -> String {
        let mut c = String::from("# chrony-testkit reference server (runs with -x)\n");
        let sd = &self.state_dir;
        let _ = writeln!(c, "driftfile {}", p(&sd.join("chrony.drift")));
        let _ = writeln!(c, "pidfile {}", p(&sd.join("chronyd.pid")));
        c.push_str("local stratum 1\n");
        let _ = writeln!(c, "allow {}", self.allow);
        let _ = writeln!(c, "port {}", self.port);
        if let Some(b) = self.bind {
            let _ = writeln!(c, "bindaddress {b}");
        }
        c.push_str("cmdport 0\n");
        match &self.socket {
            Some(s) => {
                let _ = writeln!(c, "bindcmdaddress {}", p(s));
            }
            None => c.push_str("bindcmdaddress /\n"),
        }
        c
    }
}
