//! A client's state ([`Engine`]: its target, one session per slot, its
//! call deadline) and [`Engine::run`], which spreads one call's requests
//! over the slots: a job goes to a free slot's session (opened when the
//! slot has none), every running exchange is waited on at once, and each
//! finished job goes to the caller's handler, which says what follows.
//!
//! Written once as `async` code over a [`Driver`]. The blocking driver
//! waits with `poll(2)` and never returns `Pending`, so the blocking
//! client runs these futures to completion in one poll
//! ([`crate::blocking::block_on`]); the tokio client awaits them.

use super::driver::{Driver, Interest, Watched};
use super::exchange::{Attempts, Exchange, Started, Status};
use super::link::{Link, Op, Req, Session};
use super::policy::{Deadline, Policy, Target};
use crate::error::{Error, ErrorCode, Result};
use std::collections::VecDeque;
use std::ffi::{c_int, CStr};
use std::io;
use std::time::{Duration, Instant};

/// The most sessions of one client: each holds two descriptors, and a
/// 128-source report gains nothing beyond 8.
pub(crate) const MAX_SLOTS: usize = 32;

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
}

/// What one call does with one slot.
#[derive(Debug)]
struct SlotRun<L, R> {
    /// The exchange running on it, with its job.
    running: Option<(Job, Exchange<L, R>)>,
    /// A follow-up that must go out on this slot's session next.
    follow: Option<Job>,
    /// False once its session could not be opened (out of descriptors):
    /// the call goes on over the other slots.
    usable: bool,
    /// Its session was checked for belonging to this process (once per
    /// session and call: a call does not cross a fork).
    verified: bool,
}

impl<L: Link, R> SlotRun<L, R> {
    fn new() -> Self {
        SlotRun {
            running: None,
            follow: None,
            usable: true,
            verified: false,
        }
    }

    /// Ends its exchange (the sockets of its other attempts close now, its
    /// attempt list is kept for the next one) and gives its job.
    fn retire(&mut self, spare: &mut Vec<Attempts<L, R>>) -> Job {
        let (job, ex) = self.running.take().expect("slot is running");
        spare.push(ex.into_attempts());
        job
    }
}

/// The working buffers of one call.
#[derive(Debug)]
struct Scratch<L, R: 'static> {
    queue: VecDeque<Queued>,
    runs: Vec<SlotRun<L, R>>,
    /// The sockets found ready in a turn: (slot, fd, interest).
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
            runs: Vec::new(),
            ready: Vec::new(),
            watched: Vec::new(),
            spare: Vec::new(),
        }
    }
}

/// One request of a call, with the caller's tag (which report of a
/// read).
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

impl Queued {
    fn tag(&self) -> u32 {
        match self {
            Queued::One(job) => job.tag,
            Queued::Records { tag, .. } => *tag,
        }
    }
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
                    // Record counts are checked against MAX_RECORDS, far
                    // below c_int::MAX.
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

/// An empty vector of watched sockets with `v`'s allocation, for another
/// lifetime of the borrowed registrations, so that a turn does not
/// allocate. The standard library collects this in place; that is an
/// optimisation of std, not a promise: without it a turn allocates again,
/// nothing else changes.
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
        }
    }

    /// Queues a job for the next [`run`](Self::run).
    pub(crate) fn queue(&mut self, job: Queued) {
        self.scratch.queue.push_back(job);
    }

    /// The deadline of a call starting at `now`.
    pub(crate) fn call_deadline(&self, now: Instant) -> Deadline {
        Deadline::after(now, self.deadline)
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

    /// Runs the queued jobs over the slots until every job is done or one
    /// fails (the first failure wins: every other exchange is dropped with
    /// its sockets, so the next call starts clean). `handle` sees each
    /// finished job with its link (or the job's error, which it may turn
    /// into a result) and says what follows.
    ///
    /// A lost connection or a failed wait also closes the idle sessions:
    /// they point at the same (gone) chronyd.
    pub(crate) async fn run<D, H>(
        &mut self,
        driver: &mut D,
        deadline: Deadline,
        handle: &mut H,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        let k = self.slots.len().max(1);
        let mut sc = std::mem::take(&mut self.scratch);
        sc.runs.clear();
        sc.runs.resize_with(k, SlotRun::new);
        let result = self.run_jobs(driver, deadline, &mut sc, handle).await;
        // What is still in flight is abandoned: its sockets close now.
        sc.runs.clear();
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
        deadline: Deadline,
        sc: &mut Scratch<L, R>,
        handle: &mut H,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        let Scratch {
            queue,
            runs,
            ready,
            watched: watched_buf,
            spare,
        } = sc;
        let mut now = driver.now();
        loop {
            // Sockets are opened where blocking harms nothing (see
            // `Driver::offload`): for the slots about to take a job, and for
            // the re-sends that want one.
            self.open_for_free_slots(driver, queue, runs).await;
            self.supply_sockets(driver, queue, runs, spare, now, handle)
                .await?;
            self.fill_slots(queue, runs, spare, deadline, now, handle)?;
            let mut soonest: Option<(Instant, usize)> = None;
            for (s, run) in runs.iter_mut().enumerate() {
                let Some((_, ex)) = run.running.as_mut() else {
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
            if now >= deadline.at {
                let (_, ex) = runs[soonest].running.as_ref().expect("slot is running");
                return Err(ex.timed_out(&self.target, deadline.length, true));
            }
            {
                let mut watched: Vec<Watched<'_, R>> = recycle(std::mem::take(watched_buf));
                for (s, run) in runs.iter().enumerate() {
                    let Some((_, ex)) = run.running.as_ref() else {
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
                let waited = driver.wait(&mut watched, timer.min(deadline.at)).await;
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
            for (s, run) in runs.iter_mut().enumerate() {
                let Some((_, ex)) = run.running.as_mut() else {
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
                if matches!(status, Status::Waiting) && now < deadline.at {
                    status = ex.on_timer(&self.target, now);
                }
                self.settle(s, status, run, queue, spare, handle)?;
            }
        }
    }

    /// What a slot's exchange came to: a finished job goes to `handle`
    /// (its session back in the slot unless it failed), whose step is
    /// applied.
    fn settle<H>(
        &mut self,
        s: usize,
        status: Status<L, R>,
        run: &mut SlotRun<L, R>,
        queue: &mut VecDeque<Queued>,
        spare: &mut Vec<Attempts<L, R>>,
        handle: &mut H,
    ) -> Result<()>
    where
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        let step = match status {
            Status::Waiting => return Ok(()),
            Status::Done(session) => {
                let job = run.retire(spare);
                let step = handle(&self.target.policy, &job, Ok(&session.link))?;
                self.slots[s] = Some(session);
                step
            }
            Status::Failed(e) => {
                let job = run.retire(spare);
                handle(&self.target.policy, &job, Err(e))?
            }
            Status::Refused(e, session) => {
                // A healthy session that got chronyd's answer: keep it.
                let job = run.retire(spare);
                self.slots[s] = Some(session);
                handle(&self.target.policy, &job, Err(e))?
            }
        };
        run.follow = step.same_session;
        apply(queue, step.more, step.drop_tag);
        Ok(())
    }

    /// Gives a session to each free slot that has none, as many as the
    /// queued jobs need beyond the free slots that have one. A session
    /// that cannot open is left to [`fill_slots`](Self::fill_slots),
    /// which tries again and decides.
    async fn open_for_free_slots<D>(
        &mut self,
        driver: &D,
        queue: &VecDeque<Queued>,
        runs: &mut [SlotRun<L, R>],
    ) where
        D: Driver<L, Registration = R>,
    {
        let free = |r: &SlotRun<L, R>| r.running.is_none() && r.usable && r.follow.is_none();
        let with = (0..runs.len())
            .filter(|&s| free(&runs[s]) && self.slots[s].is_some())
            .count();
        let without: Vec<usize> = (0..runs.len())
            .filter(|&s| free(&runs[s]) && self.slots[s].is_none())
            .collect();
        let jobs = queue.iter().fold(0usize, |n, q| {
            n.saturating_add(match q {
                Queued::One(_) => 1,
                Queued::Records { next, end, .. } => end.saturating_sub(*next),
            })
        });
        let need = jobs.saturating_sub(with).min(without.len());
        if need == 0 {
            return;
        }
        let (endpoint, address) = (
            self.target.endpoint.clone(),
            self.target.policy.address.clone(),
        );
        let opened = open_links(driver, endpoint, address, need).await;
        for (s, link) in without.into_iter().zip(opened) {
            if let Ok(link) = link {
                self.slots[s] = Some(Session::new(link));
                runs[s].verified = true;
            }
        }
    }

    /// Opens a socket for each exchange whose new attempt wants one, and
    /// settles what sending on it gave.
    async fn supply_sockets<D, H>(
        &mut self,
        driver: &D,
        queue: &mut VecDeque<Queued>,
        runs: &mut [SlotRun<L, R>],
        spare: &mut Vec<Attempts<L, R>>,
        now: Instant,
        handle: &mut H,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        let wanting: Vec<usize> = (0..runs.len())
            .filter(|&s| {
                runs[s]
                    .running
                    .as_ref()
                    .is_some_and(|(_, ex)| ex.wants_socket())
            })
            .collect();
        if wanting.is_empty() {
            return Ok(());
        }
        let (endpoint, address) = (
            self.target.endpoint.clone(),
            self.target.policy.address.clone(),
        );
        let opened = open_links(driver, endpoint, address, wanting.len()).await;
        for (s, link) in wanting.into_iter().zip(opened) {
            let run = &mut runs[s];
            let Some((_, ex)) = run.running.as_mut() else {
                continue;
            };
            let status = ex.take_socket(&self.target, link, now);
            self.settle(s, status, run, queue, spare, handle)?;
        }
        Ok(())
    }

    /// Gives every free slot a job: its follow-up first, else the next
    /// queued job. A slot whose session cannot be opened for want of
    /// descriptors leaves its job to the others while any is open.
    fn fill_slots<H>(
        &mut self,
        queue: &mut VecDeque<Queued>,
        runs: &mut [SlotRun<L, R>],
        spare: &mut Vec<Attempts<L, R>>,
        deadline: Deadline,
        now: Instant,
        handle: &mut H,
    ) -> Result<()>
    where
        H: FnMut(&Policy, &Job, Result<&L>) -> Result<Step>,
    {
        for s in 0..runs.len() {
            if queue.is_empty() && runs.iter().all(|r| r.follow.is_none()) {
                break;
            }
            if runs[s].running.is_some() || !runs[s].usable {
                continue;
            }
            let mut next = runs[s].follow.take();
            while runs[s].running.is_none() && runs[s].usable {
                let Some(job) = next.take().or_else(|| pop(queue)) else {
                    break;
                };
                if now >= deadline.at {
                    return Err(deadline_error(&self.target, job.req, deadline.length));
                }
                // Never a session of another process: a forked child's
                // copy is dropped here, unused.
                let session = match self.slots[s].take() {
                    Some(session) if runs[s].verified || session.link.is_usable() => Some(session),
                    _ => None,
                };
                runs[s].verified = true;
                let opens = session.is_none();
                let attempts = spare.pop().unwrap_or_default();
                let step = match Exchange::start(&self.target, session, job.req, now, attempts) {
                    Ok(Started::Sent(ex)) => {
                        runs[s].running = Some((job, ex));
                        continue;
                    }
                    Ok(Started::Answered(session)) => {
                        let step = handle(&self.target.policy, &job, Ok(&session.link))?;
                        self.slots[s] = Some(session);
                        step
                    }
                    Err(e @ Error::ResourceExhausted { .. })
                        if opens
                            && runs.iter().enumerate().any(|(t, r)| {
                                t != s
                                    && r.usable
                                    && (self.slots[t].is_some() || r.running.is_some())
                            }) =>
                    {
                        // No descriptor for one more session: leave the
                        // job to the sessions that are open.
                        drop(e);
                        runs[s].usable = false;
                        queue.push_front(Queued::One(job));
                        break;
                    }
                    Err(e) => handle(&self.target.policy, &job, Err(e))?,
                };
                next = step.same_session;
                apply(queue, step.more, step.drop_tag);
            }
        }
        Ok(())
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
}

/// Opens `n` sessions through the driver (off the runtime's threads for
/// tokio): each is the link or why it could not open. It takes the target's
/// parts, not the engine: the engine is not `Sync`, so a future that
/// borrows it across this wait would not be `Send`.
async fn open_links<L: Link, D: Driver<L>>(
    driver: &D,
    endpoint: L::Endpoint,
    address: String,
    n: usize,
) -> Vec<Result<L>> {
    let shown = address.clone();
    let opened = driver
        .offload(move || (0..n).map(|_| L::open(&endpoint, &shown)).collect())
        .await;
    // The driver could not run the opens (its runtime shuts down): each
    // gets that error (io::Error is not Clone: its kind and text).
    opened.unwrap_or_else(|e| {
        let why = e.to_string();
        (0..n)
            .map(|_| {
                Err(Error::Connect {
                    address: address.clone(),
                    source: io::Error::new(e.kind(), why.clone()),
                })
            })
            .collect()
    })
}

fn deadline_error<L: Link>(target: &Target<L>, req: Req, length: Duration) -> Error {
    Error::Timeout {
        address: target.policy.address.clone(),
        report: req.report_name(),
        operation: req.described(),
        timeout: length,
        call_deadline: true,
    }
}
