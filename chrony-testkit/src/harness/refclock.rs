//! A fake reference clock: feeds chronyd's `refclock SOCK` driver.
//!
//! chronyd binds a Unix datagram socket at the configured path and expects
//! one native-endian `struct sock_sample` per datagram (the protocol gpsd
//! uses): `struct timeval tv; double offset; int pulse; int leap; int _pad;
//! int magic` with magic 0x534f434b ("SOCK"). We report "the system clock is
//! right" (offset 0), which agrees with the local reference servers.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SOCK_MAGIC: libc::c_int = 0x534f_434b;

fn sample(now: Duration, offset: f64) -> Vec<u8> {
    let sec = now.as_secs() as libc::time_t;
    let usec = now.subsec_micros() as libc::suseconds_t;
    let mut b = Vec::with_capacity(48);
    b.extend_from_slice(&sec.to_ne_bytes());
    b.extend_from_slice(&usec.to_ne_bytes());
    b.extend_from_slice(&(offset as libc::c_double).to_ne_bytes());
    b.extend_from_slice(&(0 as libc::c_int).to_ne_bytes()); // pulse
    b.extend_from_slice(&(0 as libc::c_int).to_ne_bytes()); // leap
    b.extend_from_slice(&(0 as libc::c_int).to_ne_bytes()); // _pad
    b.extend_from_slice(&SOCK_MAGIC.to_ne_bytes());
    b
}

/// A thread sending samples to every refclock socket until dropped.
pub(crate) struct Feeder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Feeder {
    pub(crate) fn start(paths: Vec<PathBuf>, interval: Duration) -> Feeder {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let sock = match UnixDatagram::unbound() {
                Ok(s) => s,
                Err(_) => return,
            };
            while !flag.load(Ordering::Relaxed) {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let msg = sample(now, 0.0);
                for p in &paths {
                    // chronyd may not be running (yet / any more): ignore errors.
                    let _ = sock.send_to(&msg, p);
                }
                thread::sleep(interval);
            }
        });
        Feeder {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
