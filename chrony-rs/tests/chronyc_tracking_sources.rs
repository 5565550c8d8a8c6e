//! Every field of tracking, sources, sourcestats and rtcdata compared with
//! `chronyc -n -c` on the same daemon: a chronyd with three loopback NTP
//! servers, one unreachable server and one reference clock, polling every
//! second. Integers, enums and addresses must match exactly; floats must lie
//! between the library's reads before and after chronyc (within chronyc's
//! printed precision).
//!
//! The daemon comes from the testkit harness: local processes by default,
//! Docker with CHRONY_TESTKIT_BACKEND=docker CHRONY_TESTKIT_SUITE=...
mod common;

use chrony::{Client, Error, SourceMode, SourceState};
use common::*;

fn daemon() -> chrony_testkit::harness::Chronyd {
    builder()
        .servers(3)
        .unreachable_servers(1)
        .refclocks(1)
        .poll(0)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

#[test]
fn tracking_matches_chronyc() {
    let d = daemon();
    let mut client = Client::connect(d.socket_path().to_str().unwrap()).unwrap();
    retry_compare(10, |ck| {
        let a = client.tracking().unwrap();
        let rows = chronyc_rows(&d, &["tracking"]);
        let b = client.tracking().unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let c = &rows[0];
        assert_eq!(c.len(), 14, "{c:?}");
        assert!(a.is_synchronized(), "{a:?}");
        let refid = u32::from_str_radix(&c[0], 16).unwrap().to_string();
        ck.one_of("reference ID", a.reference_id.0, &refid, b.reference_id.0);
        ck.check(
            c[1] == a.reference_name() || c[1] == b.reference_name(),
            || format!("name {} vs {a:?}", c[1]),
        );
        ck.one_of("stratum", a.stratum, &c[2], b.stratum);
        // Exact reference time: chronyc prints all nine decimals.
        let exact = [a.reference_time, b.reference_time]
            .iter()
            .any(|t| t.to_decimal_string() == c[3]);
        ck.check(exact, || {
            format!(
                "reference time {} vs {} / {}",
                c[3], a.reference_time, b.reference_time
            )
        });
        ck.between(
            "current correction",
            a.current_correction,
            &c[4],
            b.current_correction,
            9,
        );
        ck.between("last offset", a.last_offset, &c[5], b.last_offset, 9);
        ck.between("RMS offset", a.rms_offset, &c[6], b.rms_offset, 9);
        ck.between("frequency", a.frequency_ppm, &c[7], b.frequency_ppm, 3);
        ck.between(
            "residual frequency",
            a.residual_frequency_ppm,
            &c[8],
            b.residual_frequency_ppm,
            3,
        );
        ck.between("skew", a.skew_ppm, &c[9], b.skew_ppm, 3);
        ck.between("root delay", a.root_delay, &c[10], b.root_delay, 9);
        ck.between(
            "root dispersion",
            a.root_dispersion,
            &c[11],
            b.root_dispersion,
            9,
        );
        ck.between(
            "last update interval",
            a.last_update_interval.as_secs_f64(),
            &c[12],
            b.last_update_interval.as_secs_f64(),
            1,
        );
        ck.check(
            c[13] == leap_text(a.leap_status) || c[13] == leap_text(b.leap_status),
            || format!("leap {}", c[13]),
        );
    });
}

#[test]
fn sources_match_chronyc() {
    let d = daemon();
    let mut client = Client::connect(d.socket_path().to_str().unwrap()).unwrap();
    let mut a = Vec::new();
    retry_compare(10, |ck| {
        a = client.sources().unwrap();
        let rows = chronyc_rows(&d, &["sources"]);
        let b = client.sources().unwrap();
        assert_eq!(a.len(), 5, "3 servers + 1 unreachable + 1 refclock: {a:#?}");
        assert_eq!(rows.len(), a.len(), "{rows:?}");
        for ((x, y), c) in a.iter().zip(&b).zip(&rows) {
            check_source_selection(ck, x, y, c);
            let what = |f: &str| format!("source {} {f}", x.address);
            assert_eq!(c[0], x.mode.symbol().to_string(), "{}", what("mode"));
            ck.one_of(&what("stratum"), x.stratum, &c[3], y.stratum);
            ck.one_of(&what("poll"), x.poll, &c[4], y.poll);
            ck.between(
                &what("adjusted offset"),
                x.adjusted_offset,
                &c[7],
                y.adjusted_offset,
                9,
            );
            ck.between(
                &what("original offset"),
                x.original_offset,
                &c[8],
                y.original_offset,
                9,
            );
            ck.between(&what("error"), x.error, &c[9], y.error, 9);
            assert_eq!(x.flags, 0);
        }
    });
    // The kinds of source the daemon has, as the library sees them.
    let refclocks: Vec<_> = a
        .iter()
        .filter(|s| s.mode == SourceMode::ReferenceClock)
        .collect();
    assert_eq!(refclocks.len(), 1);
    assert_eq!(refclocks[0].address, "RC0");
    assert_eq!(
        refclocks[0].reference_id.and_then(|r| r.name()).as_deref(),
        Some("RC0")
    );
    let unreachable: Vec<_> = a.iter().filter(|s| !s.is_reachable()).collect();
    assert_eq!(unreachable.len(), 1, "{a:#?}");
    assert_eq!(unreachable[0].state, SourceState::Nonselectable);
    assert_eq!(unreachable[0].last_sample_ago, None);
    assert_eq!(a.iter().filter(|s| s.is_selected()).count(), 1, "{a:#?}");
    assert!(
        a.iter()
            .all(|s| s.poll == 0 || s.mode == SourceMode::ReferenceClock || !s.is_reachable()),
        "{a:#?}"
    );
}

#[test]
fn sourcestats_match_chronyc() {
    let d = daemon();
    let mut client = Client::connect(d.socket_path().to_str().unwrap()).unwrap();
    let mut a = Vec::new();
    retry_compare(10, |ck| {
        a = client.source_stats().unwrap();
        let rows = chronyc_rows(&d, &["sourcestats"]);
        let b = client.source_stats().unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!(rows.len(), a.len(), "{rows:?}");
        for ((x, y), c) in a.iter().zip(&b).zip(&rows) {
            let what = |f: &str| format!("sourcestats {} {f}", x.address);
            assert_eq!(c.len(), 8, "{c:?}");
            assert_eq!(c[0], x.address, "{}", what("address"));
            ck.one_of(&what("samples"), x.samples, &c[1], y.samples);
            ck.one_of(&what("runs"), x.runs, &c[2], y.runs);
            ck.one_of(&what("span"), x.span.as_secs(), &c[3], y.span.as_secs());
            ck.between(
                &what("residual frequency"),
                x.residual_frequency_ppm,
                &c[4],
                y.residual_frequency_ppm,
                3,
            );
            ck.between(&what("skew"), x.skew_ppm, &c[5], y.skew_ppm, 3);
            ck.between(&what("offset"), x.offset, &c[6], y.offset, 9);
            ck.between(
                &what("standard deviation"),
                x.standard_deviation,
                &c[7],
                y.standard_deviation,
                9,
            );
        }
    });
    // The reference ID of an IPv4 NTP source is its address.
    for s in a.iter().filter(|s| !s.address.is_reference_clock()) {
        assert_eq!(s.reference_id.to_ipv4().to_string(), s.address);
    }
}

#[test]
fn no_rtc_is_none() {
    let d = daemon();
    let mut client = Client::connect(d.socket_path().to_str().unwrap()).unwrap();
    assert_eq!(client.rtc_data().unwrap(), None);
    // Every entry point agrees: no RTC is no record, not an error.
    assert!(client.report::<chrony::RtcData>().unwrap().is_none());
    assert!(client.records("rtcdata").unwrap().is_empty());
    // The session is still clean: the next request works at once.
    client.tracking().unwrap();
    // chronyc agrees: it has no RTC data to show.
    let out = d.chronyc(&["rtcdata"]);
    assert!(
        out.is_err() || out.as_ref().unwrap().trim().is_empty(),
        "chronyc rtcdata: {out:?}"
    );
}

#[test]
fn udp_serves_the_four_reports() {
    let d = daemon();
    let udp = d.udp_address().expect("udp_command(true) gives an address");
    let mut unix = Client::connect(d.socket_path().to_str().unwrap()).unwrap();
    let mut client = Client::connect(udp).unwrap();
    assert_eq!(client.transport(), chrony::Transport::Udp);
    let t = client.tracking().unwrap();
    assert_eq!(t.reference_id, unix.tracking().unwrap().reference_id);
    let s = client.sources().unwrap();
    let addrs = |v: &[chrony::Source]| v.iter().map(|s| s.address).collect::<Vec<_>>();
    assert_eq!(addrs(&s), addrs(&unix.sources().unwrap()));
    assert_eq!(client.source_stats().unwrap().len(), 5);
    assert_eq!(client.rtc_data().unwrap(), None);
    // Unix-socket-only reports come back as the typed error.
    match client.fetch("serverstats", |_| Ok(Some(()))) {
        Err(Error::Unauthorized { report, address }) => {
            assert_eq!(report, "serverstats");
            assert_eq!(address, udp.to_string());
        }
        other => panic!("serverstats over UDP: {other:?}"),
    }
}
