//! One exchange: re-sends on silence, the first valid reply of any
//! attempt, bad datagrams, a full socket queue.

use super::*;

#[test]
fn silence_resends_after_1_2_4_s_then_gives_up_at_7_s() {
    let fake = Fake::new(|_, _| vec![]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    let e = count(&fake, &mut engine).unwrap_err();
    assert_eq!(fake.request_times(), [Duration::ZERO, S, 3 * S]);
    assert_eq!(fake.elapsed(), 7 * S);
    match e {
        Error::Timeout {
            timeout,
            call_deadline: false,
            ..
        } => assert_eq!(timeout, 7 * S),
        other => panic!("{other:?}"),
    }
    // Each attempt went out on a socket of its own.
    let fds: Vec<c_int> = fake.world().requests.iter().map(|r| r.1).collect();
    assert!(fds[0] != fds[1] && fds[1] != fds[2] && fds[0] != fds[2]);
}

#[test]
fn the_first_valid_reply_of_any_attempt_wins() {
    // The first request is answered after 1.5 s, after the first re-send;
    // the re-send is answered later still.
    let fake = Fake::new(|n, _| match n {
        0 => vec![(1500 * MS, Datagram::Count(5))],
        _ => vec![(5 * S, Datagram::Count(9))],
    });
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 5);
    assert_eq!(fake.elapsed(), 1500 * MS);
    assert_eq!(fake.request_times(), [Duration::ZERO, S]);
    // The winner's session stays for the next call, the other is closed.
    let w = fake.world();
    assert_eq!(w.links.len(), 1);
    assert!(w.links.contains_key(&w.requests[0].1));
    assert_eq!(w.closed, [w.requests[1].1]);
}

#[test]
fn garbage_and_short_datagrams_are_lost_datagrams_over_udp() {
    // Garbage is ignored; a short reply ends its attempt, and a new one
    // goes out at once (not after the 1 s wait).
    let fake = Fake::new(|n, _| match n {
        0 => vec![(10 * MS, Datagram::Garbage), (20 * MS, Datagram::Short)],
        _ => vec![(10 * MS, Datagram::Count(3))],
    });
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 3);
    assert_eq!(fake.request_times(), [Duration::ZERO, 20 * MS]);
    assert_eq!(fake.elapsed(), 30 * MS);

    // Over the Unix socket a short reply is an error.
    let fake = Fake::new(|_, _| vec![(10 * MS, Datagram::Short)]);
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    match count(&fake, &mut engine).unwrap_err() {
        Error::Protocol { code, .. } => assert_eq!(code, ErrorCode::InvalidResponse),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_full_socket_queue_is_retried_with_a_growing_pause() {
    let fake = Fake::new(|_, _| vec![(5 * MS, Datagram::Count(2))]);
    fake.world().eagain = 4;
    let mut engine = fake.engine(Transport::Unix, 2, 1, 60 * S);
    assert_eq!(count(&fake, &mut engine).unwrap(), 2);
    // Pauses of 1, 2, 4 and 8 ms, then the send goes out.
    assert_eq!(fake.request_times(), [0, 1, 3, 7, 15].map(|m| m * MS));
    assert_eq!(fake.elapsed(), 20 * MS);
}

#[test]
fn datagrams_that_are_never_a_valid_reply_are_counted() {
    // Every attempt gets two foreign datagrams and nothing else.
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Garbage), (2 * MS, Datagram::Garbage)]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    let e = count(&fake, &mut engine).unwrap_err();
    match &e {
        Error::NoValidReply {
            datagrams,
            timeout,
            call_deadline: false,
            ..
        } => assert_eq!((*datagrams, *timeout), (6, 7 * S)),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("sent 6 datagram(s)"), "{e}");
    assert_eq!(fake.elapsed(), 7 * S);
    // Short replies, likewise (each one ends its attempt; the immediate
    // re-sends are bounded).
    let fake = Fake::new(|_, _| vec![(MS, Datagram::Short)]);
    let mut engine = fake.engine(Transport::Udp, 0, 1, 60 * S);
    match count(&fake, &mut engine).unwrap_err() {
        Error::NoValidReply { datagrams, .. } => {
            assert_eq!(
                datagrams,
                1 + u64::from(crate::engine::exchange::MAX_INVALID_RESENDS)
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_slow_reply_is_taken_from_the_first_attempt() {
    // 300 ms round trips, 200 ms timeout: the re-send at 200 ms is not
    // waited for; the first attempt's reply at 300 ms ends the exchange.
    let fake = Fake::new(|_, _| vec![(300 * MS, Datagram::Count(7))]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    engine.target.policy.timeout = 200 * MS;
    assert_eq!(count(&fake, &mut engine).unwrap(), 7);
    assert_eq!(fake.request_times(), [Duration::ZERO, 200 * MS]);
    assert_eq!(fake.elapsed(), 300 * MS);
    // Silent, 100 ms, 2 re-sends: 3 requests, over at 700 ms, which the
    // error reports.
    let fake = Fake::new(|_, _| vec![]);
    let mut engine = fake.engine(Transport::Udp, 2, 1, 60 * S);
    engine.target.policy.timeout = 100 * MS;
    match count(&fake, &mut engine).unwrap_err() {
        Error::Timeout { timeout, .. } => assert_eq!(timeout, 700 * MS),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.request_times(), [0, 100, 300].map(|m| m * MS));
    assert_eq!(fake.elapsed(), 700 * MS);
}
