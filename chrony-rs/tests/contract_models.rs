//! Every model built from every testkit scenario, snapshotted as JSON, and
//! every kind of bad data giving the documented error (never a panic).
use chrony::{
    DataProblem, Error, FieldType, FromRecord, NtpData, Record, RtcData, ServerStats, Source,
    SourceStats, Timestamp, Tracking,
};
use chrony_testkit::fake::{FakeRecord, FakeValue};
use chrony_testkit::scenarios::{self, FakeReport};

fn one<T: FromRecord>(rec: &FakeRecord) -> T {
    T::from_record(&Record::new(rec))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("a model")
}

fn err<T: FromRecord + std::fmt::Debug>(rec: &FakeRecord) -> (String, DataProblem) {
    match T::from_record(&Record::new(rec)) {
        Err(Error::BadData {
            report,
            field,
            problem,
        }) => {
            assert_eq!(report, rec.report);
            (field, problem)
        }
        other => panic!("expected BadData, got {other:?}"),
    }
}

#[test]
fn tracking_scenarios() {
    for (name, rec) in [
        ("tracking_synchronized", scenarios::tracking_synchronized()),
        (
            "tracking_unsynchronized",
            scenarios::tracking_unsynchronized(),
        ),
        ("tracking_stratum_16", scenarios::tracking_stratum_16()),
        ("tracking_leap_insert", scenarios::tracking_leap_insert()),
        ("tracking_leap_delete", scenarios::tracking_leap_delete()),
        ("tracking_refclock", scenarios::tracking_refclock()),
        (
            "tracking_with_extra_fields",
            scenarios::tracking_with_extra_fields(),
        ),
        ("tracking_unknown_leap", scenarios::tracking_unknown_leap()),
    ] {
        let t: Tracking = one(&rec);
        insta::assert_json_snapshot!(name, t);
    }
}

#[test]
fn tracking_helpers() {
    let synced: Tracking = one(&scenarios::tracking_synchronized());
    assert!(synced.is_synchronized() && !synced.is_leap_pending());
    assert_eq!(synced.reference_name(), "192.0.2.1");
    let unsynced: Tracking = one(&scenarios::tracking_unsynchronized());
    assert!(!unsynced.is_synchronized());
    assert!(unsynced.reference_time.is_never());
    assert_eq!(unsynced.address, None);
    assert!(!one::<Tracking>(&scenarios::tracking_stratum_16()).is_synchronized());
    assert!(one::<Tracking>(&scenarios::tracking_leap_insert()).is_leap_pending());
    assert!(one::<Tracking>(&scenarios::tracking_leap_delete()).is_leap_pending());
    let rc: Tracking = one(&scenarios::tracking_refclock());
    assert_eq!(rc.reference_name(), "GPS0");
    let unknown: Tracking = one(&scenarios::tracking_unknown_leap());
    assert_eq!(unknown.leap_status, chrony::LeapStatus::Unknown(7));
    assert_eq!(
        serde_json::to_value(unknown.leap_status).unwrap(),
        serde_json::json!(7)
    );
    // Extra fields from a newer chronyd are ignored.
    assert_eq!(
        one::<Tracking>(&scenarios::tracking_with_extra_fields()),
        synced
    );
}

#[test]
fn source_scenarios() {
    for (name, rec) in [
        ("source_selected", scenarios::source_selected()),
        ("source_refclock", scenarios::source_refclock()),
        ("source_falseticker", scenarios::source_falseticker()),
        ("source_jittery", scenarios::source_jittery()),
        ("source_unreachable", scenarios::source_unreachable()),
        ("source_unresolved", scenarios::source_unresolved()),
        ("source_fast_poll", scenarios::source_fast_poll()),
    ] {
        let s: Source = one(&rec);
        insta::assert_json_snapshot!(name, s);
    }
    let rc: Source = one(&scenarios::source_refclock());
    assert!(rc.is_reference_clock());
    assert_eq!(rc.reference_id.map(|r| r.0), Some(0x4750_5330));
    let unreachable: Source = one(&scenarios::source_unreachable());
    assert!(!unreachable.is_reachable() && unreachable.last_sample_ago.is_none());
    // libchrony 0.2 sends poll -2 as 65534: the model repairs the sign.
    assert_eq!(one::<Source>(&scenarios::source_fast_poll()).poll, -2);
}

#[test]
fn many_sources() {
    let sources: Vec<Source> = scenarios::build(&scenarios::sources_many(128)).unwrap();
    assert_eq!(sources.len(), 128);
    assert_eq!(sources.iter().filter(|s| s.is_selected()).count(), 1);
    assert!(sources[0].is_selected());
    let summary: Vec<String> = sources
        .iter()
        .map(|s| format!("{}{} {}", s.mode.symbol(), s.state.symbol(), s.address))
        .collect();
    insta::assert_json_snapshot!("sources_many_128", summary);
}

#[test]
fn sourcestats_scenarios() {
    for (name, rec) in [
        ("sourcestats_ntp", scenarios::sourcestats_ntp()),
        ("sourcestats_refclock", scenarios::sourcestats_refclock()),
        (
            "sourcestats_no_samples",
            scenarios::sourcestats_no_samples(),
        ),
    ] {
        let s: SourceStats = one(&rec);
        insta::assert_json_snapshot!(name, s);
    }
    assert_eq!(
        one::<SourceStats>(&scenarios::sourcestats_refclock()).address,
        "GPS0"
    );
}

#[test]
fn rtcdata_scenarios() {
    let present: Option<RtcData> =
        scenarios::build_single(&FakeReport::Records(vec![scenarios::rtcdata_present()])).unwrap();
    insta::assert_json_snapshot!("rtcdata_present", present);
    let absent: Option<RtcData> = scenarios::build_single(&scenarios::rtcdata_absent()).unwrap();
    assert_eq!(absent, None);
    insta::assert_json_snapshot!("rtcdata_absent", absent);
}

#[test]
fn models_round_trip_through_serde() {
    let t: Tracking = one(&scenarios::tracking_synchronized());
    let json = serde_json::to_string(&t).unwrap();
    // Times are RFC 3339 strings in JSON, exact to the nanosecond.
    assert!(
        json.contains(r#""reference_time":"2026-11-26T12:00:00.123456789Z""#),
        "{json}"
    );
    let back: Tracking = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    for rec in [scenarios::source_refclock(), scenarios::source_jittery()] {
        let s: Source = one(&rec);
        assert_eq!(
            serde_json::from_value::<Source>(serde_json::to_value(&s).unwrap()).unwrap(),
            s
        );
    }
}

#[test]
fn missing_field() {
    let (field, problem) = err::<Tracking>(&scenarios::tracking_synchronized().without("skew"));
    assert_eq!((field.as_str(), problem), ("skew", DataProblem::Missing));
    // A source with neither `address` nor `reference ID`.
    let (field, problem) = err::<Source>(&scenarios::source_selected().without("address"));
    assert_eq!(
        (field.as_str(), problem),
        ("reference ID", DataProblem::Missing)
    );
}

#[test]
fn wrong_type() {
    let rec = scenarios::tracking_synchronized().with_type("stratum", FieldType::Float);
    let (field, problem) = err::<Tracking>(&rec);
    assert_eq!(field, "stratum");
    assert_eq!(
        problem,
        DataProblem::WrongType {
            expected: FieldType::Uinteger,
            found: FieldType::Float
        }
    );
    let rec = scenarios::source_selected().retyped("poll", FakeValue::Uinteger(6));
    assert!(matches!(
        err::<Source>(&rec).1,
        DataProblem::WrongType {
            expected: FieldType::Integer,
            ..
        }
    ));
    let rec = scenarios::tracking_synchronized().with_type("reference time", FieldType::Unknown(9));
    assert!(matches!(
        err::<Tracking>(&rec).1,
        DataProblem::WrongType {
            found: FieldType::Unknown(9),
            ..
        }
    ));
}

#[test]
fn nan_and_infinite() {
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let rec = scenarios::tracking_synchronized().with_value("last offset", FakeValue::Float(v));
        let (field, problem) = err::<Tracking>(&rec);
        assert_eq!(field, "last offset");
        assert!(matches!(problem, DataProblem::NotFinite(x) if x.is_nan() == v.is_nan()));
    }
}

#[test]
fn out_of_range() {
    let rec = scenarios::tracking_synchronized().with_value("stratum", FakeValue::Uinteger(70_000));
    assert_eq!(
        err::<Tracking>(&rec),
        (
            "stratum".into(),
            DataProblem::OutOfRange {
                value: "70000".into(),
                expected: "0..=65535"
            }
        )
    );
    let rec = scenarios::source_selected().with_value("reachability", FakeValue::Uinteger(256));
    assert_eq!(err::<Source>(&rec).0, "reachability");
    let rec = scenarios::source_selected().with_value("poll", FakeValue::Integer(70000));
    assert_eq!(err::<Source>(&rec).0, "poll");
    let rec = scenarios::sourcestats_ntp().with_value("reference ID", FakeValue::Uinteger(1 << 32));
    assert_eq!(err::<SourceStats>(&rec).0, "reference ID");
}

#[test]
fn unknown_enum_values_are_kept() {
    let rec = scenarios::source_selected()
        .with_value("state", FakeValue::Uinteger(42))
        .with_value("mode", FakeValue::Uinteger(9));
    let s: Source = one(&rec);
    assert_eq!(s.state, chrony::SourceState::Unknown(42));
    assert_eq!(s.mode, chrony::SourceMode::Unknown(9));
    insta::assert_json_snapshot!("source_unknown_enums", s);
}

#[test]
fn invalid_utf8() {
    let rec = scenarios::source_selected()
        .with_value("address", FakeValue::String(Some(vec![0x31, 0xff, 0x32])));
    assert_eq!(
        err::<Source>(&rec),
        (
            "address".into(),
            DataProblem::InvalidUtf8(vec![0x31, 0xff, 0x32])
        )
    );
}

#[test]
fn invalid_timestamps() {
    for (secs, nanos) in [
        (1, -1),
        (-5, 0),
        // A high seconds word other than chronyd's "none" marker: year > 9999.
        (0x7fff_fffe_i64 << 32 | 5, 0),
    ] {
        let rec = scenarios::tracking_synchronized()
            .with_value("reference time", FakeValue::Timespec(secs, nanos));
        assert_eq!(
            err::<Tracking>(&rec),
            (
                "reference time".into(),
                DataProblem::InvalidTimestamp { secs, nanos }
            )
        );
    }
}

/// Timestamps are decoded as chronyd decodes them (issue 9.7): a high
/// seconds word of 0x7fffffff (a chronyd with 32-bit `time_t`) counts as 0,
/// nanoseconds of 10^9 and more are clamped, in every report with a time.
#[test]
fn timestamps_decoded_as_chronyd_does() {
    let want = Timestamp::new(scenarios::REFERENCE_TIME.0, scenarios::REFERENCE_TIME.1).unwrap();
    let t: Tracking = one(&scenarios::tracking_32bit_time_t());
    assert_eq!(t.reference_time, want);
    assert!(t.is_synchronized());
    let high = |secs: i64| (0x7fff_ffff_i64 << 32) | secs;
    let rtc: RtcData = one(&scenarios::rtcdata_present().with_value(
        "reference time",
        FakeValue::Timespec(high(1_700_000_000), 5),
    ));
    assert_eq!(
        rtc.reference_time,
        Timestamp::new(1_700_000_000, 5).unwrap()
    );
    for ntp in [
        scenarios::ntpdata_chronyd_4_3(),
        scenarios::ntpdata_chronyd_4_6(),
    ] {
        let n: NtpData = one(&ntp.with_value(
            "reference time",
            FakeValue::Timespec(high(1_700_000_000), 0),
        ));
        assert_eq!(n.reference_time, Timestamp::new(1_700_000_000, 0).unwrap());
    }
    for nanos in [1_000_000_000, 1_500_000_000, i64::from(u32::MAX)] {
        let t: Tracking = one(&scenarios::tracking_synchronized()
            .with_value("reference time", FakeValue::Timespec(1_700_000_000, nanos)));
        assert_eq!(
            t.reference_time,
            Timestamp::new(1_700_000_000, 999_999_999).unwrap()
        );
        let n: NtpData = one(&scenarios::ntpdata_chronyd_4_6()
            .with_value("reference time", FakeValue::Timespec(high(7), nanos)));
        assert_eq!(n.reference_time, Timestamp::new(7, 999_999_999).unwrap());
    }
}

/// A daemon serving its own clock (reference ID 0x7F7F0101) is not
/// synchronized to a source, as `chronyc waitsync` decides (issue 9.8).
#[test]
fn local_reference_is_not_synchronized() {
    let t: Tracking = one(&scenarios::tracking_local_reference());
    assert_eq!(
        t.reference_id,
        chrony::reports::tracking::LOCAL_REFERENCE_ID
    );
    assert_eq!(t.leap_status, chrony::LeapStatus::Normal);
    assert!(t.stratum < 16);
    assert!(!t.is_synchronized());
    assert_eq!(t.reference_name(), "7F7F0101");
    // The same record with any other reference ID is synchronized.
    let other: Tracking = one(&scenarios::tracking_local_reference()
        .with_value("reference ID", FakeValue::Uinteger(0x7f7f_0102)));
    assert!(other.is_synchronized());
}

#[test]
fn error_messages_name_report_and_field() {
    let e = Tracking::from_record(&Record::new(
        &scenarios::tracking_synchronized().without("root delay"),
    ))
    .unwrap_err();
    insta::assert_snapshot!("error_missing_field", e.to_string());
    let rec =
        scenarios::tracking_synchronized().with_value("root delay", FakeValue::Float(f64::NAN));
    insta::assert_snapshot!(
        "error_nan",
        Tracking::from_record(&Record::new(&rec))
            .unwrap_err()
            .to_string()
    );
}

mod other_reports {
    use super::*;
    use chrony::{
        Activity, AuthData, AuthMode, GenericRecord, NtpData, SelectData, SelectState, ServerStats,
        Smoothing,
    };

    fn maybe<T: FromRecord>(rec: &FakeRecord) -> Option<T> {
        T::from_record(&Record::new(rec)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn activity() {
        for (name, rec) in [
            ("activity_online", scenarios::activity_online()),
            ("activity_mixed", scenarios::activity_mixed()),
        ] {
            insta::assert_json_snapshot!(name, one::<Activity>(&rec));
        }
    }

    #[test]
    fn serverstats_by_chronyd_version() {
        let cases = [
            (
                "serverstats_chronyd_4_6",
                scenarios::serverstats_chronyd_4_6(),
                17,
            ),
            (
                "serverstats_chronyd_4_3",
                scenarios::serverstats_chronyd_4_3(),
                11,
            ),
            (
                "serverstats_chronyd_4_0",
                scenarios::serverstats_chronyd_4_0(),
                8,
            ),
            (
                "serverstats_chronyd_3",
                scenarios::serverstats_chronyd_3(),
                5,
            ),
        ];
        for (name, rec, present) in cases {
            let s: ServerStats = one(&rec);
            assert_eq!(s.present_count(), present, "{name}");
            insta::assert_json_snapshot!(name, s);
        }
        // Counters a daemon does not send are None, never a made-up 0.
        let old: ServerStats = one(&scenarios::serverstats_chronyd_3());
        assert_eq!(old.accepted_nts_ke_connections, None);
        assert_eq!(old.received_ntp_requests, Some(42));
        // 64-bit counters are kept whole.
        let new: ServerStats = one(&scenarios::serverstats_chronyd_4_6());
        assert_eq!(new.received_ntp_requests, Some(5_000_000_000));
    }

    #[test]
    fn smoothing() {
        let on: Option<Smoothing> = scenarios::build_single(&scenarios::FakeReport::Records(vec![
            scenarios::smoothing_active(),
        ]))
        .unwrap();
        let on = on.expect("enabled");
        assert!(on.flags.active && on.flags.leap_only);
        insta::assert_json_snapshot!("smoothing_active", on);
        let off: Option<Smoothing> =
            scenarios::build_single(&scenarios::smoothing_disabled()).unwrap();
        assert_eq!(off, None);
    }

    #[test]
    fn selectdata() {
        for (name, rec) in [
            (
                "selectdata_refclock_best",
                scenarios::selectdata_refclock_best(),
            ),
            ("selectdata_distant", scenarios::selectdata_distant()),
            (
                "selectdata_unreachable",
                scenarios::selectdata_unreachable(),
            ),
            (
                "selectdata_prefer_noselect",
                scenarios::selectdata_prefer_noselect(),
            ),
            (
                "selectdata_unknown_state",
                scenarios::selectdata_unknown_state(),
            ),
        ] {
            insta::assert_json_snapshot!(name, one::<SelectData>(&rec));
        }
        let s: SelectData = one(&scenarios::selectdata_prefer_noselect());
        assert!(
            s.configured_options.prefer
                && s.configured_options.noselect
                && !s.configured_options.trust
        );
        let u: SelectData = one(&scenarios::selectdata_unknown_state());
        assert_eq!(u.state, SelectState::Unknown(u64::from(b'?')));
    }

    #[test]
    fn ntpdata_by_chronyd_version() {
        let new: NtpData = one(&scenarios::ntpdata_chronyd_4_6());
        let old: NtpData = one(&scenarios::ntpdata_chronyd_4_3());
        assert!(new.kernel_transmit_timestamps.is_some());
        assert_eq!(old.kernel_transmit_timestamps, None, "4.3 does not send it");
        insta::assert_json_snapshot!("ntpdata_chronyd_4_6", new);
        insta::assert_json_snapshot!("ntpdata_chronyd_4_3", old);
        let unreachable: NtpData = one(&scenarios::ntpdata_unreachable());
        assert_eq!(unreachable.local_address, None);
        assert_eq!(
            maybe::<NtpData>(&scenarios::ntpdata_refclock()),
            None,
            "reference clocks have no ntpdata"
        );
    }

    #[test]
    fn authdata() {
        for (name, rec) in [
            ("authdata_none", scenarios::authdata_none()),
            ("authdata_nts", scenarios::authdata_nts()),
            (
                "authdata_symmetric_key",
                scenarios::authdata_symmetric_key(),
            ),
        ] {
            insta::assert_json_snapshot!(name, one::<AuthData>(&rec));
        }
        let nts: AuthData = one(&scenarios::authdata_nts());
        assert_eq!(nts.mode, AuthMode::Nts);
        assert_eq!(
            nts.last_key_establishment_ago,
            Some(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            one::<AuthData>(&scenarios::authdata_none()).last_key_establishment_ago,
            None,
            "never"
        );
        assert_eq!(maybe::<AuthData>(&scenarios::authdata_refclock()), None);
    }

    #[test]
    fn generic_records_of_every_kind_of_field() {
        let tracking =
            GenericRecord::from_source(&Record::new(&scenarios::tracking_synchronized())).unwrap();
        insta::assert_json_snapshot!("generic_tracking", tracking);
        let ntp =
            GenericRecord::from_source(&Record::new(&scenarios::ntpdata_chronyd_4_6())).unwrap();
        let flags = serde_json::to_value(ntp.get("flags").unwrap()).unwrap();
        insta::assert_json_snapshot!("generic_ntpdata_flags", flags);
        let poll =
            GenericRecord::from_source(&Record::new(&scenarios::source_fast_poll())).unwrap();
        assert_eq!(
            poll.get("poll").and_then(|v| v.as_i64()),
            Some(-2),
            "sign repaired"
        );
    }
}

/// One Rust type per concept across reports: a stratum, a poll, a
/// reference ID, a time, a source... is the same type wherever it appears.
#[test]
fn one_type_per_concept() {
    use chrony::reports::SCHEMAS;
    use std::collections::BTreeMap;
    let mut types: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (report, fields) in SCHEMAS {
        for f in *fields {
            // A field some records lack is an Option of the same type.
            let ty = f
                .rust_type
                .strip_prefix("Option<")
                .and_then(|t| t.strip_suffix('>'))
                .unwrap_or(f.rust_type);
            types.entry(f.rust_name).or_default().push((report, ty));
        }
    }
    for concept in [
        "stratum",
        "poll",
        "reference_id",
        "reference_time",
        "leap_status",
        "last_sample_ago",
        "samples",
        "runs",
        "span",
        "root_delay",
        "root_dispersion",
        "offset",
    ] {
        let seen = &types[concept];
        assert!(seen.len() > 1, "{concept}: {seen:?}");
        assert!(
            seen.iter().all(|t| t.1 == seen[0].1),
            "{concept} has several types: {seen:?}"
        );
    }
    assert_eq!(types["poll"].len(), 2);
    assert_eq!(types["stratum"][0].1, "u16");
    assert_eq!(types["poll"][0].1, "i16");
    // Every source is a SourceId (optional where a record may have none).
    assert_eq!(types["address"].len(), 6);
    for (report, ty) in &types["address"] {
        assert_eq!(*ty, "SourceId", "{report}");
    }
}

/// ServerStats: counters and gauges apart, the counter width known.
#[test]
fn serverstats_counters_and_gauges() {
    let old: ServerStats = one(&scenarios::serverstats_chronyd_4_3());
    let new: ServerStats = one(&scenarios::serverstats_chronyd_4_6());
    for s in [&old, &new] {
        let gauges: Vec<&str> = s.gauges().iter().map(|g| g.0).collect();
        assert_eq!(gauges, ["held NTP timestamps", "NTP timestamp span"]);
        assert!(s.counters().iter().all(|c| !gauges.contains(&c.0)));
        assert_eq!(
            s.counters().len() + s.gauges().len(),
            ServerStats::FIELDS.len()
        );
    }
    assert_eq!(old.counters().iter().filter(|c| c.1.is_some()).count(), 9);
    assert_eq!(new.counters().iter().filter(|c| c.1.is_some()).count(), 15);
    assert_eq!((old.counter_bits(), new.counter_bits()), (32, 64));
    // A 32-bit counter that wrapped between two reads.
    assert_eq!(old.counter_delta(u64::from(u32::MAX) - 1, 3), 5);
    assert_eq!(new.counter_delta(10, 5_000_000_010), 5_000_000_000);
}

/// chronyd 4.0 sends a reserved word (all ones) where later versions count
/// good messages: the model says `None` there, as chronyc 4.0 shows no such
/// column.
#[test]
fn ntpdata_reserved_good_messages_of_chronyd_4_0_is_none() {
    use chrony::{FromRecord, NtpData, Record};
    let f = chrony_testkit::scenarios::ntpdata_chronyd_4_6();
    let n = NtpData::from_record(&Record::new(&f)).unwrap().unwrap();
    assert!(n.received_good_messages.is_some());
    let f = f.with_value(
        "received good messages",
        chrony_testkit::fake::FakeValue::Uinteger(0xFFFF_FFFF),
    );
    let n = NtpData::from_record(&Record::new(&f)).unwrap().unwrap();
    assert_eq!(n.received_good_messages, None);
}

/// The units rule of the crate docs, over every declared field: measured
/// seconds (offsets, delays, dispersions, errors, deviations) are `f64`;
/// ages, spans and intervals chronyd counts are `Duration`s (`Option` where
/// chronyd says "never"); log2 intervals (poll, precision) stay integers.
#[test]
fn units_rule_holds_for_every_model() {
    use chrony::reports::SCHEMAS;
    use chrony::FieldContent;
    let inner = |t: &'static str| -> &'static str {
        t.strip_prefix("Option<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(t)
    };
    let mut durations = Vec::new();
    for (report, fields) in SCHEMAS {
        for f in *fields {
            let ty = inner(f.rust_type);
            let at = format!("{report}.{} ({})", f.rust_name, f.rust_type);
            match f.content {
                FieldContent::OffsetSeconds | FieldContent::MeasureSeconds => {
                    assert_eq!(ty, "f64", "a measurement in seconds: {at}")
                }
                // selectdata's limits are the bounds of the source's offset
                // interval: signed measurements, whatever libchrony's
                // content kind says.
                FieldContent::IntervalSeconds
                    if report == &"selectdata" && f.rust_name.ends_with("_limit") =>
                {
                    assert_eq!(ty, "f64", "{at}")
                }
                FieldContent::IntervalSeconds => {
                    assert_eq!(ty, "Duration", "an age, span or interval: {at}");
                    durations.push(at.clone());
                }
                FieldContent::IntervalLog2Seconds => {
                    assert!(ty.starts_with('i'), "log2 seconds: {at}")
                }
                _ => {}
            }
            if ty == "Duration" {
                assert_eq!(f.content, FieldContent::IntervalSeconds, "{at}");
            }
        }
    }
    assert_eq!(durations.len(), 9, "{durations:#?}");
}

/// Durations read from chronyd: whole seconds, "never", float seconds; a
/// negative interval is bad data naming the field; in JSON they are
/// seconds (integers for the whole-second ones).
#[test]
fn durations_from_the_wire_and_in_json() {
    use std::time::Duration;
    let s: Source = one(&scenarios::source_selected());
    assert_eq!(s.last_sample_ago, Some(Duration::from_secs(23)));
    let never: Source = one(&scenarios::source_selected()
        .with_value("last sample ago", FakeValue::Uinteger(0xFFFF_FFFF)));
    assert_eq!(never.last_sample_ago, None);
    let t: Tracking = one(&scenarios::tracking_synchronized());
    assert_eq!(t.last_update_interval, Duration::from_millis(64_200));
    let (field, problem) = err::<Tracking>(
        &scenarios::tracking_synchronized()
            .with_value("last update interval", FakeValue::Float(-1.0)),
    );
    assert_eq!(field, "last update interval");
    assert!(
        matches!(problem, DataProblem::OutOfRange { .. }),
        "{problem:?}"
    );

    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["last_sample_ago"], serde_json::json!(23));
    assert_eq!(
        serde_json::to_value(&never).unwrap()["last_sample_ago"],
        serde_json::Value::Null
    );
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["last_update_interval"], serde_json::json!(64.2));
    let back: Tracking = serde_json::from_value(json).unwrap();
    assert_eq!(back, t);
    let back: Source = serde_json::from_value(serde_json::to_value(&never).unwrap()).unwrap();
    assert_eq!(back, never);
}

/// Issue 17: chronyd 4.0 sends the ntpdata record of a source that never
/// answered with a NULL remote address. That record is left out; the
/// healthy records of the same report are all returned.
#[test]
fn ntpdata_of_chronyd_4_0_leaves_out_the_unanswered_source() {
    use chrony::{FromRecord, NtpData, Record};
    let table = chrony_testkit::tables::captured("4.0").expect("4.0 table");
    let records = &table.reports["ntpdata"];
    // The capture: a reference clock (no fields), the server, the
    // unreachable server (no remote address).
    assert_eq!(records.len(), 3);
    let unanswered = &records[2];
    assert!(!unanswered.fields.is_empty());
    assert_eq!(
        NtpData::from_record(&Record::new(unanswered)).unwrap(),
        None,
        "a record without a remote address is left out"
    );
    let all: Vec<NtpData> = chrony_testkit::scenarios::build(records).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].address.to_string(), "172.29.231.10");
    // A record whose address is present is kept, and a wrong type is still
    // an error naming the field (not silently skipped).
    let healthy = records[1].clone();
    assert!(NtpData::from_record(&Record::new(&healthy))
        .unwrap()
        .is_some());
    let wrong = healthy.retyped(
        "remote address",
        chrony_testkit::fake::FakeValue::Uinteger(1),
    );
    match NtpData::from_record(&Record::new(&wrong)) {
        Err(chrony::Error::BadData { field, .. }) => assert_eq!(field, "remote address"),
        other => panic!("expected BadData on remote address, got {other:?}"),
    }
}

/// Issue 17: the test bits of ntpdata are at chronyd's positions (ntp_core.c
/// packs 1 2 3 5 6 7 A B C D from bit 9 down to bit 0: B is 0x4, C 0x2),
/// and `tests_string` prints them in chronyc's order.
#[test]
fn ntpdata_test_bits_are_chronyds() {
    use chrony::NtpFlags as F;
    let named = [
        F::TEST_1,
        F::TEST_2,
        F::TEST_3,
        F::TEST_5,
        F::TEST_6,
        F::TEST_7,
        F::TEST_A,
        F::TEST_B,
        F::TEST_C,
        F::TEST_D,
    ];
    for (k, bit) in named.iter().enumerate() {
        assert_eq!(*bit, 1 << (9 - k), "test #{k} of chronyc's list");
        // Only that test failed: chronyc prints a 0 at position k.
        let f = F::from_raw(0x3ff & !bit);
        let printed: String = f.tests_string().chars().filter(|c| *c != ' ').collect();
        let want: String = (0..10).map(|j| if j == k { '0' } else { '1' }).collect();
        assert_eq!(printed, want, "bit {bit:#x}");
        assert!(!f.passed(*bit));
    }
    assert_eq!(F::from_raw(0x3fd).tests_string(), "111 111 1101");
    assert_eq!(F::from_raw(0x3fb).tests_string(), "111 111 1011");
}
