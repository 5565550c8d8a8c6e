//! One contract, two sources: the checks of `chrony_testkit::contract` run
//! on the fake scenarios and on live records from a chronyd the test starts
//! (backend from CHRONY_TESTKIT_BACKEND / CHRONY_TESTKIT_SUITE, local
//! processes by default). The scenarios' schemas must equal the tables
//! captured from every chronyd version, and a live daemon's schemas must
//! equal its version's captured table, so fakes, tables and daemons cannot
//! drift apart unnoticed.
use chrony::{Client, FieldSource, FromRecord, NtpData, Record};
use chrony_testkit::contract::{self, assert_same_schema, schema_of};
use chrony_testkit::fake::FakeRecord;
use chrony_testkit::harness::{ensure_images, Backend, ChronydBuilder};
use chrony_testkit::{scenarios, tables};

/// chronyd 4.0 sends the ntpdata record of a source that never answered
/// with no remote address (and port 0); later versions send the address.
/// True (after checking that the model leaves the record out, `Ok(None)`,
/// as it does a reference clock's) for such a record from chronyd 4.0;
/// false for any other record, which then goes through the contract.
fn unanswered_ntpdata_4_0<S: FieldSource + ?Sized>(
    version: &str,
    report: &str,
    rec: &Record<'_, S>,
) -> bool {
    let no_address = rec.source().field_index("remote address").is_some()
        && matches!(
            rec.get::<Option<String>>("remote address"),
            Ok(None) | Err(_)
        );
    if report != "ntpdata" || !no_address || !(version == "4.0" || version.starts_with("4.0.")) {
        return false;
    }
    match NtpData::from_record(rec) {
        Ok(None) => true,
        other => panic!("chronyd {version} ntpdata without remote address: {other:?}"),
    }
}

/// Runs the contract check for `report` on one record, whatever its source.
fn check<S: FieldSource + ?Sized>(report: &str, rec: &Record<'_, S>) -> serde_json::Value {
    match report {
        "tracking" => serde_json::to_value(contract::check_tracking(rec)),
        "sources" => serde_json::to_value(contract::check_source(rec)),
        "sourcestats" => serde_json::to_value(contract::check_sourcestats(rec)),
        "rtcdata" => serde_json::to_value(contract::check_rtcdata(rec)),
        "activity" => serde_json::to_value(contract::check_activity(rec)),
        "serverstats" => serde_json::to_value(contract::check_serverstats(rec)),
        "smoothing" => serde_json::to_value(contract::check_smoothing(rec)),
        "selectdata" => serde_json::to_value(contract::check_selectdata(rec)),
        "ntpdata" => serde_json::to_value(contract::check_ntpdata(rec)),
        "authdata" => serde_json::to_value(contract::check_authdata(rec)),
        other => panic!("no contract for {other}"),
    }
    .expect("models serialize")
}

fn fake_scenarios() -> Vec<(&'static str, FakeRecord)> {
    let mut v = vec![
        ("tracking", scenarios::tracking_synchronized()),
        ("tracking", scenarios::tracking_unsynchronized()),
        ("tracking", scenarios::tracking_stratum_16()),
        ("tracking", scenarios::tracking_leap_insert()),
        ("tracking", scenarios::tracking_leap_delete()),
        ("tracking", scenarios::tracking_refclock()),
        ("tracking", scenarios::tracking_local_reference()),
        ("tracking", scenarios::tracking_32bit_time_t()),
        ("sources", scenarios::source_selected()),
        ("sources", scenarios::source_refclock()),
        ("sources", scenarios::source_falseticker()),
        ("sources", scenarios::source_jittery()),
        ("sources", scenarios::source_unreachable()),
        ("sources", scenarios::source_unresolved()),
        ("sources", scenarios::source_fast_poll()),
        ("sourcestats", scenarios::sourcestats_ntp()),
        ("sourcestats", scenarios::sourcestats_refclock()),
        ("sourcestats", scenarios::sourcestats_no_samples()),
        ("rtcdata", scenarios::rtcdata_present()),
        ("activity", scenarios::activity_online()),
        ("activity", scenarios::activity_mixed()),
        ("serverstats", scenarios::serverstats_chronyd_4_6()),
        ("serverstats", scenarios::serverstats_chronyd_4_3()),
        ("serverstats", scenarios::serverstats_chronyd_4_0()),
        ("serverstats", scenarios::serverstats_chronyd_3()),
        ("smoothing", scenarios::smoothing_active()),
        ("selectdata", scenarios::selectdata_refclock_best()),
        ("selectdata", scenarios::selectdata_distant()),
        ("selectdata", scenarios::selectdata_unreachable()),
        ("selectdata", scenarios::selectdata_prefer_noselect()),
        ("ntpdata", scenarios::ntpdata_chronyd_4_6()),
        ("ntpdata", scenarios::ntpdata_chronyd_4_3()),
        ("ntpdata", scenarios::ntpdata_unreachable()),
        ("ntpdata", scenarios::ntpdata_refclock()),
        ("authdata", scenarios::authdata_none()),
        ("authdata", scenarios::authdata_nts()),
        ("authdata", scenarios::authdata_symmetric_key()),
        ("authdata", scenarios::authdata_refclock()),
    ];
    v.extend(
        scenarios::sources_many(128)
            .into_iter()
            .map(|r| ("sources", r)),
    );
    v
}

#[test]
fn contract_holds_for_every_fake_scenario() {
    for (report, rec) in fake_scenarios() {
        check(report, &Record::new(&rec));
    }
}

#[test]
fn contract_holds_for_every_captured_record() {
    for version in tables::VERSIONS {
        let table = tables::captured(version).unwrap();
        assert_eq!(&table.chrony_version, version);
        // Every report but rtcdata, which no captured daemon had (no RTC).
        for report in chrony::REPORTS.iter().copied().filter(|r| *r != "rtcdata") {
            let records = &table.reports[report];
            assert!(!records.is_empty(), "{version} {report}");
            for rec in records {
                if !unanswered_ntpdata_4_0(version, report, &Record::new(rec)) {
                    check(report, &Record::new(rec));
                }
            }
        }
        assert_eq!(
            table.refused.get("rtcdata").map(String::as_str),
            Some("disabled"),
            "{version}"
        );
    }
}

#[test]
fn scenarios_use_the_schemas_of_every_captured_version() {
    for version in tables::VERSIONS {
        let t = tables::captured(version).unwrap();
        let first = |report: &str, pred: &dyn Fn(&FakeRecord) -> bool| {
            t.find(report, pred)
                .unwrap_or_else(|| panic!("{version}: no matching {report} record"))
                .schema()
        };
        let what = |r: &str| format!("chronyd {version} {r}");
        assert_same_schema(
            &what("tracking"),
            &scenarios::tracking_synchronized().schema(),
            &first("tracking", &|_| true),
        );
        let is_refclock = |r: &FakeRecord| r.field_index("reference ID").is_some();
        assert_same_schema(
            &what("sources (NTP)"),
            &scenarios::source_selected().schema(),
            &first("sources", &|r| !is_refclock(r)),
        );
        assert_same_schema(
            &what("sources (refclock)"),
            &scenarios::source_refclock().schema(),
            &first("sources", &is_refclock),
        );
        assert_same_schema(
            &what("sourcestats"),
            &scenarios::sourcestats_ntp().schema(),
            &first("sourcestats", &|_| true),
        );
    }
}

#[test]
fn contract_holds_for_a_live_chronyd() {
    let backend = Backend::from_env().unwrap();
    if let Backend::Docker(suite) = backend {
        ensure_images(&[suite]).unwrap();
    }
    let d = ChronydBuilder::new()
        .backend(backend)
        .servers(2)
        .unreachable_servers(1)
        .refclocks(1)
        .extra_config("smoothtime 400 0.001 leaponly")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let version = d.chrony_version();
    assert!(
        tables::captured(&version).is_some(),
        "no captured table for chronyd {version}: run `cargo run -p chrony-testkit --features harness --example capture` and add it"
    );
    let mut client = Client::connect(d.socket_path().to_str().unwrap()).unwrap();
    let mut snapshot = serde_json::Map::new();
    for report in chrony::REPORTS.iter().copied().filter(|r| *r != "rtcdata") {
        let mut schemas = Vec::new();
        let models = client
            .fetch(report, |r| {
                schemas.push(schema_of(r.source()));
                if unanswered_ntpdata_4_0(&version, report, r) {
                    return Ok(None);
                }
                Ok(Some(check(report, r)))
            })
            .unwrap();
        // Same schemas as the captured table of this version, record by record
        // kind (NTP sources and reference clocks differ in their first field).
        for live in &schemas {
            let first = live.first().map(|f| f.0.as_str());
            let captured =
                contract::captured_schema(&version, report, first).unwrap_or_else(|| {
                    panic!("chronyd {version} {report}: no captured record like {live:?}")
                });
            assert_same_schema(&format!("live chronyd {version} {report}"), &captured, live);
        }
        if ["tracking", "sources", "sourcestats"].contains(&report) {
            snapshot.insert(report.to_string(), serde_json::Value::Array(models));
        }
    }
    assert_eq!(client.rtc_data().unwrap(), None);
    // Values that vary between runs (and addresses, which differ between
    // backends) are redacted, floats after checking they are finite;
    // structure, keys, modes, poll and counts are kept.
    insta::with_settings!({ sort_maps => true }, {
        insta::assert_json_snapshot!("live", snapshot, {
            ".tracking[].reference_id" => "[refid]",
            ".tracking[].address" => "[address]",
            ".tracking[].stratum" => "[stratum]",
            ".tracking[].reference_time" => date(),
            ".tracking[].current_correction" => finite(),
            ".tracking[].last_offset" => finite(),
            ".tracking[].rms_offset" => finite(),
            ".tracking[].frequency_ppm" => finite(),
            ".tracking[].residual_frequency_ppm" => finite(),
            ".tracking[].skew_ppm" => finite(),
            ".tracking[].root_delay" => finite(),
            ".tracking[].root_dispersion" => finite(),
            ".tracking[].last_update_interval" => finite(),
            ".sources[].address" => "[address]",
            ".sources[].state" => "[state]",
            ".sources[].stratum" => "[stratum]",
            ".sources[].poll" => "[poll]",
            ".sources[].reachability" => "[reach]",
            ".sources[].last_sample_ago" => "[ago]",
            ".sources[].original_offset" => finite(),
            ".sources[].adjusted_offset" => finite(),
            ".sources[].error" => finite(),
            ".sourcestats[].reference_id" => "[refid]",
            ".sourcestats[].address" => "[address]",
            ".sourcestats[].samples" => "[count]",
            ".sourcestats[].runs" => "[count]",
            ".sourcestats[].span" => "[count]",
            ".sourcestats[].residual_frequency_ppm" => finite(),
            ".sourcestats[].skew_ppm" => finite(),
            ".sourcestats[].standard_deviation" => finite(),
            ".sourcestats[].offset" => finite(),
            ".sourcestats[].offset_error" => finite(),
        });
    });
}

/// Redacts a time, after checking it is an RFC 3339 date.
fn date() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, path| {
        assert!(
            value
                .as_str()
                .is_some_and(|s| s.parse::<chrony::Timestamp>().is_ok()),
            "{path}: not a date: {value:?}"
        );
        "[date]"
    })
}

/// Redacts a value that varies between runs, after checking it is a finite
/// number.
fn finite() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, path| {
        assert!(
            value.as_f64().is_some_and(f64::is_finite),
            "{path}: not a finite number: {value:?}"
        );
        "[float]"
    })
}

/// Each model's declaration (`FromRecord::FIELDS`) against every record of
/// every captured chronyd version: names, types, content kinds, order,
/// presence by version, nothing undeclared.
#[test]
fn declarations_match_every_captured_table() {
    for version in tables::VERSIONS {
        let table = tables::captured(version).unwrap();
        let problems = contract::table_problems(&table);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

/// The declaration check fails when a table and a declaration disagree.
#[test]
fn declaration_check_catches_disagreements() {
    use chrony_testkit::FakeValue;
    let table = tables::captured("4.9").unwrap();
    let tamper = |report: &str, f: &dyn Fn(FakeRecord) -> FakeRecord| {
        let mut t = table.clone();
        for r in t.reports.get_mut(report).unwrap().iter_mut() {
            if !r.fields.is_empty() {
                *r = f(r.clone());
            }
        }
        contract::table_problems(&t)
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "\"skew\"",
            tamper("tracking", &|r| r.renamed("skew", "skew ppm")),
        ),
        (
            "\"stratum\"",
            tamper("tracking", &|r| r.retyped("stratum", FakeValue::Integer(2))),
        ),
        (
            "\"new counter\"",
            tamper("serverstats", &|r| {
                r.add_uinteger("new counter", chrony::FieldContent::Count, 1)
            }),
        ),
        (
            "\"kernel transmit timestamps\"",
            tamper("ntpdata", &|r| r.without("kernel transmit timestamps")),
        ),
        (
            "\"score\"",
            tamper("selectdata", &|r| {
                r.with_content("score", chrony::FieldContent::Count)
            }),
        ),
    ];
    for (field, problems) in cases {
        assert!(
            problems.iter().any(|p| p.contains(field)),
            "{field}: {problems:?}"
        );
    }
    // A field that only newer daemons send, found in an old table.
    let mut old = tables::captured("4.3").unwrap();
    let ntp = old.reports.get_mut("ntpdata").unwrap();
    let i = ntp.iter().position(|r| !r.fields.is_empty()).unwrap();
    ntp[i] =
        ntp[i]
            .clone()
            .add_uinteger("kernel transmit timestamps", chrony::FieldContent::Count, 0);
    let problems = contract::table_problems(&old);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("unexpectedly in") && p.contains("4.3")),
        "{problems:?}"
    );
}
