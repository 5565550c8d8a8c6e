//! A reference server goes silent and comes back: the library's view of the
//! sources (reachability register, state, last sample ago) must be what
//! `chronyc sources` shows at every step of the decay and of the recovery.
//!
//! Three reference servers polled every 250 ms (poll -2). Server 1 is cut off
//! (process backend: SIGSTOP; Docker: disconnected from the network); its
//! 8-bit reachability register then loses one bit per poll from the bottom
//! (377, 376, 374, ... octal) until it is 0, when chronyd no longer selects
//! or combines it ('?'). Restored, it becomes reachable again.
//!
//! The daemon comes from the testkit harness (local processes by default,
//! Docker with CHRONY_TESTKIT_BACKEND=docker CHRONY_TESTKIT_SUITE=...).
mod common;

use chrony::{Client, Source, SourceState};
use common::*;
use std::time::{Duration, Instant};

const CUT: usize = 1;

/// One observation of the cut server, agreed on by the library and chronyc.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    reach: u8,
    state: char,
    last_sample_ago: Option<u64>,
}

/// Library read, `chronyc sources`, library read; every source's reach,
/// state and last sample ago must be what chronyc printed (equal to the
/// read before or the one after). Retried while chronyd moves on between
/// the reads; returns the library's second read.
fn compare_sources(d: &chrony_testkit::harness::Chronyd, client: &mut Client) -> Vec<Source> {
    let mut last = Vec::new();
    retry_compare(10, |ck| {
        let a = client.sources().expect("library sources");
        let rows = chronyc_rows(d, &["sources"]);
        let b = client.sources().expect("library sources");
        ck.check(a.len() == 3 && b.len() == 3 && rows.len() == 3, || {
            format!("3 sources expected: {a:?} / {rows:?} / {b:?}")
        });
        for ((x, y), c) in a.iter().zip(&b).zip(&rows) {
            check_source_selection(ck, x, y, c);
        }
        last = b;
    });
    last
}

fn step_of(sources: &[Source], address: &str) -> Step {
    let s = sources
        .iter()
        .find(|s| s.address == address)
        .unwrap_or_else(|| panic!("no source {address} in {sources:#?}"));
    Step {
        reach: s.reachability,
        state: s.state.symbol(),
        last_sample_ago: s.last_sample_ago.map(|d| d.as_secs()),
    }
}

fn wait_for(
    d: &chrony_testkit::harness::Chronyd,
    client: &mut Client,
    what: &str,
    deadline: Duration,
    mut done: impl FnMut(&[Source]) -> bool,
) -> Vec<Source> {
    let end = Instant::now() + deadline;
    loop {
        let s = client.sources().expect("library sources");
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < end,
            "waited {deadline:?} for {what}; sources now: {s:#?}\nchronyd log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn cut_server_decays_and_recovers_as_chronyc_shows() {
    let d = builder()
        .servers(3)
        .poll(-2)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let mut client = Client::connect(d.socket_path().to_str().unwrap()).unwrap();
    let cut = d.server_address(CUT).to_string();

    // All three fully reachable (8 answered polls in a row), one selected.
    wait_for(
        &d,
        &mut client,
        "all 3 servers fully reachable",
        Duration::from_secs(30),
        |s| {
            s.len() == 3
                && s.iter().all(|s| s.reachability == 0xff)
                && s.iter().any(|s| s.is_selected())
        },
    );
    let before = compare_sources(&d, &mut client);
    assert_eq!(step_of(&before, &cut).reach, 0xff);

    d.cut_server(CUT)
        .unwrap_or_else(|e| panic!("cut_server: {e}"));
    let cut_at = Instant::now();
    let mut steps: Vec<Step> = Vec::new();
    // The register is 0 after ~2 s, but chronyd keeps using the source's
    // old samples ('-', even '+') for a while longer (~15-25 s here).
    let end = cut_at + Duration::from_secs(60);
    let last = loop {
        let s = compare_sources(&d, &mut client);
        let step = step_of(&s, &cut);
        if steps.last() != Some(&step) {
            eprintln!(
                "{:>6} ms after the cut: {step:?}",
                cut_at.elapsed().as_millis()
            );
            steps.push(step.clone());
        }
        let others_selected = s.iter().any(|x| x.address != cut && x.is_selected());
        if step.reach == 0 && step.state == '?' && others_selected {
            break s;
        }
        assert!(
            Instant::now() < end,
            "server {cut} did not become unreachable within 60 s: {steps:?}\n{s:#?}"
        );
        std::thread::sleep(Duration::from_millis(150));
    };
    let took = cut_at.elapsed();

    // The register only loses bits from the bottom, one per missed poll:
    // every value seen is 8 - k leading ones (377, 376, 374, ... 200, 0).
    for st in &steps {
        let r = st.reach;
        assert_eq!(
            r.leading_ones() + r.trailing_zeros(),
            8,
            "reach {r:o} after the cut: {steps:?}"
        );
    }
    for w in steps.windows(2) {
        assert!(w[1].reach <= w[0].reach, "reach grew while cut: {steps:?}");
        let (a, b) = (w[0].last_sample_ago, w[1].last_sample_ago);
        assert!(
            a.is_some() && b >= a,
            "last sample ago must keep growing: {steps:?}"
        );
    }
    // Several distinct steps were observed on the way down (one poll is
    // 250 ms, an observation takes less than that plus chronyc's run).
    let distinct_reach: std::collections::BTreeSet<u8> = steps.iter().map(|s| s.reach).collect();
    assert!(
        distinct_reach.len() >= 3,
        "too few steps observed: {steps:?}"
    );
    // 8 missed polls of 250 ms: not before ~1.75 s.
    assert!(
        took >= Duration::from_millis(1700),
        "reach 0 after only {took:?}: {steps:?}"
    );
    // While it still had answered polls in its register it kept its last
    // sample; it is never selected or combined at the end.
    let end_state = step_of(&last, &cut);
    assert_eq!(end_state.reach, 0);
    assert_eq!(end_state.state, '?');
    let cut_src = last.iter().find(|s| s.address == cut).unwrap();
    assert_eq!(cut_src.state, SourceState::Nonselectable);
    assert!(!cut_src.is_reachable() && !cut_src.is_selected());
    assert!(
        cut_src.last_sample_ago.is_some_and(|a| a.as_secs() >= 1),
        "a source that was reachable keeps its last sample: {cut_src:?}"
    );
    let selected: Vec<_> = last.iter().filter(|s| s.is_selected()).collect();
    assert_eq!(selected.len(), 1, "{last:#?}");
    assert_ne!(selected[0].address, cut);
    eprintln!(
        "reach 0 after {took:?}; selected now {}",
        selected[0].address
    );

    // Back on the network: reachable again, and selectable.
    d.restore_server(CUT)
        .unwrap_or_else(|e| panic!("restore_server: {e}"));
    let restored_at = Instant::now();
    wait_for(
        &d,
        &mut client,
        "the restored server to be reachable and selectable again",
        Duration::from_secs(30),
        |s| {
            s.iter().any(|x| {
                x.address == cut && x.reachability != 0 && x.state != SourceState::Nonselectable
            })
        },
    );
    let s = compare_sources(&d, &mut client);
    let back = step_of(&s, &cut);
    eprintln!(
        "{:>6} ms after the restore: {back:?}",
        restored_at.elapsed().as_millis()
    );
    assert_ne!(back.reach, 0, "{back:?}");
    // New answers enter at the bottom of the register.
    assert_eq!(back.reach & 1, 1, "{back:?}");
    assert!(back.last_sample_ago.is_some_and(|a| a <= 2), "{back:?}");
}
