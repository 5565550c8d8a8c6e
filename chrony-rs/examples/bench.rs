//! Measures the typed API against a raw libchrony-sys loop over the same
//! socket, in the same run.
//!
//! ```text
//! cargo run --release -p chrony --example bench -- --address ADDR [--iterations N] [--rounds R]
//! ```
//! For tracking, sources and sourcestats it prints `NAME records=R us=X`
//! (microseconds per whole report: the count request, every record and every
//! field) for the typed API, then `raw-NAME records=R us=X` for a loop of
//! raw libchrony calls that reads every field of every record with the getter
//! its type needs (strings copied out). Typed and raw runs alternate in
//! rounds; each figure is the median of the rounds' means, and `ratio` is
//! typed/raw.
use chrony::Client;
use libchrony_sys as sys;
use std::ffi::CStr;
use std::time::{Duration, Instant};

struct Raw {
    session: *mut sys::chrony_session,
    fd: i32,
}

impl Raw {
    fn open(address: &str) -> Raw {
        let c = std::ffi::CString::new(address).expect("address without NUL");
        // SAFETY: valid C string.
        let fd = unsafe { sys::chrony_open_socket(c.as_ptr()) };
        assert!(
            fd >= 0,
            "chrony_open_socket({address}): {}",
            std::io::Error::last_os_error()
        );
        let mut session = std::ptr::null_mut();
        // SAFETY: valid out-pointer and open fd.
        let err = unsafe { sys::chrony_init_session(&mut session, fd) };
        assert_eq!(err, sys::chrony_err_CHRONY_OK);
        Raw { session, fd }
    }

    /// Waits for the response with a 1 s poll deadline, like the typed API.
    fn wait(&self) {
        let deadline = Instant::now() + Duration::from_secs(1);
        // SAFETY: live session.
        while unsafe { sys::chrony_needs_response(self.session) } {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "raw loop: timeout");
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32) } <= 0 {
                continue;
            }
            // SAFETY: live session, readable fd.
            let err = unsafe { sys::chrony_process_response(self.session) };
            assert_eq!(err, sys::chrony_err_CHRONY_OK, "raw loop: process_response");
        }
    }

    /// Reads a whole report; returns (records, a checksum of the values).
    fn report(&self, name: &CStr) -> (usize, f64) {
        // SAFETY: live session, NUL-terminated name.
        let err = unsafe { sys::chrony_request_report_number_records(self.session, name.as_ptr()) };
        assert_eq!(err, sys::chrony_err_CHRONY_OK);
        self.wait();
        // SAFETY: the count response was processed.
        let n = unsafe { sys::chrony_get_report_number_records(self.session) };
        let mut sum = 0.0;
        for i in 0..n {
            // SAFETY: live session, valid name and index.
            let err = unsafe { sys::chrony_request_record(self.session, name.as_ptr(), i) };
            assert_eq!(err, sys::chrony_err_CHRONY_OK);
            self.wait();
            // SAFETY: a record was received.
            let fields = unsafe { sys::chrony_get_record_number_fields(self.session) };
            for f in 0..fields {
                // SAFETY: f < number of fields; each getter matches the type.
                unsafe {
                    match sys::chrony_get_field_type(self.session, f) {
                        sys::chrony_field_type_CHRONY_TYPE_UINTEGER => {
                            sum += sys::chrony_get_field_uinteger(self.session, f) as f64
                        }
                        sys::chrony_field_type_CHRONY_TYPE_INTEGER => {
                            sum += sys::chrony_get_field_integer(self.session, f) as f64
                        }
                        sys::chrony_field_type_CHRONY_TYPE_FLOAT => {
                            sum += sys::chrony_get_field_float(self.session, f)
                        }
                        sys::chrony_field_type_CHRONY_TYPE_TIMESPEC => {
                            sum += sys::chrony_get_field_timespec(self.session, f).tv_nsec as f64
                        }
                        sys::chrony_field_type_CHRONY_TYPE_STRING => {
                            let p = sys::chrony_get_field_string(self.session, f);
                            if !p.is_null() {
                                sum +=
                                    CStr::from_ptr(p).to_string_lossy().into_owned().len() as f64;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        (n as usize, sum)
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: released once.
        unsafe {
            sys::chrony_deinit_session(self.session);
            sys::chrony_close_socket(self.fd);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut address = None;
    let mut iterations = 2000usize;
    let mut rounds = 10usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--address" => address = args.next(),
            "--iterations" => iterations = args.next().and_then(|v| v.parse().ok()).expect("--iterations N"),
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds R"),
            other => panic!("unknown argument {other:?}; usage: bench --address ADDR [--iterations N] [--rounds R]"),
        }
    }
    let address = address.expect("--address ADDR is required");
    let per_round = (iterations / rounds).max(1);
    let mut client = Client::connect(&address).unwrap_or_else(|e| panic!("{e}"));
    let raw = Raw::open(&address);

    for (name, cname) in [
        ("tracking", c"tracking"),
        ("sources", c"sources"),
        ("sourcestats", c"sourcestats"),
    ] {
        let mut typed_us = Vec::new();
        let mut raw_us = Vec::new();
        let mut typed_records = 0;
        let mut raw_records = 0;
        // Warm up both paths.
        for _ in 0..per_round.min(50) {
            raw.report(cname);
            typed_records = typed(&mut client, name);
        }
        for _ in 0..rounds {
            let t = Instant::now();
            for _ in 0..per_round {
                typed_records = typed(&mut client, name);
            }
            typed_us.push(t.elapsed().as_secs_f64() * 1e6 / per_round as f64);
            let t = Instant::now();
            for _ in 0..per_round {
                raw_records = std::hint::black_box(raw.report(cname)).0;
            }
            raw_us.push(t.elapsed().as_secs_f64() * 1e6 / per_round as f64);
        }
        let (t, r) = (median(typed_us), median(raw_us));
        println!("{name} records={typed_records} us={t:.1}");
        println!("raw-{name} records={raw_records} us={r:.1}");
        println!("ratio-{name} {:.3}", t / r);
    }
}

fn typed(client: &mut Client, name: &str) -> usize {
    match name {
        "tracking" => {
            std::hint::black_box(client.tracking().expect("tracking"));
            1
        }
        "sources" => std::hint::black_box(client.sources().expect("sources")).len(),
        _ => std::hint::black_box(client.source_stats().expect("sourcestats")).len(),
    }
}
