//! A health check as a user of the chrony crate would write it, with the tests a
//! user would copy into their own crate: the logic takes models, so it is
//! tested with `chrony_testkit::scenarios` (no chronyd needed) and run
//! against a real daemon in production.
//!
//! ```text
//! cargo run -p chrony-testkit --example health_check -- [ADDRESS]
//! cargo test -p chrony-testkit --example health_check
//! ```
use chrony::{Client, Source, Tracking};
use std::process::ExitCode;

/// The verdict of the check.
#[derive(Debug, PartialEq)]
enum Health {
    Ok,
    Warning(String),
    Critical(String),
}

/// Critical when not synchronized or possibly further than `max_error`
/// seconds from true time ([`Tracking::clock_error_bound`]);
/// a warning when a leap second is pending or fewer than `min_sources`
/// sources are reachable.
fn check(t: &Tracking, sources: &[Source], max_error: f64, min_sources: usize) -> Health {
    if !t.is_synchronized() {
        return Health::Critical(format!("not synchronized (leap status {})", t.leap_status));
    }
    let bound = t.clock_error_bound();
    if bound > max_error {
        return Health::Critical(format!(
            "clock error bound {bound:.6} s exceeds {max_error} s (system time {:+.6} s)",
            t.current_correction
        ));
    }
    let reachable = sources.iter().filter(|s| s.is_reachable()).count();
    if reachable < min_sources {
        return Health::Warning(format!(
            "only {reachable} of {} sources reachable",
            sources.len()
        ));
    }
    if t.is_leap_pending() {
        return Health::Warning(format!("leap second pending ({})", t.leap_status));
    }
    Health::Ok
}

fn main() -> ExitCode {
    let address = std::env::args().nth(1);
    let run = || -> chrony::Result<Health> {
        let mut c = match &address {
            Some(a) => Client::connect(a)?,
            None => Client::connect_default()?,
        };
        Ok(check(&c.tracking()?, &c.sources()?, 0.1, 1))
    };
    match run() {
        Ok(Health::Ok) => {
            println!("OK");
            ExitCode::SUCCESS
        }
        Ok(Health::Warning(w)) => {
            println!("WARNING: {w}");
            ExitCode::from(1)
        }
        Ok(Health::Critical(c)) => {
            println!("CRITICAL: {c}");
            ExitCode::from(2)
        }
        Err(e) => {
            println!("UNKNOWN: {}", e.chain());
            ExitCode::from(3)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrony::{FromRecord, Record};
    use chrony_testkit::fake;
    use chrony_testkit::scenarios;

    fn tracking(rec: chrony_testkit::FakeRecord) -> Tracking {
        Tracking::from_record(&Record::new(&rec)).unwrap().unwrap()
    }

    fn sources(recs: Vec<chrony_testkit::FakeRecord>) -> Vec<Source> {
        scenarios::build(&recs).unwrap()
    }

    #[test]
    fn healthy() {
        let t = tracking(scenarios::tracking_synchronized());
        let s = sources(vec![
            scenarios::source_selected(),
            scenarios::source_jittery(),
        ]);
        assert_eq!(check(&t, &s, 0.1, 1), Health::Ok);
    }

    #[test]
    fn unsynchronized_is_critical() {
        let t = tracking(scenarios::tracking_unsynchronized());
        assert!(matches!(check(&t, &[], 0.1, 0), Health::Critical(_)));
    }

    #[test]
    fn large_offset_is_critical() {
        // A typed builder: the scenario's tracking with this one field changed.
        let t = fake::tracking().current_correction(0.5).build();
        assert!(matches!(
            check(&t, &sources(vec![scenarios::source_selected()]), 0.1, 1),
            Health::Critical(c) if c.contains("clock error bound")
        ));
    }

    #[test]
    fn a_growing_root_dispersion_is_critical_too() {
        let t = fake::tracking().root_dispersion(0.2).build();
        assert!(t.current_correction.abs() < 0.1);
        assert!(matches!(check(&t, &[], 0.1, 0), Health::Critical(_)));
    }

    #[test]
    fn unreachable_sources_warn() {
        let t = tracking(scenarios::tracking_synchronized());
        let s = sources(vec![
            scenarios::source_selected(),
            scenarios::source_unreachable(),
        ]);
        assert_eq!(
            check(&t, &s, 0.1, 2),
            Health::Warning("only 1 of 2 sources reachable".into())
        );
    }

    #[test]
    fn leap_second_warns() {
        let t = tracking(scenarios::tracking_leap_insert());
        let s = sources(vec![scenarios::source_selected()]);
        assert!(matches!(check(&t, &s, 0.1, 1), Health::Warning(w) if w.contains("insert")));
    }

    #[test]
    fn many_sources() {
        let t = tracking(scenarios::tracking_synchronized());
        assert_eq!(
            check(&t, &sources(scenarios::sources_many(128)), 0.1, 100),
            Health::Ok
        );
    }
}
