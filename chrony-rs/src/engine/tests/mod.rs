//! The engine against a scripted fake chronyd on a simulated clock: no
//! socket, no sleep, no timing margin. Each test reads the times and
//! requests the fake recorded.

mod exchange;
mod read;
mod slots;

use super::slots::Engine;
use super::{
    Deadline, Driver, Interest, Link, OnDeadline, Outcome, Policy, ReportSink, Req, Sink, Target,
    Transport, Watched,
};
use crate::blocking::block_on;
use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldContent, FieldSource, FieldType, RawTimespec, Record};
use crate::reports::Descriptor;
use std::collections::{HashMap, VecDeque};
use std::ffi::{c_int, CStr};
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A reply datagram of the fake.
#[derive(Debug, Clone, Copy)]
enum Datagram {
    /// A valid count reply.
    Count(i64),
    /// A valid record reply; the record's one field `value` holds it.
    Record(u64),
    /// Something libchrony ignores (a foreign datagram).
    Garbage,
    /// A reply too short for its report (`CHRONY_INVALID_RESPONSE`).
    Short,
    /// chronyd's error status.
    Answer(ErrorCode),
}

/// Says what the fake sends back to request number `n` (counting every
/// send, failed ones too): datagrams after delays.
type Script = Box<dyn FnMut(usize, Req) -> Vec<(Duration, Datagram)> + Send>;

struct LinkState {
    queue: VecDeque<(Instant, u32, Datagram)>,
    generation: u32,
    /// The "process" (value of `World::forks`) that opened it.
    process: u32,
}

/// The fake chronyd and the simulated clock.
struct World {
    start: Instant,
    now: Instant,
    next_fd: c_int,
    links: HashMap<c_int, LinkState>,
    /// Every send: when, on which socket, what.
    requests: Vec<(Duration, c_int, Req)>,
    script: Script,
    /// The next this many sends fail with `EAGAIN`.
    eagain: u32,
    /// Bumped by a restart: older links are refused.
    generation: u32,
    /// Every send is refused (no chronyd).
    refuse_all: bool,
    /// Opens fail (as out of descriptors) while this many links are open.
    max_links: Option<usize>,
    /// The most links open at once.
    peak_links: usize,
    opened: u32,
    closed: Vec<c_int>,
    waits: u32,
    /// Bumped by a simulated fork: older links belong to the parent.
    forks: u32,
    /// Calls of `Link::is_usable`.
    usable_checks: u32,
    /// The driver runs an offloaded closure now.
    offloading: bool,
    /// Links opened outside the driver's `offload`, and inside.
    opened_inline: u32,
    opened_offloaded: u32,
}

#[derive(Clone)]
struct Fake(Arc<Mutex<World>>);

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake")
    }
}

impl Fake {
    fn new(script: impl FnMut(usize, Req) -> Vec<(Duration, Datagram)> + Send + 'static) -> Fake {
        let start = Instant::now();
        Fake(Arc::new(Mutex::new(World {
            start,
            now: start,
            next_fd: 100,
            links: HashMap::new(),
            requests: Vec::new(),
            script: Box::new(script),
            eagain: 0,
            generation: 0,
            refuse_all: false,
            max_links: None,
            peak_links: 0,
            opened: 0,
            closed: Vec::new(),
            waits: 0,
            forks: 0,
            usable_checks: 0,
            offloading: false,
            opened_inline: 0,
            opened_offloaded: 0,
        })))
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().unwrap()
    }

    /// Time since the start.
    fn elapsed(&self) -> Duration {
        let w = self.world();
        w.now - w.start
    }

    fn request_times(&self) -> Vec<Duration> {
        self.world().requests.iter().map(|r| r.0).collect()
    }

    fn engine(
        &self,
        transport: Transport,
        retries: u32,
        concurrency: usize,
        deadline: Duration,
    ) -> Engine<FakeLink, ()> {
        let target = Target {
            policy: Policy {
                address: "fake".into(),
                transport,
                timeout: Duration::from_secs(1),
                retries,
            },
            endpoint: self.clone(),
        };
        let first = FakeLink::open(&self.clone(), "fake").unwrap();
        Engine::new(target, first, concurrency, deadline)
    }

    fn driver(&self) -> FakeDriver {
        FakeDriver {
            fake: self.clone(),
            pending_once: false,
        }
    }
}

struct FakeLink {
    fake: Fake,
    fd: c_int,
    seq: u32,
    needs: bool,
    last: Option<Datagram>,
}

fn os(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

impl Link for FakeLink {
    type Endpoint = Fake;
    type Record<'a> = FakeRecord;

    fn open(fake: &Fake, shown: &str) -> Result<FakeLink> {
        let mut w = fake.world();
        if w.max_links.is_some_and(|m| w.links.len() >= m) {
            return Err(Error::ResourceExhausted {
                address: shown.into(),
                cause: "EMFILE".into(),
                source: os(libc::EMFILE),
            });
        }
        let fd = w.next_fd;
        w.next_fd += 1;
        w.opened += 1;
        if w.offloading {
            w.opened_offloaded += 1;
        } else {
            w.opened_inline += 1;
        }
        let (generation, process) = (w.generation, w.forks);
        w.links.insert(
            fd,
            LinkState {
                queue: VecDeque::new(),
                generation,
                process,
            },
        );
        w.peak_links = w.peak_links.max(w.links.len());
        Ok(FakeLink {
            fake: fake.clone(),
            fd,
            seq: 0,
            needs: false,
            last: None,
        })
    }

    fn fd(&self) -> c_int {
        self.fd
    }

    fn is_usable(&self) -> bool {
        let mut w = self.fake.world();
        w.usable_checks += 1;
        w.links[&self.fd].process == w.forks
    }

    fn send(&mut self, req: Req) -> Outcome {
        let mut w = self.fake.world();
        let at = w.now - w.start;
        let n = w.requests.len();
        w.requests.push((at, self.fd, req));
        if w.refuse_all || w.links[&self.fd].generation != w.generation {
            return Err((ErrorCode::SendFailed, os(libc::ECONNREFUSED)));
        }
        if w.eagain > 0 {
            w.eagain -= 1;
            return Err((ErrorCode::SendFailed, os(libc::EAGAIN)));
        }
        self.seq += 1;
        self.needs = true;
        let replies = (w.script)(n, req);
        let now = w.now;
        let seq = self.seq;
        let link = w.links.get_mut(&self.fd).unwrap();
        for (delay, d) in replies {
            link.queue.push_back((now + delay, seq, d));
        }
        link.queue.make_contiguous().sort_by_key(|e| e.0);
        Ok(())
    }

    fn process(&mut self) -> Outcome {
        let mut w = self.fake.world();
        let now = w.now;
        let link = w.links.get_mut(&self.fd).unwrap();
        let Some((_, seq, d)) = link.queue.front().copied().filter(|e| e.0 <= now) else {
            return Err((ErrorCode::RecvFailed, os(libc::EAGAIN)));
        };
        link.queue.pop_front();
        if seq != self.seq || !self.needs {
            // A late reply to an earlier request: libchrony ignores it.
            return Ok(());
        }
        match d {
            Datagram::Count(_) | Datagram::Record(_) => {
                self.needs = false;
                self.last = Some(d);
                Ok(())
            }
            Datagram::Garbage => Ok(()),
            Datagram::Short => Err((ErrorCode::InvalidResponse, os(0))),
            Datagram::Answer(code) => {
                self.needs = false;
                Err((code, os(0)))
            }
        }
    }

    fn needs_response(&self) -> bool {
        self.needs
    }

    fn record_count(&self) -> i64 {
        match self.last {
            Some(Datagram::Count(n)) => n,
            _ => 0,
        }
    }

    fn error_string(code: ErrorCode) -> String {
        format!("fake text of {}", code.name())
    }

    fn record(&self, _report: &'static CStr) -> FakeRecord {
        match self.last {
            Some(Datagram::Record(v)) => FakeRecord(v),
            _ => FakeRecord(u64::MAX),
        }
    }
}

impl Drop for FakeLink {
    fn drop(&mut self) {
        let mut w = self.fake.world();
        w.links.remove(&self.fd);
        w.closed.push(self.fd);
    }
}

/// A record with one field, `value`.
struct FakeRecord(u64);

impl FieldSource for FakeRecord {
    fn report_name(&self) -> &str {
        "fake"
    }
    fn field_count(&self) -> usize {
        1
    }
    fn field_index(&self, name: &str) -> Option<usize> {
        (name == "value").then_some(0)
    }
    fn field_name(&self, _: usize) -> Option<String> {
        Some("value".into())
    }
    fn field_type(&self, _: usize) -> FieldType {
        FieldType::Uinteger
    }
    fn field_content(&self, _: usize) -> FieldContent {
        FieldContent::Count
    }
    fn uinteger(&self, _: usize) -> u64 {
        self.0
    }
    fn integer(&self, _: usize) -> i64 {
        0
    }
    fn float(&self, _: usize) -> f64 {
        0.0
    }
    fn timespec(&self, _: usize) -> RawTimespec {
        RawTimespec::default()
    }
    fn string(&self, _: usize) -> Option<Vec<u8>> {
        None
    }
    fn constant_name(&self, _: usize, _: u64) -> Option<String> {
        None
    }
}

/// Waits on the simulated clock: a wait with nothing ready moves the
/// clock to the next datagram due or to `until`, whichever is first.
/// Sockets never signal room to write (as a Unix socket under an
/// edge-triggered poller), so unsent requests go out on their timers.
struct FakeDriver {
    fake: Fake,
    /// The next wait is `Pending` once (for cancellation).
    pending_once: bool,
}

/// `Pending` at its first poll when asked to.
struct MaybePending(bool);

impl Future for MaybePending {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if std::mem::take(&mut self.0) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

impl Driver<FakeLink> for FakeDriver {
    type Registration = ();

    fn now(&self) -> Instant {
        self.fake.world().now
    }

    fn register(&mut self, _: &FakeLink, _: &mut Option<()>) -> io::Result<()> {
        Ok(())
    }

    fn wait(
        &mut self,
        watched: &mut [Watched<'_, ()>],
        until: Instant,
    ) -> impl Future<Output = io::Result<()>> + Send {
        let pending = std::mem::take(&mut self.pending_once);
        let fake = self.fake.clone();
        let mut w = fake.world();
        w.waits += 1;
        assert!(w.waits < 100_000, "the engine spins");
        let due =
            |w: &World, fd: c_int| w.links.get(&fd).and_then(|l| l.queue.front()).map(|e| e.0);
        let next = watched
            .iter()
            .filter(|x| x.interest == Interest::Read)
            .filter_map(|x| due(&w, x.fd))
            .min();
        let to = next.map_or(until, |t| t.min(until)).max(w.now);
        w.now = to;
        for x in watched.iter_mut() {
            x.ready = x.interest == Interest::Read && due(&w, x.fd).is_some_and(|t| t <= to);
        }
        drop(w);
        async move {
            MaybePending(pending).await;
            Ok(())
        }
    }

    fn offload<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = io::Result<T>> + Send {
        self.fake.world().offloading = true;
        let out = f();
        self.fake.world().offloading = false;
        std::future::ready(Ok(out))
    }
}

const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

fn count(fake: &Fake, engine: &mut Engine<FakeLink, ()>) -> Result<usize> {
    block_on(engine.count(&mut fake.driver(), c"sources"))
}

fn values(fake: &Fake, engine: &mut Engine<FakeLink, ()>) -> Result<Vec<u64>> {
    block_on(engine.collect(
        &mut fake.driver(),
        "sources",
        |r: &Record<'_, dyn FieldSource + '_>, _| r.get::<u64>("value").map(Some),
    ))
}
