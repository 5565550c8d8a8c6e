//! The `selectdata` report: per source, the state of chronyd's source
//! selection and the selection options.

use super::{interval_or_never, FromRecord};
use crate::error::{DataProblem, Result};
use crate::field::{FieldSource, FromField, Record};
use crate::types::chrony_enum;
use crate::{LeapStatus, RefId};
use std::fmt;

/// libchrony's field names for the selectdata report.
pub mod fields {
    /// `reference ID` (uinteger, reference ID)
    pub const REFERENCE_ID: &str = "reference ID";
    /// `address` (string; no value for reference clocks)
    pub const ADDRESS: &str = "address";
    /// `state` (uinteger, enum: the ASCII code of chronyc's state character)
    pub const STATE: &str = "state";
    /// `authentication` (uinteger, boolean)
    pub const AUTHENTICATION: &str = "authentication";
    /// `leap status` (uinteger, enum)
    pub const LEAP_STATUS: &str = "leap status";
    /// `configured options` (uinteger, flags)
    pub const CONFIGURED_OPTIONS: &str = "configured options";
    /// `effective options` (uinteger, flags)
    pub const EFFECTIVE_OPTIONS: &str = "effective options";
    /// `last sample ago` (uinteger, interval seconds)
    pub const LAST_SAMPLE_AGO: &str = "last sample ago";
    /// `score` (float, ratio)
    pub const SCORE: &str = "score";
    /// `low limit` (float, seconds)
    pub const LOW_LIMIT: &str = "low limit";
    /// `high limit` (float, seconds)
    pub const HIGH_LIMIT: &str = "high limit";
}

chrony_enum! {
    /// Selection state of a source (`state`, selectdata report): chronyd
    /// sends the ASCII code of the character `chronyc selectdata` prints
    /// (see [`SelectState::symbol`]). Names are libchrony's, in snake_case.
    ///
    /// ```
    /// use chrony::SelectState;
    /// assert_eq!(SelectState::from_raw(42), SelectState::Best);
    /// assert_eq!(SelectState::NotSynchronized.symbol(), 's');
    /// assert_eq!(SelectState::from_symbol('x'), SelectState::Falseticker);
    /// assert_eq!(SelectState::from_raw(86).symbol(), 'V'); // unknown, but printable
    /// ```
    SelectState {
        /// `N`: ignored (the `noselect` option).
        Ignored = 78 => "ignored",
        /// `s`: the source is not synchronized.
        NotSynchronized = 115 => "not_synchronized",
        /// `M`: not enough samples.
        MissingSamples = 77 => "missing_samples",
        /// `d`: unacceptable synchronization distance.
        UnacceptableDistance = 100 => "unacceptable_distance",
        /// `D`: large distance (above `maxdistance` relative to others).
        LargeDistance = 68 => "large_distance",
        /// `~`: jitter too large.
        Jittery = 126 => "jittery",
        /// `w`: waiting for other sources.
        WaitingForOthers = 119 => "waiting_for_others",
        /// `W`: missing selectable sources (`minsources` not reached).
        MissingSelectableSources = 87 => "missing_selectable_sources",
        /// `S`: stale (no recent samples).
        Stale = 83 => "stale",
        /// `O`: orphan (stratum equal to the local `orphan` stratum).
        Orphan = 79 => "orphan",
        /// `T`: not trusted (does not agree with the `trust` sources).
        NotTrusted = 84 => "not_trusted",
        /// `x`: falseticker.
        Falseticker = 120 => "falseticker",
        /// `P`: not preferred (a `prefer` source is selectable).
        NotPreferred = 80 => "not_preferred",
        /// `U`: waiting for an update.
        WaitingForUpdate = 85 => "waiting_for_update",
        /// `+`: combined with the best source.
        Combined = 43 => "combined",
        /// `*`: the best source, the one chronyd synchronizes to.
        Best = 42 => "best",
    }
}

impl SelectState {
    /// The character `chronyc selectdata` prints: the raw value as ASCII
    /// (also for values this crate does not know), `?` when it is not a
    /// printable character.
    pub fn symbol(self) -> char {
        match u8::try_from(self.raw()) {
            Ok(b) if b.is_ascii_graphic() => char::from(b),
            _ => '?',
        }
    }

    /// The state printed as `c` by chronyc.
    pub fn from_symbol(c: char) -> SelectState {
        SelectState::from_raw(u64::from(u32::from(c)))
    }
}

/// Selection options of a source (`configured options`, `effective
/// options`): the `noselect`, `prefer`, `trust` and `require` options of
/// its `server`/`refclock` line.
///
/// ```
/// # use chrony::SelectOptions;
/// let o = SelectOptions::from_raw(SelectOptions::PREFER | SelectOptions::TRUST);
/// assert!(o.prefer && o.trust && !o.noselect && !o.require);
/// assert_eq!(o.chronyc_string(), "-PT--");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SelectOptions {
    /// `noselect`: never selected.
    pub noselect: bool,
    /// `prefer`: preferred over other sources.
    pub prefer: bool,
    /// `trust`: assumed to be correct.
    pub trust: bool,
    /// `require`: must be selectable for any source to be selected.
    pub require: bool,
    /// The raw flags (unknown bits kept).
    pub raw: u64,
}

impl SelectOptions {
    /// Bit of `noselect`.
    pub const NOSELECT: u64 = 1;
    /// Bit of `prefer`.
    pub const PREFER: u64 = 2;
    /// Bit of `trust`.
    pub const TRUST: u64 = 4;
    /// Bit of `require`.
    pub const REQUIRE: u64 = 8;

    /// Decodes the raw flags.
    pub fn from_raw(raw: u64) -> SelectOptions {
        SelectOptions {
            noselect: raw & Self::NOSELECT != 0,
            prefer: raw & Self::PREFER != 0,
            trust: raw & Self::TRUST != 0,
            require: raw & Self::REQUIRE != 0,
            raw,
        }
    }

    /// The five characters chronyc prints (`N`, `P`, `T`, `R`, and a
    /// reserved `-`), `-` for an option not set.
    pub fn chronyc_string(&self) -> String {
        [
            (self.noselect, 'N'),
            (self.prefer, 'P'),
            (self.trust, 'T'),
            (self.require, 'R'),
            (false, '-'),
        ]
        .iter()
        .map(|&(on, c)| if on { c } else { '-' })
        .collect()
    }
}

impl FromField for SelectOptions {
    fn from_field<S: FieldSource + ?Sized>(
        s: &S,
        i: usize,
    ) -> std::result::Result<Self, DataProblem> {
        u64::from_field(s, i).map(SelectOptions::from_raw)
    }
}

/// One source of the selectdata report (`chronyc selectdata`).
///
/// ```
/// # use chrony::{LeapStatus, RefId, SelectData, SelectOptions, SelectState};
/// let s = SelectData {
///     reference_id: RefId(0xc000_0201),
///     address: "192.0.2.1".into(),
///     state: SelectState::Best,
///     authentication: false,
///     leap_status: LeapStatus::Normal,
///     configured_options: SelectOptions::from_raw(SelectOptions::PREFER),
///     effective_options: SelectOptions::from_raw(SelectOptions::PREFER),
///     last_sample_ago: Some(3),
///     score: 1.0,
///     low_limit: -1e-4,
///     high_limit: 2e-4,
/// };
/// assert_eq!(s.state.symbol(), '*');
/// assert!(s.is_selected());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SelectData {
    /// Reference ID of the source.
    pub reference_id: RefId,
    /// IP address as text, or for a reference clock its reference ID as text
    /// (`GPS0`), as chronyc prints it.
    pub address: String,
    /// Selection state.
    pub state: SelectState,
    /// The source is authenticated (NTS or a symmetric key).
    pub authentication: bool,
    /// Leap status the source announces.
    pub leap_status: LeapStatus,
    /// Selection options as configured.
    pub configured_options: SelectOptions,
    /// Selection options in effect (for example after `authselectmode`).
    pub effective_options: SelectOptions,
    /// Seconds since the last sample; `None` for "never" (0xFFFFFFFF).
    pub last_sample_ago: Option<u32>,
    /// Score of the source (for choosing the best among selectable ones).
    pub score: f64,
    /// Lower end of the source's interval, seconds.
    pub low_limit: f64,
    /// Upper end of the source's interval, seconds.
    pub high_limit: f64,
}

impl SelectData {
    /// True for the source chronyd synchronizes to (`*`).
    pub fn is_selected(&self) -> bool {
        self.state == SelectState::Best
    }
}

impl FromRecord for SelectData {
    const REPORT: &'static str = "selectdata";

    fn from_record<S: FieldSource + ?Sized>(r: &Record<'_, S>) -> Result<Option<Self>> {
        use fields::*;
        let reference_id: RefId = r.get(REFERENCE_ID)?;
        let address = super::source_name(r, reference_id)?;
        Ok(Some(SelectData {
            reference_id,
            address,
            state: r.get(STATE)?,
            authentication: r.get(AUTHENTICATION)?,
            leap_status: r.get(LEAP_STATUS)?,
            configured_options: r.get(CONFIGURED_OPTIONS)?,
            effective_options: r.get(EFFECTIVE_OPTIONS)?,
            last_sample_ago: interval_or_never(r, LAST_SAMPLE_AGO)?,
            score: r.get(SCORE)?,
            low_limit: r.get(LOW_LIMIT)?,
            high_limit: r.get(HIGH_LIMIT)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::more::fake::{Fake, V};
    use crate::FieldContent;

    fn fake() -> Fake {
        Fake::new("selectdata")
            .uc(fields::REFERENCE_ID, 0x5243_3000, FieldContent::ReferenceId)
            .s(fields::ADDRESS, None)
            .uc(fields::STATE, 42, FieldContent::Enum)
            .uc(fields::AUTHENTICATION, 0, FieldContent::Boolean)
            .uc(fields::LEAP_STATUS, 0, FieldContent::Enum)
            .uc("reserved #1", 0, FieldContent::None)
            .uc(fields::CONFIGURED_OPTIONS, 0, FieldContent::Flags)
            .uc(fields::EFFECTIVE_OPTIONS, 0, FieldContent::Flags)
            .uc(fields::LAST_SAMPLE_AGO, 0, FieldContent::IntervalSeconds)
            .f(fields::SCORE, 1.0)
            .f(fields::LOW_LIMIT, -1.9e-7)
            .f(fields::HIGH_LIMIT, 1.9e-7)
    }

    #[test]
    fn reference_clock_and_ntp_source() {
        let s = SelectData::from_record(&Record::new(&fake()))
            .unwrap()
            .unwrap();
        assert_eq!(s.address, "RC0");
        assert!(s.is_selected());
        assert_eq!(s.last_sample_ago, Some(0));
        let f = fake()
            .set(fields::ADDRESS, V::S(Some("192.0.2.7".into())))
            .set(fields::STATE, V::U(u64::from(b'D')))
            .set(fields::AUTHENTICATION, V::U(1))
            .set(fields::CONFIGURED_OPTIONS, V::U(1 | 8 | 32))
            .set(fields::EFFECTIVE_OPTIONS, V::U(4))
            .set(fields::LAST_SAMPLE_AGO, V::U(u64::from(u32::MAX)));
        let s = SelectData::from_record(&Record::new(&f)).unwrap().unwrap();
        assert_eq!(s.address, "192.0.2.7");
        assert_eq!(s.state, SelectState::LargeDistance);
        assert_eq!(s.state.symbol(), 'D');
        assert!(s.authentication);
        assert!(s.configured_options.noselect && s.configured_options.require);
        assert_eq!(s.configured_options.raw, 41);
        assert_eq!(s.configured_options.chronyc_string(), "N--R-");
        assert_eq!(s.effective_options.chronyc_string(), "--T--");
        assert_eq!(s.last_sample_ago, None);
        let bad = fake().set(fields::AUTHENTICATION, V::U(2));
        assert!(SelectData::from_record(&Record::new(&bad)).is_err());
    }

    #[test]
    fn state_symbols_round_trip() {
        for s in SelectState::ALL {
            assert_eq!(SelectState::from_symbol(s.symbol()), *s);
            assert!(s.name().is_some());
        }
        assert_eq!(SelectState::ALL.len(), 16);
        assert_eq!(SelectState::from_raw(0).symbol(), '?');
        assert_eq!(SelectState::from_raw(0), SelectState::Unknown(0));
    }
}
