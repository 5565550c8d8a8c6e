//! `Client::snapshot`: every report at once, over the Unix socket (all ten
//! served) and UDP (the Unix-only reports recorded as absent, with their
//! reason, not a failed snapshot).
mod common;

use chrony::snapshot::Part;
use chrony::Client;

/// 3 servers and a reference clock, with the UDP command port.
fn daemon() -> chrony_testkit::harness::Chronyd {
    common::builder()
        .servers(3)
        .refclocks(1)
        .poll(0)
        .udp_command(true)
        .start()
        .unwrap_or_else(|e| panic!("starting chronyd: {e}"))
}

#[test]
fn snapshot_over_unix_and_udp() {
    let d = daemon();
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

/// `snapshot_of` asks for the chosen reports only: over UDP through a
/// counting proxy, tracking alone is one request (libchrony answers its
/// count itself), tracking and sources with 4 sources 1 + 1 + 4; the
/// others are `not_requested`, never mistaken for a refusal.
#[test]
fn snapshot_of_reads_the_chosen_reports_only() {
    use chrony::snapshot::NOT_REQUESTED;
    use chrony_testkit::proxy::Proxy;
    let d = daemon();
    let upstream = d.udp_address().unwrap();
    let proxy = Proxy::builder(upstream).start().unwrap();
    let mut client = Client::connect(proxy.address()).unwrap();
    let before = proxy.stats().from_client;
    let snap = client.snapshot_of(&["tracking"]).unwrap();
    assert_eq!(proxy.stats().from_client - before, 1);
    assert!(snap.tracking.present().is_some());
    assert!(snap.tracking.was_requested());
    for (name, part) in [
        ("sources", snap.sources.absence()),
        ("rtcdata", snap.rtc_data.absence()),
        ("serverstats", snap.server_stats.absence()),
    ] {
        assert_eq!(
            part.map(|a| a.absent.as_str()),
            Some(NOT_REQUESTED),
            "{name}"
        );
    }
    assert!(!snap.server_stats.was_requested());

    let before = proxy.stats().from_client;
    let snap = client.snapshot_of(&["tracking", "sources"]).unwrap();
    assert_eq!(proxy.stats().from_client - before, 6);
    assert_eq!(snap.sources.present().unwrap().len(), 4);
    assert!(!snap.source_stats.was_requested());
    // A chosen report chronyd refuses is absent for that reason.
    let snap = client.snapshot_of(&["serverstats"]).unwrap();
    assert_eq!(snap.server_stats.absence().unwrap().absent, "unauthorized");
    assert!(matches!(
        client.snapshot_of(&["nosuchreport"]),
        Err(chrony::Error::UnknownReport(_))
    ));

    #[cfg(feature = "tokio")]
    {
        let snap = common::runtime().block_on(async {
            let mut c = chrony::tokio::AsyncClient::connect(proxy.address())
                .await
                .unwrap();
            c.snapshot_of(&["sourcestats"]).await.unwrap()
        });
        assert_eq!(snap.source_stats.present().unwrap().len(), 4);
        assert!(!snap.tracking.was_requested());
    }
}
