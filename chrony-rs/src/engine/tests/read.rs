//! Reading reports: counts and records, re-reads, the re-open after a
//! restart, disabled and refused reports, the deadline.

use super::*;
use crate::engine::TypedBuild;
use crate::types::SourceId;

#[test]
fn a_count_the_records_contradict_is_read_again() {
    // 3 sources at first; source 2 is gone when its record is asked for;
    // the re-read sees 2.
    let reads = Arc::new(Mutex::new(0));
    let r = reads.clone();
    let fake = Fake::new(move |_, req| match req {
        Req::Count(_) => {
            let mut n = r.lock().unwrap();
            *n += 1;
            vec![(MS, Datagram::Count(if *n == 1 { 3 } else { 2 }))]
        }
        Req::Record(_, i) if i >= 2 => vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64 * 10))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 10]);
    assert_eq!(*reads.lock().unwrap(), 2);

    // A count that every read contradicts.
    let fake = Fake::new(move |_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(3))],
        Req::Record(_, i) if i >= 2 => vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    match values(&fake, &mut engine) {
        Err(Error::CountContradicted { count, served, .. }) => assert_eq!((count, served), (3, 2)),
        other => panic!("{other:?}"),
    }
    let counts = fake
        .world()
        .requests
        .iter()
        .filter(|r| matches!(r.2, Req::Count(_)))
        .count();
    assert_eq!(counts, 1 + crate::engine::read::MAX_REREADS as usize);

    // A report that changes on every read: a source more each time, the
    // last one gone by the time its record is asked for.
    let reads = Arc::new(Mutex::new(0i64));
    let r = reads.clone();
    let fake = Fake::new(move |_, req| match req {
        Req::Count(_) => {
            let mut n = r.lock().unwrap();
            *n += 1;
            vec![(MS, Datagram::Count(2 + *n))]
        }
        Req::Record(_, i) if i64::from(i) > *r.lock().unwrap() => {
            vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))]
        }
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    assert!(matches!(
        values(&fake, &mut engine),
        Err(Error::ReportChanged { .. })
    ));
    assert_eq!(
        *reads.lock().unwrap(),
        1 + i64::from(crate::engine::read::MAX_REREADS)
    );
}

#[test]
fn a_forged_count_sends_no_request_past_the_first_missing_record() {
    // 1000 claimed, 2 served: once a record is missing, the rest of the
    // report is given up, not asked for.
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(1000))],
        Req::Record(_, i) if i >= 2 => vec![(MS, Datagram::Answer(ErrorCode::UnexpectedStatus))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    assert!(matches!(
        values(&fake, &mut engine),
        Err(Error::CountContradicted { .. })
    ));
    let records = fake
        .world()
        .requests
        .iter()
        .filter(|r| matches!(r.2, Req::Record(..)))
        .count();
    // Each of the three reads: at most the 4 sessions' worth in flight.
    assert!(records <= 3 * 4, "{records} record requests");
}

#[test]
fn a_restarted_chronyd_is_reopened_once() {
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Count(4))]);
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 4);
    let first = fake.world().requests[0].1;
    fake.world().generation += 1;
    assert_eq!(count(&fake, &mut engine).unwrap(), 4);
    let w = fake.world();
    assert_eq!(w.opened, 2);
    assert_eq!(w.closed, [first]);
    // The refused request on the old socket, then the new one.
    assert_eq!(w.requests.len(), 3);
    assert_eq!(w.requests[1].1, first);
    assert_ne!(w.requests[2].1, first);
}

#[test]
fn a_refusal_is_final_after_one_reopen_or_on_fresh_sessions() {
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Count(4))]);
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    fake.world().refuse_all = true;
    // Reused session refused: reopened once, refused again.
    assert!(matches!(
        count(&fake, &mut engine),
        Err(Error::Connect { .. })
    ));
    assert_eq!(fake.world().requests.len(), 2);
    assert_eq!(fake.world().opened, 2);
    // No session to reuse: the fresh one's refusal is final.
    assert!(!engine.has_sessions());
    assert!(matches!(
        count(&fake, &mut engine),
        Err(Error::Connect { .. })
    ));
    assert_eq!(fake.world().requests.len(), 3);
}

#[test]
fn a_single_record_report_is_read_without_a_count() {
    // No reply to a count request: asking one would time the call out.
    let fake = Fake::new(|_, req| match req {
        Req::Record(_, 0) => vec![(MS, Datagram::Record(42))],
        _ => vec![],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 8, 60 * S);
    let v = block_on(engine.collect(
        &mut fake.driver(),
        "tracking",
        |r: &Record<'_, dyn FieldSource + '_>, _| r.get::<u64>("value").map(Some),
    ))
    .unwrap();
    assert_eq!(v, [42]);
    let reqs: Vec<Req> = fake.world().requests.iter().map(|r| r.2).collect();
    assert_eq!(reqs, [Req::Record(c"tracking", 0)]);
}

#[test]
fn a_disabled_single_record_report_is_absent_only_where_its_model_says_so() {
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Answer(ErrorCode::Disabled))]);
    let mut engine = fake.engine(Transport::Unix, 2, 8, 60 * S);
    let rtc = block_on(engine.report::<crate::RtcData, _>(&mut fake.driver())).unwrap();
    assert!(rtc.is_none());
    let e = block_on(engine.report::<crate::Tracking, _>(&mut fake.driver())).unwrap_err();
    assert!(crate::engine::errors::is_disabled(&e), "{e:?}");
    // Each is its record request alone, on the one session.
    let w = fake.world();
    let reqs: Vec<Req> = w.requests.iter().map(|r| r.2).collect();
    assert_eq!(
        reqs,
        [Req::Record(c"rtcdata", 0), Req::Record(c"tracking", 0)]
    );
    assert_eq!(w.opened, 1);
}

#[test]
fn a_read_reopens_the_sessions_of_a_restarted_chronyd_once() {
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(3))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 2, 60 * S);
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2]);
    let old: Vec<c_int> = fake.world().links.keys().copied().collect();
    assert_eq!(old.len(), 2);
    // chronyd restarts: its old sockets are refused.
    fake.world().generation += 1;
    let sent = fake.world().requests.len();
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2]);
    let w = fake.world();
    // The refused count on an old session, then the whole read again on
    // new ones; the old sessions are closed.
    assert!(old.iter().all(|fd| w.closed.contains(fd)));
    let again = &w.requests[sent..];
    assert!(old.contains(&again[0].1));
    assert_eq!(again[0].2, Req::Count(c"sources"));
    assert!(again[1..].iter().all(|r| !old.contains(&r.1)));
    assert_eq!(again.len(), 1 + 4);
    drop(w);
    // Refused again on fresh sessions: the error is final, not a loop.
    fake.world().refuse_all = true;
    assert!(matches!(
        values(&fake, &mut engine),
        Err(Error::Connect { .. })
    ));
}

#[test]
fn a_count_past_max_records_is_refused_before_any_record_is_asked() {
    let max = crate::engine::read::MAX_RECORDS;
    for (sent, read_as) in [(max as i64 + 1, max as u64 + 1), (-1, u64::from(u32::MAX))] {
        let fake = Fake::new(move |_, req| match req {
            Req::Count(_) => vec![(MS, Datagram::Count(sent))],
            Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
        });
        let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
        match values(&fake, &mut engine) {
            Err(Error::TooManyRecords { count, limit, .. }) => {
                assert_eq!((count, limit), (read_as, max))
            }
            other => panic!("{other:?}"),
        }
        let reqs: Vec<Req> = fake.world().requests.iter().map(|r| r.2).collect();
        assert_eq!(reqs, [Req::Count(c"sources")]);
    }
    // MAX_RECORDS itself is a count like any other.
    let fake = Fake::new(move |_, _| vec![(MS, Datagram::Count(max as i64))]);
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), max);
}

/// Reads the fake's one field.
fn value(r: &Record<'_, dyn FieldSource + '_>, _: Option<SourceId>) -> Result<Option<u64>> {
    r.get::<u64>("value").map(Some)
}

/// A sink of the fake's records, for reading several reports at once.
fn sink(report: &str) -> ReportSink<u64, TypedBuild<u64>> {
    ReportSink::new(
        Descriptor::by_name(report).unwrap(),
        false,
        value as TypedBuild<u64>,
    )
    .unwrap()
}

#[test]
fn a_read_by_a_deadline_keeps_what_finished_and_times_out_the_rest() {
    // sources answers at once; sourcestats's records come after 5 s.
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(2))],
        Req::Record(r, i) if r == c"sourcestats" => vec![(5 * S, Datagram::Record(i as u64))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    let (mut a, mut b) = (sink("sources"), sink("sourcestats"));
    let mut driver = fake.driver();
    let now = driver.now();
    let deadline = Deadline::at(now, now + S);
    {
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut a, &mut b];
        block_on(engine.read(
            &mut driver,
            deadline,
            &mut sinks,
            |_| false,
            OnDeadline::KeepFinished,
        ))
        .unwrap();
    }
    assert_eq!(fake.elapsed(), S);
    assert!(a.error.is_none());
    assert_eq!(a.into_values(), [0, 1]);
    match b.error.take() {
        Some(Error::Timeout {
            report,
            operation,
            timeout,
            call_deadline: true,
            ..
        }) => {
            assert_eq!((report.as_str(), timeout), ("sourcestats", S));
            assert_eq!(operation, "2 request(s)");
        }
        other => panic!("{other:?}"),
    }
    // The two sessions waiting on sourcestats were closed, the idle ones
    // kept, and the next call is whole.
    assert_eq!(engine.slots.iter().flatten().count(), 2);
    assert_eq!(fake.world().links.len(), 2);
    let fake2 = fake.clone();
    fake2.world().script = Box::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(2))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1]);
}

#[test]
fn a_read_by_a_deadline_that_finished_nothing_fails() {
    let fake = Fake::new(|_, _| vec![(5 * S, Datagram::Count(2))]);
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    let (mut a, mut b) = (sink("sources"), sink("sourcestats"));
    let mut driver = fake.driver();
    let now = driver.now();
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut a, &mut b];
    let e = block_on(engine.read(
        &mut driver,
        Deadline::at(now, now + 2 * S),
        &mut sinks,
        |_| false,
        OnDeadline::KeepFinished,
    ))
    .unwrap_err();
    assert!(
        matches!(e, Error::Timeout { call_deadline: true, timeout, .. } if timeout == 2 * S),
        "{e:?}"
    );
    // Without KeepFinished the same deadline fails a read that finished
    // a report.
    let fake = Fake::new(|_, req| match req {
        Req::Record(r, _) if r == c"sourcestats" => vec![],
        Req::Count(_) => vec![(MS, Datagram::Count(1))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 4, 60 * S);
    let (mut a, mut b) = (sink("sources"), sink("sourcestats"));
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut a, &mut b];
    let mut driver = fake.driver();
    let now = driver.now();
    let e = block_on(engine.read(
        &mut driver,
        Deadline::at(now, now + S),
        &mut sinks,
        |_| false,
        OnDeadline::Fail,
    ))
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                call_deadline: true,
                ..
            }
        ),
        "{e:?}"
    );
}
