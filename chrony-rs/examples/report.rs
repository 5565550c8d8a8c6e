//! Prints chronyd's reports as chronyc-like tables or as JSON.
//!
//! ```text
//! cargo run -p chrony --example report -- [--address ADDR] [--timeout SECS] [--json] [--raw]
//!     [tracking|sources|sourcestats|rtcdata|activity|serverstats|smoothing|selectdata|ntpdata|authdata|all]
//! ```
//! Without `--address` it connects like chronyc (default socket, then
//! 127.0.0.1 and ::1).
//!
//! `--json` prints the typed model: an object for single-record reports
//! (`null` for rtcdata/smoothing when chronyd has that feature off), an
//! array for per-source reports; keys are libchrony's field names in
//! snake_case, seconds unmarked and ppm values ending in `_ppm`, times as
//! RFC 3339 UTC strings with nine decimals (`2026-11-26T19:11:57.515378988Z`,
//! exact; before 0.1 they were float seconds), sources as chronyc names
//! them (an IP address, `ID#0000000001`, or a reference clock's name such
//! as `GPS0`). With `all`
//! it prints one object keyed by report name. `--raw` prints the generic
//! records instead (every field with its libchrony name, content, type and
//! value; enum and flag names included), as JSON with `--json`.
//!
//! Errors go to stderr and the exit status is 1 (2 for bad arguments). With
//! `all`, a report that fails (typically serverstats, selectdata, ntpdata
//! and authdata, which chronyd refuses over UDP) is reported on stderr and
//! left out, the other reports are still printed, and the exit status is 1;
//! any error with a single report name ends the run at once.
use chrony::snapshot::Part;
use chrony::{
    Activity, AuthData, Client, Error, GenericRecord, NtpData, RtcData, SelectData, ServerStats,
    Smoothing, Source, SourceStats, Tracking,
};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: report [--address ADDR] [--timeout SECS] [--json] [--raw] \
[tracking|sources|sourcestats|rtcdata|activity|serverstats|smoothing|selectdata|ntpdata|authdata|all]";
const NAMES: &[&str] = &[
    "tracking",
    "sources",
    "sourcestats",
    "rtcdata",
    "activity",
    "serverstats",
    "smoothing",
    "selectdata",
    "ntpdata",
    "authdata",
];

struct Args {
    address: Option<String>,
    timeout: Option<Duration>,
    json: bool,
    raw: bool,
    report: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        address: None,
        timeout: None,
        json: false,
        raw: false,
        report: "all".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--address" | "-a" => args.address = Some(it.next().ok_or("--address needs a value")?),
            "--timeout" | "-t" => {
                let v = it.next().ok_or("--timeout needs a value")?;
                let secs: f64 = v.parse().map_err(|_| format!("bad --timeout {v:?}"))?;
                if !(secs.is_finite() && secs > 0.0) {
                    return Err(format!("bad --timeout {v:?}"));
                }
                args.timeout = Some(Duration::from_secs_f64(secs));
            }
            "--json" | "-j" => args.json = true,
            "--raw" | "-r" => args.raw = true,
            "--help" | "-h" => return Err(String::new()),
            name if !name.starts_with('-') => {
                if name != "all" && !NAMES.contains(&name) {
                    return Err(format!("unknown report {name:?}"));
                }
                args.report = name.to_string();
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(args)
}

/// `println!` for stdout that ends the program quietly when the reader has
/// gone (`report all | head -1`: a broken pipe is not an error), and with
/// status 1 on any other write error, instead of panicking.
macro_rules! out {
    () => {
        out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

fn out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("report: writing to stdout: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("report: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("report: {}", e.chain());
            ExitCode::from(1)
        }
    }
}

/// Prints the reports; `Ok(false)` when some report of `all` failed.
fn run(args: &Args) -> Result<bool, Error> {
    let mut builder = Client::builder();
    if let Some(t) = args.timeout {
        builder = builder.timeout(t);
    }
    let mut client = match &args.address {
        Some(a) => builder.connect(a)?,
        None => builder.connect_default()?,
    };
    let all = args.report == "all";
    let names: Vec<&str> = if all {
        NAMES.to_vec()
    } else {
        vec![args.report.as_str()]
    };
    let mut doc = serde_json::Map::new();
    let mut ok = true;
    if all && !args.raw {
        // Every report at once, over the client's sessions; a report
        // chronyd refuses is reported on stderr and makes the exit status 1.
        let snap = client.snapshot()?;
        let mut put = |name: &str, value: Result<serde_json::Value, &chrony::snapshot::Absence>| {
            match value {
                Ok(v) => {
                    doc.insert(name.to_string(), v);
                }
                Err(a) => {
                    eprintln!("report: {name}: {} ({})", a.message, a.absent);
                    ok = false;
                }
            }
        };
        macro_rules! part {
            ($name:literal, $field:ident, $print:expr) => {
                match &snap.$field {
                    Part::Present(v) => {
                        if !args.json {
                            $print(v);
                        }
                        put($name, Ok(to_json(v)));
                    }
                    Part::Absent(a) => put($name, Err(a)),
                    _ => {}
                }
            };
        }
        part!("tracking", tracking, print_tracking);
        part!("sources", sources, |v: &Vec<_>| print_sources(v));
        part!("sourcestats", source_stats, |v: &Vec<_>| print_sourcestats(
            v
        ));
        part!("rtcdata", rtc_data, |v: &Option<_>| print_rtcdata(
            v.as_ref()
        ));
        part!("activity", activity, print_activity);
        part!("serverstats", server_stats, print_serverstats);
        part!("smoothing", smoothing, |v: &Option<_>| print_smoothing(
            v.as_ref()
        ));
        part!("selectdata", select_data, |v: &Vec<_>| print_selectdata(v));
        part!("ntpdata", ntp_data, |v: &Vec<_>| print_ntpdata(v));
        part!("authdata", auth_data, |v: &Vec<_>| print_authdata(v));
    }
    for name in names.iter().filter(|_| !all || args.raw) {
        let result = if args.raw {
            raw(&mut client, name, args.json)
        } else {
            typed(&mut client, name, args.json)
        };
        match result {
            Ok(value) => {
                doc.insert(name.to_string(), value);
            }
            Err(e) if all => {
                eprintln!("report: {name}: {}", e.chain());
                ok = false;
            }
            Err(e) => return Err(e),
        }
    }
    if args.json {
        let out = if all {
            serde_json::Value::Object(doc)
        } else {
            doc.remove(names[0]).unwrap_or(serde_json::Value::Null)
        };
        out!(
            "{}",
            serde_json::to_string_pretty(&out).expect("JSON of plain data")
        );
    }
    Ok(ok)
}

/// Reads one report as generic records; prints them unless `json`.
fn raw(client: &mut Client, name: &str, json: bool) -> Result<serde_json::Value, Error> {
    let records = client.records(name)?;
    if !json {
        print_raw(name, &records);
    }
    Ok(to_json(&records))
}

/// Reads one report as its typed model; prints it unless `json`.
fn typed(client: &mut Client, name: &str, json: bool) -> Result<serde_json::Value, Error> {
    let table = !json;
    Ok(match name {
        "tracking" => {
            let t = client.tracking()?;
            if table {
                print_tracking(&t);
            }
            to_json(&t)
        }
        "sources" => {
            let s = client.sources()?;
            if table {
                print_sources(&s);
            }
            to_json(&s)
        }
        "sourcestats" => {
            let s = client.source_stats()?;
            if table {
                print_sourcestats(&s);
            }
            to_json(&s)
        }
        "rtcdata" => {
            let r = client.rtc_data()?;
            if table {
                print_rtcdata(r.as_ref());
            }
            to_json(&r)
        }
        "activity" => {
            let a = client.activity()?;
            if table {
                print_activity(&a);
            }
            to_json(&a)
        }
        "serverstats" => {
            let s = client.server_stats()?;
            if table {
                print_serverstats(&s);
            }
            to_json(&s)
        }
        "smoothing" => {
            let s = client.smoothing()?;
            if table {
                print_smoothing(s.as_ref());
            }
            to_json(&s)
        }
        "selectdata" => {
            let s = client.select_data()?;
            if table {
                print_selectdata(&s);
            }
            to_json(&s)
        }
        "ntpdata" => {
            let n = client.ntp_data()?;
            if table {
                print_ntpdata(&n);
            }
            to_json(&n)
        }
        "authdata" => {
            let a = client.auth_data()?;
            if table {
                print_authdata(&a);
            }
            to_json(&a)
        }
        other => return Err(Error::UnknownReport(other.to_string())),
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("models serialize to JSON")
}

fn print_raw(name: &str, records: &[GenericRecord]) {
    if records.is_empty() {
        out!("{name}: no records");
    }
    for (i, r) in records.iter().enumerate() {
        out!("{name} record {i} ({} fields)", r.fields.len());
        for f in &r.fields {
            out!("  {:<36} {:<22} {}", f.name, f.content.name(), f.value);
        }
    }
    out!();
}

fn print_tracking(t: &Tracking) {
    out!(
        "Reference ID    : {} ({})",
        t.reference_id,
        // chronyc: the address, else the ID's printable text, else nothing
        // (`7F7F0101 ()` for the local clock).
        t.address.map_or_else(
            || t.reference_id.name().unwrap_or_default(),
            |a| a.to_string()
        )
    );
    out!("Stratum         : {}", t.stratum);
    out!("Ref time (UTC)  : {}", t.reference_time.to_ctime_string());
    out!(
        "System time     : {:.9} seconds {} of NTP time",
        t.current_correction.abs(),
        if t.current_correction < 0.0 {
            "fast"
        } else {
            "slow"
        }
    );
    out!("Last offset     : {:+.9} seconds", t.last_offset);
    out!("RMS offset      : {:.9} seconds", t.rms_offset);
    out!(
        "Frequency       : {:.3} ppm {}",
        t.frequency_ppm.abs(),
        if t.frequency_ppm < 0.0 {
            "fast"
        } else {
            "slow"
        }
    );
    out!("Residual freq   : {:+.3} ppm", t.residual_frequency_ppm);
    out!("Skew            : {:.3} ppm", t.skew_ppm);
    out!("Root delay      : {:.9} seconds", t.root_delay);
    out!("Root dispersion : {:.9} seconds", t.root_dispersion);
    out!(
        "Update interval : {:.1} seconds",
        t.last_update_interval.as_secs_f64()
    );
    out!("Leap status     : {}", t.leap_status);
    out!();
}

fn print_sources(sources: &[Source]) {
    out!("MS Name/IP address         Stratum Poll Reach LastRx Last sample");
    out!("===============================================================================");
    for s in sources {
        let ago = s
            .last_sample_ago
            .map_or("-".to_string(), |a| a.as_secs().to_string());
        out!(
            "{}{} {:<27} {:>2} {:>4}  {:>4o} {:>6} {:+.9}[{:+.9}] +/- {:.9}",
            s.mode.symbol(),
            s.state.symbol(),
            s.address,
            s.stratum,
            s.poll,
            s.reachability,
            ago,
            s.adjusted_offset,
            s.original_offset,
            s.error
        );
    }
    out!();
}

fn print_sourcestats(stats: &[SourceStats]) {
    out!("Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev");
    out!("==============================================================================");
    for s in stats {
        out!(
            "{:<25} {:>3} {:>3} {:>5} {:>10.3} {:>10.3} {:>+9.3e} {:>9.3e}",
            s.address,
            s.samples,
            s.runs,
            s.span.as_secs(),
            s.residual_frequency_ppm,
            s.skew_ppm,
            s.offset,
            s.standard_deviation
        );
    }
    out!();
}

fn print_rtcdata(r: Option<&RtcData>) {
    match r {
        None => out!("RTC tracking not available"),
        Some(r) => {
            out!(
                "RTC ref time (UTC) : {}",
                r.reference_time.to_ctime_string()
            );
            out!("Number of samples  : {}", r.samples);
            out!("Number of runs     : {}", r.runs);
            out!("Sample span period : {}", r.span.as_secs());
            out!("RTC is fast by     : {:.6} seconds", r.offset);
            out!("RTC gains time at  : {:.3} ppm", r.frequency_ppm);
        }
    }
    out!();
}

fn print_activity(a: &Activity) {
    out!("{} sources online", a.online_sources);
    out!("{} sources offline", a.offline_sources);
    out!(
        "{} sources doing burst (return to online)",
        a.burst_online_return_sources
    );
    out!(
        "{} sources doing burst (return to offline)",
        a.burst_offline_return_sources
    );
    out!("{} sources with unknown address", a.unresolved_sources);
    out!();
}

fn print_serverstats(s: &ServerStats) {
    for (name, value) in s.counters().into_iter().chain(s.gauges()) {
        if let Some(v) = value {
            out!("{name:<38}: {v}");
        }
    }
    out!();
}

fn print_smoothing(s: Option<&Smoothing>) {
    match s {
        None => out!("Time smoothing not enabled"),
        Some(s) => {
            out!(
                "Active         : {}{}",
                if s.flags.active { "Yes" } else { "No" },
                if s.flags.leap_only {
                    " (leap second only)"
                } else {
                    ""
                }
            );
            out!("Offset         : {:+.9} seconds", s.offset);
            out!("Frequency      : {:+.6} ppm", s.frequency_ppm);
            out!(
                "Wander         : {:+.6} ppm per second",
                s.wander_ppm_per_second
            );
            out!(
                "Last update    : {:.1} seconds ago",
                s.last_update_ago.as_secs_f64()
            );
            out!(
                "Remaining time : {:.1} seconds",
                s.remaining_time.as_secs_f64()
            );
        }
    }
    out!();
}

fn print_selectdata(sel: &[SelectData]) {
    out!("S Name/IP Address        Auth COpts EOpts Last Score     Interval  Leap");
    out!("=======================================================================");
    for s in sel {
        let ago = s
            .last_sample_ago
            .map_or("-".to_string(), |a| a.as_secs().to_string());
        out!(
            "{} {:<25} {}  {} {} {:>4} {:>5.1} {:+.9} {:+.9} {}",
            s.state.symbol(),
            s.address,
            if s.authentication { 'Y' } else { 'N' },
            s.configured_options.chronyc_string(),
            s.effective_options.chronyc_string(),
            ago,
            s.score,
            s.low_limit,
            s.high_limit,
            s.leap_status
        );
    }
    out!();
}

fn print_ntpdata(data: &[NtpData]) {
    for n in data {
        out!("Remote address  : {} port {}", n.address, n.remote_port);
        out!(
            "Local address   : {}",
            n.local_address
                .map_or("[UNSPEC]".to_string(), |a| a.to_string())
        );
        out!("Leap status     : {}", n.leap_status);
        out!("Version / mode  : {} / {}", n.version, n.mode);
        out!("Stratum         : {}", n.stratum);
        out!("Poll / precision: {} / {}", n.poll, n.precision);
        out!(
            "Root delay/disp : {:.6} / {:.6} seconds",
            n.root_delay,
            n.root_dispersion
        );
        out!(
            "Reference ID    : {} ({})",
            n.reference_id,
            n.reference_id.name().unwrap_or_default()
        );
        out!("Reference time  : {}", n.reference_time.to_ctime_string());
        out!("Offset          : {:+.9} seconds", n.offset);
        out!(
            "Peer delay/disp : {:.9} / {:.9} seconds",
            n.peer_delay,
            n.peer_dispersion
        );
        out!("Response time   : {:.9} seconds", n.response_time);
        out!("Jitter asymmetry: {:+.2}", n.jitter_asymmetry);
        out!("NTP tests       : {}", n.flags.tests_string());
        out!("Interleaved     : {}", n.flags.interleaved);
        out!("Authenticated   : {}", n.flags.authenticated);
        out!(
            "TX/RX timestamps: {} / {}",
            n.transmit_timestamping,
            n.receive_timestamping
        );
        out!(
            "TX/RX/valid/good: {} / {} / {} / {}",
            n.transmitted_messages,
            n.received_messages,
            n.received_valid_messages,
            n.received_good_messages
                .map_or_else(|| "-".to_string(), |v| v.to_string())
        );
        if let (Some(ktx), Some(krx)) = (n.kernel_transmit_timestamps, n.kernel_receive_timestamps)
        {
            out!("Kernel TX/RX    : {ktx} / {krx}");
        }
        if let (Some(htx), Some(hrx)) = (
            n.hardware_transmit_timestamps,
            n.hardware_receive_timestamps,
        ) {
            out!("Hardware TX/RX  : {htx} / {hrx}");
        }
        out!();
    }
}

fn print_authdata(data: &[AuthData]) {
    out!("Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen");
    out!("=========================================================================");
    for a in data {
        let last = a
            .last_key_establishment_ago
            .map_or("-".to_string(), |v| v.as_secs().to_string());
        out!(
            "{:<27} {:>4} {:>5} {:>4} {:>4} {:>4} {:>4} {:>4} {:>4} {:>4}",
            a.address.map_or("?".to_string(), |a| a.to_string()),
            a.mode,
            a.key_id,
            a.key_type.raw(),
            a.key_length_bits,
            last,
            a.key_establishment_attempts,
            if a.nak { "Yes" } else { "No" },
            a.cookies,
            a.cookie_length_bytes
        );
    }
    out!();
}
