//! The typed builders (`chrony_testkit::fake::tracking()` and friends,
//! generated from each model's declaration) and the errors of the
//! string-typed `FakeRecord` API.
use chrony::reports::builder::Builder;
use chrony::{FromRecord, Record, SourceId, Tracking};
use chrony_testkit::fake::{self, FakeRecord, FakeValue};
use chrony_testkit::scenarios as sc;
use std::time::Duration;

fn model<M: FromRecord>(rec: &FakeRecord) -> M {
    M::from_record(&Record::new(rec))
        .unwrap_or_else(|e| panic!("{}: {e}", rec.report))
        .expect("a model")
}

/// Every field of every scenario written through its setter onto another
/// scenario of the same report reads back as the scenario's model: each
/// setter encodes its Rust value as chronyd sends it (whole and float
/// seconds, "never", addresses and reference clocks, fields an older
/// chronyd lacks, authdata's paired address).
fn round_trip<M: FromRecord + PartialEq + std::fmt::Debug + Clone>(
    base: fn() -> Builder<M, FakeRecord>,
    scenarios: &[FakeRecord],
) where
    Builder<M, FakeRecord>: WithModel<M>,
{
    for rec in scenarios {
        let want: M = model(rec);
        let b = base().set_all(&want);
        assert_eq!(b.build(), want, "{} from {:?}", rec.report, b.record());
        // The record alone reads as the model too.
        assert_eq!(model::<M>(b.record()), want.clone());
    }
}

/// `with_model` of each generated builder, for the generic test.
trait WithModel<M> {
    fn set_all(self, m: &M) -> Self;
}

macro_rules! with_model {
    ($($m:ty),*) => {$(
        impl WithModel<$m> for Builder<$m, FakeRecord> {
            fn set_all(self, m: &$m) -> Self {
                self.with_model(m)
            }
        }
    )*};
}
with_model!(
    chrony::Tracking,
    chrony::Source,
    chrony::SourceStats,
    chrony::RtcData,
    chrony::Activity,
    chrony::ServerStats,
    chrony::Smoothing,
    chrony::SelectData,
    chrony::NtpData,
    chrony::AuthData
);

#[test]
fn every_setter_writes_what_the_model_reads() {
    round_trip(
        fake::tracking,
        &[
            sc::tracking_unsynchronized(),
            sc::tracking_leap_delete(),
            sc::tracking_refclock(),
            sc::tracking_local_reference(),
            sc::tracking_32bit_time_t(),
        ],
    );
    round_trip(
        fake::source,
        &[
            sc::source_refclock(),
            sc::source_unreachable(),
            sc::source_unresolved(),
            sc::source_fast_poll(),
            sc::source_falseticker(),
        ],
    );
    round_trip(
        fake::source_stats,
        &[sc::sourcestats_refclock(), sc::sourcestats_no_samples()],
    );
    round_trip(fake::rtc_data, &[sc::rtcdata_present()]);
    round_trip(fake::activity, &[sc::activity_mixed()]);
    round_trip(
        fake::server_stats,
        &[
            sc::serverstats_chronyd_4_3(),
            sc::serverstats_chronyd_4_0(),
            sc::serverstats_chronyd_3(),
        ],
    );
    round_trip(fake::smoothing, &[sc::smoothing_active()]);
    round_trip(
        fake::select_data,
        &[
            sc::selectdata_distant(),
            sc::selectdata_unreachable(),
            sc::selectdata_prefer_noselect(),
            sc::selectdata_unknown_state(),
        ],
    );
    round_trip(
        fake::ntp_data,
        &[sc::ntpdata_chronyd_4_3(), sc::ntpdata_unreachable()],
    );
    round_trip(
        fake::auth_data,
        &[sc::authdata_none(), sc::authdata_symmetric_key()],
    );
}

/// "A tracking like the scenario but with this last offset": only that
/// field differs, in the model and in the record.
#[test]
fn a_setter_changes_its_field_only() {
    let base = sc::tracking_synchronized();
    let b = fake::tracking().last_offset(1e-3);
    let t = b.build();
    let mut want: Tracking = model(&base);
    assert_ne!(want.last_offset, 1e-3);
    want = fake::tracking().with_model(&want).last_offset(1e-3).build();
    assert_eq!(t, want);
    let changed: Vec<&str> = base
        .fields
        .iter()
        .zip(&b.record().fields)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.name.as_str())
        .collect();
    assert_eq!(changed, ["last offset"]);
    assert_eq!(b.record().fields.len(), base.fields.len());
}

#[test]
fn fields_with_their_own_encoding() {
    // A reference clock as a source: no address field, its reference ID.
    let gps = SourceId::RefClock(chrony::RefId(0x4750_5330));
    let b = fake::source().address(gps);
    assert_eq!(b.build().address, gps);
    assert!(b.record().fields.iter().all(|f| f.name != "address"));
    // "never" is chronyd's 0xFFFFFFFF.
    let b = fake::source().last_sample_ago(None);
    let f = b
        .record()
        .fields
        .iter()
        .find(|f| f.name == "last sample ago")
        .unwrap();
    assert_eq!(f.value, FakeValue::Uinteger(0xFFFF_FFFF));
    // A field chronyd 4.6 added, absent as from chronyd 4.3.
    let b = fake::ntp_data().kernel_transmit_timestamps(None);
    assert!(b
        .record()
        .fields
        .iter()
        .all(|f| f.name != "kernel transmit timestamps"));
    assert_eq!(b.build().kernel_transmit_timestamps, None);
    // Float seconds.
    let s = fake::smoothing()
        .last_update_ago(Duration::from_millis(1500))
        .build();
    assert_eq!(s.last_update_ago, Duration::from_millis(1500));
    // The paired address of authdata is set on the model.
    let a = fake::auth_data()
        .address(Some("192.0.2.9".parse().unwrap()))
        .build();
    assert_eq!(a.address.unwrap(), "192.0.2.9");
    // A record with no fields reads as no model.
    let empty = fake::builder::<chrony::NtpData>(sc::ntpdata_refclock());
    assert!(empty.try_build().unwrap().is_none());
}

/// Panics of the string API: at the caller (`#[track_caller]`), naming the
/// problem and listing the record's fields with the model's Rust names.
#[test]
fn string_api_errors_are_clear_and_at_the_caller() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let hook_seen = seen.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        *hook_seen.lock().unwrap() = at;
    }));
    let mut messages = Vec::new();
    let mut places = Vec::new();
    let cases: Vec<(u32, Box<dyn Fn() -> FakeRecord>)> = vec![
        (
            line!() + 2,
            Box::new(|| {
                sc::tracking_synchronized().with_value("last offset", FakeValue::Uinteger(1))
            }),
        ),
        (
            line!() + 2,
            Box::new(|| {
                sc::tracking_synchronized().with_value("current corection", FakeValue::Float(1.0))
            }),
        ),
        (
            line!() + 1,
            Box::new(|| sc::source_selected().without("adress")),
        ),
    ];
    for (line, case) in cases {
        let err = catch_unwind(AssertUnwindSafe(case)).expect_err("panics");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        let at = seen.lock().unwrap().take().unwrap_or_default();
        places.push((at, format!("{}:{line}", file!())));
        messages.push(msg);
    }
    std::panic::set_hook(previous);
    for ((at, want), msg) in places.iter().zip(&messages) {
        assert_eq!(at, want, "{msg}");
    }

    assert!(
        messages[0].contains("\"last offset\" is float")
            && messages[0].contains("unsigned integer")
            && messages[0].contains("retyped"),
        "{}",
        messages[0]
    );
    for m in &messages[..2] {
        for field in ["\"current correction\"", "\"last update interval\""] {
            assert!(m.contains(field), "lists the fields: {m}");
        }
        assert!(
            m.contains("model field `current_correction: f64`"),
            "with their Rust names: {m}"
        );
    }
    assert!(
        messages[1].contains("no field \"current corection\""),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].contains("no field \"adress\"") && messages[2].contains("\"address\""),
        "{}",
        messages[2]
    );
    // An integer of the other signedness is what libchrony's getters accept.
    let rec = sc::source_selected().with_value("poll", FakeValue::Uinteger(4));
    assert_eq!(model::<chrony::Source>(&rec).poll, 4);
}
