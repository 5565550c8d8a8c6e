//! `GenericRecord`: every kind of field, read from fake records of the
//! testkit.
use chrony::field::Record;
use chrony::{FieldContent as C, GenericRecord, Timestamp, Value};
use chrony_testkit::{FakeRecord, FakeValue};

/// Appends a FLAGS field with names for some bits.
fn flags(r: FakeRecord, name: &str, v: u64, names: &[(u64, &str)]) -> FakeRecord {
    let mut r = r.add_uinteger(name, C::Flags, v);
    if let Some(f) = r.fields.last_mut() {
        f.constants = names.iter().map(|(k, n)| (*k, n.to_string())).collect();
    }
    r
}

#[test]
fn every_kind_of_field() {
    let f = FakeRecord::new("ntpdata")
        .add_string("remote address", C::Address, Some("192.0.2.1"))
        .add_string("address", C::Address, None)
        .add_enum("mode", 4, &[(4, "server")])
        .add_uinteger("state", C::Enum, 9);
    let f = flags(
        f,
        "flags",
        0x4000 | 0x200 | 0x1,
        &[(0x1, "testD"), (0x200, "test1"), (0x4000, "interleaved")],
    )
    .add_uinteger("NAK", C::Boolean, 1)
    .add_uinteger("odd boolean", C::Boolean, 7)
    .add_integer("poll", C::IntervalLog2Seconds, 65534)
    .add_integer("precision", C::IntervalLog2Seconds, -25)
    .add_integer("other", C::Count, 65534)
    .add_float("offset", C::OffsetSeconds, -1.5)
    .add_timespec("reference time", C::Time, 10, 5)
    .add_uinteger("count", C::Count, 3);
    let r = GenericRecord::from_source(&Record::new(&f)).unwrap();
    assert_eq!(r.report, "ntpdata");
    assert_eq!(r.fields.len(), 13);
    assert_eq!(
        r.get("remote address").and_then(Value::as_str),
        Some("192.0.2.1")
    );
    assert_eq!(r.get("address"), Some(&Value::Text(None)));
    assert_eq!(
        r.get("mode"),
        Some(&Value::Enum {
            value: 4,
            name: Some("server".into())
        })
    );
    assert_eq!(
        r.get("state"),
        Some(&Value::Enum {
            value: 9,
            name: None
        })
    );
    assert_eq!(
        r.get("flags"),
        Some(&Value::Flags {
            value: 0x4201,
            names: vec!["testD".into(), "test1".into(), "interleaved".into()]
        })
    );
    assert_eq!(r.get("NAK"), Some(&Value::Bool(true)));
    assert_eq!(r.get("odd boolean"), Some(&Value::Unsigned(7)));
    assert_eq!(r.get("poll"), Some(&Value::Signed(-2)));
    assert_eq!(r.get("precision"), Some(&Value::Signed(-25)));
    assert_eq!(r.get("other"), Some(&Value::Signed(65534)));
    assert_eq!(r.get("offset").and_then(Value::as_f64), Some(-1.5));
    assert_eq!(
        r.get("reference time"),
        Some(&Value::Time(Timestamp::new(10, 5).unwrap()))
    );
    assert_eq!(r.get("count").and_then(Value::as_u64), Some(3));
    assert_eq!(r.fields[2].content, C::Enum);
}

#[test]
fn bad_values_name_the_field() {
    let f = FakeRecord::new("tracking").add_float("skew", C::MeasurePpm, f64::INFINITY);
    match GenericRecord::from_source(&Record::new(&f)) {
        Err(chrony::Error::BadData { report, field, .. }) => {
            assert_eq!((report.as_str(), field.as_str()), ("tracking", "skew"))
        }
        other => panic!("{other:?}"),
    }
    let empty = GenericRecord::from_source(&Record::new(&FakeRecord::new("authdata"))).unwrap();
    assert!(empty.fields.is_empty());
}

#[test]
fn booleans_are_zero_or_one() {
    let f = FakeRecord::new("x")
        .add_uinteger("a", C::Boolean, 0)
        .add_uinteger("b", C::Boolean, 1)
        .add_uinteger("c", C::Boolean, 2)
        .add_float("d", C::Boolean, 1.0);
    let r = Record::new(&f);
    assert!(!r.get::<bool>("a").unwrap());
    assert!(r.get::<bool>("b").unwrap());
    assert!(r.get::<bool>("c").is_err());
    assert!(r.get::<bool>("d").is_err());
    let f = f.with_value("c", FakeValue::Uinteger(1));
    assert!(Record::new(&f).get::<bool>("c").unwrap());
}

#[test]
fn serde_round_trip() {
    let f = FakeRecord::new("ntpdata").add_enum("mode", 4, &[(4, "server")]);
    let f = flags(f, "flags", 1, &[(1, "testD")])
        .add_timespec("reference time", C::Time, 10, 500_000_000)
        .add_string("address", C::Address, None)
        .add_integer("poll", C::IntervalLog2Seconds, -2);
    let r = GenericRecord::from_source(&Record::new(&f)).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["fields"][0],
        serde_json::json!({"name": "mode", "content": "enum", "type": "enum", "value": {"value": 4, "name": "server"}})
    );
    assert_eq!(
        json["fields"][2]["value"],
        serde_json::json!("1970-01-01T00:00:10.500000000Z")
    );
    assert_eq!(
        json["fields"][4],
        serde_json::json!({"name": "poll", "content": "interval_log2_seconds", "type": "signed", "value": -2})
    );
    let back: GenericRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}
