//! The clients of one Python connection, shared by its threads (or tasks).
//!
//! A `chrony::Client` is `Send` but not `Sync`, and one call at a time
//! runs on it. A connection used by several threads at once keeps a small
//! pool instead of one client behind a lock (which would run their calls
//! one after the other): a call takes an idle client, or connects a new
//! one while fewer than [`MAX_CLIENTS`] exist, or waits for one to come
//! back, never longer than its deadline. A single-threaded program has one
//! client, as before. Every client is made with the same options and talks
//! to the same endpoint, so any idle one will do.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// The most clients (so calls running at once) one connection keeps; more
/// threads wait their turn. Each client holds up to two descriptors per
/// session (see `chrony::DEFAULT_CONCURRENCY`).
pub const MAX_CLIENTS: usize = 8;

/// Why no client was handed out.
#[derive(Debug)]
pub enum Unavailable<E> {
    /// The connection was closed.
    Closed,
    /// No client came back before the call's deadline.
    Busy,
    /// Connecting a new client failed.
    Connect(E),
}

/// Counts, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Clients waiting for a call.
    pub idle: usize,
    /// Clients that exist (idle, in a call, or being connected).
    pub open: usize,
}

#[derive(Debug)]
struct State<C> {
    idle: Vec<C>,
    open: usize,
    closed: bool,
}

/// Idle clients and the count of all of them; waiters are woken through
/// the `Condvar` of the blocking pool or the semaphore of the async one.
#[derive(Debug)]
struct Shelf<C> {
    state: Mutex<State<C>>,
}

impl<C> Shelf<C> {
    fn new(first: C) -> Self {
        Shelf {
            state: Mutex::new(State {
                idle: vec![first],
                open: 1,
                closed: false,
            }),
        }
    }

    /// A poisoned lock only means a thread panicked while holding it; the
    /// state is a list and two counters, consistent at every step.
    fn lock(&self) -> MutexGuard<'_, State<C>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the connection's clients away; they are dropped (closing
    /// their sessions) by the caller, outside the lock.
    fn close(&self) -> Vec<C> {
        let mut s = self.lock();
        s.closed = true;
        let clients = std::mem::take(&mut s.idle);
        s.open -= clients.len();
        clients
    }

    /// Puts a client back, or gives it back to be dropped when the
    /// connection was closed meanwhile.
    fn put(&self, client: C) -> Option<C> {
        let mut s = self.lock();
        if s.closed {
            s.open -= 1;
            return Some(client);
        }
        s.idle.push(client);
        None
    }

    fn counts(&self) -> Counts {
        let s = self.lock();
        Counts {
            idle: s.idle.len(),
            open: s.open,
        }
    }
}

/// What a call does when it gets no idle client at once.
enum Next<C> {
    Use(C),
    Connect,
    Wait,
}

impl<C> State<C> {
    /// An idle client, else the count of the one the caller is to connect
    /// while fewer than [`MAX_CLIENTS`] exist, else a wait; `None` when
    /// closed.
    fn next(&mut self) -> Option<Next<C>> {
        if self.closed {
            return None;
        }
        Some(match self.idle.pop() {
            Some(c) => Next::Use(c),
            None if self.open < MAX_CLIENTS => {
                self.open += 1;
                Next::Connect
            }
            None => Next::Wait,
        })
    }
}

/// The blocking connection's clients.
#[derive(Debug)]
pub struct Pool<C> {
    shelf: Shelf<C>,
    returned: Condvar,
}

impl<C> Pool<C> {
    /// A pool holding `first`, the client the connection opened with.
    pub fn new(first: C) -> Self {
        Pool {
            shelf: Shelf::new(first),
            returned: Condvar::new(),
        }
    }

    /// Runs `call` on a client, connecting one with `connect` when none is
    /// idle and fewer than [`MAX_CLIENTS`] exist, else waiting for one
    /// until `deadline`. Blocks: call it without the GIL.
    pub fn with_client<T, E>(
        &self,
        deadline: Instant,
        connect: impl FnOnce() -> Result<C, E>,
        call: impl FnOnce(&mut C) -> T,
    ) -> Result<T, Unavailable<E>> {
        let leased = {
            let mut s = self.shelf.lock();
            loop {
                match s.next().ok_or(Unavailable::Closed)? {
                    Next::Use(c) => break c,
                    Next::Connect => {
                        drop(s);
                        match connect() {
                            Ok(client) => break client,
                            Err(e) => {
                                self.shelf.lock().open -= 1;
                                self.returned.notify_one();
                                return Err(Unavailable::Connect(e));
                            }
                        }
                    }
                    Next::Wait => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Err(Unavailable::Busy);
                        }
                        s = self
                            .returned
                            .wait_timeout(s, left)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
            }
        };
        // Put back even when `call` panics (a panic is a bug, but the
        // client itself is still sound).
        struct Back<'a, C> {
            pool: &'a Pool<C>,
            leased: Option<C>,
        }
        impl<C> Drop for Back<'_, C> {
            fn drop(&mut self) {
                if let Some(c) = self.leased.take() {
                    drop(self.pool.shelf.put(c));
                    self.pool.returned.notify_one();
                }
            }
        }
        let mut back = Back {
            pool: self,
            leased: Some(leased),
        };
        let client = back.leased.as_mut().expect("just leased");
        Ok(call(client))
    }

    /// Closes the connection: idle clients are dropped now, the others
    /// when their call ends; waiting and later calls get
    /// [`Unavailable::Closed`].
    pub fn close(&self) {
        let clients = self.shelf.close();
        self.returned.notify_all();
        drop(clients);
    }

    /// Counts, for tests.
    pub fn counts(&self) -> Counts {
        self.shelf.counts()
    }
}

/// At most `n` holders at once, for the blocking connection's reads of
/// per-source reports over the Unix socket (see `Connection::bulk`).
#[derive(Debug)]
pub struct Gate {
    free: Mutex<usize>,
    returned: Condvar,
}

/// A place in a [`Gate`], given back when dropped.
#[derive(Debug)]
pub struct Pass<'a>(&'a Gate);

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.returned.notify_one();
    }
}

impl Gate {
    pub fn new(n: usize) -> Gate {
        Gate {
            free: Mutex::new(n),
            returned: Condvar::new(),
        }
    }

    /// A place, or `None` when none came free before `deadline`.
    pub fn enter(&self, deadline: Instant) -> Option<Pass<'_>> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            free = self
                .returned
                .wait_timeout(free, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *free -= 1;
        Some(Pass(self))
    }
}

/// The async connection's clients: a call waits for a permit of the
/// semaphore (one per client that may exist), so waiters are woken in
/// order and a cancelled wait leaves nothing behind.
#[derive(Debug)]
pub struct AsyncPool<C> {
    shelf: Shelf<C>,
    permits: tokio::sync::Semaphore,
}

/// A client taken from an [`AsyncPool`], returned when dropped (also when
/// the call's future is dropped, as on cancellation).
#[derive(Debug)]
pub struct Lease<'a, C> {
    pool: &'a AsyncPool<C>,
    leased: Option<C>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl<C> std::ops::Deref for Lease<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.leased
            .as_ref()
            .expect("a lease holds its client until dropped")
    }
}

impl<C> std::ops::DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.leased
            .as_mut()
            .expect("a lease holds its client until dropped")
    }
}

impl<C> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        if let Some(c) = self.leased.take() {
            drop(self.pool.shelf.put(c));
        }
    }
}

impl<C> AsyncPool<C> {
    /// A pool holding `first`, the client the connection opened with.
    pub fn new(first: C) -> Self {
        AsyncPool {
            shelf: Shelf::new(first),
            permits: tokio::sync::Semaphore::new(MAX_CLIENTS),
        }
    }

    /// A client: an idle one, or one `connect` makes, after waiting (until
    /// `deadline`) for a permit when [`MAX_CLIENTS`] calls are running.
    pub async fn lease<E, F>(
        &self,
        deadline: tokio::time::Instant,
        connect: impl FnOnce() -> F,
    ) -> Result<Lease<'_, C>, Unavailable<E>>
    where
        F: std::future::Future<Output = Result<C, E>>,
    {
        let permit = match tokio::time::timeout_at(deadline, self.permits.acquire()).await {
            Err(_) => return Err(Unavailable::Busy),
            Ok(Err(_)) => return Err(Unavailable::Closed),
            Ok(Ok(p)) => p,
        };
        let next = self.shelf.lock().next().ok_or(Unavailable::Closed)?;
        let client = match next {
            Next::Use(c) => c,
            // Not reached: with a permit, a client is idle or fewer than
            // MAX_CLIENTS exist.
            Next::Wait => return Err(Unavailable::Busy),
            Next::Connect => {
                // A failed or cancelled connect must not leave its count.
                struct Uncount<'a, C>(Option<&'a Shelf<C>>);
                impl<C> Drop for Uncount<'_, C> {
                    fn drop(&mut self) {
                        if let Some(shelf) = self.0 {
                            shelf.lock().open -= 1;
                        }
                    }
                }
                let mut uncount = Uncount(Some(&self.shelf));
                let client = connect().await.map_err(Unavailable::Connect)?;
                uncount.0 = None;
                client
            }
        };
        Ok(Lease {
            pool: self,
            leased: Some(client),
            _permit: permit,
        })
    }

    /// Closes the connection (see [`Pool::close`]).
    pub fn close(&self) {
        let clients = self.shelf.close();
        self.permits.close();
        drop(clients);
    }

    /// Counts, for tests.
    pub fn counts(&self) -> Counts {
        self.shelf.counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn threads_get_their_own_client_up_to_the_limit() {
        let pool = Arc::new(Pool::new(0usize));
        let made = Arc::new(AtomicUsize::new(1));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..MAX_CLIENTS * 2)
            .map(|_| {
                let (pool, made, running, most) =
                    (pool.clone(), made.clone(), running.clone(), most.clone());
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    pool.with_client(
                        deadline,
                        || Ok::<_, ()>(made.fetch_add(1, Ordering::SeqCst)),
                        |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            running.fetch_sub(1, Ordering::SeqCst);
                        },
                    )
                    .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(made.load(Ordering::SeqCst), MAX_CLIENTS);
        assert_eq!(most.load(Ordering::SeqCst), MAX_CLIENTS);
        assert_eq!(
            pool.counts(),
            Counts {
                idle: MAX_CLIENTS,
                open: MAX_CLIENTS
            }
        );
    }

    #[test]
    fn a_waiter_gives_up_at_its_deadline_and_close_ends_calls() {
        let pool = Arc::new(Pool::new(()));
        // MAX_CLIENTS calls hold their clients until told to go on.
        let holders: Vec<_> = (0..MAX_CLIENTS)
            .map(|_| {
                let pool = pool.clone();
                let (go, wait_go) = std::sync::mpsc::channel::<()>();
                let (started, wait_started) = std::sync::mpsc::channel::<()>();
                let t = std::thread::spawn(move || {
                    let far = Instant::now() + Duration::from_secs(10);
                    pool.with_client(
                        far,
                        || Ok::<_, ()>(()),
                        |_| {
                            started.send(()).unwrap();
                            wait_go.recv().unwrap();
                        },
                    )
                    .unwrap();
                });
                wait_started.recv().unwrap();
                (t, go)
            })
            .collect();
        let start = Instant::now();
        let r = pool.with_client(
            start + Duration::from_millis(100),
            || Ok::<_, ()>(()),
            |_| (),
        );
        assert!(matches!(r, Err(Unavailable::Busy)), "{r:?}");
        assert!(start.elapsed() >= Duration::from_millis(100));
        pool.close();
        let r = pool.with_client(
            Instant::now() + Duration::from_secs(1),
            || Ok::<_, ()>(()),
            |_| (),
        );
        assert!(matches!(r, Err(Unavailable::Closed)), "{r:?}");
        // The running calls end normally; their clients are dropped.
        for (t, go) in holders {
            go.send(()).unwrap();
            t.join().unwrap();
        }
        assert_eq!(pool.counts(), Counts { idle: 0, open: 0 });
    }

    #[test]
    fn a_call_while_another_runs_gets_a_new_client_and_both_are_kept() {
        let pool = Pool::new(0usize);
        let far = Instant::now() + Duration::from_secs(1);
        // Two calls at once: the second gets a new client (1).
        let seen = pool
            .with_client(
                far,
                || Ok::<_, ()>(9),
                |first| {
                    let second = pool.with_client(far, || Ok::<_, ()>(1), |c| *c).unwrap();
                    (*first, second)
                },
            )
            .unwrap();
        assert_eq!(seen, (0, 1));
        assert_eq!(pool.counts(), Counts { idle: 2, open: 2 });
    }

    #[test]
    fn a_failed_connect_frees_its_place() {
        let pool = Pool::new(());
        let far = Instant::now() + Duration::from_secs(1);
        // Take the first client and, inside, fail to connect a second.
        pool.with_client(
            far,
            || Ok::<_, ()>(()),
            |_| {
                let r = pool.with_client(far, || Err::<(), &str>("refused"), |_| ());
                assert!(matches!(r, Err(Unavailable::Connect("refused"))));
            },
        )
        .unwrap();
        assert_eq!(pool.counts(), Counts { idle: 1, open: 1 });
    }

    #[test]
    fn a_gate_lets_n_through_and_the_next_waits_for_a_place() {
        let gate = Gate::new(2);
        let soon = || Instant::now() + Duration::from_millis(50);
        let (a, _b) = (gate.enter(soon()).unwrap(), gate.enter(soon()).unwrap());
        let t = Instant::now();
        assert!(gate.enter(soon()).is_none(), "a third place");
        assert!(
            t.elapsed() >= Duration::from_millis(50),
            "gave up before its deadline"
        );
        drop(a);
        assert!(gate.enter(soon()).is_some(), "the place given back");
        // A waiter gets the place given back while it waits.
        std::thread::scope(|s| {
            let p = gate.enter(soon()).unwrap();
            let waiter = s.spawn(|| {
                gate.enter(Instant::now() + Duration::from_secs(10))
                    .is_some()
            });
            std::thread::sleep(Duration::from_millis(20));
            drop(p);
            assert!(waiter.join().unwrap());
        });
    }
}
