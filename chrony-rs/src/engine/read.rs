//! Reading reports: one or several at once over a client's slots, each
//! report's records into its [`Sink`]. The rules that hold for every
//! report of a call:
//!
//! - **A count, then the records.** A per-source report's count comes
//!   first (checked against [`MAX_RECORDS`]); its records are then spread
//!   over the sessions. A single-record report is its one record request.
//! - **A report that changed is read again.** Records running past the
//!   count (a source went away while the report was read) make the report
//!   read again alone, up to [`MAX_REREADS`] times; then it fails with
//!   [`Error::ReportChanged`], or [`Error::CountContradicted`] when every
//!   read had the same count and missed the same record (a forged count).
//! - **A restarted chronyd is re-opened once.** A lost connection on
//!   sessions reused from an earlier call (chronyd restarted: its socket
//!   is a new one) closes them and the read starts again, once.
//! - **Errors per report or per call.** An error the caller's `keep`
//!   accepts ends its report only (chronyd refusing a report over UDP);
//!   any other fails the call.
//! - **The deadline.** By default the call's deadline fails the call; a
//!   read with [`OnDeadline::KeepFinished`] returns the reports finished
//!   by then and gives each unfinished one a timeout error of its own.

use super::driver::Driver;
use super::errors::{is_disabled, no_such_record};
use super::link::{Link, Req};
use super::policy::{Deadline, Policy};
use super::sink::{ReportSink, Sink, TypedBuild};
use super::slots::{Engine, Job, Queued, Step};
use crate::error::{Error, Result};
use crate::field::{FieldSource, Record};
use crate::reports::{Descriptor, FromRecord, ReportShape};
use crate::types::SourceId;
use std::ffi::{c_int, CStr};

/// The most records of one report this crate accepts: a record count above
/// it (a corrupted or forged reply) is [`Error::TooManyRecords`], never an
/// allocation or a loop of that size. chronyd serves far fewer sources.
pub const MAX_RECORDS: usize = 65_536;

/// Re-reads of a per-source report whose records ran past its count (a
/// source went away while it was read) before [`Error::ReportChanged`].
pub(crate) const MAX_REREADS: u32 = 2;

/// What a read does when the call's deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDeadline {
    /// The call fails with the timeout.
    Fail,
    /// The reports finished by then are kept; each unfinished one gets
    /// an [`Error::Timeout`] of its own in its sink. With none finished,
    /// the call fails with the timeout.
    KeepFinished,
}

/// One report of a read, over its re-reads.
#[derive(Debug, Default)]
struct ReportRead {
    /// It is (still) being read in this round.
    todo: bool,
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
    /// Its requests queued or in flight.
    pending: usize,
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

impl ReadState {
    /// Nothing more will come for it in this round.
    fn finished(&self) -> bool {
        self.gave_up || (self.pending == 0 && !self.changed)
    }
}

/// A record count from a link that just received one, checked against
/// [`MAX_RECORDS`].
pub(crate) fn checked_count<L: Link>(policy: &Policy, link: &L, report: &CStr) -> Result<usize> {
    let n = link.record_count();
    match usize::try_from(n) {
        Ok(n) if n <= MAX_RECORDS => Ok(n),
        _ => Err(Error::TooManyRecords {
            address: policy.address.clone(),
            report: report.to_string_lossy().into_owned(),
            // libchrony returns the wire's u32 as an int: undo the sign.
            count: u64::from(n as u32),
            limit: MAX_RECORDS,
        }),
    }
}

/// The call's deadline passed (not one exchange's attempts).
fn past_call_deadline(e: &Error) -> bool {
    matches!(
        e,
        Error::Timeout {
            call_deadline: true,
            ..
        } | Error::NoValidReply {
            call_deadline: true,
            ..
        }
    )
}

impl<L: Link, R: Send + Sync> Engine<L, R> {
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
        self.read(
            driver,
            deadline,
            &mut [&mut sink],
            |_| false,
            OnDeadline::Fail,
        )
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
        self.read(
            driver,
            deadline,
            &mut [&mut sink],
            |_| false,
            OnDeadline::Fail,
        )
        .await?;
        Ok(sink.into_values())
    }

    /// Reads the reports of `sinks` at once, by `deadline`: every count,
    /// then every record, spread over the sessions, under the rules of
    /// this module.
    pub(crate) async fn read<D, S>(
        &mut self,
        driver: &mut D,
        deadline: Deadline,
        sinks: &mut [&mut S],
        keep: fn(&Error) -> bool,
        on_deadline: OnDeadline,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        S: Sink + ?Sized,
    {
        let mut reads: Vec<ReportRead> = (0..sinks.len())
            .map(|_| ReportRead {
                todo: true,
                ..ReportRead::default()
            })
            .collect();
        self.read_rounds(driver, deadline, sinks, keep, on_deadline, &mut reads)
            .await
    }

    /// The rounds of a read: all reports first, then those that changed,
    /// alone, until none is left.
    async fn read_rounds<D, S>(
        &mut self,
        driver: &mut D,
        deadline: Deadline,
        sinks: &mut [&mut S],
        keep: fn(&Error) -> bool,
        on_deadline: OnDeadline,
        reads: &mut [ReportRead],
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        S: Sink + ?Sized,
    {
        let mut reopened = false;
        while reads.iter().any(|r| r.todo) {
            let reused = self.has_sessions();
            for (sink, read) in sinks.iter_mut().zip(reads.iter_mut()) {
                if read.todo {
                    sink.clear();
                    read.state = ReadState::default();
                }
            }
            match self.read_round(driver, deadline, sinks, reads, keep).await {
                Ok(()) => {}
                Err(Error::Connect { .. }) if reused && !reopened => {
                    reopened = true;
                    self.close_sessions();
                    continue;
                }
                Err(e) if on_deadline == OnDeadline::KeepFinished && past_call_deadline(&e) => {
                    return self.time_out_unfinished(e, deadline, sinks, reads);
                }
                Err(e) => return Err(e),
            }
            for (sink, read) in sinks.iter_mut().zip(reads.iter_mut()) {
                if !read.todo {
                    continue;
                }
                let state = std::mem::take(&mut read.state);
                read.todo = false;
                if !state.changed {
                    continue;
                }
                read.misses[read.rereads as usize] = (state.count, state.first_missing);
                read.rereads += 1;
                if read.rereads <= MAX_REREADS {
                    read.todo = true;
                    continue;
                }
                let e = self.changed_error(sink.report(), &read.misses);
                if !keep(&e) {
                    return Err(e);
                }
                sink.keep(e);
            }
        }
        Ok(())
    }

    /// A report that kept changing: the same count contradicted at the
    /// same record every time is no source coming or going but a wrong
    /// count.
    fn changed_error(&self, report: &CStr, misses: &[(Option<usize>, Option<c_int>)]) -> Error {
        let address = self.target.policy.address.clone();
        let report = report.to_string_lossy().into_owned();
        match misses[0] {
            (Some(count), Some(served)) if misses.iter().all(|m| *m == misses[0]) => {
                Error::CountContradicted {
                    address,
                    report,
                    count: count as u64,
                    served: u64::try_from(served).unwrap_or(0),
                }
            }
            _ => Error::ReportChanged { address, report },
        }
    }

    /// The deadline passed during a read that keeps what finished: each
    /// unfinished report gets a timeout of its own; with none finished,
    /// the call fails with `e`.
    fn time_out_unfinished<S: Sink + ?Sized>(
        &self,
        e: Error,
        deadline: Deadline,
        sinks: &mut [&mut S],
        reads: &[ReportRead],
    ) -> Result<()> {
        let unfinished = |r: &ReportRead| r.todo && !r.state.finished();
        if reads.iter().all(unfinished) {
            return Err(e);
        }
        for (sink, read) in sinks.iter_mut().zip(reads) {
            if !unfinished(read) {
                continue;
            }
            let operation = if read.state.changed {
                "a re-read".to_string()
            } else {
                format!("{} request(s)", read.state.pending)
            };
            sink.clear();
            sink.keep(Error::Timeout {
                address: self.target.policy.address.clone(),
                report: sink.report().to_string_lossy().into_owned(),
                operation,
                timeout: deadline.length,
                call_deadline: true,
            });
        }
        Ok(())
    }

    /// One round: the reports still to do, read at once.
    async fn read_round<D, S>(
        &mut self,
        driver: &mut D,
        deadline: Deadline,
        sinks: &mut [&mut S],
        reads: &mut [ReportRead],
        keep: fn(&Error) -> bool,
    ) -> Result<()>
    where
        D: Driver<L, Registration = R>,
        S: Sink + ?Sized,
    {
        for (i, (sink, read)) in sinks.iter().zip(reads.iter_mut()).enumerate() {
            if !read.todo {
                continue;
            }
            let plan = sink.plan();
            let tag = i as u32;
            read.state.pending = 1;
            if plan.single_record {
                // One record by definition (libchrony answers its count
                // itself): ask for it at once.
                read.state.count = Some(1);
                self.queue(Queued::Records {
                    report: plan.report,
                    next: 0,
                    end: 1,
                    tag,
                });
            } else {
                self.queue(Queued::One(Job {
                    req: Req::Count(plan.report),
                    tag,
                }));
            }
        }
        let mut handle = |policy: &Policy, job: &Job, r: Result<&L>| -> Result<Step> {
            let i = job.tag as usize;
            let (sink, state) = (&mut *sinks[i], &mut reads[i].state);
            state.pending = state.pending.saturating_sub(1);
            let step = handle_job(policy, job, r, &mut *sink, state, keep)?;
            if let Some(Queued::Records { next, end, .. }) = &step.more {
                state.pending += end - next;
            }
            if step.same_session.is_some() {
                state.pending += 1;
            }
            Ok(step)
        };
        self.run(driver, deadline, &mut handle).await
    }
}

/// What one finished job of a read gives its report, and what follows.
fn handle_job<L: Link, S: Sink + ?Sized>(
    policy: &Policy,
    job: &Job,
    r: Result<&L>,
    sink: &mut S,
    state: &mut ReadState,
    keep: fn(&Error) -> bool,
) -> Result<Step> {
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
        Err(e) if plan.disabled_means_absent && is_disabled(&e) => return Ok(Step::default()),
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
                more: Some(Queued::Records {
                    report: if plan.paired { plan.pair_with } else { report },
                    next: 0,
                    end: n,
                    tag: job.tag,
                }),
                ..Step::default()
            });
        }
        Req::Record(name, index) if plan.paired && name != plan.report => {
            let rec = link.record(name);
            Record::new(&rec as &dyn FieldSource)
                .get_opt::<Option<SourceId>>("address")
                .map(|address| {
                    state.addresses.push((index, address.flatten()));
                    // libchrony addresses the record by the sourcestats
                    // record this session holds: same session, next.
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
}
