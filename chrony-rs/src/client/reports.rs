//! Every report method of [`Client`]: one per typed report, the generic
//! records and the typed `report::<T>()`, which the named methods call.
//!
//! Over UDP chronyd serves `tracking`, `sources`, `sourcestats`, `rtcdata`,
//! `activity` and `smoothing`; `serverstats`, `selectdata`, `ntpdata` and
//! `authdata` are refused with [`Error::Unauthorized`](crate::error::Error::Unauthorized) and need the Unix
//! socket.

use super::Client;
use crate::blocking::block_on;
use crate::error::Result;
use crate::generic::GenericRecord;
use crate::reports::activity::Activity;
use crate::reports::authdata::AuthData;
use crate::reports::ntpdata::NtpData;
use crate::reports::rtcdata::RtcData;
use crate::reports::selectdata::SelectData;
use crate::reports::serverstats::ServerStats;
use crate::reports::smoothing::Smoothing;
use crate::reports::sources::Source;
use crate::reports::sourcestats::SourceStats;
use crate::reports::tracking::Tracking;
use crate::reports::{FromRecord, ReportShape};

impl Client {
    /// Reads any typed report, with the same result as its named method:
    /// the model for single-record reports ([`Tracking`], [`Activity`],
    /// [`ServerStats`]), an `Option` for those chronyd may have disabled
    /// ([`RtcData`], [`Smoothing`]), a `Vec` for per-source reports; the
    /// model's [`FromRecord::Shape`] decides.
    ///
    /// ```no_run
    /// let mut c = chrony::Client::connect("127.0.0.1")?;
    /// let tracking: chrony::Tracking = c.report::<chrony::Tracking>()?;
    /// let sources: Vec<chrony::Source> = c.report::<chrony::Source>()?;
    /// let rtc: Option<chrony::RtcData> = c.report::<chrony::RtcData>()?;
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// Transport errors and [`Error::BadData`](crate::error::Error::BadData).
    pub fn report<T: FromRecord>(&mut self) -> Result<<T::Shape as ReportShape<T>>::Output> {
        block_on(self.engine.report::<T, _>(&mut self.driver))
    }

    /// Reads the tracking report.
    ///
    /// # Errors
    /// Transport errors and [`Error::BadData`](crate::error::Error::BadData).
    pub fn tracking(&mut self) -> Result<Tracking> {
        self.report::<Tracking>()
    }

    /// Reads the sources report, one entry per source.
    ///
    /// # Errors
    /// Transport errors and [`Error::BadData`](crate::error::Error::BadData).
    pub fn sources(&mut self) -> Result<Vec<Source>> {
        self.report::<Source>()
    }

    /// Reads the sourcestats report, one entry per source.
    ///
    /// # Errors
    /// Transport errors and [`Error::BadData`](crate::error::Error::BadData).
    pub fn source_stats(&mut self) -> Result<Vec<SourceStats>> {
        self.report::<SourceStats>()
    }

    /// Reads the rtcdata report: `Ok(None)` when chronyd does not track an
    /// RTC (it answers "no RTC", which libchrony reports as
    /// `CHRONY_DISABLED`); a real failure stays an error.
    ///
    /// # Errors
    /// Transport errors and [`Error::BadData`](crate::error::Error::BadData).
    pub fn rtc_data(&mut self) -> Result<Option<RtcData>> {
        self.report::<RtcData>()
    }

    /// Reads the activity report (`chronyc activity`). Served over UDP too.
    ///
    /// ```no_run
    /// let mut c = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// let a = c.activity()?;
    /// println!("{} sources online, {} offline", a.online_sources, a.offline_sources);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// Transport errors and [`Error::BadData`](crate::error::Error::BadData).
    pub fn activity(&mut self) -> Result<Activity> {
        self.report::<Activity>()
    }

    /// Reads the serverstats report (`chronyc serverstats`): chronyd's
    /// counters as an NTP and command server. Unix socket only.
    ///
    /// ```no_run
    /// let mut c = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// let s = c.server_stats()?;
    /// if let Some(n) = s.received_ntp_requests {
    ///     println!("{n} NTP requests");
    /// }
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Unauthorized`](crate::error::Error::Unauthorized) over UDP, transport errors and
    /// [`Error::BadData`](crate::error::Error::BadData).
    pub fn server_stats(&mut self) -> Result<ServerStats> {
        self.report::<ServerStats>()
    }

    /// Reads the smoothing report (`chronyc smoothing`): `Ok(None)` when
    /// time smoothing is not enabled in chronyd (`smoothtime` not
    /// configured; libchrony reports `CHRONY_DISABLED`). Served over UDP too.
    ///
    /// ```no_run
    /// let mut c = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// match c.smoothing()? {
    ///     Some(s) => println!("smoothing offset {} s, active {}", s.offset, s.flags.active),
    ///     None => println!("time smoothing not enabled"),
    /// }
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// Transport errors and [`Error::BadData`](crate::error::Error::BadData).
    pub fn smoothing(&mut self) -> Result<Option<Smoothing>> {
        self.report::<Smoothing>()
    }

    /// Reads the selectdata report (`chronyc selectdata`), one entry per
    /// source. Unix socket only.
    ///
    /// ```no_run
    /// let mut c = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// for s in c.select_data()? {
    ///     println!("{} {} {}", s.state.symbol(), s.address, s.state);
    /// }
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Unauthorized`](crate::error::Error::Unauthorized) over UDP, transport errors and
    /// [`Error::BadData`](crate::error::Error::BadData).
    pub fn select_data(&mut self) -> Result<Vec<SelectData>> {
        self.report::<SelectData>()
    }

    /// Reads the ntpdata report (`chronyc ntpdata`), one entry per NTP
    /// source (reference clocks have no NTP data and are left out). Unix
    /// socket only.
    ///
    /// ```no_run
    /// let mut c = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// for n in c.ntp_data()? {
    ///     println!("{} stratum {} offset {:+e} s tests {}", n.address, n.stratum, n.offset, n.flags.tests_string());
    /// }
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Unauthorized`](crate::error::Error::Unauthorized) over UDP, transport errors and
    /// [`Error::BadData`](crate::error::Error::BadData).
    pub fn ntp_data(&mut self) -> Result<Vec<NtpData>> {
        self.report::<NtpData>()
    }

    /// Reads the authdata report (`chronyc authdata`), one entry per NTP
    /// source (reference clocks are left out). Unix socket only.
    ///
    /// libchrony's authdata record does not carry the source's address, so
    /// for each source this method reads its sourcestats record, then its
    /// authdata record, and fills in [`AuthData::address`] from the former
    /// (libchrony addresses authdata record *i* by that very sourcestats
    /// record and reuses it, so the pair is consistent and costs no extra
    /// round trip).
    ///
    /// ```no_run
    /// let mut c = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// for a in c.auth_data()? {
    ///     println!("{:?} {} key {}", a.address, a.mode, a.key_id);
    /// }
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Unauthorized`](crate::error::Error::Unauthorized) over UDP, transport errors and
    /// [`Error::BadData`](crate::error::Error::BadData).
    pub fn auth_data(&mut self) -> Result<Vec<AuthData>> {
        self.report::<AuthData>()
    }
}

impl Client {
    /// Reads every record of `report` (any of [`REPORTS`](crate::REPORTS))
    /// as [`GenericRecord`]s. For `rtcdata` and `smoothing` a disabled
    /// feature (`CHRONY_DISABLED`) gives an empty list.
    ///
    /// ```no_run
    /// let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
    /// let ntp = client.records("ntpdata")?;
    /// for r in &ntp {
    ///     if let Some(addr) = r.get("remote address").and_then(|v| v.as_str()) {
    ///         println!("{addr}: {} fields", r.fields.len());
    ///     }
    /// }
    /// # Ok::<(), chrony::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownReport`](crate::Error::UnknownReport), transport
    /// errors ([`Error::Unauthorized`](crate::Error::Unauthorized) for
    /// reports chronyd serves only on its Unix socket) and
    /// [`Error::BadData`](crate::Error::BadData).
    pub fn records(&mut self, report: &str) -> Result<Vec<GenericRecord>> {
        self.fetch(report, |r| GenericRecord::from_source(r).map(Some))
    }
}
