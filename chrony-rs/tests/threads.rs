//! libchrony formats address strings into one process-wide buffer. Many
//! clients used from many threads at once must still return correct values:
//! 8 threads, each with its own client, read sources, sourcestats and
//! tracking thousands of times and compare the addresses (and the reference
//! IDs they must agree with) against a single-threaded read.
mod common;

use chrony::Client;
use std::sync::{Arc, Barrier};

#[test]
fn client_is_send_not_sync() {
    fn send<T: Send>() {}
    send::<Client>();
    // `Client: !Sync` is asserted at compile time by the doc test of
    // `chrony::Client` (a `compile_fail` example) and in the unit tests.
}

#[test]
fn many_clients_in_many_threads_read_correct_addresses() {
    let d = common::builder()
        .servers(6)
        .refclocks(1)
        .poll(0)
        .start()
        .expect("start chronyd");
    let socket = d.socket_path().to_str().unwrap().to_string();

    let mut reference = Client::connect(&socket).unwrap();
    let want_sources: Vec<String> = reference
        .sources()
        .unwrap()
        .into_iter()
        .map(|s| s.address.to_string())
        .collect();
    let want_stats: Vec<(u32, String)> = reference
        .source_stats()
        .unwrap()
        .into_iter()
        .map(|s| (s.reference_id.0, s.address.to_string()))
        .collect();
    let want_tracking = reference.tracking().unwrap().address;
    assert_eq!(want_sources.len(), 7, "{want_sources:?}");
    assert!(want_tracking.is_some() || want_sources.contains(&"RC0".to_string()));
    // Every NTP source's address differs, so a mixed-up buffer shows.
    let mut unique = want_sources.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), want_sources.len());

    const THREADS: usize = 8;
    const ROUNDS: usize = 150;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (socket, barrier) = (socket.clone(), barrier.clone());
            let (want_sources, want_stats) = (want_sources.clone(), want_stats.clone());
            std::thread::spawn(move || {
                let mut client = Client::connect(&socket).unwrap();
                barrier.wait();
                let mut reads = 0usize;
                for round in 0..ROUNDS {
                    let sources: Vec<String> = client
                        .sources()
                        .unwrap()
                        .into_iter()
                        .map(|s| s.address.to_string())
                        .collect();
                    assert_eq!(sources, want_sources, "thread {t} round {round}: sources");
                    reads += sources.len();
                    let stats: Vec<(u32, String)> = client
                        .source_stats()
                        .unwrap()
                        .into_iter()
                        .map(|s| (s.reference_id.0, s.address.to_string()))
                        .collect();
                    assert_eq!(stats, want_stats, "thread {t} round {round}: sourcestats");
                    reads += stats.len() + 1;
                    // tracking's address may legitimately change if the
                    // selection changes; it must be one of the sources.
                    if let Some(a) = client.tracking().unwrap().address {
                        assert!(
                            want_sources.contains(&a.to_string()),
                            "thread {t} round {round}: tracking address {a}"
                        );
                    }
                }
                reads
            })
        })
        .collect();
    let total: usize = handles
        .into_iter()
        .map(|h| h.join().expect("thread panicked"))
        .sum();
    assert_eq!(total, THREADS * ROUNDS * (2 * 7 + 1));
    eprintln!("{total} records read by {THREADS} threads, all addresses correct");
}
