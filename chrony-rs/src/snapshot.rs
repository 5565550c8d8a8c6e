//! Every report at once: [`Snapshot`].

use crate::engine::{
    Deadline, Driver, Engine, Link, OnDeadline, ReportSink, Sink, Transport, TypedBuild,
};
use crate::error::{Error, ErrorCode, Result};
use crate::reports::{Descriptor, FromRecord, ReportShape};
use std::time::Instant;

/// The [`Absence::absent`] label of a report a
/// [`Client::snapshot_of`](crate::Client::snapshot_of) did not choose: it
/// was not asked for.
pub const NOT_REQUESTED: &str = "not_requested";

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

    /// Why the report is missing, if it is.
    ///
    /// ```
    /// use chrony::snapshot::Part;
    /// assert!(Part::Present(3).absence().is_none());
    /// ```
    pub fn absence(&self) -> Option<&Absence> {
        match self {
            Part::Present(_) => None,
            Part::Absent(a) => Some(a),
        }
    }

    /// False for a report the snapshot did not ask for
    /// ([`NOT_REQUESTED`]).
    ///
    /// ```
    /// use chrony::snapshot::Part;
    /// assert!(Part::Present(3).was_requested());
    /// ```
    pub fn was_requested(&self) -> bool {
        self.absence().is_none_or(|a| a.absent != NOT_REQUESTED)
    }
}

/// Why a report is missing from a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Absence {
    /// A stable label: `unauthorized` (not served over this transport),
    /// `disabled`, `old_server`, `new_server`, `unexpected_status`,
    /// `bad_data`, [`TIMEOUT`] (not finished by the deadline of a
    /// [`Client::snapshot_until`](crate::Client::snapshot_until)) or
    /// [`NOT_REQUESTED`] (not chosen for a
    /// [`Client::snapshot_of`](crate::Client::snapshot_of)).
    pub absent: String,
    /// The error's text.
    pub message: String,
}

/// The snapshot's struct: a field per report of the list.
macro_rules! snapshot_struct {
    ($($field:ident: $model:ty => $out:ty, $doc:literal;)*) => {
        /// Every report chronyd serves on the client's transport, read at
        /// once over the client's sessions.
        ///
        /// ```no_run
        /// let mut client = chrony::Client::connect("/run/chrony/chronyd.sock")?;
        /// let snap = client.snapshot()?;
        /// if let Some(t) = snap.tracking.present() {
        ///     println!("within {:e} s of true time", t.clock_error_bound());
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
            pub address: crate::address::Address,
            /// The transport it was read over.
            pub transport: Transport,
            $(
                #[doc = $doc]
                pub $field: Part<$out>,
            )*
        }
    };
}
crate::reports::each_report!(snapshot_struct);

/// The [`Absence::absent`] label of a report a
/// [`Client::snapshot_until`](crate::Client::snapshot_until) could not
/// finish by its deadline.
pub const TIMEOUT: &str = "timeout";

/// The label of an error that makes a report absent rather than the
/// snapshot failed: chronyd's own refusals, and data this crate rejects.
fn absence_label(e: &Error) -> Option<&'static str> {
    Some(match e {
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
    })
}

fn absence(label: &str, e: &Error) -> Absence {
    Absence {
        absent: label.to_string(),
        message: e.to_string(),
    }
}

/// One report of a snapshot as it is read: its sink, whether it was
/// chosen, and the error that made it absent.
struct Slot<T: FromRecord> {
    sink: ReportSink<T, TypedBuild<T>>,
    chosen: bool,
}

impl<T: FromRecord> Slot<T> {
    fn new(chosen: &dyn Fn(&Descriptor) -> bool) -> Result<Self> {
        Ok(Slot {
            sink: ReportSink::typed()?,
            chosen: chosen(&T::DESCRIPTOR),
        })
    }

    fn part(mut self) -> Part<<T::Shape as ReportShape<T>>::Output> {
        if !self.chosen {
            return Part::Absent(Absence {
                absent: NOT_REQUESTED.to_string(),
                message: format!("report {} was not requested", T::DESCRIPTOR.name),
            });
        }
        if let Some(e) = self.sink.error.take() {
            let label = match &e {
                Error::Timeout { .. } | Error::NoValidReply { .. } => TIMEOUT,
                e => absence_label(e).unwrap_or("error"),
            };
            return Part::Absent(absence(label, &e));
        }
        // A required single record that chronyd did not send is missing
        // data.
        match self.sink.output() {
            Ok(v) => Part::Present(v),
            Err(e) => Part::Absent(absence("bad_data", &e)),
        }
    }
}

impl<L: Link, R: Send + Sync> Engine<L, R> {
    /// Reads every report at once, or those of `only` (see [`Snapshot`]),
    /// by the client's deadline, or by `until` keeping the reports finished
    /// by then.
    pub(crate) async fn snapshot<D: Driver<L, Registration = R>>(
        &mut self,
        driver: &mut D,
        only: Option<&[&str]>,
        until: Option<Instant>,
    ) -> Result<Snapshot> {
        if let Some(names) = only {
            for name in names {
                Descriptor::by_name(name)?;
            }
        }
        let chosen = |d: &Descriptor| only.is_none_or(|names| names.contains(&d.name));
        macro_rules! read {
            ($($field:ident: $model:ty => $out:ty, $doc:literal;)*) => {{
                $( let mut $field = Slot::<$model>::new(&chosen)?; )*
                let mut sinks: Vec<&mut (dyn Sink + Send)> = Vec::new();
                $( if $field.chosen { sinks.push(&mut $field.sink); } )*
                let now = driver.now();
                let (deadline, on_deadline) = match until {
                    Some(at) => (Deadline::at(now, at), OnDeadline::KeepFinished),
                    None => (self.call_deadline(now), OnDeadline::Fail),
                };
                self.read(driver, deadline, &mut sinks, |e| absence_label(e).is_some(), on_deadline)
                    .await?;
                drop(sinks);
                Snapshot {
                    address: crate::address::Address::from_shown(&self.target.policy.address),
                    transport: self.target.policy.transport,
                    $( $field: $field.part(), )*
                }
            }};
        }
        Ok(crate::reports::each_report!(read))
    }
}
