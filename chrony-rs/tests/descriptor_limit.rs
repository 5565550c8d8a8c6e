//! A client short of file descriptors. Each session takes two: its socket
//! and libchrony's `/dev/urandom` FILE. Under a lowered `RLIMIT_NOFILE`
//! (in a child process: this test binary again, so the limit touches
//! nothing else), a default client (8 sessions) with room for 3 reads a
//! 16-source daemon correctly, round after round, on the sessions it can
//! open; with no room for even one session it fails with
//! `Error::ResourceExhausted` naming the cause (`EMFILE` when no socket
//! opens, libchrony's `CHRONY_NO_RANDOM` when the socket opens and
//! `/dev/urandom` does not).
mod common;

use chrony::{Client, Error};

const CHILD_ENV: &str = "CHRONY_RS_DESCRIPTORS_CHILD";

/// The open descriptors of this process.
fn open_fds() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Lowers the soft descriptor limit so that exactly `room` more can be
/// opened: descriptors take the lowest free numbers below the limit, so
/// the holes below the highest open one are filled first (with
/// `/dev/null`, kept open).
fn leave_room(room: usize) {
    restore_limit();
    let highest = open_fds().into_iter().max().unwrap_or(2);
    let next = loop {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::IntoRawFd::into_raw_fd(f);
        if fd > highest {
            // SAFETY: fd was just opened here and is closed once.
            unsafe { libc::close(fd) };
            break fd;
        }
    };
    // Every number below `next` is open now.
    set_soft_limit(next as u64 + room as u64);
}

fn set_soft_limit(soft: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r.rlim_cur = soft.min(r.rlim_max);
    // SAFETY: valid rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
}

fn restore_limit() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    set_soft_limit(r.rlim_max.min(4096));
}

fn child(addresses: &str) {
    for address in addresses.split(',') {
        leave_room(2 * 3);
        let mut c = Client::connect(address).unwrap_or_else(|e| panic!("{address}: {e}"));
        for round in 0..10 {
            let what = format!("{address}, round {round}");
            c.tracking()
                .unwrap_or_else(|e| panic!("{what}: tracking: {e}"));
            let sources = c
                .sources()
                .unwrap_or_else(|e| panic!("{what}: sources: {e}"));
            assert_eq!(sources.len(), 16, "{what}");
            let stats = c
                .source_stats()
                .unwrap_or_else(|e| panic!("{what}: sourcestats: {e}"));
            assert_eq!(stats.len(), 16, "{what}");
        }
        drop(c);
        println!("SHRUNK-OK {address}");

        // No room: no socket opens (EMFILE). Room for one over UDP: the
        // socket opens, libchrony's /dev/urandom does not
        // (CHRONY_NO_RANDOM). Over the Unix socket, setting up the socket
        // itself takes two, so one is EMFILE again.
        let udp = !address.starts_with('/');
        for (room, cause) in [
            (0, "EMFILE"),
            (1, if udp { "CHRONY_NO_RANDOM" } else { "EMFILE" }),
        ] {
            leave_room(room);
            let r = Client::connect(address).and_then(|mut c| c.sources());
            restore_limit();
            match r {
                Err(e @ Error::ResourceExhausted { .. }) => {
                    assert_eq!(e.kind().as_str(), "resource_exhausted");
                    let text = e.to_string();
                    assert!(
                        text.contains(cause) && text.contains("EMFILE"),
                        "room {room}: {text}"
                    );
                    println!("EXHAUSTED-OK {address} {room} {cause}");
                }
                other => panic!("{address}, room for {room} descriptor(s): {other:?}"),
            }
        }
        restore_limit();
    }
}

#[test]
fn a_client_short_of_descriptors_runs_on_the_sessions_it_can_open() {
    if let Ok(addresses) = std::env::var(CHILD_ENV) {
        child(&addresses);
        return;
    }
    let d = common::builder()
        .servers(1)
        .unreachable_servers(15)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let unix = d.socket_path().to_str().unwrap().to_string();
    let udp = d.udp_address().unwrap();
    let (ok, text) = common::run_child(
        "a_client_short_of_descriptors_runs_on_the_sessions_it_can_open",
        (CHILD_ENV, &format!("{unix},{udp}")),
    );
    assert!(ok, "child failed:\n{text}");
    for line in [
        format!("SHRUNK-OK {unix}"),
        format!("SHRUNK-OK {udp}"),
        format!("EXHAUSTED-OK {unix} 0 EMFILE"),
        format!("EXHAUSTED-OK {udp} 0 EMFILE"),
        format!("EXHAUSTED-OK {udp} 1 CHRONY_NO_RANDOM"),
    ] {
        assert!(text.contains(&line), "no {line:?} in:\n{text}");
    }
}
