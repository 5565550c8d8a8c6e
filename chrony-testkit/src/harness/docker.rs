//! Docker backend: every chronyd in its own container on a private network.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::config::{ClientConf, ServerConf};
use super::process::{mkdir_mode, write_file};
use super::util::{self, cmd, run_ok, run_timeout};
use super::{Backend, ChronydBuilder, HarnessError, Run, Started, Suite};

/// Label put on every container and network the harness creates.
pub const LABEL: &str = "chrony-testkit";
const PID_LABEL: &str = "chrony-testkit.pid";
const SHORT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(120);

pub(crate) fn docker(args: &[&str], timeout: Duration) -> Result<String, HarnessError> {
    run_ok(cmd("docker", args), timeout)
}

/// Checks that the docker CLI works and its daemon answers.
pub fn docker_available() -> Result<(), HarnessError> {
    match run_timeout(
        cmd("docker", &["info", "--format", "{{.ServerVersion}}"]),
        SHORT,
    ) {
        Err(e) => Err(HarnessError::DockerUnavailable(e.to_string())),
        Ok(None) => Err(HarnessError::DockerUnavailable(
            "`docker info` did not answer".into(),
        )),
        Ok(Some(o)) if o.status == Some(0) => Ok(()),
        Ok(Some(o)) => Err(HarnessError::DockerUnavailable(format!(
            "`docker info` failed: {}",
            o.stderr.trim()
        ))),
    }
}

/// Removes containers and networks left behind by harness instances whose
/// process is gone (e.g. a test killed by a timeout). With `all`, removes
/// every chrony-testkit container and network, running or not.
pub fn cleanup_docker_leftovers(all: bool) -> Result<(), HarnessError> {
    let dead = |pid: &str| all || !Path::new("/proc").join(pid.trim()).exists();
    let filter = format!("label={PID_LABEL}");
    let fmt = format!("{{{{.ID}}}} {{{{.Label \"{PID_LABEL}\"}}}}");
    let out = docker(&["ps", "-a", "--filter", &filter, "--format", &fmt], SHORT)?;
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, pid)| dead(pid))
        .map(|(id, _)| id)
        .collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids);
        let _ = docker(&args, LONG);
    }
    let out = docker(
        &["network", "ls", "--filter", &filter, "--format", &fmt],
        SHORT,
    )?;
    for (id, _) in out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, pid)| dead(pid))
    {
        let _ = docker(&["network", "rm", id], SHORT);
    }
    Ok(())
}

/// Path of scripts/images: env CHRONY_TESTKIT_IMAGES_SCRIPT or the one of this checkout.
fn images_script() -> PathBuf {
    match std::env::var_os("CHRONY_TESTKIT_IMAGES_SCRIPT") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/images"),
    }
}

/// Makes sure the images `chrony-testkit/chronyd:SUITE` exist (runs
/// `scripts/images SUITE...`, which builds only what is missing or outdated).
/// Done at most once per suite and process.
pub fn ensure_images(suites: &[Suite]) -> Result<(), HarnessError> {
    static DONE: Mutex<Vec<Suite>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    let todo: Vec<&str> = suites
        .iter()
        .filter(|s| !done.contains(s))
        .map(|s| s.name())
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    docker_available()?;
    let script = images_script();
    if !script.is_file() {
        // The published crate does not carry scripts/ and docker/.
        return Err(HarnessError::DockerUnavailable(format!(
            "{} does not exist: the images are built by scripts/images of the \
             chrony-rs repository; run it from a clone (scripts/images {}) or point \
             CHRONY_TESTKIT_IMAGES_SCRIPT at it",
            script.display(),
            todo.join(" ")
        )));
    }
    let mut c = cmd("bash", &[script.as_os_str()]);
    c.args(&todo);
    run_ok(c, Duration::from_secs(1200))?;
    done.extend(suites.iter().copied());
    Ok(())
}

/// chrony version in an image (cached per process).
pub(crate) fn image_version(image: &str) -> Result<String, HarnessError> {
    static CACHE: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let map = cache.get_or_insert_with(HashMap::new);
    if let Some(v) = map.get(image) {
        return Ok(v.clone());
    }
    let out = docker(
        &["run", "--rm", "--entrypoint", "chronyd", image, "-v"],
        LONG,
    )?;
    let v = super::parse_version(&out);
    map.insert(image.to_string(), v.clone());
    Ok(v)
}

/// Picks a free /24 in 172.29.0.0/16 that no host route covers and creates the
/// network; returns its name and the subnet's base address.
fn create_network(id: &str) -> Result<(String, Ipv4Addr), HarnessError> {
    let name = format!("ctk-{id}");
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let routed = |net: Ipv4Addr| {
        routes.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return false;
            }
            let (Ok(dst), Ok(mask)) =
                (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
            else {
                return false;
            };
            let (dst, mask) = (u32::from_be(dst), u32::from_be(mask));
            let ours = u32::from(net);
            mask != 0 && (ours & mask) == (dst & mask) || (dst & 0xffff_ff00) == ours
        })
    };
    let pid = std::process::id().to_string();
    let mut last = String::new();
    let mut seed = util::pseudo_random();
    for _ in 0..32 {
        let third = (seed % 256) as u8;
        seed = seed.rotate_right(8) ^ 0x9e37_79b9_7f4a_7c15;
        let base = Ipv4Addr::new(172, 29, third, 0);
        if routed(base) {
            continue;
        }
        let subnet = format!("{base}/24");
        let gw = Ipv4Addr::new(172, 29, third, 1).to_string();
        let res = docker(
            &[
                "network",
                "create",
                "--driver",
                "bridge",
                "--subnet",
                &subnet,
                "--gateway",
                &gw,
                "--label",
                &format!("{LABEL}=1"),
                "--label",
                &format!("{PID_LABEL}={pid}"),
                &name,
            ],
            SHORT,
        );
        match res {
            Ok(_) => return Ok((name, base)),
            Err(e) => last = e.to_string(),
        }
    }
    Err(HarnessError::DockerUnavailable(format!(
        "cannot create a docker network: {last}"
    )))
}

pub(crate) fn host(base: Ipv4Addr, last: u8) -> Ipv4Addr {
    let o = base.octets();
    Ipv4Addr::new(o[0], o[1], o[2], last)
}

/// The containers and network of one harness.
pub(crate) struct DockerRun {
    pub network: String,
    pub base: Ipv4Addr,
    pub client: String,
    pub client_ip: Ipv4Addr,
    pub servers: Vec<(String, Ipv4Addr)>,
    pub image: String,
    pub mount: PathBuf,
    created: Vec<String>,
}

impl DockerRun {
    /// Creates the network; containers come with `run_container`.
    pub(crate) fn new(suite: Suite, mount: &Path) -> Result<DockerRun, HarnessError> {
        docker_available()?;
        let _ = cleanup_docker_leftovers(false);
        let image = suite.image();
        if docker(&["image", "inspect", "--format", "{{.Id}}", &image], SHORT).is_err() {
            return Err(HarnessError::DockerUnavailable(format!(
                "image {image} is missing: run scripts/images {} \
                 (or call harness::ensure_images)",
                suite.name()
            )));
        }
        let id = util::unique_id();
        let (network, base) = create_network(&id)?;
        Ok(DockerRun {
            client: format!("ctk-{id}-client"),
            client_ip: host(base, 2),
            network,
            base,
            servers: Vec::new(),
            image,
            mount: mount.to_path_buf(),
            created: Vec::new(),
        })
    }

    pub(crate) fn subnet(&self) -> String {
        format!("{}/24", self.base)
    }

    pub(crate) fn run_container(
        &mut self,
        name: &str,
        ip: Ipv4Addr,
        conf: &Path,
        devices: &[PathBuf],
    ) -> Result<(), HarnessError> {
        let mount = format!("{0}:{0}", self.mount.display());
        let ip = ip.to_string();
        let conf = format!("CHRONY_CONF={}", conf.display());
        let pid = format!("{PID_LABEL}={}", std::process::id());
        let label = format!("{LABEL}=1");
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            &self.network,
            "--ip",
            &ip,
            "--label",
            &label,
            "--label",
            &pid,
            "-v",
            &mount,
            "-e",
            &conf,
        ];
        let devs: Vec<String> = devices
            .iter()
            .map(|d| format!("{0}:{0}", d.display()))
            .collect();
        for d in &devs {
            args.push("--device");
            args.push(d);
        }
        args.push(&self.image);
        args.push("-4");
        self.created.push(name.to_string());
        docker(&args, LONG).map(drop)
    }

    /// `docker exec CLIENT chronyc` (arguments to be added).
    pub(crate) fn chronyc_command(&self) -> std::process::Command {
        cmd("docker", &["exec", &self.client, "chronyc"])
    }

    pub(crate) fn logs(&self, container: &str) -> String {
        match run_timeout(cmd("docker", &["logs", container]), SHORT) {
            Ok(Some(o)) => format!("{}{}", o.stdout, o.stderr),
            _ => String::new(),
        }
    }

    pub(crate) fn running(&self, container: &str) -> bool {
        docker(
            &["inspect", "--format", "{{.State.Running}}", container],
            SHORT,
        )
        .map(|o| o.trim() == "true")
        .unwrap_or(false)
    }

    pub(crate) fn server(&self, i: usize) -> Result<&(String, Ipv4Addr), HarnessError> {
        self.servers
            .get(i)
            .ok_or_else(|| HarnessError::InvalidConfig(format!("no reference server {i}")))
    }

    pub(crate) fn server_logs(&self) -> String {
        self.servers
            .iter()
            .map(|(n, _)| format!("--- {n} ---\n{}", self.logs(n)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(crate) fn teardown(&mut self) {
        if !self.created.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(self.created.iter().map(String::as_str));
            let _ = docker(&args, LONG);
            self.created.clear();
        }
        if !self.network.is_empty() {
            let _ = docker(&["network", "rm", &self.network], SHORT);
            self.network.clear();
        }
    }
}

impl Drop for DockerRun {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Deadline of the docker commands behind the [`Run`] operations.
const DOCKER_OP: Duration = Duration::from_secs(60);

impl DockerRun {
    /// Starts the reference server containers and the client container.
    fn start_containers(
        &mut self,
        spec: &ChronydBuilder,
        root: &Path,
        conf: &mut ClientConf,
    ) -> Result<(Option<SocketAddr>, Vec<IpAddr>), HarnessError> {
        let conf_dir = root.join("conf");
        mkdir_mode(&conf_dir, 0o755)?;
        let mut addrs = Vec::new();
        for i in 0..spec.servers {
            let ip = host(self.base, 10 + i as u8);
            let sc = ServerConf {
                bind: None,
                port: 123,
                allow: self.subnet(),
                state_dir: PathBuf::from("/run/chrony-testkit"),
                socket: None,
            };
            let path = conf_dir.join(format!("server{i}.conf"));
            write_file(&path, &sc.render())?;
            let name = format!("{}-srv{i}", self.network);
            self.run_container(&name, ip, &path, &[])?;
            self.servers.push((name, ip));
            conf.servers.push((IpAddr::V4(ip), None));
            addrs.push(IpAddr::V4(ip));
        }
        for j in 0..spec.unreachable {
            let ip = host(self.base, 200 + j as u8);
            conf.servers.push((IpAddr::V4(ip), None));
        }
        let mut udp = None;
        if spec.udp_command {
            conf.cmd = Some((323, self.subnet()));
            conf.cmd_bind_any = true;
            udp = Some(SocketAddr::from((self.client_ip, 323)));
        }
        conf.state_dir = PathBuf::from("/run/chrony-testkit");
        let path = conf_dir.join("client.conf");
        write_file(&path, &conf.render())?;
        let devices: Vec<PathBuf> = conf.rtc_device.iter().cloned().collect();
        let (client, ip) = (self.client.clone(), self.client_ip);
        self.run_container(&client, ip, &path, &devices)?;
        Ok((udp, addrs))
    }
}

impl Run for DockerRun {
    fn start(
        spec: &ChronydBuilder,
        backend: Backend,
        root: &Path,
        conf: &mut ClientConf,
    ) -> Result<Started, HarnessError> {
        let Backend::Docker(suite) = backend else {
            return Err(HarnessError::InvalidConfig(format!(
                "the docker backend cannot start {backend:?}"
            )));
        };
        if spec.servers > 100 || spec.unreachable > 50 {
            return Err(HarnessError::InvalidConfig(
                "docker backend: at most 100 servers and 50 unreachable servers".into(),
            ));
        }
        let mut run = DockerRun::new(suite, root)?;
        let started = run
            .start_containers(spec, root, conf)
            .and_then(|(udp, addrs)| Ok((udp, addrs, image_version(&run.image)?)));
        match started {
            Ok((udp, servers, version)) => Ok(Started {
                run: Box::new(run),
                udp,
                servers,
                chronyc_version: version.clone(),
                version,
            }),
            Err(e) => {
                run.teardown();
                Err(e)
            }
        }
    }

    fn chronyc_command(&self) -> std::process::Command {
        DockerRun::chronyc_command(self)
    }

    fn freeze(&self) -> Result<(), HarnessError> {
        docker(&["pause", &self.client], DOCKER_OP).map(drop)
    }

    fn resume(&self) -> Result<(), HarnessError> {
        docker(&["unpause", &self.client], DOCKER_OP).map(drop)
    }

    fn stop_client(&mut self) -> Result<(), HarnessError> {
        if !self.running(&self.client) {
            return Ok(());
        }
        // A paused container must be unpaused to stop gracefully.
        let _ = docker(&["unpause", &self.client], DOCKER_OP);
        docker(&["stop", "-t", "5", &self.client], DOCKER_OP).map(drop)
    }

    fn start_client(&mut self) -> Result<(), HarnessError> {
        docker(&["start", &self.client], DOCKER_OP).map(drop)
    }

    fn stop_server(&self, i: usize) -> Result<(), HarnessError> {
        let (name, _) = self.server(i)?;
        docker(&["stop", "-t", "5", name], DOCKER_OP).map(drop)
    }

    fn cut_server(&self, i: usize) -> Result<(), HarnessError> {
        let (name, _) = self.server(i)?;
        docker(&["network", "disconnect", &self.network, name], DOCKER_OP).map(drop)
    }

    fn restore_server(&self, i: usize) -> Result<(), HarnessError> {
        let (name, ip) = self.server(i)?;
        let ip = ip.to_string();
        docker(
            &["network", "connect", "--ip", &ip, &self.network, name],
            DOCKER_OP,
        )
        .map(drop)
    }

    fn log(&self) -> String {
        self.logs(&self.client)
    }

    fn server_logs(&self) -> String {
        DockerRun::server_logs(self)
    }

    fn client_exited(&self) -> Option<String> {
        (!self.running(&self.client)).then(|| "container stopped".into())
    }

    fn teardown(&mut self) {
        DockerRun::teardown(self)
    }
}
