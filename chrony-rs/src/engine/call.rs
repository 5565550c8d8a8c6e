//! One method call of a client: requests spread over its sessions, the
//! whole-call deadline, the re-read of a report that changed, the re-open
//! after a chronyd restart, and the reports read into [`ReportSink`]s.
//!
//! Everything here is written once as `async` code over a [`Driver`]. The
//! blocking driver waits with `poll(2)` and never returns `Pending`, so the
//! blocking client runs these futures to completion in one poll
//! ([`crate::blocking::block_on`]); the tokio client awaits them.

use super::exchange::{Attempts, Exchange, Started, Status};
use super::{
    checked_count, is_disabled, no_such_record, Driver, Interest, Link, Op, Policy, Req, Session,
    Target, Watched, MAX_REREADS,
};
use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldSource, Record};
use crate::reports::{Descriptor, FromRecord, ReportShape};
use crate::types::SourceId;
use std::collections::VecDeque;
use std::ffi::{c_int, CStr};
use std::io;
use std::time::{Duration, Instant};

/// A client's state: its target, its sessions (opened lazily, one per
/// slot) and its call deadline. `R` is its driver's registration.
#[derive(Debug)]
pub(crate) struct Engine<L: Link, R: 'static> {
    pub(crate) target: Target<L>,
    pub(crate) slots: Vec<Option<Session<L, R>>>,
    pub(crate) deadline: Duration,
    /// A call's working buffers, kept between calls so that a call
    /// allocates little; its queue holds the jobs [`Engine::run`] runs.
    scratch: Scratch<L, R>,
    /// The reports of a [`read`](Engine::read), kept likewise.
    reads: Vec<ReportRead>,
}

/// The working buffers of one call.
#[derive(Debug)]
struct Scratch<L, R: 'static> {
    queue: VecDeque<Queued>,
    running: Vec<Option<(Job, Exchange<L, R>)>>,
    /// A follow-up that must run on the session its slot holds.
    follow: Vec<Option<Job>>,
    /// Slots whose session could not be opened (out of descriptors): the
    /// call goes on over the others.
    usable: Vec<bool>,
    ready: Vec<(usize, c_int, Interest)>,
    /// The allocation of a turn's watched sockets (empty between turns).
    watched: Vec<Watched<'static, R>>,
    /// Attempt lists of finished exchanges, for the next ones.
    spare: Vec<Attempts<L, R>>,
}

impl<L, R> Default for Scratch<L, R> {
    fn default() -> Self {
        Scratch {
            queue: VecDeque::new(),
            running: Vec::new(),
            follow: Vec::new(),
            usable: Vec::new(),
            ready: Vec::new(),
            watched: Vec::new(),
            spare: Vec::new(),
        }
    }
}

/// One request of a call, with the caller's tag (which report of a
/// snapshot).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job {
    pub(crate) req: Req,
    pub(crate) tag: u32,
}

/// Jobs waiting for a session: single ones, and ranges of record indexes.
#[derive(Debug)]
pub(crate) enum Queued {
    One(Job),
    Records {
        report: &'static CStr,
        next: usize,
        end: usize,
        tag: u32,
    },
}

/// What a handler wants after a job.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// A follow-up on the same session, before anything else (authdata
    /// after the source's sourcestats record).
    pub(crate) same_session: Option<Job>,
    /// More jobs to queue.
    pub(crate) more: Option<Queued>,
    /// Drop the queued jobs of this tag (its report was given up).
    pub(crate) drop_tag: Option<u32>,
}

impl Queued {
    fn tag(&self) -> u32 {
        match self {
            Queued::One(job) => job.tag,
            Queued::Records { tag, .. } => *tag,
        }
    }
}

/// The most sessions of one client: [`Engine::run`] keeps its slots in
/// `u32` bit sets.
pub(crate) const MAX_SLOTS: usize = 32;

/// The most reports one read takes: one sink per report.
pub(crate) const MAX_SINKS: usize = crate::reports::DESCRIPTORS.len();

/// The indexes of the bits set in `set`, lowest first.
fn bits(mut set: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let i = set.trailing_zeros();
        set &= set.wrapping_sub(1);
        (i < 32).then_some(i as usize)
    })
}

/// Queues a step's jobs and drops those of a report given up.
fn apply(queue: &mut VecDeque<Queued>, more: Option<Queued>, drop_tag: Option<u32>) {
    if let Some(tag) = drop_tag {
        queue.retain(|q| q.tag() != tag);
    }
    queue.extend(more);
}

fn pop(queue: &mut VecDeque<Queued>) -> Option<Job> {
    loop {
        match queue.front_mut()? {
            Queued::One(job) => {
                let job = *job;
                queue.pop_front();
                return Some(job);
            }
            Queued::Records {
                report,
                next,
                end,
                tag,
            } => {
                if *next < *end {
                    let i = *next;
                    *next += 1;
                    // i < end <= MAX_RECORDS, far below c_int::MAX.
                    let index = c_int::try_from(i).unwrap_or(c_int::MAX);
                    return Some(Job {
                        req: Req::Record(report, index),
                        tag: *tag,
                    });
                }
                queue.pop_front();
            }
        }
    }
}

/// Ends the exchange of slot `s` (the sockets of its other attempts close
/// now, its attempt list is kept for the next one) and gives its job.
fn retire<L: Link, R>(
    running: &mut [Option<(Job, Exchange<L, R>)>],
    busy: &mut u32,
    spare: &mut Vec<Attempts<L, R>>,
    s: usize,
) -> Job {
    let (job, ex) = running[s].take().expect("slot is running");
    *busy &= !(1 << s);
    spare.push(ex.into_attempts());
    job
}

/// An empty vector of watched sockets with `v`'s allocation, for another
/// lifetime of the borrowed registrations. The standard library collects
/// this in place (nothing allocated or freed; callgrind shows it), an
/// optimisation rather than a promise: without it the next turn simply
/// allocates again.
fn recycle<'b, R>(mut v: Vec<Watched<'_, R>>) -> Vec<Watched<'b, R>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

impl<L: Link, R: Send + Sync> Engine<L, R> {
    /// A client's state with `first` open in its first slot.
    pub(crate) fn new(target: Target<L>, first: L, concurrency: usize, deadline: Duration) -> Self {
        let slots = concurrency.clamp(1, MAX_SLOTS);
        let mut slots: Vec<Option<Session<L, R>>> = (0..slots).map(|_| None).collect();
        slots[0] = Some(Session::new(first));
        Engine {
            target,
            slots,
            deadline,
            scratch: Scratch::default(),
            reads: Vec::new(),
        }
    }

    /// Queues a job for the next [`run`](Self::run).
    pub(crate) fn queue(&mut self, job: Queued) {
        self.scratch.queue.push_back(job);
    }

    /// The deadline of a call starting at `now`.
    pub(crate) fn call_deadline(&self, now: Instant) -> Instant {
        now.checked_add(self.deadline)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400))
    }

    /// Drops every session (the next request opens fresh ones).
    pub(crate) fn close_sessions(&mut self) {
        for slot in &mut self.slots {
            *slot = None;
        }
    }

    pub(crate) fn has_sessions(&self) -> bool {
        self.slots.iter().any(Option::is_some)
    }

    /// Runs the queued jobs over the slots until every job is done or one fails
    /// (the first failure wins: every other exchange is dropped with its
    /// sockets, so the next call starts clean). `handle` sees each finished
    /// job with its link (or the job's error, which it may turn into a
    /// result) and says what follows.
    ///
    /// A lost connection or a failed wait also closes the idle sessions:
    /// they point at the same (gone) chronyd.
    pub(crate) async fn run<D, H>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        handle: &mut H,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        let k = self.slots.len().max(1);
        let mut sc = std::mem::take(&mut self.scratch);
        sc.running.clear();
        sc.running.resize_with(k, || None);
        sc.follow.clear();
        sc.follow.resize(k, None);
        sc.usable.clear();
        sc.usable.resize(k, true);
        let result = self.run_jobs(driver, deadline, &mut sc, handle).await;
        // What is still in flight is abandoned: its sockets close now.
        sc.running.clear();
        sc.queue.clear();
        self.scratch = sc;
        if matches!(result, Err(Error::Connect { .. })) {
            self.close_sessions();
        }
        result
    }

    async fn run_jobs<D, H>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        sc: &mut Scratch<L, R>,
        handle: &mut H,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        let k = sc.running.len();
        let Scratch {
            queue,
            running,
            follow,
            usable,
            ready,
            watched: watched_buf,
            spare,
        } = sc;
        // Slots whose exchange is running, and slots with a follow-up
        // waiting (k <= 32): the loops below visit only those. Slots whose
        // session this run has checked with `Link::is_usable` (or opened):
        // one check per session and run, not per request.
        let mut busy: u32 = 0;
        let mut follows: u32 = 0;
        let mut verified: u32 = 0;
        let mut now = driver.now();
        loop {
            // Fill the free slots.
            for s in 0..k {
                if queue.is_empty() && follows == 0 {
                    break;
                }
                if busy & (1 << s) != 0 || !usable[s] {
                    continue;
                }
                let mut next = follow[s].take();
                follows &= !(1 << s);
                while running[s].is_none() && usable[s] {
                    let Some(job) = next.take().or_else(|| pop(queue)) else {
                        break;
                    };
                    if now >= deadline {
                        return Err(deadline_error(&self.target, job.req, self.deadline));
                    }
                    // Issue 17 hook (fdsafe): never a session of another
                    // process (a forked child's copy is dropped here),
                    // checked once per session and run: a run does not
                    // cross a fork (a blocking call cannot; an async one
                    // only if the child went on running the parent's
                    // runtime, where its in-flight sockets are the
                    // parent's anyway).
                    let session = match self.slots[s].take() {
                        Some(session) if verified & (1 << s) != 0 || session.link.is_usable() => {
                            Some(session)
                        }
                        _ => None,
                    };
                    verified |= 1 << s;
                    let opens = session.is_none();
                    let attempts = spare.pop().unwrap_or_default();
                    let step = match Exchange::start(&self.target, session, job.req, now, attempts)
                    {
                        Ok(Started::Sent(ex)) => {
                            running[s] = Some((job, ex));
                            busy |= 1 << s;
                            continue;
                        }
                        Ok(Started::Answered(session)) => {
                            let step = handle(&self.target.policy, &job, Ok(&session.link))?;
                            self.slots[s] = Some(session);
                            step
                        }
                        Err(e @ Error::ResourceExhausted { .. })
                            if opens
                                && (0..k).any(|t| {
                                    t != s
                                        && usable[t]
                                        && (self.slots[t].is_some() || running[t].is_some())
                                }) =>
                        {
                            // No descriptor for one more session: leave the
                            // job to the sessions that are open.
                            drop(e);
                            usable[s] = false;
                            queue.push_front(Queued::One(job));
                            break;
                        }
                        Err(e) => handle(&self.target.policy, &job, Err(e))?,
                    };
                    next = step.same_session;
                    apply(queue, step.more, step.drop_tag);
                }
            }
            let mut soonest: Option<(Instant, usize)> = None;
            for s in bits(busy) {
                let Some((_, ex)) = running[s].as_mut() else {
                    continue;
                };
                for session in ex.sessions_mut() {
                    driver
                        .register(&session.link, &mut session.registration)
                        .map_err(|e| self.poll_failed(e))?;
                }
                let t = ex.next_timer(now);
                if soonest.is_none_or(|(u, _)| t < u) {
                    soonest = Some((t, s));
                }
            }
            let Some((timer, soonest)) = soonest else {
                return Ok(());
            };
            if now >= deadline {
                let (_, ex) = running[soonest].as_ref().expect("slot is running");
                return Err(ex.timed_out(&self.target, self.deadline, true));
            }
            {
                let mut watched: Vec<Watched<'_, R>> = recycle(std::mem::take(watched_buf));
                for s in bits(busy) {
                    let Some((_, ex)) = running[s].as_ref() else {
                        continue;
                    };
                    for (session, interest) in ex.watched() {
                        watched.push(Watched {
                            fd: session.link.fd(),
                            interest,
                            registration: session.registration.as_ref(),
                            ready: false,
                            slot: s,
                        });
                    }
                }
                let waited = driver.wait(&mut watched, timer.min(deadline)).await;
                ready.clear();
                ready.extend(
                    watched
                        .iter()
                        .filter(|w| w.ready)
                        .map(|w| (w.slot, w.fd, w.interest)),
                );
                *watched_buf = recycle(watched);
                if let Err(e) = waited {
                    return Err(self.poll_failed(e));
                }
            }
            now = driver.now();
            for s in bits(busy) {
                let Some((_, ex)) = running[s].as_mut() else {
                    continue;
                };
                let mut status = Status::Waiting;
                for &(_, fd, interest) in ready.iter().filter(|r| r.0 == s) {
                    status = match interest {
                        Interest::Read => ex.on_readable(&self.target, fd, now),
                        Interest::Write => ex.on_writable(&self.target, fd, now),
                    };
                    if !matches!(status, Status::Waiting) {
                        break;
                    }
                }
                // Past the call's deadline no re-send is worth its socket:
                // the loop's top ends the call.
                if matches!(status, Status::Waiting) && now < deadline {
                    status = ex.on_timer(&self.target, now);
                }
                let step = match status {
                    Status::Waiting => continue,
                    Status::Done(session) => {
                        let job = retire(running, &mut busy, spare, s);
                        let step = handle(&self.target.policy, &job, Ok(&session.link))?;
                        self.slots[s] = Some(session);
                        step
                    }
                    Status::Failed(e) => {
                        let job = retire(running, &mut busy, spare, s);
                        handle(&self.target.policy, &job, Err(e))?
                    }
                    Status::Refused(e, session) => {
                        // A healthy session that got chronyd's answer: keep it.
                        let job = retire(running, &mut busy, spare, s);
                        self.slots[s] = Some(session);
                        handle(&self.target.policy, &job, Err(e))?
                    }
                };
                if step.same_session.is_some() {
                    follows |= 1 << s;
                }
                follow[s] = step.same_session;
                apply(queue, step.more, step.drop_tag);
            }
        }
    }

    /// A failed wait: the idle sessions go too, the error names the wait.
    fn poll_failed(&mut self, e: io::Error) -> Error {
        self.close_sessions();
        Error::Protocol {
            operation: Op::Poll.label(),
            report: String::new(),
            code: ErrorCode::RecvFailed,
            message: format!("waiting for chronyd at {}: {e}", self.target.policy.address),
            os_error: Some(e),
        }
    }

    /// Asks chronyd how many records `report` has.
    pub(crate) async fn count<D: Driver<L, Registration = R>>(
        &mut self,
        driver: &mut D,
        report: &'static CStr,
    ) -> Result<usize> {
        let mut n = 0;
        let mut handle = |policy: &Policy, _: &Job, r: Result<&L>| -> Result<Step> {
            n = checked_count(policy, r?, report)?;
            Ok(Step::default())
        };
        self.run_one(driver, Req::Count(report), &mut handle)
            .await?;
        Ok(n)
    }

    /// Runs one request by the client's deadline; a lost connection on
    /// reused sessions (chronyd restarted: its socket is a new one)
    /// re-opens them once.
    async fn run_one<D, H>(&mut self, driver: &mut D, req: Req, handle: &mut H) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        let deadline = self.call_deadline(driver.now());
        let mut reopened = false;
        loop {
            let reused = self.has_sessions();
            self.queue(Queued::One(Job { req, tag: 0 }));
            match self.run(driver, deadline, handle).await {
                Ok(()) => return Ok(()),
                Err(Error::Connect { .. }) if reused && !reopened => {
                    reopened = true;
                    self.close_sessions();
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads a typed report: the one path of every client's report
    /// methods.
    pub(crate) async fn report<T, D>(
        &mut self,
        driver: &mut D,
    ) -> Result<<T::Shape as ReportShape<T>>::Output>
    where
        T: FromRecord,
        D: Driver<L, Registration = R>,
    {
        if T::DESCRIPTOR.single_record()? {
            return self.single::<T, D>(driver).await;
        }
        let mut sink = ReportSink::<T, TypedBuild<T>>::typed()?;
        let deadline = self.call_deadline(driver.now());
        self.read(driver, deadline, &mut [&mut sink], |_| false)
            .await?;
        sink.output()
    }

    /// A single-record report (tracking, rtcdata, ...): its one record
    /// request (libchrony answers the count itself), read straight into
    /// the model, `CHRONY_DISABLED` meaning absent where the model says
    /// so. What [`read`](Self::read) adds (re-reads of a changed report,
    /// paired records, errors kept per report) concerns per-source
    /// reports only.
    async fn single<T, D>(&mut self, driver: &mut D) -> Result<<T::Shape as ReportShape<T>>::Output>
    where
        T: FromRecord,
        D: Driver<L, Registration = R>,
    {
        let report = T::DESCRIPTOR.c_name()?;
        let absent_if_disabled = T::DESCRIPTOR.disabled_means_absent();
        let mut value = None;
        let mut handle = |_: &Policy, _: &Job, r: Result<&L>| -> Result<Step> {
            value = match r {
                Ok(link) => T::from_record(&Record::new(&link.record(report)))?,
                Err(e) if absent_if_disabled && is_disabled(&e) => None,
                Err(e) => return Err(e),
            };
            Ok(Step::default())
        };
        self.run_one(driver, Req::Record(report, 0), &mut handle)
            .await?;
        <T::Shape as ReportShape<T>>::assemble_one(T::DESCRIPTOR.name, value)
    }

    /// Reads every record of a report into values built by `build`, in
    /// record order (the generic records and [`Client::fetch`]).
    ///
    /// [`Client::fetch`]: crate::client::Client::fetch
    pub(crate) async fn collect<T, F, D>(
        &mut self,
        driver: &mut D,
        report: &str,
        build: F,
    ) -> Result<Vec<T>>
    where
        F: for<'r, 's> FnMut(
            &Record<'r, dyn FieldSource + 's>,
            Option<SourceId>,
        ) -> Result<Option<T>>,
        D: Driver<L, Registration = R>,
    {
        let mut sink = ReportSink::new(Descriptor::by_name(report)?, false, build)?;
        let deadline = self.call_deadline(driver.now());
        self.read(driver, deadline, &mut [&mut sink], |_| false)
            .await?;
        Ok(sink.into_values())
    }

    /// Reads the reports of `sinks` at once, by `deadline`: every count,
    /// then every record, spread over the sessions. An error for which
    /// `keep` is true ends its report only, and goes to its sink;
    /// any other fails the call. A per-source report whose records ran
    /// past its count (a source went away) is read again alone, up to
    /// [`MAX_REREADS`] times, then fails with [`Error::ReportChanged`], or
    /// [`Error::CountContradicted`] when every read had the same count and
    /// missed the same record. A
    /// lost connection on reused sessions (chronyd restarted) re-opens them
    /// once.
    pub(crate) async fn read<D, S>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        sinks: &mut [&mut S],
        keep: fn(&Error) -> bool,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        S: Sink + ?Sized,
    {
        assert!(sinks.len() <= MAX_SINKS, "at most one sink per report");
        // The per-report state lives in the engine between calls: the
        // call's future stays small and nothing is allocated for it.
        let mut reads = std::mem::take(&mut self.reads);
        reads.clear();
        reads.resize_with(sinks.len(), ReportRead::default);
        let result = self
            .read_into(driver, deadline, sinks, keep, &mut reads)
            .await;
        self.reads = reads;
        result
    }

    async fn read_into<D, S>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        sinks: &mut [&mut S],
        keep: fn(&Error) -> bool,
        reads: &mut [ReportRead],
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        S: Sink + ?Sized,
    {
        let mut todo: u32 = (1 << sinks.len()) - 1;
        let mut reopened = false;
        while todo != 0 {
            let reused = self.has_sessions();
            for i in bits(todo) {
                sinks[i].clear();
                reads[i].state = ReadState::default();
            }
            match self
                .read_once(driver, deadline, sinks, todo, reads, keep)
                .await
            {
                Ok(()) => {}
                Err(Error::Connect { .. }) if reused && !reopened => {
                    reopened = true;
                    self.close_sessions();
                    continue;
                }
                Err(e) => return Err(e),
            }
            let mut again = 0;
            for i in bits(todo) {
                let read = &mut reads[i];
                let state = std::mem::take(&mut read.state);
                if state.changed {
                    read.misses[read.rereads as usize] = (state.count, state.first_missing);
                    read.rereads += 1;
                    if read.rereads <= MAX_REREADS {
                        again |= 1 << i;
                        continue;
                    }
                    let address = self.target.policy.address.clone();
                    let report = sinks[i].report().to_string_lossy().into_owned();
                    // The same count contradicted at the same record every
                    // time is no source coming or going: the count is wrong.
                    let e = match read.misses[0] {
                        (Some(count), Some(served))
                            if read
                                .misses
                                .iter()
                                .all(|m| *m == (Some(count), Some(served))) =>
                        {
                            Error::CountContradicted {
                                address,
                                report,
                                count: count as u64,
                                served: u64::try_from(served).unwrap_or(0),
                            }
                        }
                        _ => Error::ReportChanged { address, report },
                    };
                    if !keep(&e) {
                        return Err(e);
                    }
                    sinks[i].keep(e);
                }
            }
            todo = again;
        }
        Ok(())
    }

    async fn read_once<D, S>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        sinks: &mut [&mut S],
        todo: u32,
        reads: &mut [ReportRead],
        keep: fn(&Error) -> bool,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        S: Sink + ?Sized,
    {
        for i in bits(todo) {
            let plan = sinks[i].plan();
            if plan.single_record {
                // One record by definition (libchrony answers its count
                // itself): ask for it at once.
                reads[i].state.count = Some(1);
                self.queue(Queued::Records {
                    report: plan.report,
                    next: 0,
                    end: 1,
                    tag: i as u32,
                });
            } else {
                self.queue(Queued::One(Job {
                    req: Req::Count(plan.report),
                    tag: i as u32,
                }));
            }
        }
        let mut handle = |policy: &Policy, job: &Job, r: Result<&L>| -> Result<Step> {
            let i = job.tag as usize;
            let (sink, state) = (&mut *sinks[i], &mut reads[i].state);
            let plan = sink.plan();
            let give_up = Step {
                drop_tag: Some(job.tag),
                ..Step::default()
            };
            if let (Req::Record(_, index), Err(e)) = (job.req, &r) {
                if plan.per_source && no_such_record(job.req, e) {
                    state.first_missing = Some(state.first_missing.map_or(index, |m| m.min(index)));
                }
            }
            if state.gave_up || state.changed {
                // The rest of a report already given up.
                return Ok(Step::default());
            }
            let link = match r {
                Ok(link) => link,
                Err(e) if plan.disabled_means_absent && is_disabled(&e) => {
                    return Ok(Step::default())
                }
                Err(e) if plan.per_source && no_such_record(job.req, &e) => {
                    state.changed = true;
                    return Ok(give_up);
                }
                Err(e) if keep(&e) => {
                    state.gave_up = true;
                    sink.keep(e);
                    return Ok(give_up);
                }
                Err(e) => return Err(e),
            };
            let result = match job.req {
                Req::Count(report) => {
                    let n = checked_count(policy, link, report)?;
                    state.count = Some(n);
                    return Ok(Step {
                        drop_tag: None,
                        same_session: None,
                        more: Some(Queued::Records {
                            report: if plan.paired { plan.pair_with } else { report },
                            next: 0,
                            end: n,
                            tag: job.tag,
                        }),
                    });
                }
                Req::Record(name, index) if plan.paired && name != plan.report => {
                    let rec = link.record(name);
                    Record::new(&rec as &dyn FieldSource)
                        .get_opt::<Option<SourceId>>("address")
                        .map(|address| {
                            state.addresses.push((index, address.flatten()));
                            // libchrony addresses the record by the
                            // sourcestats record this session holds: same
                            // session, next.
                            Some(Job {
                                req: Req::Record(plan.report, index),
                                tag: job.tag,
                            })
                        })
                }
                Req::Record(_, index) => {
                    let address = state
                        .addresses
                        .iter()
                        .position(|(j, _)| *j == index)
                        .and_then(|p| state.addresses.swap_remove(p).1);
                    let rec = link.record(plan.report);
                    sink.record(index, &Record::new(&rec as &dyn FieldSource), address)
                        .map(|()| None)
                }
            };
            match result {
                Ok(same_session) => Ok(Step {
                    same_session,
                    ..Step::default()
                }),
                Err(e) if keep(&e) => {
                    state.gave_up = true;
                    sink.keep(e);
                    Ok(give_up)
                }
                Err(e) => Err(e),
            }
        };
        self.run(driver, deadline, &mut handle).await
    }
}

/// One report of a read, over its re-reads.
#[derive(Debug, Default)]
pub(crate) struct ReportRead {
    /// Re-reads so far.
    rereads: u32,
    /// (count, first missing record) of each read that ran past its count.
    misses: [(Option<usize>, Option<c_int>); MAX_REREADS as usize + 1],
    /// The current read.
    state: ReadState,
}

/// Where one report of a read stands.
#[derive(Debug, Default)]
struct ReadState {
    /// An error ended it (one `keep` accepted, given to its sink).
    gave_up: bool,
    /// Its records ran past its count: read it again.
    changed: bool,
    /// The count chronyd sent.
    count: Option<usize>,
    /// The lowest record index chronyd had no record for.
    first_missing: Option<c_int>,
    /// Paired addresses waiting for their records, by record index.
    addresses: Vec<(c_int, Option<SourceId>)>,
}

/// How a report is read: its libchrony name and the facts of its
/// [`Descriptor`] that the engine acts on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) report: &'static CStr,
    pub(crate) per_source: bool,
    /// Exactly one record (tracking, rtcdata, ...): no count is asked.
    pub(crate) single_record: bool,
    pub(crate) disabled_means_absent: bool,
    /// Each record follows the source's record of `pair_with` on the same
    /// session (authdata after sourcestats).
    pub(crate) paired: bool,
    pub(crate) pair_with: &'static CStr,
}

impl Plan {
    pub(crate) fn of(descriptor: &Descriptor, paired: bool) -> Result<Plan> {
        Ok(Plan {
            report: descriptor.c_name()?,
            per_source: descriptor.per_source(),
            single_record: descriptor.single_record()?,
            disabled_means_absent: descriptor.disabled_means_absent(),
            paired: paired && descriptor.paired(),
            pair_with: crate::reports::sourcestats::SourceStats::DESCRIPTOR.c_name()?,
        })
    }
}

/// Where the records of one report of a read go.
pub(crate) trait Sink {
    fn plan(&self) -> Plan;
    fn report(&self) -> &'static CStr {
        self.plan().report
    }
    /// Takes record `index`, with its paired address.
    fn record(
        &mut self,
        index: c_int,
        record: &Record<'_, dyn FieldSource + '_>,
        address: Option<SourceId>,
    ) -> Result<()>;
    /// Takes the error that ended the report (one the read's `keep`
    /// accepted).
    fn keep(&mut self, error: Error);
    /// Forgets what was read, and any error (before a re-read).
    fn clear(&mut self);
}

/// The values built from one report's records.
pub(crate) struct ReportSink<T, F> {
    plan: Plan,
    build: F,
    values: Vec<(c_int, T)>,
    /// The error that ended the report, when the read kept it.
    pub(crate) error: Option<Error>,
}

/// Builds a model from a record and its paired address.
pub(crate) type TypedBuild<T> =
    for<'r, 's> fn(&Record<'r, dyn FieldSource + 's>, Option<SourceId>) -> Result<Option<T>>;

fn build_typed<T: FromRecord>(
    r: &Record<'_, dyn FieldSource + '_>,
    address: Option<SourceId>,
) -> Result<Option<T>> {
    Ok(T::from_record(r)?.map(|t| t.with_paired_address(address)))
}

impl<T: FromRecord> ReportSink<T, TypedBuild<T>> {
    /// The sink of a typed report.
    pub(crate) fn typed() -> Result<Self> {
        ReportSink::new(&T::DESCRIPTOR, true, build_typed::<T> as TypedBuild<T>)
    }

    /// The model's result (see [`ReportShape`]).
    pub(crate) fn output(self) -> Result<<T::Shape as ReportShape<T>>::Output> {
        <T::Shape as ReportShape<T>>::assemble(T::DESCRIPTOR.name, self.into_values())
    }
}

impl<T, F> ReportSink<T, F>
where
    F: for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>, Option<SourceId>) -> Result<Option<T>>,
{
    pub(crate) fn new(descriptor: &Descriptor, paired: bool, build: F) -> Result<Self> {
        Ok(ReportSink {
            plan: Plan::of(descriptor, paired)?,
            build,
            values: Vec::new(),
            error: None,
        })
    }

    /// The values in record order (records finish out of order over
    /// several sessions).
    pub(crate) fn into_values(mut self) -> Vec<T> {
        if self.values.len() > 1 {
            self.values.sort_by_key(|(i, _)| *i);
        }
        self.values.into_iter().map(|(_, v)| v).collect()
    }
}

impl<T, F> Sink for ReportSink<T, F>
where
    F: for<'r, 's> FnMut(&Record<'r, dyn FieldSource + 's>, Option<SourceId>) -> Result<Option<T>>,
{
    fn plan(&self) -> Plan {
        self.plan
    }

    fn record(
        &mut self,
        index: c_int,
        record: &Record<'_, dyn FieldSource + '_>,
        address: Option<SourceId>,
    ) -> Result<()> {
        if let Some(v) = (self.build)(record, address)? {
            self.values.push((index, v));
        }
        Ok(())
    }

    fn keep(&mut self, error: Error) {
        self.error = Some(error);
    }

    fn clear(&mut self) {
        self.values.clear();
        self.error = None;
    }
}

fn deadline_error<L: Link>(target: &Target<L>, req: Req, deadline: Duration) -> Error {
    Error::Timeout {
        address: target.policy.address.clone(),
        report: req.report_name(),
        operation: req.described(),
        timeout: deadline,
        call_deadline: true,
    }
}
