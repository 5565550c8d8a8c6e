//! One request and its attempts.
//!
//! - **Attempts stay alive.** libchrony draws a new sequence number for
//!   every request, so a re-send on the same session would make it ignore
//!   the reply to the earlier attempt. A re-send therefore goes out on a
//!   fresh socket and session, while the earlier ones keep listening; the
//!   first valid reply wins and the other attempts' sockets are closed (a
//!   late reply then has nowhere to go: nothing is left to drain).
//! - **Schedule as chronyc.** The first attempt waits `timeout`; each
//!   re-send doubles the wait; after `retries` re-sends the last wait ends
//!   the exchange. The call's deadline ends everything earlier.
//! - **Bad datagrams are lost datagrams** (UDP): a datagram libchrony
//!   ignores keeps the attempt waiting; a reply it rejects as invalid (too
//!   short for its report) ends that attempt only, and a new one is sent at
//!   once. Over the Unix socket an invalid reply is an error.
//! - **chronyd's answers end the exchange**: unauthorized, disabled, old or
//!   new server, an unexpected status.
//! - **A failed send is a lost datagram** (a full socket queue, `EAGAIN`,
//!   also for the follow-up request libchrony sends from inside
//!   `chrony_process_response`): it is tried again when the socket has
//!   room, or after a pause growing from 1 to 32 ms.
//!
//! Nothing here waits or reads the clock: every entry point takes `now`.

use super::driver::Interest;
use super::errors::{is_daemon_answer, is_would_block, map_error};
use super::link::{Link, Req, Session};
use super::policy::{Target, Transport, MAX_RETRIES, MAX_WAIT};
use crate::error::{Error, ErrorCode, Result};
use std::ffi::c_int;
use std::time::{Duration, Instant};

/// Immediate re-sends after invalid replies, per exchange, beyond the
/// scheduled ones (a daemon that only ever sends short replies must not
/// make us spin).
pub(crate) const MAX_INVALID_RESENDS: u32 = 16;
/// Datagrams processed at most per readiness event of one socket.
const MAX_DRAIN: usize = 256;
/// The first pause before an unsent request is tried again; doubled up to
/// [`MAX_SEND_BACKOFF`].
const SEND_BACKOFF: Duration = Duration::from_millis(1);
const MAX_SEND_BACKOFF: Duration = Duration::from_millis(32);

/// Where an attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttemptState {
    /// Its request is in flight: waiting for the reply.
    Live,
    /// Its send found the socket queue full (`EAGAIN`): waiting until the
    /// socket is writable to send again.
    Unsent,
    /// Over: its reply was invalid. The socket may carry a new attempt.
    Over,
}

/// One attempt: a session and where its request stands.
#[derive(Debug)]
struct Attempt<L, R> {
    session: Session<L, R>,
    state: AttemptState,
    /// For an unsent attempt: when to try the send again even without a
    /// writability event (a Unix datagram socket whose peer's queue is full
    /// raises none for an edge-triggered poller such as tokio's), and the
    /// growing pause between tries.
    retry_at: Instant,
    backoff: Duration,
    /// Its socket may hold more datagrams than one turn read.
    undrained: bool,
}

/// The attempt list of an exchange, kept empty between exchanges so that
/// the next one allocates nothing.
#[derive(Debug)]
pub(crate) struct Attempts<L, R>(Vec<Attempt<L, R>>);

impl<L, R> Default for Attempts<L, R> {
    fn default() -> Self {
        Attempts(Vec::new())
    }
}

/// Where an exchange stands.
#[derive(Debug)]
pub(crate) enum Status<L, R> {
    /// Still waiting.
    Waiting,
    /// A valid reply arrived on this session.
    Done(Session<L, R>),
    /// Failed for good.
    Failed(Error),
    /// chronyd answered with an error status (unauthorized, disabled, ...):
    /// the exchange is over, and the session that got the answer is idle
    /// and healthy.
    Refused(Error, Session<L, R>),
}

/// What starting an exchange gave.
#[derive(Debug)]
pub(crate) enum Started<L, R> {
    /// Sent; waiting for the reply.
    Sent(Exchange<L, R>),
    /// libchrony answered without asking chronyd (a single-record report's
    /// count, a reference clock's empty ntpdata/authdata record).
    Answered(Session<L, R>),
}

/// One request and its attempts.
#[derive(Debug)]
pub(crate) struct Exchange<L, R> {
    req: Req,
    attempts: Vec<Attempt<L, R>>,
    /// Scheduled attempts sent so far.
    sent: u32,
    invalid_resends: u32,
    /// The current attempt's wait.
    wait: Duration,
    /// When the next attempt goes out (or, after the last, when the
    /// exchange fails).
    next: Instant,
    /// The waits scheduled so far, together: what a timeout reports.
    budget: Duration,
    /// Datagrams that arrived and did not complete the reply (ignored or
    /// invalid ones).
    datagrams: u64,
    /// A new attempt waits for a socket of its own (see
    /// [`Exchange::take_socket`]).
    wants_socket: bool,
}

impl<L: Link, R> Exchange<L, R> {
    /// Sends the first attempt of `req` on `session` (opening one when
    /// `None`), with `attempts` as its (empty) attempt list. The caller
    /// has checked that `session` is usable ([`Link::is_usable`]).
    pub(crate) fn start(
        target: &Target<L>,
        session: Option<Session<L, R>>,
        req: Req,
        now: Instant,
        attempts: Attempts<L, R>,
    ) -> Result<Started<L, R>> {
        let Attempts(mut attempts) = attempts;
        attempts.clear();
        let session = match session {
            Some(s) => s,
            None => Session::new(L::open(&target.endpoint, &target.policy.address)?),
        };
        let wait = target.policy.first_wait();
        let mut ex = Exchange {
            req,
            attempts,
            sent: 1,
            invalid_resends: 0,
            wait,
            next: now + wait,
            budget: wait,
            datagrams: 0,
            wants_socket: false,
        };
        Ok(match ex.send_on(target, session, now)? {
            Some(done) => Started::Answered(done),
            None => Started::Sent(ex),
        })
    }

    /// Ends the exchange: the sockets of its attempts close now; their
    /// list is kept for another exchange.
    pub(crate) fn into_attempts(self) -> Attempts<L, R> {
        let mut attempts = self.attempts;
        attempts.clear();
        Attempts(attempts)
    }

    /// When the next attempt is due (or the exchange fails), or an unsent
    /// request is tried again, whichever comes first.
    pub(crate) fn next_timer(&self, now: Instant) -> Instant {
        if self.wants_socket {
            return now;
        }
        self.attempts
            .iter()
            .filter_map(|a| match a.state {
                AttemptState::Unsent => Some(a.retry_at),
                AttemptState::Live if a.undrained => Some(now),
                _ => None,
            })
            .fold(self.next, Instant::min)
    }

    /// The sessions to watch, with what for.
    pub(crate) fn watched(&self) -> impl Iterator<Item = (&Session<L, R>, Interest)> + '_ {
        self.attempts.iter().filter_map(|a| match a.state {
            AttemptState::Live => Some((&a.session, Interest::Read)),
            AttemptState::Unsent => Some((&a.session, Interest::Write)),
            AttemptState::Over => None,
        })
    }

    /// Every session of the exchange (for a driver's registrations).
    pub(crate) fn sessions_mut(&mut self) -> impl Iterator<Item = &mut Session<L, R>> + '_ {
        self.attempts.iter_mut().map(|a| &mut a.session)
    }

    /// Sends the request on `session` as a new attempt: `Some(session)`
    /// when libchrony answered it locally. A send that fails with `EAGAIN`
    /// is a lost datagram; other failures end the exchange.
    fn send_on(
        &mut self,
        target: &Target<L>,
        session: Session<L, R>,
        now: Instant,
    ) -> Result<Option<Session<L, R>>> {
        self.attempts.push(Attempt {
            session,
            state: AttemptState::Unsent,
            retry_at: now,
            backoff: SEND_BACKOFF,
            undrained: false,
        });
        let i = self.attempts.len() - 1;
        self.send_attempt(target, i, now)
    }

    /// (Re-)sends the request of attempt `i`: `Some(session)` (the attempt
    /// removed) when libchrony answered it locally.
    fn send_attempt(
        &mut self,
        target: &Target<L>,
        i: usize,
        now: Instant,
    ) -> Result<Option<Session<L, R>>> {
        let a = &mut self.attempts[i];
        a.state = match a.session.link.send(self.req) {
            Ok(()) if !a.session.link.needs_response() => {
                return Ok(Some(self.attempts.swap_remove(i).session));
            }
            Ok(()) => AttemptState::Live,
            // The socket queue is full (a busy or frozen chronyd): send
            // again when it has room, or after a growing pause.
            Err((ErrorCode::SendFailed, os)) if is_would_block(&os) => {
                a.retry_at = now + a.backoff;
                a.backoff = (a.backoff * 2).min(MAX_SEND_BACKOFF);
                AttemptState::Unsent
            }
            Err((code, os)) => return Err(map_error::<L>(&target.policy, self.req, code, os)),
        };
        Ok(None)
    }

    fn find(&self, fd: c_int, state: AttemptState) -> Option<usize> {
        self.attempts
            .iter()
            .position(|a| a.state == state && a.session.link.fd() == fd)
    }

    /// Sends the attempt waiting on a full queue whose socket `fd` has
    /// room now.
    pub(crate) fn on_writable(
        &mut self,
        target: &Target<L>,
        fd: c_int,
        now: Instant,
    ) -> Status<L, R> {
        let Some(i) = self.find(fd, AttemptState::Unsent) else {
            return Status::Waiting;
        };
        match self.send_attempt(target, i, now) {
            Ok(Some(done)) => Status::Done(done),
            Ok(None) => Status::Waiting,
            Err(e) => Status::Failed(e),
        }
    }

    /// Processes the datagrams waiting on `fd`.
    pub(crate) fn on_readable(
        &mut self,
        target: &Target<L>,
        fd: c_int,
        now: Instant,
    ) -> Status<L, R> {
        let Some(i) = self.find(fd, AttemptState::Live) else {
            return Status::Waiting;
        };
        self.attempts[i].undrained = false;
        for _ in 0..MAX_DRAIN {
            match self.attempts[i].session.link.process() {
                Ok(()) => {
                    if !self.attempts[i].session.link.needs_response() {
                        // The first valid reply wins; the other attempts'
                        // sockets close with the exchange.
                        return Status::Done(self.attempts.swap_remove(i).session);
                    }
                    // Ignored (wrong sequence, garbage) or a follow-up
                    // request sent: keep reading.
                    self.datagrams += 1;
                }
                Err((ErrorCode::RecvFailed, os)) if is_would_block(&os) => return Status::Waiting,
                Err((ErrorCode::InvalidResponse, _))
                    if target.policy.transport == Transport::Udp =>
                {
                    // A mangled reply is a lost datagram: this attempt is
                    // over, a new one goes out at once.
                    self.datagrams += 1;
                    self.attempts[i].state = AttemptState::Over;
                    return self.resend_now(target, now);
                }
                Err((ErrorCode::SendFailed, os)) if is_would_block(&os) => {
                    // libchrony's own follow-up request did not go out:
                    // send the request again when the socket has room.
                    let a = &mut self.attempts[i];
                    a.state = AttemptState::Unsent;
                    a.retry_at = now + a.backoff;
                    a.backoff = (a.backoff * 2).min(MAX_SEND_BACKOFF);
                    return Status::Waiting;
                }
                Err((code, os)) if is_daemon_answer(code) => {
                    let session = self.attempts.swap_remove(i).session;
                    return Status::Refused(
                        map_error::<L>(&target.policy, self.req, code, os),
                        session,
                    );
                }
                Err((code, os)) => {
                    return Status::Failed(map_error::<L>(&target.policy, self.req, code, os))
                }
            }
        }
        // Datagrams may still be queued: read on at the next turn (an
        // edge-triggered poller raises no new event for them).
        self.attempts[i].undrained = true;
        Status::Waiting
    }

    fn resend_now(&mut self, target: &Target<L>, now: Instant) -> Status<L, R> {
        if self.invalid_resends >= MAX_INVALID_RESENDS {
            // Leave it to the schedule.
            return Status::Waiting;
        }
        self.invalid_resends += 1;
        self.new_attempt(target, now)
    }

    fn new_attempt(&mut self, target: &Target<L>, now: Instant) -> Status<L, R> {
        // Reuse a finished attempt's socket when there is one: its session
        // accepts nothing but the reply to its newest request.
        let session = match self
            .attempts
            .iter()
            .position(|a| a.state == AttemptState::Over)
        {
            Some(i) => self.attempts.swap_remove(i).session,
            // Opening a socket may block (see `Driver::offload`): the
            // caller opens it and hands it over.
            None => {
                self.wants_socket = true;
                return Status::Waiting;
            }
        };
        self.send_new(target, session, now)
    }

    /// True when a new attempt waits for a socket: the caller opens one
    /// (where blocking harms nothing) and gives it to
    /// [`take_socket`](Self::take_socket).
    pub(crate) fn wants_socket(&self) -> bool {
        self.wants_socket
    }

    /// Sends the waiting attempt on the socket the caller opened.
    pub(crate) fn take_socket(
        &mut self,
        target: &Target<L>,
        opened: Result<L>,
        now: Instant,
    ) -> Status<L, R> {
        self.wants_socket = false;
        match opened {
            Ok(link) => self.send_new(target, Session::new(link), now),
            // Earlier attempts still listen: a socket that cannot be
            // opened now (no descriptors left, a directory being
            // replaced) is one lost datagram, not the end.
            Err(_) if self.attempts.iter().any(|a| a.state != AttemptState::Over) => {
                Status::Waiting
            }
            Err(e) => Status::Failed(e),
        }
    }

    fn send_new(
        &mut self,
        target: &Target<L>,
        session: Session<L, R>,
        now: Instant,
    ) -> Status<L, R> {
        match self.send_on(target, session, now) {
            Ok(Some(done)) => Status::Done(done),
            Ok(None) => Status::Waiting,
            Err(e) => Status::Failed(e),
        }
    }

    /// Reads what a turn left unread, retries unsent requests that are
    /// due, and re-sends when the current attempt's wait is over; fails
    /// after the last one.
    pub(crate) fn on_timer(&mut self, target: &Target<L>, now: Instant) -> Status<L, R> {
        let undrained: Vec<c_int> = self
            .attempts
            .iter()
            .filter(|a| a.state == AttemptState::Live && a.undrained)
            .map(|a| a.session.link.fd())
            .collect();
        for fd in undrained {
            let status = self.on_readable(target, fd, now);
            if !matches!(status, Status::Waiting) {
                return status;
            }
        }
        let mut i = 0;
        while i < self.attempts.len() {
            let a = &self.attempts[i];
            if a.state == AttemptState::Unsent && a.retry_at <= now {
                match self.send_attempt(target, i, now) {
                    Ok(Some(done)) => return Status::Done(done),
                    Ok(None) => {}
                    Err(e) => return Status::Failed(e),
                }
            }
            i += 1;
        }
        if now < self.next {
            return Status::Waiting;
        }
        let policy = &target.policy;
        if self.sent > policy.retries.min(MAX_RETRIES) {
            return Status::Failed(self.timed_out(target, self.budget, false));
        }
        self.sent += 1;
        self.wait = self.wait.saturating_mul(2).min(MAX_WAIT);
        self.next = now + self.wait;
        self.budget = self.budget.saturating_add(self.wait);
        self.new_attempt(target, now)
    }

    /// The error of an exchange whose time (`timeout`) ran out: silence,
    /// or datagrams none of which was a valid reply.
    pub(crate) fn timed_out(
        &self,
        target: &Target<L>,
        timeout: Duration,
        call_deadline: bool,
    ) -> Error {
        let address = target.policy.address.clone();
        let report = self.req.report_name();
        let operation = self.req.described();
        if self.datagrams > 0 {
            Error::NoValidReply {
                address,
                report,
                operation,
                datagrams: self.datagrams,
                timeout,
                call_deadline,
            }
        } else {
            Error::Timeout {
                address,
                report,
                operation,
                timeout,
                call_deadline,
            }
        }
    }
}
