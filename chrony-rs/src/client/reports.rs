//! Every report method of [`Client`]: the typed `report::<T>()`, one named
//! method per report of the list (made by `report_methods!`), and the
//! generic records.
//!
//! Over UDP chronyd serves `tracking`, `sources`, `sourcestats`, `rtcdata`,
//! `activity` and `smoothing`; `serverstats`, `selectdata`, `ntpdata` and
//! `authdata` are refused with [`Error::Unauthorized`](crate::error::Error::Unauthorized) and need the Unix
//! socket.

use super::Client;
use crate::blocking::block_on;
use crate::error::Result;
use crate::generic::GenericRecord;
use crate::reports::{FromRecord, ReportShape};
use crate::surface::report_methods;

impl Client {
    /// Reads any typed report, with the same result as its named method:
    /// the model for single-record reports ([`Tracking`](crate::Tracking),
    /// [`Activity`](crate::Activity), [`ServerStats`](crate::ServerStats)),
    /// an `Option` for those chronyd may have disabled
    /// ([`RtcData`](crate::RtcData), [`Smoothing`](crate::Smoothing)), a
    /// `Vec` for per-source reports; the model's [`FromRecord::Shape`]
    /// decides.
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

    crate::reports::each_report!(
        report_methods,
        [] [] "",
        "let mut client = chrony::Client::connect(\"/run/chrony/chronyd.sock\")?;",
        "# Ok::<(), chrony::Error>(())";
    );
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
