//! The call level, shared by the blocking [`Client`](crate::Client) and the
//! tokio client: jobs (counts and records) spread over a client's sessions,
//! the whole-call deadline, the re-read of a report that changed, and the
//! re-open after a chronyd restart.
//!
//! Everything here is written once as `async` code over a [`Driver`], the
//! part that waits for sockets. The blocking driver waits with `poll(2)`
//! and never returns `Pending`, so the blocking client runs these futures
//! to completion in one poll ([`block_on`]).

use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldSource, Record};
use crate::session::{checked_count, Conn, Exchange, Interest, Policy, Req, Started, Status};
use crate::SourceId;
use std::collections::VecDeque;
use std::ffi::{c_int, CStr, CString};
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// Where and how a client talks to chronyd.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) policy: Policy,
    pub(crate) c_address: CString,
}

/// A client's state: its target, its sessions (opened lazily, one per
/// slot) and its call deadline.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) target: Target,
    pub(crate) slots: Vec<Option<Conn>>,
    pub(crate) deadline: Duration,
}

/// One request of a call, with the caller's bookkeeping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job {
    pub(crate) req: Req,
    /// The caller's tag (for example which report of a snapshot).
    pub(crate) tag: u32,
}

/// Jobs waiting to run: single ones, and ranges of record indexes.
#[derive(Debug)]
pub(crate) enum Pending {
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
    pub(crate) more: Option<Pending>,
}

/// Waits for sockets.
pub(crate) trait Driver: Send {
    /// Registers what the driver needs for `conn` (called before waiting on
    /// it).
    fn register(&mut self, conn: &mut Conn) -> io::Result<()>;

    /// Waits until one of the sockets the running exchanges watch
    /// ([`Exchange::watch`]) is ready or `until` passes; returns the ready
    /// ones (possibly none).
    fn wait<'a>(
        &'a mut self,
        running: &'a mut [Option<(Job, Exchange)>],
        until: Instant,
    ) -> impl Future<Output = io::Result<Vec<(c_int, Interest)>>> + Send + 'a;
}

/// Runs a future whose driver never waits asynchronously (the blocking
/// driver): it completes in its first poll.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

impl Core {
    /// Runs `pending` over the slots until every job is done or one fails
    /// (the first failure wins: every other exchange is dropped with its
    /// sockets, so the next call starts clean). `handle` sees each finished
    /// job with its connection (or the job's error, which it may turn into
    /// a result) and says what follows.
    ///
    /// A lost connection or a failed wait also closes the idle sessions:
    /// they point at the same (gone) chronyd.
    pub(crate) async fn run<D: Driver, H: FnMut(&Job, Result<&Conn>) -> Result<Step>>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        pending: VecDeque<Pending>,
        handle: &mut H,
    ) -> Result<()> {
        let result = self.run_jobs(driver, deadline, pending, handle).await;
        if matches!(
            result,
            Err(Error::Connect { .. }
                | Error::Protocol {
                    operation: "poll",
                    ..
                })
        ) {
            self.close_sessions();
        }
        result
    }

    #[allow(clippy::needless_range_loop)] // `s` indexes both slots and running
    async fn run_jobs<D: Driver, H: FnMut(&Job, Result<&Conn>) -> Result<Step>>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        mut pending: VecDeque<Pending>,
        handle: &mut H,
    ) -> Result<()> {
        let k = self.slots.len().max(1);
        let mut running: Vec<Option<(Job, Exchange)>> = (0..k).map(|_| None).collect();
        // A follow-up that must run on the session its slot holds.
        let mut follow: Vec<Option<Job>> = vec![None; k];
        loop {
            // Fill the free slots.
            for s in 0..k {
                let mut next = follow[s].take();
                while running[s].is_none() {
                    let job = match next.take() {
                        Some(job) => job,
                        None => match pop(&mut pending) {
                            Some(job) => job,
                            None => break,
                        },
                    };
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(deadline_error(&self.target, job.req, self.deadline));
                    }
                    let conn = self.slots[s].take();
                    match Exchange::start(
                        &self.target.policy,
                        &self.target.c_address,
                        conn,
                        job.req,
                        now,
                    ) {
                        Ok(Started::Pending(ex)) => running[s] = Some((job, ex)),
                        Ok(Started::Done(conn)) => {
                            let step = handle(&job, Ok(&conn))?;
                            self.slots[s] = Some(conn);
                            next = step.same_session;
                            pending.extend(step.more);
                        }
                        Err(e) => {
                            let step = handle(&job, Err(e))?;
                            next = step.same_session;
                            pending.extend(step.more);
                        }
                    }
                }
            }
            if running.iter().all(Option::is_none) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                let req = running.iter().flatten().map(|(j, _)| j.req).next();
                return Err(deadline_error(
                    &self.target,
                    req.unwrap_or(Req::Count(c"?")),
                    self.deadline,
                ));
            }
            let until = running
                .iter()
                .flatten()
                .map(|(_, ex)| ex.next_timer())
                .min()
                .map_or(deadline, |t| t.min(deadline));
            for (_, ex) in running.iter_mut().flatten() {
                for conn in ex.conns_mut() {
                    driver
                        .register(conn)
                        .map_err(|e| poll_error(&self.target, e))?;
                }
            }
            let ready = driver
                .wait(&mut running, until)
                .await
                .map_err(|e| poll_error(&self.target, e))?;
            let now = Instant::now();
            for s in 0..k {
                let Some((_, ex)) = running[s].as_mut() else {
                    continue;
                };
                let mut status = Status::Pending;
                let events: Vec<(c_int, Interest)> =
                    ex.watch().filter(|w| ready.contains(w)).collect();
                for (fd, interest) in events {
                    status = match interest {
                        Interest::Read => {
                            ex.on_readable(&self.target.policy, &self.target.c_address, fd)
                        }
                        Interest::Write => ex.on_writable(&self.target.policy, fd),
                    };
                    if !matches!(status, Status::Pending) {
                        break;
                    }
                }
                // Past the call's deadline no re-send is worth its socket:
                // the loop's top ends the call.
                if matches!(status, Status::Pending) && now < deadline {
                    status = ex.on_timer(&self.target.policy, &self.target.c_address, now);
                }
                let step = match status {
                    Status::Pending => continue,
                    Status::Done(conn) => {
                        let (job, _) = running[s].take().expect("slot is running");
                        let step = handle(&job, Ok(&conn))?;
                        self.slots[s] = Some(conn);
                        (job, step)
                    }
                    Status::Failed(e) => {
                        let (job, _) = running[s].take().expect("slot is running");
                        (job, handle(&job, Err(e))?)
                    }
                    Status::Refused(e, conn) => {
                        // A healthy session that got chronyd's answer: keep it.
                        let (job, _) = running[s].take().expect("slot is running");
                        self.slots[s] = Some(conn);
                        (job, handle(&job, Err(e))?)
                    }
                };
                let (_, step) = step;
                follow[s] = step.same_session;
                pending.extend(step.more);
            }
        }
    }
}

fn pop(pending: &mut VecDeque<Pending>) -> Option<Job> {
    loop {
        match pending.front_mut()? {
            Pending::One(_) => match pending.pop_front() {
                Some(Pending::One(job)) => return Some(job),
                _ => unreachable!("front was One"),
            },
            Pending::Records {
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
                pending.pop_front();
            }
        }
    }
}

fn deadline_error(target: &Target, req: Req, deadline: Duration) -> Error {
    Error::Timeout {
        address: target.policy.address.clone(),
        report: req.report().to_string_lossy().into_owned(),
        operation: match req {
            Req::Count(_) => "record count".to_string(),
            Req::Record(_, i) => format!("record {i}"),
        },
        timeout: deadline,
        call_deadline: true,
    }
}

fn poll_error(target: &Target, e: io::Error) -> Error {
    Error::Protocol {
        operation: "poll",
        report: String::new(),
        code: ErrorCode::RecvFailed,
        message: format!("waiting for chronyd at {}: {e}", target.policy.address),
        os_error: Some(e),
    }
}

/// The ten reports as the C strings libchrony keeps pointers to.
const REPORT_NAMES: [&CStr; 10] = [
    c"activity",
    c"authdata",
    c"ntpdata",
    c"rtcdata",
    c"selectdata",
    c"serverstats",
    c"smoothing",
    c"sources",
    c"sourcestats",
    c"tracking",
];

/// The `'static` C name of a report this crate knows.
pub(crate) fn report_name(report: &str) -> Result<&'static CStr> {
    REPORT_NAMES
        .iter()
        .copied()
        .find(|c| c.to_bytes() == report.as_bytes())
        .ok_or_else(|| Error::UnknownReport(report.to_string()))
}

/// Reports with one record per source: their count comes from chronyd, and
/// a source can come or go while they are read.
pub(crate) const PER_SOURCE: [&CStr; 5] = [
    c"sources",
    c"sourcestats",
    c"selectdata",
    c"ntpdata",
    c"authdata",
];

/// Reports whose record request chronyd answers with `CHRONY_DISABLED` when
/// the feature is off (no RTC, no time smoothing): that means "absent", not
/// a failure.
pub const DISABLED_MEANS_ABSENT: &[&str] = &["rtcdata", "smoothing"];

pub(crate) fn disabled_means_absent(report: &CStr, e: &Error) -> bool {
    matches!(
        e,
        Error::Protocol {
            code: ErrorCode::Disabled,
            ..
        }
    ) && report
        .to_str()
        .is_ok_and(|r| DISABLED_MEANS_ABSENT.contains(&r))
}

/// chronyd's "no such source" (a record index past the end) comes back
/// from libchrony as an unexpected status on a record request.
pub(crate) fn no_such_record(e: &Error) -> bool {
    matches!(
        e,
        Error::Protocol {
            code: ErrorCode::UnexpectedStatus,
            operation: "record",
            ..
        }
    )
}

impl Core {
    /// The deadline of a call starting now.
    pub(crate) fn call_deadline(&self) -> Instant {
        let now = Instant::now();
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

    /// Asks chronyd how many records `report` has.
    pub(crate) async fn count<D: Driver>(
        &mut self,
        driver: &mut D,
        report: &'static CStr,
    ) -> Result<usize> {
        let deadline = self.call_deadline();
        let mut reopened = false;
        loop {
            let reused = self.has_sessions();
            let policy = self.target.policy.clone();
            let mut n = 0;
            let mut handle = |_: &Job, r: Result<&Conn>| -> Result<Step> {
                n = checked_count(&policy, r?, report)?;
                Ok(Step::default())
            };
            let job = Job {
                req: Req::Count(report),
                tag: 0,
            };
            match self
                .run(driver, deadline, [Pending::One(job)].into(), &mut handle)
                .await
            {
                Ok(()) => return Ok(n),
                Err(Error::Connect { .. }) if reused && !reopened => {
                    // chronyd restarted: its socket is a new one.
                    reopened = true;
                    self.close_sessions();
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads every record of `report`: its count, then the records spread
    /// over the sessions, returned in record order. With `with_address`,
    /// each record is preceded by the source's sourcestats record on the
    /// same session, whose address goes to `build`. Everything ends by
    /// `deadline` (the call's: a snapshot passes its own).
    pub(crate) async fn fetch<D: Driver, T, F>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        report: &'static CStr,
        with_address: bool,
        build: &mut F,
    ) -> Result<Vec<T>>
    where
        F: for<'r, 's> FnMut(
            &Record<'r, dyn FieldSource + 's>,
            Option<SourceId>,
        ) -> Result<Option<T>>,
    {
        let per_source = PER_SOURCE.contains(&report);
        let mut reopened = false;
        let mut changed = false;
        loop {
            let reused = self.has_sessions();
            match self
                .fetch_once(driver, deadline, report, with_address, build)
                .await
            {
                Err(Error::Connect { .. }) if reused && !reopened => {
                    reopened = true;
                    self.close_sessions();
                }
                Err(e) if per_source && no_such_record(&e) => {
                    if changed {
                        return Err(Error::ReportChanged {
                            address: self.target.policy.address.clone(),
                            report: report.to_string_lossy().into_owned(),
                        });
                    }
                    changed = true;
                }
                other => return other,
            }
        }
    }

    async fn fetch_once<D: Driver, T, F>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
        report: &'static CStr,
        with_address: bool,
        build: &mut F,
    ) -> Result<Vec<T>>
    where
        F: for<'r, 's> FnMut(
            &Record<'r, dyn FieldSource + 's>,
            Option<SourceId>,
        ) -> Result<Option<T>>,
    {
        let policy = self.target.policy.clone();
        let mut out: Vec<(c_int, T)> = Vec::new();
        let mut addresses: Vec<(c_int, Option<SourceId>)> = Vec::new();
        let mut disabled = false;
        let mut handle = |job: &Job, r: Result<&Conn>| -> Result<Step> {
            match job.req {
                Req::Count(_) => {
                    let n = checked_count(&policy, r?, report)?;
                    let first = if with_address { c"sourcestats" } else { report };
                    Ok(Step {
                        same_session: None,
                        more: Some(Pending::Records {
                            report: first,
                            next: 0,
                            end: n,
                            tag: 0,
                        }),
                    })
                }
                Req::Record(name, i) if with_address && name != report => {
                    let conn = r?;
                    let rec = conn.record(name);
                    let address = Record::new(&rec as &dyn FieldSource)
                        .get_opt::<Option<SourceId>>("address")?
                        .flatten();
                    addresses.push((i, address));
                    // libchrony addresses the record by the sourcestats
                    // record this session holds: same session, next.
                    Ok(Step {
                        same_session: Some(Job {
                            req: Req::Record(report, i),
                            tag: 0,
                        }),
                        more: None,
                    })
                }
                Req::Record(_, i) => {
                    let conn = match r {
                        Ok(conn) => conn,
                        Err(e) if disabled_means_absent(report, &e) => {
                            disabled = true;
                            return Ok(Step::default());
                        }
                        Err(e) => return Err(e),
                    };
                    let address = addresses
                        .iter()
                        .position(|(j, _)| *j == i)
                        .and_then(|p| addresses.swap_remove(p).1);
                    let rec = conn.record(report);
                    if let Some(v) = build(&Record::new(&rec as &dyn FieldSource), address)? {
                        out.push((i, v));
                    }
                    Ok(Step::default())
                }
            }
        };
        let job = Job {
            req: Req::Count(report),
            tag: 0,
        };
        self.run(driver, deadline, [Pending::One(job)].into(), &mut handle)
            .await?;
        if disabled {
            return Ok(Vec::new());
        }
        // Records finish out of order over several sessions.
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }
}
