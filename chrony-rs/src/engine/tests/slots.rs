//! One call over the slots: its deadline, cancellation, sessions that
//! cannot open, sessions of another process.

use super::*;

#[test]
fn the_whole_call_deadline_ends_the_call() {
    let fake = Fake::new(|_, _| vec![]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 2500 * MS);
    match count(&fake, &mut engine).unwrap_err() {
        Error::Timeout {
            timeout,
            call_deadline: true,
            ..
        } => assert_eq!(timeout, 2500 * MS),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.elapsed(), 2500 * MS);
    assert_eq!(fake.request_times(), [Duration::ZERO, S]);
}

#[test]
fn a_cancelled_call_closes_the_sessions_in_flight_only() {
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(4))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 2, 60 * S);
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2, 3]);
    assert!(engine.slots.iter().all(Option::is_some));
    let closed_before = fake.world().closed.len();

    // The next call stops at its first wait, with the count in flight on
    // slot 0's session; slot 1's stays idle. Then it is dropped.
    let mut driver = fake.driver();
    driver.pending_once = true;
    {
        let future = engine.count(&mut driver, c"sources");
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::from(Arc::new(NoWake));
        assert!(future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    let in_flight = fake.world().requests.last().unwrap().1;
    assert_eq!(fake.world().closed.len(), closed_before + 1);
    assert_eq!(fake.world().closed.last(), Some(&in_flight));
    assert!(engine.slots[0].is_none() && engine.slots[1].is_some());

    // The next call is whole and correct.
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2, 3]);
}

#[test]
fn a_session_that_cannot_open_shrinks_the_call() {
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(10))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    // 8 sessions wanted, descriptors for 2.
    fake.world().max_links = Some(2);
    let mut engine = fake.engine(Transport::Unix, 2, 8, 60 * S);
    assert_eq!(
        values(&fake, &mut engine).unwrap(),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(fake.world().peak_links, 2);
    assert_eq!(engine.slots.iter().flatten().count(), 2);
    // Not even one: the call fails, naming the cause.
    engine.close_sessions();
    fake.world().max_links = Some(0);
    match values(&fake, &mut engine).unwrap_err() {
        e @ Error::ResourceExhausted { .. } => assert_eq!(e.kind().as_str(), "resource_exhausted"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_forked_childs_sessions_are_dropped_each_checked_once_per_call() {
    let fake = Fake::new(|_, req| match req {
        Req::Count(_) => vec![(MS, Datagram::Count(3))],
        Req::Record(_, i) => vec![(MS, Datagram::Record(i as u64))],
    });
    let mut engine = fake.engine(Transport::Unix, 2, 2, 60 * S);
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2]);
    // Four requests on two sessions: only the one from before the call
    // was checked.
    assert_eq!(fake.world().usable_checks, 1);
    let parents: Vec<c_int> = {
        let mut w = fake.world();
        w.forks += 1;
        w.links.keys().copied().collect()
    };
    assert_eq!(parents.len(), 2);
    let sent = fake.world().requests.len();
    assert_eq!(values(&fake, &mut engine).unwrap(), [0, 1, 2]);
    let w = fake.world();
    // Each of the parent's two sessions checked once, found foreign and
    // closed; every request of the call went out on the child's own.
    assert_eq!(w.usable_checks, 1 + 2);
    assert!(parents.iter().all(|fd| w.closed.contains(fd)));
    assert!(w.requests[sent..].iter().all(|r| !parents.contains(&r.1)));
    assert_eq!(w.requests.len() - sent, 4);
}

struct NoWake;
impl std::task::Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn sessions_and_resend_sockets_are_opened_through_the_driver() {
    // 10 records over 4 sessions, every request answered only after a
    // re-send (the first attempt's reply never comes): each session and
    // each re-send's socket is opened by the driver's offload, none inline.
    let mut seen: Vec<Req> = Vec::new();
    let fake = Fake::new(move |_, req| {
        let reply = match req {
            Req::Count(_) => Datagram::Count(10),
            Req::Record(_, i) => Datagram::Record(i as u64),
        };
        // A request's first attempt goes unanswered, its re-send not.
        if seen.contains(&req) {
            vec![(MS, reply)]
        } else {
            seen.push(req);
            vec![]
        }
    });
    let mut engine = fake.engine(Transport::Udp, 2, 4, 60 * S);
    let before = fake.world().opened_inline;
    assert_eq!(
        values(&fake, &mut engine).unwrap(),
        (0..10).collect::<Vec<_>>()
    );
    let w = fake.world();
    assert_eq!(w.opened_inline, before, "opened on the caller's thread");
    // 3 more sessions, and a socket for each of the 11 re-sends.
    assert_eq!(w.opened_offloaded, 3 + 11);
}
