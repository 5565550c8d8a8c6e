//! A fault-injecting UDP proxy for chronyd's command port: test your own
//! code against a bad network.
//!
//! A [`Proxy`] listens on a loopback UDP port and forwards every datagram
//! to chronyd's UDP command port (and the replies back), doing on the way
//! what its [`ProxyBuilder`] asks for:
//!
//! - **loss** of requests and/or replies ([`ProxyBuilder::loss`]);
//! - **duplication**, each copy with its own random delay
//!   ([`ProxyBuilder::duplicate`]);
//! - **random delay** (jitter, which reorders datagrams) and **fixed
//!   one-way latency**, per direction ([`ProxyBuilder::jitter`],
//!   [`ProxyBuilder::latency`]);
//! - **truncation** of datagrams ([`ProxyBuilder::truncate`]);
//! - **garbage** datagrams sent just before a reply: random bytes, a
//!   truncated copy of the reply, or a copy with another sequence number
//!   ([`ProxyBuilder::garbage`], [`Garbage`]);
//! - **byte rewrites** of replies, for example a forged record count or a
//!   timestamp's high word, optionally only for the first K matching replies
//!   ([`Rewrite`]);
//! - **silence**: everything dropped, switched on and off at run time
//!   ([`Proxy::set_silent`]) or after the first N replies
//!   ([`ProxyBuilder::silence_after`]).
//!
//! Every random decision comes from a seeded generator
//! ([`ProxyBuilder::seed`]), one per direction, so a run is reproducible: the
//! decisions depend only on the seed and on the order in which datagrams
//! arrive in each direction (a client with one request in flight at a time
//! sees the same faults on every run; only the timing of delayed datagrams
//! varies with the machine). The generator is a SplitMix64 kept in this
//! module rather than a crate, so a seed gives the same faults with every
//! version of this crate's dependencies.
//!
//! The proxy runs on background threads (named `proxy-PORT`) and stops when
//! the [`Proxy`] is dropped; its counters ([`Proxy::stats`]) say what it did.
//!
//! ```
//! use chrony_testkit::proxy::{Direction, Proxy};
//! use std::net::UdpSocket;
//! use std::time::Duration;
//!
//! // An upstream that echoes (in a real test: chronyd's UDP command port,
//! // `Chronyd::udp_address()` of a harness daemon with `udp_command(true)`).
//! let echo = UdpSocket::bind("127.0.0.1:0")?;
//! let upstream = echo.local_addr()?;
//! std::thread::spawn(move || {
//!     let mut buf = [0u8; 2048];
//!     while let Ok((n, from)) = echo.recv_from(&mut buf) {
//!         let _ = echo.send_to(&buf[..n], from);
//!     }
//! });
//!
//! let proxy = Proxy::builder(upstream)
//!     .seed(42)
//!     .latency(Direction::ToClient, Duration::from_millis(20))
//!     .start()?;
//! let client = UdpSocket::bind("127.0.0.1:0")?;
//! client.set_read_timeout(Some(Duration::from_secs(5)))?;
//! client.send_to(b"hello", proxy.address())?;
//! let mut buf = [0u8; 64];
//! let (n, _) = client.recv_from(&mut buf)?;
//! assert_eq!(&buf[..n], b"hello");
//! assert_eq!(proxy.stats().to_client, 1);
//!
//! // Silence: nothing gets through any more.
//! proxy.set_silent(true);
//! client.send_to(b"lost", proxy.address())?;
//! client.set_read_timeout(Some(Duration::from_millis(200)))?;
//! assert!(client.recv_from(&mut buf).is_err());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! With the `chrony` crate, build the proxy on a harness daemon's
//! `Chronyd::udp_address()` and connect a [`chrony::Client`] to
//! `proxy.address()` (a `SocketAddr`, which `Client::connect` takes as it
//! is) instead of chronyd's address.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Facts about chronyd's command protocol (candm.h) that rewrites need:
/// command codes and byte offsets in a reply. All integers on the wire are
/// big-endian.
pub mod wire {
    /// Offset of the command code (u16) in a reply; it echoes the request's.
    pub const REPLY_COMMAND: usize = 4;
    /// Offset of the reply code (u16).
    pub const REPLY_CODE: usize = 6;
    /// Offset of the status (u16; 0 is success).
    pub const REPLY_STATUS: usize = 8;
    /// Offset of the sequence number (u32) echoed from the request.
    pub const REPLY_SEQUENCE: usize = 16;
    /// Offset of the report data, after the 28-byte reply header.
    pub const REPLY_DATA: usize = 28;
    /// Offset of the command code (u16) in a request.
    pub const REQUEST_COMMAND: usize = 4;
    /// Offset of the sequence number (u32) in a request.
    pub const REQUEST_SEQUENCE: usize = 8;

    /// Request `N_SOURCES`: the record count of `sources`, `sourcestats`
    /// and `selectdata`.
    pub const N_SOURCES: u16 = 14;
    /// Request `SOURCE_DATA`: one record of `sources`.
    pub const SOURCE_DATA: u16 = 15;
    /// Request `TRACKING`.
    pub const TRACKING: u16 = 33;
    /// Request `SOURCESTATS`: one record of `sourcestats`.
    pub const SOURCESTATS: u16 = 34;
    /// Request `RTCREPORT`.
    pub const RTCREPORT: u16 = 35;
    /// Request `ACTIVITY`.
    pub const ACTIVITY: u16 = 44;
    /// Request `SMOOTHING`.
    pub const SMOOTHING: u16 = 51;

    /// In the `N_SOURCES` reply: the record count (u32).
    pub const N_SOURCES_COUNT: usize = REPLY_DATA;
    /// In the `TRACKING` reply: the reference time's high seconds word
    /// (u32), after reference ID (4 bytes), IP address (20), stratum (2)
    /// and leap status (2). Its low word follows at +4, nanoseconds at +8.
    pub const TRACKING_REF_TIME_HIGH: usize = REPLY_DATA + 28;
    /// chronyd's "no high seconds word" marker (a sender with 32-bit time_t).
    pub const NO_HIGH_SECONDS: u32 = 0x7fff_ffff;
}

/// Which way a fault applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to chronyd (requests).
    ToServer,
    /// chronyd to client (replies).
    ToClient,
    /// Both ways.
    Both,
}

impl Direction {
    fn applies(self, to_server: bool) -> bool {
        match self {
            Direction::Both => true,
            Direction::ToServer => to_server,
            Direction::ToClient => !to_server,
        }
    }
}

/// A kind of garbage datagram sent just before a reply
/// ([`ProxyBuilder::garbage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Garbage {
    /// Random bytes, 1 to 512 of them.
    RandomBytes,
    /// The first 1..len-1 bytes of the reply (a reply too short for its
    /// report, with the right header and sequence).
    TruncatedCopy,
    /// The whole reply with another sequence number.
    OtherSequence,
}

impl Garbage {
    /// All kinds.
    pub const ALL: &'static [Garbage] = &[
        Garbage::RandomBytes,
        Garbage::TruncatedCopy,
        Garbage::OtherSequence,
    ];
}

#[derive(Debug, Clone)]
enum Edit {
    Set { offset: usize, bytes: Vec<u8> },
    AddU32 { offset: usize, delta: u32 },
}

/// A byte rewrite of replies: which replies (by the command they answer)
/// and what to change, optionally only for the first K matching replies.
///
/// Offsets count from the start of the datagram ([`wire`] names the useful
/// ones); an edit that does not fit in a reply leaves that reply unchanged.
///
/// ```
/// use chrony_testkit::proxy::{wire, Rewrite};
/// // A forged record count in every N_SOURCES reply.
/// let forged = Rewrite::reply_to(wire::N_SOURCES).set_u32(wire::N_SOURCES_COUNT, 0x7fff_ffff);
/// // One more source than there is, in the first such reply only.
/// let one_more = Rewrite::reply_to(wire::N_SOURCES).add_u32(wire::N_SOURCES_COUNT, 1).times(1);
/// // A 32-bit-time_t chronyd's tracking reply.
/// let no_high = Rewrite::reply_to(wire::TRACKING)
///     .set_u32(wire::TRACKING_REF_TIME_HIGH, wire::NO_HIGH_SECONDS);
/// # let _ = (forged, one_more, no_high);
/// ```
#[derive(Debug, Clone)]
pub struct Rewrite {
    command: Option<u16>,
    edits: Vec<Edit>,
    times: Option<u64>,
}

impl Rewrite {
    /// Rewrites every reply.
    pub fn all_replies() -> Rewrite {
        Rewrite {
            command: None,
            edits: Vec::new(),
            times: None,
        }
    }

    /// Rewrites the replies to request `command` (see [`wire`]).
    pub fn reply_to(command: u16) -> Rewrite {
        Rewrite {
            command: Some(command),
            ..Rewrite::all_replies()
        }
    }

    /// Writes `bytes` at `offset`.
    pub fn set_bytes(mut self, offset: usize, bytes: &[u8]) -> Rewrite {
        self.edits.push(Edit::Set {
            offset,
            bytes: bytes.to_vec(),
        });
        self
    }

    /// Writes a big-endian u32 at `offset`.
    pub fn set_u32(self, offset: usize, value: u32) -> Rewrite {
        self.set_bytes(offset, &value.to_be_bytes())
    }

    /// Writes a big-endian u16 at `offset`.
    pub fn set_u16(self, offset: usize, value: u16) -> Rewrite {
        self.set_bytes(offset, &value.to_be_bytes())
    }

    /// Adds `delta` (wrapping) to the big-endian u32 at `offset`.
    pub fn add_u32(mut self, offset: usize, delta: u32) -> Rewrite {
        self.edits.push(Edit::AddU32 { offset, delta });
        self
    }

    /// Applies to the first `k` matching replies only (default: all).
    pub fn times(mut self, k: u64) -> Rewrite {
        self.times = Some(k);
        self
    }

    fn matches(&self, reply: &[u8]) -> bool {
        match self.command {
            None => true,
            Some(c) => read_u16(reply, wire::REPLY_COMMAND) == Some(c),
        }
    }

    /// Applies every edit that fits; true if the datagram changed.
    fn apply(&self, d: &mut [u8]) -> bool {
        let mut changed = false;
        for e in &self.edits {
            match e {
                Edit::Set { offset, bytes } => {
                    if let Some(dst) = offset
                        .checked_add(bytes.len())
                        .and_then(|end| d.get_mut(*offset..end))
                    {
                        dst.copy_from_slice(bytes);
                        changed = true;
                    }
                }
                Edit::AddU32 { offset, delta } => {
                    if let Some(v) = read_u32(d, *offset) {
                        d[*offset..*offset + 4]
                            .copy_from_slice(&v.wrapping_add(*delta).to_be_bytes());
                        changed = true;
                    }
                }
            }
        }
        changed
    }
}

fn read_u16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn read_u32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Faults of one direction.
#[derive(Debug, Clone, Default)]
struct Faults {
    loss: f64,
    duplicate: f64,
    truncate: f64,
    latency: Duration,
    jitter: Duration,
}

/// Builder of a [`Proxy`]; by default it forwards everything unchanged.
#[derive(Debug, Clone)]
pub struct ProxyBuilder {
    upstream: SocketAddr,
    listen: Option<SocketAddr>,
    seed: u64,
    to_server: Faults,
    to_client: Faults,
    garbage: f64,
    garbage_kinds: Vec<Garbage>,
    rewrites: Vec<Rewrite>,
    idle: Duration,
    silence_after: Option<u64>,
}

impl ProxyBuilder {
    fn each(mut self, dir: Direction, f: impl Fn(&mut Faults)) -> Self {
        if dir.applies(true) {
            f(&mut self.to_server);
        }
        if dir.applies(false) {
            f(&mut self.to_client);
        }
        self
    }

    /// The local address to listen on (default: port 0 on the loopback
    /// address of the upstream's family).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    /// Seed of the random decisions (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Drops each datagram with probability `p` (0.0..=1.0).
    pub fn loss(self, dir: Direction, p: f64) -> Self {
        self.each(dir, |f| f.loss = p)
    }

    /// Sends each forwarded datagram twice with probability `p`; the copy
    /// gets its own random delay (see [`ProxyBuilder::jitter`]).
    pub fn duplicate(self, dir: Direction, p: f64) -> Self {
        self.each(dir, |f| f.duplicate = p)
    }

    /// Delays each datagram by a random time uniform in `0..=max` on top of
    /// the fixed latency; datagrams can overtake each other.
    pub fn jitter(self, dir: Direction, max: Duration) -> Self {
        self.each(dir, |f| f.jitter = max)
    }

    /// Fixed one-way latency added to every datagram (order kept).
    pub fn latency(self, dir: Direction, d: Duration) -> Self {
        self.each(dir, |f| f.latency = d)
    }

    /// Cuts each datagram to a random shorter length (0..len) with
    /// probability `p`; only the cut datagram is sent.
    pub fn truncate(self, dir: Direction, p: f64) -> Self {
        self.each(dir, |f| f.truncate = p)
    }

    /// With probability `p`, sends a garbage datagram of one of `kinds`
    /// (chosen at random) just before a reply; the reply follows.
    pub fn garbage(mut self, p: f64, kinds: &[Garbage]) -> Self {
        self.garbage = p;
        self.garbage_kinds = kinds.to_vec();
        self
    }

    /// Adds a byte rewrite of replies; rewrites apply in the order added,
    /// to replies that are forwarded (not lost), before truncation and
    /// garbage.
    pub fn rewrite(mut self, r: Rewrite) -> Self {
        self.rewrites.push(r);
        self
    }

    /// Turns silent (as [`Proxy::set_silent`]`(true)`) when the `n`th
    /// datagram has been sent to a client: a daemon that stops answering in
    /// the middle of a report. `set_silent(false)` ends it for good.
    pub fn silence_after(mut self, n: u64) -> Self {
        self.silence_after = Some(n);
        self
    }

    /// How long a client address may stay quiet before the proxy closes
    /// its upstream socket (default 10 s). Every client address gets its
    /// own upstream socket, so chronyd's replies find their way back.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle = d;
        self
    }

    /// Binds the listening socket and starts the proxy threads.
    ///
    /// Fails with `InvalidInput` when a probability is outside 0.0..=1.0
    /// or garbage is asked for with no kind.
    pub fn start(self) -> io::Result<Proxy> {
        let probs = [
            ("loss", self.to_server.loss),
            ("loss", self.to_client.loss),
            ("duplicate", self.to_server.duplicate),
            ("duplicate", self.to_client.duplicate),
            ("truncate", self.to_server.truncate),
            ("truncate", self.to_client.truncate),
            ("garbage", self.garbage),
        ];
        for (what, p) in probs {
            if !(0.0..=1.0).contains(&p) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what} probability {p} outside 0.0..=1.0"),
                ));
            }
        }
        if self.garbage > 0.0 && self.garbage_kinds.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "garbage asked for with no kind of garbage",
            ));
        }
        let listen = self.listen.unwrap_or(match self.upstream {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        });
        let socket = UdpSocket::bind(listen)?;
        socket.set_read_timeout(Some(POLL))?;
        let address = socket.local_addr()?;
        let name = format!("proxy-{}", address.port());
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            silent: AtomicBool::new(false),
            silence_ended: AtomicBool::new(false),
            counters: Counters::default(),
            to_server: Mutex::new(Rng::new(self.seed ^ 0x5e4d_0000_0000_0001)),
            to_client: Mutex::new(Rng::new(self.seed ^ 0x0c11_0000_0000_0002)),
            rewrites: Mutex::new(self.rewrites.iter().map(|_| 0).collect()),
            readers: Mutex::new(Vec::new()),
            conns: Mutex::new(HashMap::new()),
            cfg: self,
            name: name.clone(),
        });
        let socket = Arc::new(socket);
        let scheduler = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(name.clone())
                .spawn(move || scheduler(&shared, &rx))?
        };
        let listener = {
            let shared = Arc::clone(&shared);
            let socket = Arc::clone(&socket);
            let tx = tx.clone();
            thread::Builder::new()
                .name(name)
                .spawn(move || listener(&shared, &socket, &tx))
        };
        let listener = match listener {
            Ok(h) => h,
            Err(e) => {
                shared.stop.store(true, Ordering::SeqCst);
                let _ = scheduler.join();
                return Err(e);
            }
        };
        Ok(Proxy {
            address,
            shared,
            listener: Some(listener),
            scheduler: Some(scheduler),
        })
    }
}

/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);
/// At most this many client addresses at once; datagrams from more are
/// dropped (and counted).
const MAX_CLIENTS: usize = 4096;

/// What the proxy did so far ([`Proxy::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams received from clients.
    pub from_client: u64,
    /// Datagrams received from chronyd.
    pub from_server: u64,
    /// Datagrams sent to chronyd (copies included, truncated ones too).
    pub to_server: u64,
    /// Datagrams sent to clients (copies included, garbage not).
    pub to_client: u64,
    /// Datagrams dropped (loss, silence, too many clients).
    pub dropped: u64,
    /// Extra copies sent.
    pub duplicated: u64,
    /// Garbage datagrams sent before replies.
    pub garbage: u64,
    /// Datagrams cut short.
    pub truncated: u64,
    /// Replies changed by a [`Rewrite`].
    pub rewritten: u64,
}

#[derive(Default)]
struct Counters {
    from_client: AtomicU64,
    from_server: AtomicU64,
    to_server: AtomicU64,
    to_client: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    garbage: AtomicU64,
    truncated: AtomicU64,
    rewritten: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::SeqCst);
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed here so a
/// seed means the same faults forever.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (draws nothing when p is 0).
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in 0..=max (draws nothing when max is 0).
    fn duration(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            Duration::ZERO
        } else {
            max.mul_f64(self.unit())
        }
    }
}

struct Conn {
    upstream: Arc<UdpSocket>,
    last: Instant,
}

struct Shared {
    cfg: ProxyBuilder,
    name: String,
    stop: AtomicBool,
    silent: AtomicBool,
    /// `set_silent(false)` was called: a `silence_after` is over.
    silence_ended: AtomicBool,
    counters: Counters,
    to_server: Mutex<Rng>,
    to_client: Mutex<Rng>,
    /// How many replies each rewrite has changed.
    rewrites: Mutex<Vec<u64>>,
    readers: Mutex<Vec<JoinHandle<()>>>,
    conns: Mutex<HashMap<SocketAddr, Conn>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the proxy: the data stays usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a scheduled datagram goes.
enum Target {
    Server(Arc<UdpSocket>),
    Client(Arc<UdpSocket>, SocketAddr),
}

impl Target {
    /// Sends; counted before the send (so a client that has received a
    /// datagram sees it counted) and uncounted if the send fails.
    fn send(&self, shared: &Shared, bytes: &[u8], counts: bool) {
        let c = &shared.counters;
        let counter = match self {
            Target::Server(_) => &c.to_server,
            Target::Client(..) => &c.to_client,
        };
        if counts {
            let sent = counter.fetch_add(1, Ordering::SeqCst) + 1;
            if let (Target::Client(..), Some(n)) = (self, shared.cfg.silence_after) {
                if sent == n {
                    shared.silent.store(true, Ordering::SeqCst);
                } else if sent > n && !shared.silence_ended.load(Ordering::SeqCst) {
                    // Each session's replies come through a reader thread
                    // of their own: one that passed the silence check
                    // while the nth was being sent is held back here.
                    counter.fetch_sub(1, Ordering::SeqCst);
                    bump(&c.dropped);
                    return;
                }
            }
        }
        let ok = match self {
            Target::Server(s) => s.send(bytes).is_ok(),
            Target::Client(s, to) => s.send_to(bytes, to).is_ok(),
        };
        if counts && !ok {
            counter.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct Job {
    due: Instant,
    order: u64,
    target: Target,
    bytes: Vec<u8>,
    /// False for garbage (counted on its own).
    counts: bool,
}

impl PartialEq for Job {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.order) == (o.due, o.order)
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Job {
    // Reversed: BinaryHeap is a max-heap, the earliest job must come first.
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (o.due, o.order).cmp(&(self.due, self.order))
    }
}

/// Sends a datagram now or hands it to the scheduler.
fn dispatch(
    shared: &Shared,
    tx: &Sender<Job>,
    delay: Duration,
    target: Target,
    bytes: Vec<u8>,
    counts: bool,
) {
    if delay.is_zero() {
        target.send(shared, &bytes, counts);
    } else {
        let order = ORDER.fetch_add(1, Ordering::Relaxed);
        let _ = tx.send(Job {
            due: Instant::now() + delay,
            order,
            target,
            bytes,
            counts,
        });
    }
}

static ORDER: AtomicU64 = AtomicU64::new(0);

fn scheduler(shared: &Shared, rx: &Receiver<Job>) {
    let mut heap: BinaryHeap<Job> = BinaryHeap::new();
    while !shared.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        while heap.peek().is_some_and(|j| j.due <= now) {
            if let Some(j) = heap.pop() {
                j.target.send(shared, &j.bytes, j.counts);
            }
        }
        let wait = heap
            .peek()
            .map_or(POLL, |j| j.due.saturating_duration_since(now).min(POLL));
        match rx.recv_timeout(wait) {
            Ok(j) => heap.push(j),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if heap.is_empty() {
                    return;
                }
                thread::sleep(wait);
            }
        }
    }
}

/// Decisions for one datagram, in a fixed order of draws.
struct Plan {
    copies: Vec<Duration>,
    truncate_to: Option<usize>,
    garbage: Option<Vec<u8>>,
}

fn plan(shared: &Shared, to_server: bool, bytes: &mut [u8]) -> Option<Plan> {
    let f = if to_server {
        &shared.cfg.to_server
    } else {
        &shared.cfg.to_client
    };
    let mut rng = lock(if to_server {
        &shared.to_server
    } else {
        &shared.to_client
    });
    if rng.chance(f.loss) {
        return None;
    }
    if !to_server {
        let mut applied = lock(&shared.rewrites);
        let mut changed = false;
        for (r, n) in shared.cfg.rewrites.iter().zip(applied.iter_mut()) {
            if r.matches(bytes) && r.times.is_none_or(|k| *n < k) && r.apply(bytes) {
                *n += 1;
                changed = true;
            }
        }
        if changed {
            bump(&shared.counters.rewritten);
        }
    }
    let truncate_to = if rng.chance(f.truncate) {
        Some(rng.below(bytes.len().max(1)))
    } else {
        None
    };
    let garbage = if !to_server && rng.chance(shared.cfg.garbage) {
        let kinds = &shared.cfg.garbage_kinds;
        let kind = kinds[rng.below(kinds.len())];
        Some(make_garbage(&mut rng, kind, bytes))
    } else {
        None
    };
    let mut copies = vec![f.latency + rng.duration(f.jitter)];
    if rng.chance(f.duplicate) {
        copies.push(f.latency + rng.duration(f.jitter));
    }
    Some(Plan {
        copies,
        truncate_to,
        garbage,
    })
}

fn make_garbage(rng: &mut Rng, kind: Garbage, reply: &[u8]) -> Vec<u8> {
    let random = |rng: &mut Rng| {
        let n = 1 + rng.below(512);
        (0..n).map(|_| rng.next_u64() as u8).collect::<Vec<u8>>()
    };
    match kind {
        Garbage::RandomBytes => random(rng),
        Garbage::TruncatedCopy if reply.len() >= 2 => {
            let n = 1 + rng.below(reply.len() - 1);
            reply[..n].to_vec()
        }
        Garbage::OtherSequence if reply.len() >= wire::REPLY_SEQUENCE + 4 => {
            let mut copy = reply.to_vec();
            let other = (rng.next_u64() as u32) | 1;
            for (i, b) in other.to_be_bytes().iter().enumerate() {
                copy[wire::REPLY_SEQUENCE + i] ^= b;
            }
            copy
        }
        // Too short for the asked kind: random bytes instead.
        _ => random(rng),
    }
}

/// Applies the faults of one direction to a datagram and sends the result.
fn forward(
    shared: &Shared,
    tx: &Sender<Job>,
    to_server: bool,
    mut bytes: Vec<u8>,
    target: impl Fn() -> Target,
) {
    let c = &shared.counters;
    if shared.silent.load(Ordering::SeqCst) {
        bump(&c.dropped);
        return;
    }
    let Some(plan) = plan(shared, to_server, &mut bytes) else {
        bump(&c.dropped);
        return;
    };
    if let Some(n) = plan.truncate_to {
        bytes.truncate(n);
        bump(&c.truncated);
    }
    if let Some(g) = plan.garbage {
        bump(&c.garbage);
        // Same delay as the reply's first copy, queued just before it.
        dispatch(shared, tx, plan.copies[0], target(), g, false);
    }
    let n = plan.copies.len();
    for (i, delay) in plan.copies.into_iter().enumerate() {
        if i > 0 {
            bump(&c.duplicated);
        }
        let b = if i + 1 == n {
            std::mem::take(&mut bytes)
        } else {
            bytes.clone()
        };
        dispatch(shared, tx, delay, target(), b, true);
    }
}

fn listener(shared: &Arc<Shared>, socket: &Arc<UdpSocket>, tx: &Sender<Job>) {
    let mut buf = vec![0u8; 65_536];
    while !shared.stop.load(Ordering::SeqCst) {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue,
        };
        bump(&shared.counters.from_client);
        let upstream = match upstream_for(shared, socket, tx, from) {
            Some(u) => u,
            None => {
                bump(&shared.counters.dropped);
                continue;
            }
        };
        forward(shared, tx, true, buf[..n].to_vec(), || {
            Target::Server(Arc::clone(&upstream))
        });
    }
}

/// The upstream socket of client `from`, made (with its reader thread)
/// when it is new.
fn upstream_for(
    shared: &Arc<Shared>,
    socket: &Arc<UdpSocket>,
    tx: &Sender<Job>,
    from: SocketAddr,
) -> Option<Arc<UdpSocket>> {
    let mut conns = lock(&shared.conns);
    if let Some(c) = conns.get_mut(&from) {
        c.last = Instant::now();
        return Some(Arc::clone(&c.upstream));
    }
    if conns.len() >= MAX_CLIENTS {
        return None;
    }
    let up = shared.cfg.upstream;
    let bind = match up {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let s = UdpSocket::bind(bind).ok()?;
    s.connect(up).ok()?;
    s.set_read_timeout(Some(POLL)).ok()?;
    let s = Arc::new(s);
    let handle = {
        let shared2 = Arc::clone(shared);
        let s = Arc::clone(&s);
        let socket = Arc::clone(socket);
        let tx = tx.clone();
        thread::Builder::new()
            .name(shared.name.clone())
            .spawn(move || reader(&shared2, &s, &socket, from, &tx))
            .ok()?
    };
    conns.insert(
        from,
        Conn {
            upstream: Arc::clone(&s),
            last: Instant::now(),
        },
    );
    drop(conns);
    let mut readers = lock(&shared.readers);
    // Reap the threads of closed connections.
    let (done, alive): (Vec<_>, Vec<_>) = readers.drain(..).partition(|h| h.is_finished());
    *readers = alive;
    readers.push(handle);
    drop(readers);
    for h in done {
        let _ = h.join();
    }
    Some(s)
}

/// Forwards chronyd's replies on one client's upstream socket.
fn reader(
    shared: &Shared,
    up: &Arc<UdpSocket>,
    socket: &Arc<UdpSocket>,
    client: SocketAddr,
    tx: &Sender<Job>,
) {
    let mut buf = vec![0u8; 65_536];
    while !shared.stop.load(Ordering::SeqCst) {
        match up.recv(&mut buf) {
            Ok(n) => {
                bump(&shared.counters.from_server);
                if let Some(c) = lock(&shared.conns).get_mut(&client) {
                    c.last = Instant::now();
                }
                forward(shared, tx, false, buf[..n].to_vec(), || {
                    Target::Client(Arc::clone(socket), client)
                });
            }
            Err(_) => {
                // Quiet: close when idle for long enough (checked under the
                // lock the listener takes to use this connection).
                let mut conns = lock(&shared.conns);
                let idle = conns
                    .get(&client)
                    .is_none_or(|c| c.last.elapsed() >= shared.cfg.idle);
                if idle {
                    conns.remove(&client);
                    return;
                }
            }
        }
    }
}

/// A running fault-injecting proxy; dropping it stops every thread.
///
/// See the [module documentation](self) for an example.
pub struct Proxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
    scheduler: Option<JoinHandle<()>>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("address", &self.address)
            .field("upstream", &self.shared.cfg.upstream)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// A builder for a proxy in front of `upstream` (chronyd's UDP command
    /// address).
    pub fn builder(upstream: SocketAddr) -> ProxyBuilder {
        ProxyBuilder {
            upstream,
            listen: None,
            seed: 0,
            to_server: Faults::default(),
            to_client: Faults::default(),
            garbage: 0.0,
            garbage_kinds: Vec::new(),
            rewrites: Vec::new(),
            idle: Duration::from_secs(10),
            silence_after: None,
        }
    }

    /// The address clients send to (give it to `chrony::Client::connect`
    /// as it is).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The upstream address.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.cfg.upstream
    }

    /// Drops every datagram, both ways, while `on` (counted as dropped).
    pub fn set_silent(&self, on: bool) {
        if !on {
            self.shared.silence_ended.store(true, Ordering::SeqCst);
        }
        self.shared.silent.store(on, Ordering::SeqCst);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            from_client: g(&c.from_client),
            from_server: g(&c.from_server),
            to_server: g(&c.to_server),
            to_client: g(&c.to_client),
            dropped: g(&c.dropped),
            duplicated: g(&c.duplicated),
            garbage: g(&c.garbage),
            truncated: g(&c.truncated),
            rewritten: g(&c.rewritten),
        }
    }

    /// The name of the proxy's threads (`proxy-PORT`).
    pub fn thread_name(&self) -> &str {
        &self.shared.name
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.listener.take() {
            let _ = h.join();
        }
        // The listener is gone: no new readers can appear.
        let readers: Vec<_> = lock(&self.shared.readers).drain(..).collect();
        for h in readers {
            let _ = h.join();
        }
        if let Some(h) = self.scheduler.take() {
            let _ = h.join();
        }
        lock(&self.shared.conns).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_published_sequence() {
        // First outputs of SplitMix64 seeded with 0 (reference values).
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn rewrites_fit_or_leave_the_reply_alone() {
        let mut d = vec![0u8; 32];
        let r = Rewrite::all_replies().set_u32(28, 0x7fff_ffff);
        assert!(r.apply(&mut d));
        assert_eq!(read_u32(&d, 28), Some(0x7fff_ffff));
        let r = Rewrite::all_replies().add_u32(28, 1);
        assert!(r.apply(&mut d));
        assert_eq!(read_u32(&d, 28), Some(0x8000_0000));
        let r = Rewrite::all_replies()
            .set_u32(30, 1)
            .add_u32(usize::MAX - 1, 1);
        let before = d.clone();
        assert!(!r.apply(&mut d));
        assert_eq!(d, before);
    }

    #[test]
    fn garbage_kinds() {
        let mut rng = Rng::new(1);
        let reply: Vec<u8> = (0..40).collect();
        for _ in 0..100 {
            let t = make_garbage(&mut rng, Garbage::TruncatedCopy, &reply);
            assert!(!t.is_empty() && t.len() < reply.len());
            assert_eq!(t[..], reply[..t.len()]);
            let o = make_garbage(&mut rng, Garbage::OtherSequence, &reply);
            assert_eq!(o.len(), reply.len());
            assert_ne!(o[16..20], reply[16..20]);
            assert_eq!(o[..16], reply[..16]);
            assert_eq!(o[20..], reply[20..]);
            let r = make_garbage(&mut rng, Garbage::RandomBytes, &reply);
            assert!((1..=512).contains(&r.len()));
        }
    }
}
