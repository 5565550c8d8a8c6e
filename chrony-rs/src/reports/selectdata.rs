//! The `selectdata` report: per source, the state of chronyd's source
//! selection and the selection options.

use crate::types::chrony_enum;
use crate::types::{LeapStatus, RefId, SourceId};
use std::fmt;
use std::time::Duration;

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

flag_set! {
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
    pub struct SelectOptions {
        /// `noselect`: never selected.
        noselect = NOSELECT = 1;
        /// `prefer`: preferred over other sources.
        prefer = PREFER = 2;
        /// `trust`: assumed to be correct.
        trust = TRUST = 4;
        /// `require`: must be selectable for any source to be selected.
        require = REQUIRE = 8;
    }
}

impl SelectOptions {
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

report! {
    /// One source of the selectdata report (`chronyc selectdata`).
    ///
    /// ```
    /// use chrony::{FromRecord, Record, SelectData};
    /// let s = SelectData::from_record(&Record::new(&chrony_testkit::scenarios::selectdata_refclock_best()))?.unwrap();
    /// assert_eq!(s.state.symbol(), '*');
    /// assert!(s.is_selected() && s.address.is_reference_clock());
    /// # Ok::<(), chrony::Error>(())
    /// ```
    pub struct SelectData in "selectdata" as PerSource {
        /// Reference ID of the source.
        reference_id: RefId = "reference ID", ReferenceId, required;
        /// The source as chronyc prints it (see [`SourceId`]); libchrony's
        /// `address` has no value for reference clocks, which are named by
        /// their reference ID.
        address: SourceId = "address", Address, required by super::convert::address_or_refclock;
        /// Selection state.
        state: SelectState = "state", Enum, required;
        /// The source is authenticated (NTS or a symmetric key).
        authentication: bool = "authentication", Boolean, required;
        /// Leap status the source announces.
        leap_status: LeapStatus = "leap status", Enum, required;
        /// Selection options as configured.
        configured_options: SelectOptions = "configured options", Flags, required;
        /// Selection options in effect (for example after `authselectmode`).
        effective_options: SelectOptions = "effective options", Flags, required;
        /// Time since the last sample (whole seconds); `None` for "never"
        /// (0xFFFFFFFF).
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::whole_seconds_opt"))]
        last_sample_ago: Option<Duration> = "last sample ago", IntervalSeconds, required as super::convert::Never;
        /// Score of the source (for choosing the best among selectable ones).
        score: f64 = "score", Ratio, required;
        /// Lower end of the source's interval, seconds.
        low_limit: f64 = "low limit", IntervalSeconds, required;
        /// Upper end of the source's interval, seconds.
        high_limit: f64 = "high limit", IntervalSeconds, required;
    }
}

impl SelectData {
    /// True for the source chronyd synchronizes to (`*`).
    pub fn is_selected(&self) -> bool {
        self.state == SelectState::Best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
