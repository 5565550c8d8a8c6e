//! Process backend: chronyd processes on this machine, all on loopback.

use std::fs::{self, File, OpenOptions};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use super::config::{ClientConf, ServerConf};
use super::util;
use super::{parse_version, Backend, ChronydBuilder, HarnessError, Run, Started};

/// Finds a program in PATH, falling back to `fallback_dir/name`.
pub(crate) fn find_program(env: &str, name: &str, fallback_dir: &str) -> String {
    if let Ok(p) = std::env::var(env) {
        if !p.is_empty() {
            return p;
        }
    }
    let in_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    let fallback = Path::new(fallback_dir).join(name);
    if !in_path && fallback.is_file() {
        return fallback.display().to_string();
    }
    name.to_string()
}

pub(crate) fn chronyd_program() -> String {
    find_program("CHRONY_TESTKIT_CHRONYD", "chronyd", "/usr/sbin")
}

pub(crate) fn chronyc_program() -> String {
    find_program("CHRONY_TESTKIT_CHRONYC", "chronyc", "/usr/bin")
}

/// One chronyd process (client or reference server).
pub(crate) struct Node {
    pub name: String,
    conf: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    pub(crate) fn new(name: &str, conf: PathBuf, log: PathBuf) -> Node {
        Node {
            name: name.to_string(),
            conf,
            log,
            child: None,
        }
    }

    pub(crate) fn spawn(&mut self) -> Result<(), HarnessError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| HarnessError::io(format!("cannot open {}", self.log.display()), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| HarnessError::io("cannot clone log file handle", e))?;
        let mut cmd = Command::new(chronyd_program());
        // -x: never touch the clock; -d: foreground, log to stderr; -4: IPv4 only.
        cmd.args(["-x", "-d", "-4"]);
        if util::euid() == Some(0) {
            // Keep root: no privilege dropping to the packaged _chrony user,
            // whose access to our private temp dirs is not guaranteed.
            cmd.args(["-u", "root"]);
        }
        cmd.arg("-f").arg(&self.conf);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        let child = cmd
            .spawn()
            .map_err(|e| HarnessError::io(format!("cannot start `{}`", util::describe(&cmd)), e))?;
        self.child = Some(child);
        Ok(())
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Some(exit description)` when the process is not running.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.as_mut() {
            None => Some("not started".into()),
            Some(c) => match c.try_wait() {
                Ok(Some(st)) => Some(st.to_string()),
                _ => None,
            },
        }
    }

    pub(crate) fn log(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// SIGTERM (and SIGCONT in case it is stopped); SIGKILL after 5 s.
    pub(crate) fn stop(&mut self) -> Result<(), HarnessError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(());
        }
        let pid = child.id();
        let _ = util::signal(pid, "TERM");
        let _ = util::signal(pid, "CONT");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        let _ = child.kill();
        child
            .wait()
            .map(drop)
            .map_err(|e| HarnessError::io(format!("waiting for {}", self.name), e))
    }

    /// Immediate SIGKILL (teardown).
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn signal(&self, sig: &str) -> Result<(), HarnessError> {
        match self.pid() {
            Some(pid) => util::signal(pid, sig),
            None => Err(HarnessError::InvalidConfig(format!(
                "{} is not running",
                self.name
            ))),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The running processes of one harness.
pub(crate) struct ProcessRun {
    pub client: Mutex<Node>,
    pub servers: Mutex<Vec<Node>>,
}

impl ProcessRun {
    pub(crate) fn client(&self) -> std::sync::MutexGuard<'_, Node> {
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn server_op(
        &self,
        i: usize,
        f: impl FnOnce(&mut Node) -> Result<(), HarnessError>,
    ) -> Result<(), HarnessError> {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        match servers.get_mut(i) {
            Some(n) => f(n),
            None => Err(HarnessError::InvalidConfig(format!(
                "no reference server {i}"
            ))),
        }
    }

    pub(crate) fn server_logs(&self) -> String {
        let servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers
            .iter()
            .map(|n| format!("--- {} ---\n{}", n.name, n.log()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(crate) fn teardown(&mut self) {
        self.client().kill();
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        for s in servers.iter_mut() {
            s.kill();
        }
    }
}

impl Run for ProcessRun {
    fn start(
        spec: &ChronydBuilder,
        _backend: Backend,
        root: &Path,
        conf: &mut ClientConf,
    ) -> Result<Started, HarnessError> {
        let total = spec.servers + spec.unreachable;
        if total > 250 {
            return Err(HarnessError::InvalidConfig(
                "at most 250 servers (127.0.0.2..=127.0.0.251)".into(),
            ));
        }
        let version = parse_version(&util::run_ok(
            util::cmd(&chronyd_program(), &["-v"]),
            Duration::from_secs(10),
        )?);
        let mut servers = Vec::new();
        let mut addrs = Vec::new();
        let run = |servers: Vec<Node>, client: Node| ProcessRun {
            client: Mutex::new(client),
            servers: Mutex::new(servers),
        };
        for i in 0..spec.servers {
            let ip = Ipv4Addr::new(127, 0, 0, 2 + i as u8);
            let port = util::free_udp_port(ip)?;
            let sdir = root.join(format!("server{i}"));
            mkdir_mode(&sdir, 0o770)?;
            let sc = ServerConf {
                bind: Some(IpAddr::V4(ip)),
                port,
                allow: "127.0.0.0/8".into(),
                state_dir: sdir.clone(),
                socket: Some(sdir.join("chronyd.sock")),
            };
            let path = sdir.join("chrony.conf");
            write_file(&path, &sc.render())?;
            let mut node = Node::new(&format!("server{i}"), path, sdir.join("chronyd.log"));
            let res = node.spawn();
            servers.push(node);
            if let Err(e) = res {
                run(servers, Node::new("client", PathBuf::new(), PathBuf::new())).teardown();
                return Err(e);
            }
            conf.servers.push((IpAddr::V4(ip), Some(port)));
            addrs.push(IpAddr::V4(ip));
        }
        for j in 0..spec.unreachable {
            let ip = Ipv4Addr::new(127, 0, 0, 2 + (spec.servers + j) as u8);
            let port = util::free_udp_port(ip)?;
            conf.servers.push((IpAddr::V4(ip), Some(port)));
        }
        let mut udp = None;
        if spec.udp_command {
            let port = util::free_udp_port(Ipv4Addr::LOCALHOST)?;
            conf.cmd = Some((port, "127.0.0.1".into()));
            udp = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        }
        mkdir_mode(&conf.state_dir, 0o770)?;
        let path = root.join("client.conf");
        write_file(&path, &conf.render())?;
        let mut client = Node::new("client chronyd", path, root.join("client.log"));
        let res = client.spawn();
        let mut inner = run(servers, client);
        if let Err(e) = res {
            inner.teardown();
            return Err(e);
        }
        let chronyc_version = parse_version(
            &util::run_ok(
                util::cmd(&chronyc_program(), &["-v"]),
                Duration::from_secs(10),
            )
            .unwrap_or_default(),
        );
        Ok(Started {
            run: Box::new(inner),
            udp,
            servers: addrs,
            version,
            chronyc_version,
        })
    }

    fn chronyc_command(&self) -> Command {
        util::cmd(&chronyc_program(), &[] as &[&str])
    }

    fn freeze(&self) -> Result<(), HarnessError> {
        self.client().signal("STOP")
    }

    fn resume(&self) -> Result<(), HarnessError> {
        self.client().signal("CONT")
    }

    fn stop_client(&mut self) -> Result<(), HarnessError> {
        self.client().stop()
    }

    fn start_client(&mut self) -> Result<(), HarnessError> {
        self.client().spawn()
    }

    fn stop_server(&self, i: usize) -> Result<(), HarnessError> {
        self.server_op(i, |n| n.stop())
    }

    fn cut_server(&self, i: usize) -> Result<(), HarnessError> {
        self.server_op(i, |n| n.signal("STOP"))
    }

    fn restore_server(&self, i: usize) -> Result<(), HarnessError> {
        self.server_op(i, |n| n.signal("CONT"))
    }

    fn log(&self) -> String {
        self.client().log()
    }

    fn server_logs(&self) -> String {
        ProcessRun::server_logs(self)
    }

    fn client_exited(&self) -> Option<String> {
        self.client().exited()
    }

    fn teardown(&mut self) {
        ProcessRun::teardown(self)
    }
}

/// Creates `dir` with the given mode.
pub(crate) fn mkdir_mode(dir: &Path, mode: u32) -> Result<(), HarnessError> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)
        .map_err(|e| HarnessError::io(format!("cannot create {}", dir.display()), e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(|e| HarnessError::io(format!("cannot chmod {}", dir.display()), e))
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), HarnessError> {
    let mut f = File::create(path)
        .map_err(|e| HarnessError::io(format!("cannot create {}", path.display()), e))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .map_err(|e| HarnessError::io(format!("cannot write {}", path.display()), e))
}
