//! `basic_auth_users`: bcrypt checks in constant shape, on a bounded pool.
//!
//! - Every check of credentials not known good costs one bcrypt run at the
//!   configured users' cost: a known user against its hash, an unknown user
//!   against a dummy hash of that cost. A wrong password and an unknown user
//!   take the same path and the same time.
//! - bcrypt runs on [`WORKERS`] threads of their own, fed by a queue of
//!   [`QUEUE`] checks; a check that finds the queue full is refused at once
//!   (503) instead of waiting. No bcrypt run ever happens on a runtime
//!   thread.
//! - Credentials that passed are remembered (keyed by SHA-256 of user,
//!   password and hash; only good ones, so nobody without a password can
//!   fill or flush it): a scrape with the right password costs no bcrypt
//!   run, so failed logins, however many, never slow it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

/// bcrypt threads: a flood of failed logins uses at most this many cores.
pub(super) const WORKERS: usize = 1;
/// Checks waiting for a bcrypt thread; more are refused.
pub(super) const QUEUE: usize = 32;
/// Good credentials remembered; all are forgotten when this many are (each
/// took a successful login, so that is rare and costs one bcrypt run each).
const REMEMBERED: usize = 1024;

/// The users of a configuration, and the cost an unknown user is checked at.
pub(super) struct Users {
    hashes: HashMap<String, String>,
    /// The highest cost among the users' hashes (with mixed costs, a user
    /// whose hash is cheaper answers faster than an unknown one: keep one
    /// cost for all).
    cost: u32,
}

impl Users {
    /// No users: no authentication.
    pub(super) fn none() -> Users {
        Users {
            hashes: HashMap::new(),
            cost: 0,
        }
    }

    pub(super) fn parse(users: HashMap<String, String>) -> Result<Users, String> {
        let mut cost = 0;
        for (user, hash) in &users {
            if user.contains(':') {
                return Err(format!("basic_auth_users: user name {user:?} contains ':'"));
            }
            let parts = hash.parse::<bcrypt::HashParts>().map_err(|_| {
                format!("basic_auth_users: the hash of {user:?} is not a bcrypt hash")
            })?;
            cost = cost.max(parts.get_cost());
        }
        Ok(Users {
            hashes: users,
            cost,
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// The cost of the dummy hash unknown users are checked against.
    #[cfg(test)]
    fn dummy_cost(&self) -> u32 {
        self.cost
    }
}

/// The outcome of a credentials check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Allowed,
    Denied,
    /// The bcrypt queue is full: try again.
    Busy,
}

type Job = Box<dyn FnOnce() + Send>;

/// The bcrypt threads and their bounded queue.
pub(super) struct Pool {
    jobs: SyncSender<Job>,
}

impl Pool {
    /// The process's pool, started on first use.
    pub(super) fn get() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| Pool::start(WORKERS, QUEUE))
    }

    fn start(workers: usize, queue: usize) -> Pool {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("bcrypt-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    job();
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a bcrypt thread: basic auth checks will be refused");
            }
        }
        Pool { jobs: tx }
    }

    /// Runs `f` on a bcrypt thread; `None` when the queue is full (or the
    /// pool is gone).
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.jobs.try_send(job) {
            Ok(()) => rx.await.ok(),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }
}

/// A dummy hash per cost, made once on a bcrypt thread.
fn dummy_hash(cost: u32) -> String {
    static HASHES: OnceLock<Mutex<HashMap<u32, String>>> = OnceLock::new();
    let hashes = HASHES.get_or_init(Default::default);
    if let Some(h) = hashes.lock().unwrap_or_else(|e| e.into_inner()).get(&cost) {
        return h.clone();
    }
    let h = bcrypt::hash("chrony-exporter: no such user", cost).unwrap_or_default();
    hashes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(cost)
        .or_insert(h)
        .clone()
}

/// Good credentials, the pool, and the bcrypt runs made (for the tests).
pub(super) struct Checker {
    pool: &'static Pool,
    good: Mutex<HashMap<[u8; 32], ()>>,
    pub(super) runs: AtomicU64,
    /// The cost of the last bcrypt run (for the tests).
    pub(super) last_cost: AtomicU64,
}

impl Default for Checker {
    fn default() -> Checker {
        Checker::with_pool(Pool::get())
    }
}

impl Checker {
    fn with_pool(pool: &'static Pool) -> Checker {
        Checker {
            pool,
            good: Mutex::default(),
            runs: AtomicU64::new(0),
            last_cost: AtomicU64::new(0),
        }
    }

    /// Makes the dummy hash of the users' cost on the pool, so the first
    /// unknown user costs no more than a known one (does not wait).
    pub(super) fn prepare(&self, users: &Users) {
        if users.is_empty() {
            return;
        }
        let cost = users.cost;
        let _ = self.pool.jobs.try_send(Box::new(move || {
            dummy_hash(cost);
        }));
    }

    pub(super) async fn check(&self, users: &Users, user: &str, password: &str) -> Verdict {
        let known = users.hashes.get(user);
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [user, password, known.map(String::as_str).unwrap_or("")] {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part.as_bytes());
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        if self
            .good
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&key)
        {
            return Verdict::Allowed;
        }
        let (password, hash, cost) = (password.to_string(), known.cloned(), users.cost);
        let ran = self
            .pool
            .run(move || {
                let (hash, known) = match hash {
                    Some(h) => (h, true),
                    None => (dummy_hash(cost), false),
                };
                let cost = hash
                    .parse::<bcrypt::HashParts>()
                    .map(|p| p.get_cost())
                    .unwrap_or(0);
                let ok = bcrypt::verify(password, &hash).unwrap_or(false);
                (known && ok, cost)
            })
            .await;
        let Some((ok, cost)) = ran else {
            return Verdict::Busy;
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.last_cost.store(u64::from(cost), Ordering::Relaxed);
        if !ok {
            return Verdict::Denied;
        }
        let mut good = self.good.lock().unwrap_or_else(|e| e.into_inner());
        if good.len() >= REMEMBERED {
            good.clear();
        }
        good.insert(key, ());
        Verdict::Allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    fn users(list: &[(&str, &str, u32)]) -> Users {
        Users::parse(
            list.iter()
                .map(|(u, p, c)| (u.to_string(), bcrypt::hash(p, *c).unwrap()))
                .collect(),
        )
        .unwrap()
    }

    /// Whether `fut` is ready when first polled (it must not wait for
    /// anything).
    async fn at_once<T>(fut: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            v = fut => Some(v),
            () = std::future::ready(()) => None,
        }
    }

    #[test]
    fn unknown_users_are_checked_at_the_users_cost() {
        let u = users(&[("alice", "a", 5), ("bob", "b", 6)]);
        assert_eq!(u.dummy_cost(), 6);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let c = Checker::with_pool(pool());
        for (user, password) in [("mallory", "x"), ("bob", "wrong")] {
            assert_eq!(rt.block_on(c.check(&u, user, password)), Verdict::Denied);
            // One bcrypt run each, at the same cost.
            assert_eq!(c.last_cost.load(Ordering::Relaxed), 6, "{user}");
        }
        assert_eq!(c.runs.load(Ordering::Relaxed), 2);
        // Failures are not remembered: each costs a run again.
        assert_eq!(rt.block_on(c.check(&u, "mallory", "x")), Verdict::Denied);
        assert_eq!(c.runs.load(Ordering::Relaxed), 3);
        assert_eq!(rt.block_on(c.check(&u, "alice", "a")), Verdict::Allowed);
        assert_eq!(c.last_cost.load(Ordering::Relaxed), 5);
        assert_eq!(c.runs.load(Ordering::Relaxed), 4);
    }

    /// A pool of the test's own (tests run at once; one fills its pool).
    fn pool() -> &'static Pool {
        Box::leak(Box::new(Pool::start(WORKERS, QUEUE)))
    }

    #[test]
    fn bcrypt_runs_on_the_pool_never_on_a_runtime_thread() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("runtime-worker")
            .build()
            .unwrap();
        let u = users(&[("alice", "a", 4)]);
        let c = Checker::with_pool(pool());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        // The verification closure's thread, through a check's own path.
        rt.block_on(async {
            let name = c.pool.run(move || {
                s.lock()
                    .unwrap()
                    .push(std::thread::current().name().map(str::to_string));
            });
            name.await.unwrap();
            assert_eq!(c.check(&u, "alice", "a").await, Verdict::Allowed);
        });
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            &[Some("bcrypt-0".to_string())]
        );
        assert_eq!(c.runs.load(Ordering::Relaxed), 1);
    }

    /// With every bcrypt thread busy and the queue full (a flood of failed
    /// logins), remembered good credentials pass without waiting, and new
    /// credentials are refused at once instead of queueing.
    #[test]
    fn a_full_pool_never_delays_good_credentials() {
        let u = users(&[("alice", "right", 4)]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let pool = pool();
        let c = Checker::with_pool(pool);
        assert_eq!(rt.block_on(c.check(&u, "alice", "right")), Verdict::Allowed);
        let runs = c.runs.load(Ordering::Relaxed);

        // Occupy the pool: WORKERS jobs running (and blocked), QUEUE waiting.
        let started = Arc::new(Barrier::new(WORKERS + 1));
        let gate = Arc::new(Barrier::new(WORKERS + 1));
        for _ in 0..WORKERS {
            let (started, gate) = (started.clone(), gate.clone());
            pool.jobs
                .send(Box::new(move || {
                    started.wait();
                    gate.wait();
                }))
                .unwrap();
        }
        started.wait();
        let mut queued = 0;
        while pool.jobs.try_send(Box::new(|| {})).is_ok() {
            queued += 1;
        }
        assert_eq!(queued, QUEUE);

        rt.block_on(async {
            assert_eq!(
                at_once(c.check(&u, "alice", "right")).await,
                Some(Verdict::Allowed)
            );
            assert_eq!(
                at_once(c.check(&u, "alice", "wrong")).await,
                Some(Verdict::Busy)
            );
            assert_eq!(
                at_once(c.check(&u, "mallory", "right")).await,
                Some(Verdict::Busy)
            );
        });
        assert_eq!(
            c.runs.load(Ordering::Relaxed),
            runs,
            "a bcrypt run for remembered credentials"
        );
        gate.wait();
    }
}
