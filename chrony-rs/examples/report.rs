//! Prints chronyd's reports as chronyc-like tables or as JSON.
//!
//! ```text
//! cargo run -p chrony-rs --example report -- [--address ADDR] [--timeout SECS] [--json] [--raw]
//!     [tracking|sources|sourcestats|rtcdata|all]
//! ```
//! Without `--address` it connects like chronyc (default socket, then
//! 127.0.0.1 and ::1). On failure the error goes to stderr and the exit
//! status is 1 (2 for bad arguments).
use chrony::{Client, Error, RtcData, Source, SourceStats, Tracking};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: report [--address ADDR] [--timeout SECS] [--json] [tracking|sources|sourcestats|rtcdata|all]";
const NAMES: &[&str] = &["tracking", "sources", "sourcestats", "rtcdata"];

struct Args {
    address: Option<String>,
    timeout: Option<Duration>,
    json: bool,
    report: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        address: None,
        timeout: None,
        json: false,
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(), Error> {
    let mut builder = Client::builder();
    if let Some(t) = args.timeout {
        builder = builder.timeout(t);
    }
    let mut client = match &args.address {
        Some(a) => builder.connect(a)?,
        None => builder.connect_default()?,
    };
    let names: Vec<&str> = if args.report == "all" {
        NAMES.to_vec()
    } else {
        vec![args.report.as_str()]
    };
    let mut doc = serde_json::Map::new();
    for name in &names {
        let value = match *name {
            "tracking" => {
                let t = client.tracking()?;
                if !args.json {
                    print_tracking(&t);
                }
                to_json(&t)
            }
            "sources" => {
                let s = client.sources()?;
                if !args.json {
                    print_sources(&s);
                }
                to_json(&s)
            }
            "sourcestats" => {
                let s = client.source_stats()?;
                if !args.json {
                    print_sourcestats(&s);
                }
                to_json(&s)
            }
            "rtcdata" => {
                let r = client.rtc_data()?;
                if !args.json {
                    print_rtcdata(r.as_ref());
                }
                to_json(&r)
            }
            _ => unreachable!("names are checked by parse_args"),
        };
        doc.insert(name.to_string(), value);
    }
    if args.json {
        let out = if names.len() == 1 {
            doc.remove(names[0]).unwrap_or(serde_json::Value::Null)
        } else {
            serde_json::Value::Object(doc)
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("JSON of plain data")
        );
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("models serialize to JSON")
}

fn print_tracking(t: &Tracking) {
    println!(
        "Reference ID    : {} ({})",
        t.reference_id,
        t.reference_name()
    );
    println!("Stratum         : {}", t.stratum);
    println!("Ref time (UTC)  : {}", t.reference_time);
    println!(
        "System time     : {:.9} seconds {} of NTP time",
        t.current_correction.abs(),
        if t.current_correction < 0.0 {
            "fast"
        } else {
            "slow"
        }
    );
    println!("Last offset     : {:+.9} seconds", t.last_offset);
    println!("RMS offset      : {:.9} seconds", t.rms_offset);
    println!(
        "Frequency       : {:.3} ppm {}",
        t.frequency_ppm.abs(),
        if t.frequency_ppm < 0.0 {
            "fast"
        } else {
            "slow"
        }
    );
    println!("Residual freq   : {:+.3} ppm", t.residual_frequency_ppm);
    println!("Skew            : {:.3} ppm", t.skew_ppm);
    println!("Root delay      : {:.9} seconds", t.root_delay);
    println!("Root dispersion : {:.9} seconds", t.root_dispersion);
    println!("Update interval : {:.1} seconds", t.last_update_interval);
    println!("Leap status     : {}", t.leap_status);
    println!();
}

fn print_sources(sources: &[Source]) {
    println!("MS Name/IP address         Stratum Poll Reach LastRx Last sample");
    println!("===============================================================================");
    for s in sources {
        let ago = s.last_sample_ago.map_or("-".to_string(), |a| a.to_string());
        println!(
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
    println!();
}

fn print_sourcestats(stats: &[SourceStats]) {
    println!("Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev");
    println!("==============================================================================");
    for s in stats {
        println!(
            "{:<25} {:>3} {:>3} {:>5} {:>10.3} {:>10.3} {:>+9.3e} {:>9.3e}",
            s.address,
            s.samples,
            s.runs,
            s.span,
            s.residual_frequency_ppm,
            s.skew_ppm,
            s.offset,
            s.standard_deviation
        );
    }
    println!();
}

fn print_rtcdata(r: Option<&RtcData>) {
    match r {
        None => println!("RTC tracking not available"),
        Some(r) => {
            println!("RTC ref time (UTC) : {}", r.reference_time);
            println!("Number of samples  : {}", r.samples);
            println!("Number of runs     : {}", r.runs);
            println!("Sample span period : {}", r.span);
            println!("RTC is fast by     : {:.6} seconds", r.offset);
            println!("RTC gains time at  : {:.3} ppm", r.frequency_ppm);
        }
    }
    println!();
}
