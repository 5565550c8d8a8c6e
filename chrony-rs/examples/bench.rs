//! Measures the typed API against raw libchrony-sys loops over the same
//! socket, in the same run.
//!
//! ```text
//! cargo run --release -p chrony --features tokio --example bench -- \
//!     --address ADDR [--iterations N] [--rounds R] [--sessions K] [--reports LIST] \
//!     [--variants LIST]
//! ```
//!
//! For each report (tracking, sources, sourcestats by default) it prints,
//! per whole report (the count request, every record and every field):
//!
//! - `typed-NAME records=R us=X cpu_us=C`: the default client (concurrent
//!   sessions); `us` is the wall time, `cpu_us` the CPU time (user and
//!   system) of this process's thread and `sleeps` the times it slept
//!   (voluntary context switches), per report;
//! - `serial-NAME ...`: the typed client with one session (`concurrency(1)`);
//! - `async-NAME ...`: the tokio client with default options (feature
//!   `tokio`);
//! - `raw-serial-NAME ...`: one raw libchrony session, one record after the
//!   other, every field read with the getter its type needs;
//! - `raw-kK-NAME ...`: the same over K raw sessions with one `poll` over
//!   their sockets, each taking the next record as soon as its last one is
//!   read (the fastest raw loop we know);
//!
//! (`--variants typed,async` measures only those: for `strace` or `perf`
//! of one client; the ratios of the others print as NaN),
//! then the ratios typed/serial, typed/raw-k, serial/raw-serial,
//! typed/raw-serial and async/typed (async/blocking: both clients with
//! default options). All variants alternate in rounds; each figure is the median
//! of the rounds' means.
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

    /// Asks for a record without waiting.
    fn request(&self, name: &CStr, index: i32) {
        // SAFETY: live session, valid name and index.
        let err = unsafe { sys::chrony_request_record(self.session, name.as_ptr(), index) };
        assert_eq!(err, sys::chrony_err_CHRONY_OK);
    }

    /// Processes one datagram; true when the record is complete.
    fn process(&self) -> bool {
        // SAFETY: live session, readable fd.
        let err = unsafe { sys::chrony_process_response(self.session) };
        assert_eq!(err, sys::chrony_err_CHRONY_OK, "raw loop: process_response");
        // SAFETY: live session.
        !unsafe { sys::chrony_needs_response(self.session) }
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
            sum += self.fields();
        }
        (n as usize, sum)
    }

    /// Reads the record count of `name`.
    fn count(&self, name: &CStr) -> i32 {
        // SAFETY: live session, NUL-terminated name.
        let err = unsafe { sys::chrony_request_report_number_records(self.session, name.as_ptr()) };
        assert_eq!(err, sys::chrony_err_CHRONY_OK);
        self.wait();
        // SAFETY: the count response was processed.
        unsafe { sys::chrony_get_report_number_records(self.session) }
    }

    /// Reads every field of the record just received; returns a checksum.
    fn fields(&self) -> f64 {
        let mut sum = 0.0;
        {
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
        sum
    }
}

/// A whole report over K raw sessions: the count on the first, then each
/// session takes the next record as soon as its last one is read.
fn raw_k(sessions: &[Raw], name: &CStr) -> (usize, f64) {
    let n = sessions[0].count(name).max(0);
    let mut next = 0;
    let mut busy: Vec<bool> = vec![false; sessions.len()];
    for (s, b) in sessions.iter().zip(busy.iter_mut()) {
        if next < n {
            s.request(name, next);
            next += 1;
            *b = true;
        }
    }
    let (mut done, mut sum) = (0, 0.0);
    let mut pfds: Vec<libc::pollfd> = Vec::with_capacity(sessions.len());
    while done < n {
        pfds.clear();
        let mut owners = Vec::with_capacity(sessions.len());
        for (i, s) in sessions.iter().enumerate() {
            if busy[i] {
                pfds.push(libc::pollfd {
                    fd: s.fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
                owners.push(i);
            }
        }
        // SAFETY: pfds is a valid array of pollfd for the call.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 1000) };
        assert!(r > 0, "raw-k loop: timeout");
        for (p, &i) in pfds.iter().zip(&owners) {
            if p.revents == 0 || !sessions[i].process() {
                continue;
            }
            sum += sessions[i].fields();
            done += 1;
            if next < n {
                sessions[i].request(name, next);
                next += 1;
            } else {
                busy[i] = false;
            }
        }
    }
    (n as usize, sum)
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

/// The CPU time (user and system, in microseconds) this thread has used,
/// and the times it went to sleep (voluntary context switches). Every
/// variant runs on the main thread (the tokio one on a current-thread
/// runtime), so a round's difference is its own cost.
fn usage() -> (f64, f64) {
    // SAFETY: an all-zero rusage is a valid value for getrusage to fill.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer; RUSAGE_THREAD is supported on Linux.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut r) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (us(r.ru_utime) + us(r.ru_stime), r.ru_nvcsw as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One measured way of reading a report.
enum Variant {
    Typed(Client),
    Serial(Client),
    #[cfg(feature = "tokio")]
    Async(Box<(tokio::runtime::Runtime, chrony::tokio::AsyncClient)>),
    RawSerial(Raw),
    RawK(Vec<Raw>),
}

impl Variant {
    /// The name in the ratio line.
    fn key(&self) -> &'static str {
        match self {
            Variant::Typed(_) => "typed",
            Variant::Serial(_) => "serial",
            #[cfg(feature = "tokio")]
            Variant::Async(_) => "async",
            Variant::RawSerial(_) => "raw-serial",
            Variant::RawK(_) => "raw-k",
        }
    }

    fn label(&self, k: usize) -> String {
        match self {
            Variant::Typed(_) => "typed".into(),
            Variant::Serial(_) => "serial".into(),
            #[cfg(feature = "tokio")]
            Variant::Async(_) => "async".into(),
            Variant::RawSerial(_) => "raw-serial".into(),
            Variant::RawK(_) => format!("raw-k{k}"),
        }
    }

    /// Reads the report `n` times; returns the records of the last read.
    /// The tokio client's reads run in one `block_on`, as a service's calls
    /// run inside its runtime (entering the runtime is not the call's cost).
    fn read(&mut self, name: &str, cname: &CStr, n: usize) -> usize {
        let mut records = 0;
        match self {
            Variant::Typed(c) | Variant::Serial(c) => {
                for _ in 0..n {
                    records = typed(c, name);
                }
            }
            #[cfg(feature = "tokio")]
            Variant::Async(b) => {
                let (rt, c) = &mut **b;
                rt.block_on(async {
                    for _ in 0..n {
                        records = match name {
                            "tracking" => {
                                std::hint::black_box(c.tracking().await.expect("tracking"));
                                1
                            }
                            "sources" => {
                                std::hint::black_box(c.sources().await.expect("sources")).len()
                            }
                            _ => std::hint::black_box(c.source_stats().await.expect("sourcestats"))
                                .len(),
                        };
                    }
                })
            }
            Variant::RawSerial(r) => {
                for _ in 0..n {
                    records = std::hint::black_box(r.report(cname)).0;
                }
            }
            Variant::RawK(rs) => {
                for _ in 0..n {
                    records = std::hint::black_box(raw_k(rs, cname)).0;
                }
            }
        }
        records
    }
}

fn main() {
    let mut address = None;
    let mut iterations = 2000usize;
    let mut rounds = 10usize;
    let mut k = chrony::DEFAULT_CONCURRENCY;
    let mut reports = "tracking,sources,sourcestats".to_string();
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--address" => address = args.next(),
            "--iterations" => iterations = args.next().and_then(|v| v.parse().ok()).expect("--iterations N"),
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds R"),
            "--sessions" => k = args.next().and_then(|v| v.parse().ok()).expect("--sessions K"),
            "--reports" => reports = args.next().expect("--reports LIST"),
            "--variants" => only = Some(args.next().expect("--variants LIST")),
            other => panic!("unknown argument {other:?}; usage: bench --address ADDR [--iterations N] [--rounds R] [--sessions K] [--reports LIST] [--variants LIST]"),
        }
    }
    let address = address.expect("--address ADDR is required");
    let per_round = (iterations / rounds).max(1);
    let connect = |sessions: usize| {
        Client::builder()
            .concurrency(sessions)
            .connect(address.as_str())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    #[cfg_attr(not(feature = "tokio"), allow(unused_mut, clippy::useless_vec))]
    let mut variants = vec![
        Variant::Typed(connect(k)),
        Variant::Serial(connect(1)),
        Variant::RawSerial(Raw::open(&address)),
        Variant::RawK((0..k).map(|_| Raw::open(&address)).collect()),
    ];
    #[cfg(feature = "tokio")]
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let c = rt
            .block_on(
                Client::builder()
                    .concurrency(k)
                    .connect_async(address.as_str()),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        variants.push(Variant::Async(Box::new((rt, c))));
    }
    if let Some(only) = &only {
        let keys: Vec<&str> = only.split(',').collect();
        variants.retain(|v| keys.contains(&v.key()));
        assert!(
            !variants.is_empty(),
            "--variants {only:?} names none of typed, serial, async, raw-serial, raw-k"
        );
    }

    for name in reports.split(',') {
        let cname = match name {
            "tracking" => c"tracking",
            "sources" => c"sources",
            "sourcestats" => c"sourcestats",
            other => panic!("unknown report {other:?}"),
        };
        let mut us: Vec<Vec<f64>> = variants.iter().map(|_| Vec::new()).collect();
        let mut cpu: Vec<Vec<f64>> = variants.iter().map(|_| Vec::new()).collect();
        let mut sleeps: Vec<Vec<f64>> = variants.iter().map(|_| Vec::new()).collect();
        let mut records = vec![0; variants.len()];
        // Warm up every path (sessions open, caches filled).
        for v in variants.iter_mut() {
            v.read(name, cname, per_round.min(20));
        }
        for _ in 0..rounds {
            for (i, v) in variants.iter_mut().enumerate() {
                let (t, c) = (Instant::now(), usage());
                records[i] = v.read(name, cname, per_round);
                us[i].push(t.elapsed().as_secs_f64() * 1e6 / per_round as f64);
                let u = usage();
                cpu[i].push((u.0 - c.0) / per_round as f64);
                sleeps[i].push((u.1 - c.1) / per_round as f64);
            }
        }
        let medians: Vec<f64> = us.into_iter().map(median).collect();
        let cpu: Vec<f64> = cpu.into_iter().map(median).collect();
        let sleeps: Vec<f64> = sleeps.into_iter().map(median).collect();
        let mut by_label = std::collections::HashMap::new();
        for (i, v) in variants.iter().enumerate() {
            let label = v.label(k);
            println!(
                "{label}-{name} records={} us={:.1} cpu_us={:.1} sleeps={:.1}",
                records[i], medians[i], cpu[i], sleeps[i]
            );
            by_label.insert(v.key(), medians[i]);
        }
        let get = |l: &str| by_label.get(l).copied().unwrap_or(f64::NAN);
        println!("ratio-{name} typed/serial={:.3} typed/raw-k={:.3} serial/raw-serial={:.3} typed/raw-serial={:.3} async/typed={:.3}",
            get("typed") / get("serial"),
            get("typed") / get("raw-k"),
            get("serial") / get("raw-serial"),
            get("typed") / get("raw-serial"),
            get("async") / get("typed"));
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
