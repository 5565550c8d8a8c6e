//! Every report at once: [`Snapshot`].

use crate::error::{Error, ErrorCode, Result};
use crate::field::{FieldSource, Record};
use crate::reports::FromRecord;
use crate::runner::{
    disabled_means_absent, no_such_record, Core, Driver, Job, Pending, Step, PER_SOURCE,
};
use crate::session::{checked_count, Conn, Req};
use crate::{
    Activity, AuthData, NtpData, RtcData, SelectData, ServerStats, Smoothing, Source, SourceId,
    SourceStats, Tracking, Transport,
};
use std::collections::VecDeque;
use std::ffi::{c_int, CStr};
use std::time::Instant;

/// One report of a [`Snapshot`]: its value, or why chronyd did not serve
/// it.
///
/// In JSON a present report is its value as such; an absent one is
/// `{"absent": REASON, "message": TEXT}`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
#[non_exhaustive]
pub enum Part<T> {
    /// chronyd served the report.
    Present(T),
    /// chronyd refused the report (or served data this crate rejects).
    Absent(Absence),
}

impl<T> Part<T> {
    /// The value, if chronyd served it.
    ///
    /// ```
    /// use chrony::snapshot::Part;
    /// assert_eq!(Part::Present(3).present(), Some(&3));
    /// ```
    pub fn present(&self) -> Option<&T> {
        match self {
            Part::Present(v) => Some(v),
            Part::Absent(_) => None,
        }
    }
}

/// Why a report is missing from a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Absence {
    /// A stable label: `unauthorized` (not served over this transport),
    /// `disabled`, `old_server`, `new_server`, `unexpected_status` or
    /// `bad_data`.
    pub absent: String,
    /// The error's text.
    pub message: String,
}

/// Every report chronyd serves on the client's transport, read at once
/// over the client's sessions.
///
/// ```no_run
/// let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
/// let snap = client.snapshot()?;
/// if let Some(t) = snap.tracking.present() {
///     println!("offset {:+e} s", t.last_offset);
/// }
/// println!("{} sources", snap.sources.present().map_or(0, |s| s.len()));
/// # Ok::<(), chrony::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Snapshot {
    /// chronyd's address, as [`Client::address`](crate::Client::address)
    /// gives it.
    pub address: crate::Address,
    /// The transport it was read over.
    pub transport: Transport,
    /// `tracking`.
    pub tracking: Part<Tracking>,
    /// `sources`.
    pub sources: Part<Vec<Source>>,
    /// `sourcestats`.
    pub source_stats: Part<Vec<SourceStats>>,
    /// `selectdata` (Unix socket only).
    pub select_data: Part<Vec<SelectData>>,
    /// `ntpdata` (Unix socket only).
    pub ntp_data: Part<Vec<NtpData>>,
    /// `authdata` (Unix socket only).
    pub auth_data: Part<Vec<AuthData>>,
    /// `activity`.
    pub activity: Part<Activity>,
    /// `serverstats` (Unix socket only).
    pub server_stats: Part<ServerStats>,
    /// `smoothing`: `None` when time smoothing is off.
    pub smoothing: Part<Option<Smoothing>>,
    /// `rtcdata`: `None` when chronyd does not track an RTC.
    pub rtc_data: Part<Option<RtcData>>,
}

/// The reports of a snapshot, by tag.
const TRACKING: u32 = 0;
const SOURCES: u32 = 1;
const SOURCESTATS: u32 = 2;
const SELECTDATA: u32 = 3;
const NTPDATA: u32 = 4;
const AUTHDATA: u32 = 5;
const ACTIVITY: u32 = 6;
const SERVERSTATS: u32 = 7;
const SMOOTHING: u32 = 8;
const RTCDATA: u32 = 9;
const NAMES: [&CStr; 10] = [
    c"tracking",
    c"sources",
    c"sourcestats",
    c"selectdata",
    c"ntpdata",
    c"authdata",
    c"activity",
    c"serverstats",
    c"smoothing",
    c"rtcdata",
];

/// The label of an error that makes a report absent rather than the
/// snapshot failed: chronyd's own refusals, and data this crate rejects.
fn absence(e: &Error) -> Option<Absence> {
    let label = match e {
        Error::Unauthorized { .. } => "unauthorized",
        Error::BadData { .. } => "bad_data",
        Error::Protocol { code, .. } => match code {
            ErrorCode::Disabled => "disabled",
            ErrorCode::OldServer => "old_server",
            ErrorCode::NewServer => "new_server",
            ErrorCode::UnexpectedStatus => "unexpected_status",
            _ => return None,
        },
        _ => return None,
    };
    Some(Absence {
        absent: label.to_string(),
        message: e.to_string(),
    })
}

/// The values of one report as they come in.
#[derive(Default)]
struct Acc {
    tracking: Option<Tracking>,
    sources: Vec<(c_int, Source)>,
    source_stats: Vec<(c_int, SourceStats)>,
    select_data: Vec<(c_int, SelectData)>,
    ntp_data: Vec<(c_int, NtpData)>,
    auth_data: Vec<(c_int, AuthData)>,
    activity: Option<Activity>,
    server_stats: Option<ServerStats>,
    smoothing: Option<Smoothing>,
    rtc_data: Option<RtcData>,
    addresses: Vec<(c_int, Option<SourceId>)>,
    absent: [Option<Absence>; 10],
    /// Per-source reports whose records ran past the end (a source went
    /// away): re-read alone afterwards.
    changed: [bool; 10],
}

fn one<T: FromRecord>(r: &Record<'_, dyn FieldSource + '_>) -> Result<T> {
    T::from_record(r)?.ok_or_else(|| r.error("", crate::error::DataProblem::Missing))
}

fn sorted<T>(mut v: Vec<(c_int, T)>) -> Vec<T> {
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, t)| t).collect()
}

impl Acc {
    fn record(
        &mut self,
        tag: u32,
        index: c_int,
        r: &Record<'_, dyn FieldSource + '_>,
    ) -> Result<()> {
        match tag {
            TRACKING => self.tracking = Some(one(r)?),
            SOURCES => self
                .sources
                .extend(Source::from_record(r)?.map(|v| (index, v))),
            SOURCESTATS => self
                .source_stats
                .extend(SourceStats::from_record(r)?.map(|v| (index, v))),
            SELECTDATA => self
                .select_data
                .extend(SelectData::from_record(r)?.map(|v| (index, v))),
            NTPDATA => self
                .ntp_data
                .extend(NtpData::from_record(r)?.map(|v| (index, v))),
            AUTHDATA => {
                let address = self
                    .addresses
                    .iter()
                    .position(|(j, _)| *j == index)
                    .and_then(|p| self.addresses.swap_remove(p).1);
                if let Some(a) = AuthData::from_record(r)? {
                    self.auth_data.push((index, a.with_paired_address(address)));
                }
            }
            ACTIVITY => self.activity = Some(one(r)?),
            SERVERSTATS => self.server_stats = Some(one(r)?),
            SMOOTHING => self.smoothing = Some(one(r)?),
            _ => self.rtc_data = Some(one(r)?),
        }
        Ok(())
    }

    fn part<T>(&mut self, tag: u32, v: T) -> Part<T> {
        match self.absent[tag as usize].take() {
            Some(a) => Part::Absent(a),
            None => Part::Present(v),
        }
    }
}

impl Core {
    /// Reads every report at once (see [`Snapshot`]).
    pub(crate) async fn snapshot<D: Driver>(&mut self, driver: &mut D) -> Result<Snapshot> {
        let deadline = self.call_deadline();
        let reused = self.has_sessions();
        match self.snapshot_until(driver, deadline).await {
            // chronyd restarted: open fresh sessions once, within the same
            // deadline.
            Err(Error::Connect { .. }) if reused => {
                self.close_sessions();
                self.snapshot_until(driver, deadline).await
            }
            other => other,
        }
    }

    async fn snapshot_until<D: Driver>(
        &mut self,
        driver: &mut D,
        deadline: Instant,
    ) -> Result<Snapshot> {
        let policy = self.target.policy.clone();
        let mut acc = Acc::default();
        let pending: VecDeque<Pending> = (0..NAMES.len() as u32)
            .map(|tag| {
                Pending::One(Job {
                    req: Req::Count(NAMES[tag as usize]),
                    tag,
                })
            })
            .collect();
        let mut handle = |job: &Job, r: Result<&Conn>| -> Result<Step> {
            let tag = job.tag;
            let report = NAMES[tag as usize];
            if acc.absent[tag as usize].is_some() || acc.changed[tag as usize] {
                // The rest of a report already given up.
                return Ok(Step::default());
            }
            let conn = match r {
                Ok(conn) => conn,
                Err(e) if disabled_means_absent(report, &e) => return Ok(Step::default()),
                Err(e)
                    if PER_SOURCE.contains(&report)
                        && matches!(job.req, Req::Record(..))
                        && no_such_record(&e) =>
                {
                    acc.changed[tag as usize] = true;
                    return Ok(Step::default());
                }
                Err(e) => {
                    let absence = absence(&e).ok_or(e)?;
                    acc.absent[tag as usize] = Some(absence);
                    return Ok(Step::default());
                }
            };
            let result = match job.req {
                Req::Count(_) => {
                    let n = checked_count(&policy, conn, report)?;
                    let first = if tag == AUTHDATA {
                        c"sourcestats"
                    } else {
                        report
                    };
                    return Ok(Step {
                        same_session: None,
                        more: Some(Pending::Records {
                            report: first,
                            next: 0,
                            end: n,
                            tag,
                        }),
                    });
                }
                Req::Record(name, i) if tag == AUTHDATA && name != report => {
                    let rec = conn.record(name);
                    Record::new(&rec as &dyn FieldSource)
                        .get_opt::<Option<SourceId>>("address")
                        .map(|a| {
                            acc.addresses.push((i, a.flatten()));
                        })
                        .map(|()| {
                            Some(Job {
                                req: Req::Record(report, i),
                                tag,
                            })
                        })
                }
                Req::Record(_, i) => {
                    let rec = conn.record(report);
                    acc.record(tag, i, &Record::new(&rec as &dyn FieldSource))
                        .map(|()| None)
                }
            };
            match result {
                Ok(same_session) => Ok(Step {
                    same_session,
                    more: None,
                }),
                Err(e) => {
                    let absence = absence(&e).ok_or(e)?;
                    acc.absent[tag as usize] = Some(absence);
                    Ok(Step::default())
                }
            }
        };
        self.run(driver, deadline, pending, &mut handle).await?;

        // A per-source report that changed while it was read: read it again
        // alone (once more if it changes again, then ReportChanged).
        for tag in [SOURCES, SOURCESTATS, SELECTDATA, NTPDATA, AUTHDATA] {
            if !acc.changed[tag as usize] {
                continue;
            }
            let report = NAMES[tag as usize];
            let result = match tag {
                SOURCES => self
                    .fetch(driver, deadline, report, false, &mut |r, _| {
                        Source::from_record(r)
                    })
                    .await
                    .map(|v| acc.sources = numbered(v)),
                SOURCESTATS => self
                    .fetch(driver, deadline, report, false, &mut |r, _| {
                        SourceStats::from_record(r)
                    })
                    .await
                    .map(|v| acc.source_stats = numbered(v)),
                SELECTDATA => self
                    .fetch(driver, deadline, report, false, &mut |r, _| {
                        SelectData::from_record(r)
                    })
                    .await
                    .map(|v| acc.select_data = numbered(v)),
                NTPDATA => self
                    .fetch(driver, deadline, report, false, &mut |r, _| {
                        NtpData::from_record(r)
                    })
                    .await
                    .map(|v| acc.ntp_data = numbered(v)),
                _ => self
                    .fetch(driver, deadline, report, true, &mut |r, address| {
                        Ok(AuthData::from_record(r)?.map(|a| a.with_paired_address(address)))
                    })
                    .await
                    .map(|v| acc.auth_data = numbered(v)),
            };
            if let Err(e) = result {
                let absence = absence(&e).ok_or(e)?;
                acc.absent[tag as usize] = Some(absence);
            }
        }

        let tracking = acc.tracking.take();
        let activity = acc.activity.take();
        let server_stats = acc.server_stats.take();
        let smoothing = acc.smoothing.take();
        let rtc_data = acc.rtc_data.take();
        let sources = sorted(std::mem::take(&mut acc.sources));
        let source_stats = sorted(std::mem::take(&mut acc.source_stats));
        let select_data = sorted(std::mem::take(&mut acc.select_data));
        let ntp_data = sorted(std::mem::take(&mut acc.ntp_data));
        let auth_data = sorted(std::mem::take(&mut acc.auth_data));
        Ok(Snapshot {
            address: crate::Address::from_shown(&policy.address),
            transport: policy.transport,
            tracking: part_opt(&mut acc, TRACKING, tracking),
            sources: acc.part(SOURCES, sources),
            source_stats: acc.part(SOURCESTATS, source_stats),
            select_data: acc.part(SELECTDATA, select_data),
            ntp_data: acc.part(NTPDATA, ntp_data),
            auth_data: acc.part(AUTHDATA, auth_data),
            activity: part_opt(&mut acc, ACTIVITY, activity),
            server_stats: part_opt(&mut acc, SERVERSTATS, server_stats),
            smoothing: acc.part(SMOOTHING, smoothing),
            rtc_data: acc.part(RTCDATA, rtc_data),
        })
    }
}

/// A required single record: present, or its absence (a record chronyd
/// did not send at all is missing data).
fn part_opt<T>(acc: &mut Acc, tag: u32, v: Option<T>) -> Part<T> {
    match (acc.absent[tag as usize].take(), v) {
        (None, Some(v)) => Part::Present(v),
        (Some(a), _) => Part::Absent(a),
        (None, None) => {
            let e = Error::BadData {
                report: NAMES[tag as usize].to_string_lossy().into_owned(),
                field: String::new(),
                problem: crate::error::DataProblem::Missing,
            };
            Part::Absent(Absence {
                absent: "bad_data".into(),
                message: e.to_string(),
            })
        }
    }
}

/// Values already in record order, numbered.
fn numbered<T>(v: Vec<T>) -> Vec<(c_int, T)> {
    (0..).zip(v).collect()
}
