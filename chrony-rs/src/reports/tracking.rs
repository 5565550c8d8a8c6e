//! The `tracking` report: the state of the system clock.

use crate::time::Timestamp;
use crate::types::{LeapStatus, RefId, SourceId};
use std::time::Duration;

/// chronyd's reference ID when it is synchronized to its own clock (the
/// `local` directive): 127.127.1.1.
pub const LOCAL_REFERENCE_ID: RefId = RefId(0x7f7f_0101);

report! {
    /// The tracking report (`chronyc tracking`): how the system clock is
    /// synchronized.
    ///
    /// Seconds are unmarked, ppm values end in `_ppm`. Signs are chronyd's: a
    /// positive `current_correction` means the system clock is behind (chronyc
    /// prints "fast"/"slow" instead of signs).
    ///
    /// ```
    /// use chrony::{FromRecord, Record, Tracking};
    /// use chrony_testkit::scenarios;
    /// let t = Tracking::from_record(&Record::new(&scenarios::tracking_synchronized()))?.unwrap();
    /// assert!(t.is_synchronized());
    /// assert!(!t.is_leap_pending());
    /// assert_eq!(t.reference_name(), "192.0.2.1");
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub struct Tracking in "tracking" as Single {
        /// Reference ID of the selected source (0 when unsynchronized,
        /// [`LOCAL_REFERENCE_ID`] for the local clock).
        reference_id: RefId = "reference ID", ReferenceId, required;
        /// Address of the selected source; `None` when there is none
        /// (reference clocks, the local clock, unsynchronized).
        address: Option<SourceId> = "address", Address, required;
        /// Stratum of the local clock (16: not synchronized, see
        /// [`Tracking::is_synchronized`]).
        stratum: u16 = "stratum", Count, required;
        /// Leap status.
        leap_status: LeapStatus = "leap status", Enum, required;
        /// Time of the last update from the reference (epoch when never).
        reference_time: Timestamp = "reference time", Time, required;
        /// Offset of the system clock that chronyd is still correcting, seconds.
        current_correction: f64 = "current correction", OffsetSeconds, required;
        /// Offset at the last clock update, seconds.
        last_offset: f64 = "last offset", OffsetSeconds, required;
        /// Long-term RMS of the offset, seconds.
        rms_offset: f64 = "RMS offset", MeasureSeconds, required;
        /// Frequency error of the system clock, ppm.
        frequency_ppm: f64 = "frequency offset", OffsetPpm, required;
        /// Residual frequency of the selected source, ppm.
        residual_frequency_ppm: f64 = "residual frequency", OffsetPpm, required;
        /// Estimated error bound of the frequency, ppm.
        skew_ppm: f64 = "skew", MeasurePpm, required;
        /// Total network delay to the stratum-1 root, seconds.
        root_delay: f64 = "root delay", MeasureSeconds, required;
        /// Total dispersion to the root, seconds.
        root_dispersion: f64 = "root dispersion", MeasureSeconds, required;
        /// Interval between the last two clock updates.
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::seconds"))]
        last_update_interval: Duration = "last update interval", IntervalSeconds, required as super::convert::FloatSeconds;
    }
}

impl Tracking {
    /// True when chronyd is synchronized to a source, as `chronyc waitsync`
    /// decides: leap status is not "unsynchronized", the reference ID is set
    /// and is not chronyd's own local clock ([`LOCAL_REFERENCE_ID`]), and
    /// the stratum is below 16.
    ///
    /// It is chronyd's own view and lags behind losing the sources:
    /// chronyd keeps answering "synchronized" for a while after every
    /// source became unreachable (seen for over 12 s in tests; with long
    /// polling intervals, until its next clock update fails, minutes), and
    /// meanwhile only its error estimate grows. To notice a lost source
    /// quickly, look at the sources instead: whether any is reachable and
    /// selected ([`Source::is_reachable`](crate::Source::is_reachable),
    /// [`Source::is_selected`](crate::Source::is_selected)) and how old its
    /// last sample is ([`Source::last_sample_ago`](crate::Source::last_sample_ago));
    /// and alert on [`clock_error_bound`](Self::clock_error_bound), which
    /// keeps growing with the root dispersion while no update comes.
    ///
    /// ```
    /// use chrony::{FromRecord, Record, Tracking};
    /// use chrony_testkit::scenarios;
    /// let local = Tracking::from_record(&Record::new(&scenarios::tracking_local_reference()))?.unwrap();
    /// assert!(!local.is_synchronized());
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub fn is_synchronized(&self) -> bool {
        self.leap_status != LeapStatus::Unsynchronized
            && self.reference_id.0 != 0
            && self.reference_id != LOCAL_REFERENCE_ID
            && self.stratum < 16
    }

    /// How far the system clock may be from true time, in seconds: the
    /// bound chronyc's documentation gives for `chronyc tracking`,
    /// |System time| + Root dispersion + Root delay / 2, that is
    /// `current_correction.abs() + root_dispersion + root_delay / 2.0`
    /// (assuming the stratum-1 server at the root is correct).
    ///
    /// This is the number to alert on. The other "offsets" answer other
    /// questions: [`current_correction`](Self::current_correction) is
    /// chronyc's "System time" (how far the clock is now from chronyd's
    /// estimate of true time, still being slewed away) and
    /// [`last_offset`](Self::last_offset) is the offset measured at the
    /// last clock update.
    ///
    /// ```
    /// use chrony::{FromRecord, Record, Tracking};
    /// use chrony_testkit::scenarios;
    /// let t = Tracking::from_record(&Record::new(&scenarios::tracking_synchronized()))?.unwrap();
    /// let bound = t.current_correction.abs() + t.root_dispersion + t.root_delay / 2.0;
    /// assert_eq!(t.clock_error_bound(), bound);
    /// println!("within {:.6} s of true time (system time {:+.6} s)", t.clock_error_bound(), t.current_correction);
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub fn clock_error_bound(&self) -> f64 {
        self.current_correction.abs() + self.root_dispersion + self.root_delay / 2.0
    }

    /// True when a leap second is announced (insert or delete).
    pub fn is_leap_pending(&self) -> bool {
        matches!(self.leap_status, LeapStatus::Insert | LeapStatus::Delete)
    }

    /// What chronyc shows as the reference name: the address, or the
    /// reference ID as text for a reference clock, or its hex form.
    pub fn reference_name(&self) -> String {
        match &self.address {
            Some(a) => a.to_string(),
            None => self.reference_id.label(),
        }
    }
}
