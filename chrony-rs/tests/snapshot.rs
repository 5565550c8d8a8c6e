//! `Client::snapshot`: every report at once, over the Unix socket (all ten
//! served) and UDP (the Unix-only reports recorded as absent, with their
//! reason, not a failed snapshot).
mod common;

use chrony::snapshot::Part;
use chrony::Client;

#[test]
fn snapshot_over_unix_and_udp() {
    let d = common::builder()
        .servers(3)
        .refclocks(1)
        .poll(0)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"));
    let mut unix = Client::connect(d.socket_path()).unwrap();
    let snap = unix.snapshot().expect("snapshot over the Unix socket");
    // The snapshot names chronyd with the client's own address type.
    assert_eq!(&snap.address, unix.address());
    let sources = unix.sources().unwrap();
    let addresses =
        |v: &[chrony::Source]| v.iter().map(|s| s.address.to_string()).collect::<Vec<_>>();
    assert_eq!(
        addresses(snap.sources.present().unwrap()),
        addresses(&sources)
    );
    assert_eq!(snap.source_stats.present().unwrap().len(), 4);
    assert_eq!(snap.select_data.present().unwrap().len(), 4);
    // Reference clocks have no NTP or authentication data.
    assert_eq!(snap.ntp_data.present().unwrap().len(), 3);
    assert_eq!(snap.auth_data.present().unwrap().len(), 3);
    assert_eq!(
        snap.tracking.present().unwrap().reference_id,
        unix.tracking().unwrap().reference_id
    );
    assert!(snap.activity.present().is_some());
    assert!(snap.server_stats.present().is_some());
    // No RTC, no smoothing: present, and None.
    assert_eq!(snap.rtc_data, Part::Present(None));
    assert_eq!(snap.smoothing, Part::Present(None));

    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json["transport"], "unix");
    assert_eq!(json["sources"].as_array().unwrap().len(), 4);

    let udp_addr = d.udp_address().unwrap();
    let mut udp = Client::connect(udp_addr).unwrap();
    let snap = udp.snapshot().expect("snapshot over UDP");
    assert_eq!(snap.address, chrony::Address::from(udp_addr));
    assert_eq!(snap.sources.present().unwrap().len(), 4);
    assert!(snap.tracking.present().is_some());
    assert!(snap.activity.present().is_some());
    for (name, part) in [
        ("serverstats", snap.server_stats.present().is_some()),
        ("selectdata", snap.select_data.present().is_some()),
        ("ntpdata", snap.ntp_data.present().is_some()),
        ("authdata", snap.auth_data.present().is_some()),
    ] {
        assert!(!part, "{name} is served on the Unix socket only");
    }
    match &snap.server_stats {
        Part::Absent(a) => assert_eq!(a.absent, "unauthorized", "{a:?}"),
        other => panic!("{other:?}"),
    }
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json["ntp_data"]["absent"], "unauthorized");
    assert_eq!(json["transport"], "udp");
}
