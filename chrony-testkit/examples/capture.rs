//! Captures every record of every report a chronyd serves, with field
//! names, types, content kinds, values and enum constant names, as the JSON
//! that `chrony_testkit::tables` loads.
//!
//! ```text
//! cargo run -p chrony-testkit --features harness --example capture -- ADDRESS [VERSION] > table.json
//! cargo run -p chrony-testkit --features harness --example capture -- --suite bullseye|bookworm|trixie|sid > table.json
//! ```
//! With `--suite`, it starts a harness chronyd in Docker (one loopback
//! reference server, one unreachable server, one reference clock, time
//! smoothing for leap seconds only), waits
//! until it is synchronized and captures that.
use chrony::{Client, Error, ErrorCode};
use chrony_testkit::fake::FakeRecord;
use chrony_testkit::harness::{ensure_images, Backend, ChronydBuilder, Suite};
use chrony_testkit::tables::CapturedTable;
use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let first = args
        .next()
        .ok_or("usage: capture ADDRESS [VERSION] | --suite SUITE")?;
    let mut _daemon = None;
    let (address, version) = if first == "--suite" {
        let name = args.next().ok_or("--suite needs a name")?;
        let suite = Suite::from_name(&name).ok_or("unknown suite")?;
        ensure_images(&[suite])?;
        let d = ChronydBuilder::new()
            .backend(Backend::Docker(suite))
            .servers(1)
            .unreachable_servers(1)
            .refclocks(1)
            .extra_config("smoothtime 400 0.001 leaponly")
            .start()?;
        // Let the reference clock deliver samples and statistics settle.
        std::thread::sleep(std::time::Duration::from_secs(3));
        let address = d.socket_path().to_string_lossy().into_owned();
        let version = d.chrony_version();
        _daemon = Some(d);
        (address, version)
    } else {
        (first, args.next().unwrap_or_default())
    };
    let mut client = Client::connect(&address)?;
    let mut table = CapturedTable {
        chrony_version: version,
        reports: BTreeMap::new(),
        refused: BTreeMap::new(),
    };
    for report in chrony::REPORTS {
        match client.fetch(report, |r| Ok(Some(FakeRecord::capture(r.source())))) {
            // rtcdata and smoothing claim one record without asking chronyd;
            // the client reads "disabled" on that record as "no records".
            Ok(records) if records.is_empty() && ["rtcdata", "smoothing"].contains(report) => {
                table.refused.insert(report.to_string(), "disabled".into());
            }
            Ok(records) => {
                table.reports.insert(report.to_string(), records);
            }
            Err(Error::Protocol {
                code: ErrorCode::Disabled,
                ..
            }) => {
                table.refused.insert(report.to_string(), "disabled".into());
            }
            Err(Error::Unauthorized { .. }) => {
                table
                    .refused
                    .insert(report.to_string(), "unauthorized".into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&table).expect("serializable")
    );
    Ok(())
}
