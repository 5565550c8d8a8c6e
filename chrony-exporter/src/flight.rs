//! Single flight: concurrent scrapes of one target share the read in
//! flight instead of each reading chronyd.
//!
//! A scrape that arrives while a read runs waits for that read and uses
//! it when the read started at most [`JOIN`] before the scrape arrived. A
//! read that started earlier is not reused (its values are older than the
//! scrape asked for): the scrape waits for it to end and then shares the
//! next read with every scrape that arrived meanwhile. Each read runs in a
//! task of its own, so a scrape that gives up (its client went away, its
//! deadline passed) never cancels the read the others wait for.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
// tokio's clock, which the tests pause and advance.
use tokio::time::Instant;

/// How long after a read started a scrape may still take it as its own.
pub const JOIN: Duration = Duration::from_millis(5);

/// How long past its deadline a scrape waits for the read: a read bounded
/// by that deadline hands over what it finished a moment after it (its
/// task must run once more), within the margin a scrape keeps for
/// building and encoding.
pub const HANDOVER: Duration = Duration::from_millis(200);

/// The reads of one target, one at a time.
pub struct Flights<T> {
    current: Arc<Mutex<Option<Flight<T>>>>,
}

struct Flight<T> {
    started: Instant,
    done: watch::Receiver<Option<Arc<T>>>,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Flights {
            current: Arc::new(Mutex::new(None)),
        }
    }
}

/// Clears the flight when its task ends, also when it panics (the waiters
/// then see the sender gone and the next scrape starts a new read).
struct Landing<T>(Arc<Mutex<Option<Flight<T>>>>);

impl<T> Drop for Landing<T> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl<T: Send + Sync + 'static> Flights<T> {
    /// A read that started no earlier than [`JOIN`] before this call: one
    /// in flight, or one started with `read` (in its own task). `None`
    /// when `deadline` (and [`HANDOVER`]) comes first, or the read's task
    /// failed.
    pub async fn get<F, Fut>(&self, deadline: Instant, read: F) -> Option<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let arrived = Instant::now();
        let mut read = Some(read);
        loop {
            let (mut done, usable) = {
                let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
                match (&*current, read.take()) {
                    (Some(f), unused) => {
                        read = unused;
                        (f.done.clone(), f.started + JOIN >= arrived)
                    }
                    (None, Some(read)) => {
                        let (tx, rx) = watch::channel(None);
                        *current = Some(Flight {
                            started: Instant::now(),
                            done: rx.clone(),
                        });
                        let landing = Landing(self.current.clone());
                        let fut = read();
                        tokio::spawn(async move {
                            let value = Arc::new(fut.await);
                            // Cleared before the waiters wake, so a waiter
                            // for an older read starts the next one.
                            drop(landing);
                            let _ = tx.send(Some(value));
                        });
                        (rx, true)
                    }
                    // This scrape started a read already and it ended:
                    // anything in flight now started after it arrived.
                    (None, None) => return None,
                }
            };
            let wait = done.wait_for(Option::is_some);
            let value = match tokio::time::timeout_at(deadline + HANDOVER, wait).await {
                Ok(Ok(v)) => v.clone(),
                // The read's task ended without a value (it panicked).
                Ok(Err(_)) => None,
                Err(_) => return None,
            };
            if usable {
                return value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn soon(ms: u64) -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_millis(ms)
    }

    /// A read taking `ms` that returns when it started and counts itself.
    fn slow_read(
        reads: &Arc<AtomicUsize>,
        ms: u64,
    ) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Instant> + Send>> {
        let reads = reads.clone();
        move || {
            Box::pin(async move {
                let started = Instant::now();
                reads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                started
            })
        }
    }

    // On a paused clock the times below are exact: the runtime moves it
    // only when every task waits on a timer.
    #[tokio::test(start_paused = true)]
    async fn scrapes_arriving_together_share_one_read() {
        let flights = Arc::new(Flights::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (f, r) = (flights.clone(), reads.clone());
                tokio::spawn(async move { f.get(soon(5000), slow_read(&r, 100)).await })
            })
            .collect();
        let mut started = std::collections::HashSet::new();
        for t in tasks {
            started.insert(t.await.unwrap().expect("a read"));
        }
        // All 50 arrived at once: one read for all.
        assert_eq!(reads.load(Ordering::SeqCst), 1, "reads for 50 scrapes");
        assert_eq!(started.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_that_started_before_the_join_window_is_not_reused() {
        let flights = Arc::new(Flights::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let first = {
            let (f, r) = (flights.clone(), reads.clone());
            tokio::spawn(async move { f.get(soon(5000), slow_read(&r, 200)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Two scrapes arrive 50 ms into the first read: they wait for it,
        // then share a read that started after they arrived.
        let arrived = Instant::now();
        let late: Vec<_> = (0..2)
            .map(|_| {
                let (f, r) = (flights.clone(), reads.clone());
                tokio::spawn(async move { f.get(soon(5000), slow_read(&r, 100)).await })
            })
            .collect();
        let first = first.await.unwrap().unwrap();
        assert!(*first < arrived);
        let mut late_starts = Vec::new();
        for t in late {
            let started = t.await.unwrap().unwrap();
            assert!(*started >= arrived, "reused a read older than the scrape");
            late_starts.push(*started);
        }
        assert_eq!(late_starts[0], late_starts[1], "the two late ones share");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_scrape_gives_up_at_its_deadline_without_cancelling_the_read() {
        let flights = Arc::new(Flights::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        assert!(flights
            .get(soon(50), slow_read(&reads, 800))
            .await
            .is_none());
        assert_eq!(start.elapsed(), Duration::from_millis(50) + HANDOVER);
        // A scrape arriving now is too late for that read: it waits for it
        // to end (the read went on) and then gets one of its own.
        let got = flights
            .get(soon(5000), slow_read(&reads, 10))
            .await
            .unwrap();
        assert!(
            *got >= start + Duration::from_millis(800),
            "the first read ran to its end"
        );
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_panics_does_not_block_the_next() {
        let flights: Flights<u32> = Flights::default();
        let failed = flights
            .get(soon(1000), || async {
                panic!("a failing read (expected in this test)")
            })
            .await;
        assert!(failed.is_none());
        assert_eq!(
            flights.get(soon(1000), || async { 7 }).await.as_deref(),
            Some(&7)
        );
    }
}
