//! FFI smoke test: raw libchrony calls against a live chronyd that this test
//! starts itself (a loopback reference server and a client, both `chronyd
//! -x` so the system clock is never touched), reading the tracking report
//! with a poll deadline.
use libchrony_sys as sys;
use std::ffi::{CStr, CString};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn chronyd(name: &str, config: &str) -> Daemon {
    let dir =
        std::env::temp_dir().join(format!("libchrony-sys-smoke-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sock")).unwrap();
    // chronyd refuses a world-accessible socket directory.
    std::fs::set_permissions(
        dir.join("sock"),
        std::os::unix::fs::PermissionsExt::from_mode(0o770),
    )
    .unwrap();
    let d = dir.display();
    let conf = format!(
        "{config}\nbindcmdaddress {d}/sock/chronyd.sock\npidfile {d}/chronyd.pid\ndriftfile {d}/drift\n"
    );
    std::fs::write(dir.join("chrony.conf"), conf).unwrap();
    let child = Command::new("chronyd")
        .args(["-x", "-d", "-u", "root", "-f"])
        .arg(dir.join("chrony.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("log")).unwrap()))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chronyd (scripts/bootstrap installs it): {e}"));
    Daemon { child, dir }
}

/// Sends nothing itself: waits for responses until libchrony needs no more,
/// polling the fd with a deadline.
fn wait(s: *mut sys::chrony_session, deadline: Instant) -> Result<(), String> {
    // SAFETY: s is a live session.
    while unsafe { sys::chrony_needs_response(s) } {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timeout".into());
        }
        // SAFETY: s is a live session.
        let mut pfd = libc::pollfd {
            fd: unsafe { sys::chrony_get_fd(s) },
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32) };
        if r <= 0 {
            continue;
        }
        // SAFETY: live session, readable fd.
        let e = unsafe { sys::chrony_process_response(s) };
        if e != sys::chrony_err_CHRONY_OK {
            return Err(format!("process_response: {e}"));
        }
    }
    Ok(())
}

fn read_tracking(socket: &Path) -> Result<Vec<(String, u32, String)>, String> {
    let addr = CString::new(socket.to_str().unwrap()).unwrap();
    // SAFETY: valid C string.
    let fd = unsafe { sys::chrony_open_socket(addr.as_ptr()) };
    if fd < 0 {
        return Err(format!("open: {}", std::io::Error::last_os_error()));
    }
    let mut s = std::ptr::null_mut();
    // SAFETY: valid out pointer and fd.
    assert_eq!(
        unsafe { sys::chrony_init_session(&mut s, fd) },
        sys::chrony_err_CHRONY_OK
    );
    let deadline = Instant::now() + Duration::from_secs(1);
    let result = (|| {
        // SAFETY: live session, static C string.
        let e = unsafe { sys::chrony_request_record(s, c"tracking".as_ptr(), 0) };
        if e != sys::chrony_err_CHRONY_OK {
            return Err(format!("request: {e}"));
        }
        wait(s, deadline)?;
        let mut fields = Vec::new();
        // SAFETY: a record has arrived.
        let n = unsafe { sys::chrony_get_record_number_fields(s) };
        for i in 0..n {
            // SAFETY: i < n; names are static strings.
            let name = unsafe { CStr::from_ptr(sys::chrony_get_field_name(s, i)) }
                .to_string_lossy()
                .into_owned();
            // SAFETY: i < n.
            let ty = unsafe { sys::chrony_get_field_type(s, i) };
            let value = match ty {
                // SAFETY: i < n and the type matches each getter.
                sys::chrony_field_type_CHRONY_TYPE_UINTEGER => {
                    unsafe { sys::chrony_get_field_uinteger(s, i) }.to_string()
                }
                // SAFETY: as above.
                sys::chrony_field_type_CHRONY_TYPE_FLOAT => {
                    unsafe { sys::chrony_get_field_float(s, i) }.to_string()
                }
                sys::chrony_field_type_CHRONY_TYPE_TIMESPEC => {
                    // SAFETY: as above.
                    let t = unsafe { sys::chrony_get_field_timespec(s, i) };
                    format!("{}.{:09}", t.tv_sec, t.tv_nsec)
                }
                sys::chrony_field_type_CHRONY_TYPE_STRING => {
                    // SAFETY: as above; the string is copied at once.
                    let p = unsafe { sys::chrony_get_field_string(s, i) };
                    // SAFETY: non-NULL, NUL-terminated.
                    if p.is_null() {
                        "(null)".into()
                    } else {
                        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
                    }
                }
                other => format!("type {other}"),
            };
            fields.push((name, ty, value));
        }
        Ok(fields)
    })();
    // SAFETY: session and fd are released once.
    unsafe {
        sys::chrony_deinit_session(s);
        sys::chrony_close_socket(fd);
    }
    result
}

#[test]
fn tracking_through_raw_calls() {
    let port = free_udp_port();
    let _server = chronyd(
        "server",
        &format!(
            "local stratum 1\nallow 127.0.0.0/8\nport {port}\nbindaddress 127.0.0.1\ncmdport 0"
        ),
    );
    let client = chronyd(
        "client",
        &format!("server 127.0.0.1 port {port} iburst minpoll -2 maxpoll -2\nport 0\ncmdport 0"),
    );
    let socket = client.dir.join("sock/chronyd.sock");

    // Poll until the client is synchronized (reference ID set), at most 30 s.
    let start = Instant::now();
    let fields = loop {
        let attempt = if socket.exists() {
            read_tracking(&socket)
        } else {
            Err("no socket yet".into())
        };
        if let Ok(f) = &attempt {
            if f.iter().any(|(n, _, v)| n == "reference ID" && v != "0") {
                break f.clone();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chronyd did not synchronize: last attempt {attempt:?}; log:\n{}",
            std::fs::read_to_string(client.dir.join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}: {fields:?}"))
    };
    assert_eq!(fields.len(), 14, "{fields:?}");
    assert_eq!(get("reference ID").2, (0x7f00_0001u32).to_string());
    assert_eq!(get("address").2, "127.0.0.1");
    assert_eq!(get("stratum").2, "2");
    assert_eq!(
        get("reference time").1,
        sys::chrony_field_type_CHRONY_TYPE_TIMESPEC
    );
    assert_eq!(get("skew").1, sys::chrony_field_type_CHRONY_TYPE_FLOAT);
    // The client socket libchrony created is gone after close.
    let leftovers: Vec<_> = std::fs::read_dir(socket.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with("libchrony"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "client sockets left behind: {leftovers:?}"
    );
}
