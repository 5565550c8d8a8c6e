//! The engine against a scripted fake chronyd on a simulated clock: no
//! socket, no sleep, no timing margin. Each test reads the times and
//! requests the fake recorded.

use super::call::Engine;
use super::{Driver, Interest, Link, Outcome, Policy, Req, Target, Transport, Watched};
use crate::blocking::block_on;
use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldContent, FieldSource, FieldType, RawTimespec, Record};
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

#[test]
fn silence_resends_after_1_2_4_s_then_gives_up_at_7_s() {
    let fake = Fake::new(|_, _| vec![]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    let e = count(&fake, &mut engine).unwrap_err();
    assert_eq!(fake.request_times(), [Duration::ZERO, S, 3 * S]);
    assert_eq!(fake.elapsed(), 7 * S);
    match e {
        Error::Timeout {
            timeout,
            call_deadline: false,
            ..
        } => assert_eq!(timeout, 7 * S),
        other => panic!("{other:?}"),
    }
    // Each attempt went out on a socket of its own.
    let fds: Vec<c_int> = fake.world().requests.iter().map(|r| r.1).collect();
    assert!(fds[0] != fds[1] && fds[1] != fds[2] && fds[0] != fds[2]);
}

#[test]
fn the_first_valid_reply_of_any_attempt_wins() {
    // The first request is answered after 1.5 s, after the first re-send;
    // the re-send is answered later still.
    let fake = Fake::new(|n, _| match n {
        0 => vec![(1500 * MS, Datagram::Count(5))],
        _ => vec![(5 * S, Datagram::Count(9))],
    });
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 5);
    assert_eq!(fake.elapsed(), 1500 * MS);
    assert_eq!(fake.request_times(), [Duration::ZERO, S]);
    // The winner's session stays for the next call, the other is closed.
    let w = fake.world();
    assert_eq!(w.links.len(), 1);
    assert!(w.links.contains_key(&w.requests[0].1));
    assert_eq!(w.closed, [w.requests[1].1]);
}

#[test]
fn garbage_and_short_datagrams_are_lost_datagrams_over_udp() {
    // Garbage is ignored; a short reply ends its attempt, and a new one
    // goes out at once (not after the 1 s wait).
    let fake = Fake::new(|n, _| match n {
        0 => vec![(10 * MS, Datagram::Garbage), (20 * MS, Datagram::Short)],
        _ => vec![(10 * MS, Datagram::Count(3))],
    });
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 3);
    assert_eq!(fake.request_times(), [Duration::ZERO, 20 * MS]);
    assert_eq!(fake.elapsed(), 30 * MS);

    // Over the Unix socket a short reply is an error.
    let fake = Fake::new(|_, _| vec![(10 * MS, Datagram::Short)]);
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    match count(&fake, &mut engine).unwrap_err() {
        Error::Protocol { code, .. } => assert_eq!(code, ErrorCode::InvalidResponse),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_whole_call_deadline_ends_the_call() {
    let fake = Fake::new(|_, _| vec![]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 2500 * MS);
    match count(&fake, &mut engine).unwrap_err() {
        Error::Timeout {
            timeout,
            call_deadline: true,
            ..
        } => assert_eq!(timeout, 2500 * MS),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.elapsed(), 2500 * MS);
    assert_eq!(fake.request_times(), [Duration::ZERO, S]);
}

#[test]
fn a_full_socket_queue_is_retried_with_a_growing_pause() {
    let fake = Fake::new(|_, _| vec![(5 * MS, Datagram::Count(2))]);
    fake.world().eagain = 4;
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 2);
    // Pauses of 1, 2, 4 and 8 ms, then the send goes out.
    assert_eq!(fake.request_times(), [0, 1, 3, 7, 15].map(|m| m * MS));
    assert_eq!(fake.elapsed(), 20 * MS);
}

#[test]
fn a_count_the_records_contradict_is_read_again() {
    // 3 sources at first; source 2 is gone when its record is asked for;
    // the re-read sees 2.
    let reads = Arc::new(Mutex::new(0));
    let r = reads.clone();
    let fake = Fake::new(move |_, req| match req {
        Req::Count(_) => {
            let mut n = r.lock().unwrap();
            *n += 1;
            vec![(MS, Datagram::Count(if *n == 1 { 3 } else { 2 }))]
        }
        Req::Record(_, i) if i >= 2 => vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64 * 10))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 10]);
    assert_eq!(*reads.lock().unwrap(), 2);

    // A count that every read contradicts.
    let fake = Fake::new(move |_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(3))],
        Req::Record(_, i) if i >= 2 => vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    match values(&fake, &mut engine) {
        Err(Error::CountContradicted { count, served, .. }) => assert_eq!((count, served), (3, 2)),
        other => panic!("{other:?}"),
    }
    let counts = fake
        .world()
        .requests
        .iter()
        .filter(|r| matches!(r.2, Req::Count(_)))
        .count();
    assert_eq!(counts, 1 + super::MAX_REREADS as usize);

    // A report that changes on every read: a source more each time, the
    // last one gone by the time its record is asked for.
    let reads = Arc::new(Mutex::new(0i64));
    let r = reads.clone();
    let fake = Fake::new(move |_, req| match req {
        Req::Count(_) => {
            let mut n = r.lock().unwrap();
            *n += 1;
            vec![(MS, Datagram::Count(2 + *n))]
        }
        Req::Record(_, i) if i64::from(i) > *r.lock().unwrap() => {
            vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))]
        }
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    assert!(matches!(
        values(&fake, &mut engine),
        Err(Error::ReportChanged { .. })
    ));
    assert_eq!(*reads.lock().unwrap(), 1 + i64::from(super::MAX_REREADS));
}

#[test]
fn a_forged_count_sends_no_request_past_the_first_missing_record() {
    // 1000 claimed, 2 served: once a record is missing, the rest of the
    // report is given up, not asked for.
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(1000))],
        Req::Record(_, i) if i >= 2 => vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    assert!(matches!(
        values(&fake, &mut engine),
        Err(Error::CountContradicted { .. })
    ));
    let records = fake
        .world()
        .requests
        .iter()
        .filter(|r| matches!(r.2, Req::Record(..)))
        .count();
    // Each of the three reads: at most the 4 sessions' worth in flight.
    assert!(records <= 3 * 4, "{records} record requests");
}

#[test]
fn a_restarted_chronyd_is_reopened_once() {
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Count(4))]);
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 4);
    let first = fake.world().requests[0].1;
    fake.world().generation += 1;
    assert_eq!(count(&fake, &mut engine).unwrap(), 4);
    let w = fake.world();
    assert_eq!(w.opened, 2);
    assert_eq!(w.closed, [first]);
    // The refused request on the old socket, then the new one.
    assert_eq!(w.requests.len(), 3);
    assert_eq!(w.requests[1].1, first);
    assert_ne!(w.requests[2].1, first);
}

#[test]
fn a_refusal_is_final_after_one_reopen_or_on_fresh_sessions() {
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Count(4))]);
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    fake.world().refuse_all = true;
    // Reused session refused: reopened once, refused again.
    assert!(matches!(
        count(&fake, &mut engine),
        Err(Error::Connect { .. })
    ));
    assert_eq!(fake.world().requests.len(), 2);
    assert_eq!(fake.world().opened, 2);
    // No session to reuse: the fresh one's refusal is final.
    assert!(!engine.has_sessions());
    assert!(matches!(
        count(&fake, &mut engine),
        Err(Error::Connect { .. })
    ));
    assert_eq!(fake.world().requests.len(), 3);
}

#[test]
fn a_cancelled_call_closes_the_sessions_in_flight_only() {
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(4))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 2, 60 * S);
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2, 3]);
    assert!(engine.slots.iter().all(Option::is_some));
    let closed_before = fake.world().closed.len();

    // The next call stops at its first wait, with the count in flight on
    // slot 0's session; slot 1's stays idle. Then it is dropped.
    let mut driver = fake.driver();
    driver.pending_once = true;
    {
        let future = engine.count(&mut driver, c"sources");
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::from(Arc::new(NoWake));
        assert!(future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    let in_flight = fake.world().requests.last().unwrap().1;
    assert_eq!(fake.world().closed.len(), closed_before + 1);
    assert_eq!(fake.world().closed.last(), Some(&in_flight));
    assert!(engine.slots[0].is_none() && engine.slots[1].is_some());

    // The next call is whole and correct.
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2, 3]);
}

#[test]
fn datagrams_that_are_never_a_valid_reply_are_counted() {
    // Every attempt gets two foreign datagrams and nothing else.
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Garbage), (2 * MS, Datagram::Garbage)]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    let e = count(&fake, &mut engine).unwrap_err();
    match &e {
        Error::NoValidReply {
            datagrams,
            timeout,
            call_deadline: false,
            ..
        } => assert_eq!((*datagrams, *timeout), (6, 7 * S)),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("sent 6 datagram(s)"), "{e}");
    assert_eq!(fake.elapsed(), 7 * S);
    // Short replies, likewise (each one ends its attempt; the immediate
    // re-sends are bounded).
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Short)]);
    let mut engine = fake.engine(Transport::Udp, 0, 1, 60 * S);
    match count(&fake, &mut engine).unwrap_err() {
        Error::NoValidReply { datagrams, .. } => {
            assert_eq!(datagrams, 1 + u64::from(super::MAX_INVALID_RESENDS))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_slow_reply_is_taken_from_the_first_attempt() {
    // 300 ms round trips, 200 ms timeout: the re-send at 200 ms is not
    // waited for; the first attempt's reply at 300 ms ends the exchange.
    let fake = Fake::new(|_, _| vec![(300 * MS, Datagram::Count(7))]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    engine.target.policy.timeout = 200 * MS;
    assert_eq!(count(&fake, &mut engine).unwrap(), 7);
    assert_eq!(fake.request_times(), [Duration::ZERO, 200 * MS]);
    assert_eq!(fake.elapsed(), 300 * MS);
    // Silent, 100 ms, 2 re-sends: 3 requests, over at 700 ms, which the
    // error reports.
    let fake = Fake::new(|_, _| vec![]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    engine.target.policy.timeout = 100 * MS;
    match count(&fake, &mut engine).unwrap_err() {
        Error::Timeout { timeout, .. } => assert_eq!(timeout, 700 * MS),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.request_times(), [0, 100, 300].map(|m| m * MS));
    assert_eq!(fake.elapsed(), 700 * MS);
}

#[test]
fn a_session_that_cannot_open_shrinks_the_call() {
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(10))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    // 8 sessions wanted, descriptors for 2.
    fake.world().max_links = Some(2);
    let mut engine = fake.engine(Transport::Unix, 2, 8, 60 * S);
    assert_eq!(
        values(&fake, &mut engine).unwrap(),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(fake.world().peak_links, 2);
    assert_eq!(engine.slots.iter().flatten().count(), 2);
    // Not even one: the call fails, naming the cause.
    engine.close_sessions();
    fake.world().max_links = Some(0);
    match values(&fake, &mut engine).unwrap_err() {
        e @ Error::ResourceExhausted { .. } => assert_eq!(e.kind().as_str(), "resource_exhausted"),
        other => panic!("{other:?}"),
    }
}

struct NoWake;
impl std::task::Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_single_record_report_is_read_without_a_count() {
    // No reply to a count request: asking one would time the call out.
    let fake = Fake::new(|_, req| match req {
        Req::Record(_, 0) => vec![(MS, Datagram::Record(42))],
        _ => vec![],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 8, 60 * S);
    let v = block_on(engine.collect(
        &mut fake.driver(),
        "tracking",
        |r: &Record<'_, dyn FieldSource + '_>, _| r.get::<u64>("value").map(Some),
    ))
    .unwrap();
    assert_eq!(v, [42]);
    let reqs: Vec<Req> = fake.world().requests.iter().map(|r| r.2).collect();
    assert_eq!(reqs, [Req::Record(c"tracking", 0)]);
}

#[test]
fn a_forked_childs_sessions_are_dropped_each_checked_once_per_call() {
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(3))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 2, 60 * S);
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2]);
    // Four requests on two sessions: only the one from before the call
    // was checked.
    assert_eq!(fake.world().usable_checks, 1);
    let parents: Vec<c_int> = {
        let mut w = fake.world();
        w.forks += 1;
        w.links.keys().copied().collect()
    };
    assert_eq!(parents.len(), 2);
    let sent = fake.world().requests.len();
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2]);
    let w = fake.world();
    // Each of the parent's two sessions checked once, found foreign and
    // closed; every request of the call went out on the child's own.
    assert_eq!(w.usable_checks, 1 + 2);
    assert!(parents.iter().all(|fd| w.closed.contains(fd)));
    assert!(w.requests[sent..].iter().all(|r| !parents.contains(&r.1)));
    assert_eq!(w.requests.len() - sent, 4);
}

#[test]
fn a_disabled_single_record_report_is_absent_only_where_its_model_says_so() {
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Answer(ErrorCode::Disabled))]);
    let mut engine = fake.engine(Transport::Unix, 2, 8, 60 * S);
    let rtc = block_on(engine.report::<crate::RtcData, _>(&mut fake.driver())).unwrap();
    assert!(rtc.is_none());
    let e = block_on(engine.report::<crate::Tracking, _>(&mut fake.driver())).unwrap_err();
    assert!(super::is_disabled(&e), "{e:?}");
    // Each is its record request alone, on the one session.
    let w = fake.world();
    let reqs: Vec<Req> = w.requests.iter().map(|r| r.2).collect();
    assert_eq!(
        reqs,
        [Req::Record(c"rtcdata", 0), Req::Record(c"tracking", 0)]
    );
    assert_eq!(w.opened, 1);
}
