//! A harness chronyd for tests written in other languages (the Python
//! package's pytest suite): starts a client chronyd with its reference
//! servers (and optionally the fault proxy in front of its UDP command
//! port), prints one JSON line describing it, then answers commands read
//! from standard input, one JSON line per command, and stops everything
//! when standard input closes.
//!
//! ```text
//! cargo run -p chrony-testkit --features harness --example harness -- \
//!     [--servers N] [--unreachable N] [--refclocks N] [--poll LOG2] [--udp]
//!     [--extra 'CONFIG LINE']... [--server-options 'OPTIONS'] [--no-wait-sync]
//!     [--proxy] [--rewrite COMMAND:OFFSET:U32]...
//! ```
//!
//! The first line: `{"socket": PATH, "udp": "127.0.0.1:P" | null,
//! "proxy": "127.0.0.1:Q" | null, "version": "4.3", "servers": ["127.0.0.2",
//! ...]}`. `--proxy` (implied by `--rewrite`, which implies `--udp`)
//! starts a `chrony_testkit::proxy` forwarding to the UDP command port;
//! each `--rewrite` rewrites the replies to request COMMAND (a number, see
//! `proxy::wire`) by writing the big-endian u32 at byte OFFSET.
//!
//! Commands (one per line; answers are `{"ok": true, ...}` or `{"ok":
//! false, "error": TEXT}`):
//!
//! - `freeze`, `resume`: SIGSTOP / SIGCONT the client chronyd;
//! - `stop`, `restart`: stop it; stop and start it again (same socket);
//! - `silent on`, `silent off`: the proxy drops everything, or not;
//! - `chronyc ARGS...`: `chronyc -h SOCKET -n -c ARGS`, answered with
//!   `"output"`;
//! - `report NAME`: the report read with `chrony::Client` over the Unix
//!   socket, as JSON in `"value"` (NAME is a field of `chrony::Snapshot`:
//!   `tracking`, `sources`, `source_stats`, `rtc_data`, `activity`,
//!   `server_stats`, `smoothing`, `select_data`, `ntp_data`, `auth_data`).
use chrony::Client;
use chrony_testkit::harness::{Backend, Chronyd, ChronydBuilder};
use chrony_testkit::proxy::{Proxy, Rewrite};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::ExitCode;

struct Opts {
    builder: ChronydBuilder,
    proxy: bool,
    rewrites: Vec<Rewrite>,
}

fn number<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or(format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: not a number: {v:?}"))
}

fn rewrite(spec: &str) -> Result<Rewrite, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [command, offset, value] = parts[..] else {
        return Err(format!("--rewrite COMMAND:OFFSET:U32, not {spec:?}"));
    };
    let parse_u32 = |s: &str| match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    };
    let bad = |what: &str| format!("--rewrite {spec:?}: bad {what}");
    Ok(
        Rewrite::reply_to(command.parse().map_err(|_| bad("command"))?).set_u32(
            offset.parse().map_err(|_| bad("offset"))?,
            parse_u32(value).map_err(|_| bad("value"))?,
        ),
    )
}

fn parse() -> Result<Opts, String> {
    let backend = Backend::from_env().map_err(|e| e.to_string())?;
    let mut o = Opts {
        builder: ChronydBuilder::new().backend(backend),
        proxy: false,
        rewrites: Vec::new(),
    };
    let mut udp = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let b = o.builder;
        o.builder = match a.as_str() {
            "--servers" => b.servers(number(&a, args.next())?),
            "--unreachable" => b.unreachable_servers(number(&a, args.next())?),
            "--refclocks" => b.refclocks(number(&a, args.next())?),
            "--poll" => b.poll(number(&a, args.next())?),
            "--udp" => {
                udp = true;
                b
            }
            "--extra" => b.extra_config(&args.next().ok_or("--extra needs a value")?),
            "--server-options" => {
                b.server_options(&args.next().ok_or("--server-options needs a value")?)
            }
            "--no-wait-sync" => b.wait_for_sync(false),
            "--proxy" => {
                o.proxy = true;
                b
            }
            "--rewrite" => {
                o.proxy = true;
                o.rewrites
                    .push(rewrite(&args.next().ok_or("--rewrite needs a value")?)?);
                b
            }
            other => return Err(format!("unknown argument {other:?}")),
        };
    }
    o.builder = o.builder.udp_command(udp || o.proxy);
    Ok(o)
}

/// The report `name` (a snapshot field) as JSON.
fn report(client: &mut Client, name: &str) -> Result<Value, String> {
    fn j<T: serde::Serialize>(r: chrony::Result<T>) -> Result<Value, String> {
        let v = r.map_err(|e| e.chain().to_string())?;
        serde_json::to_value(v).map_err(|e| e.to_string())
    }
    // Every report of the library's list, by its snapshot field's name.
    macro_rules! by_name {
        ($($report:ident: $model:ty => $out:ty, $doc:literal;)*) => {
            match name {
                $(stringify!($report) => j(client.$report()),)*
                other => Err(format!("unknown report {other:?}")),
            }
        };
    }
    chrony::each_report!(by_name)
}

fn command(
    d: &mut Chronyd,
    proxy: Option<&Proxy>,
    client: &mut Option<Client>,
    line: &str,
) -> Result<Value, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let done = |r: Result<(), chrony_testkit::harness::HarnessError>| {
        r.map(|()| json!({"ok": true})).map_err(|e| e.to_string())
    };
    match words.as_slice() {
        ["freeze"] => done(d.freeze()),
        ["resume"] => done(d.resume()),
        ["stop"] => done(d.stop()),
        ["restart"] => {
            *client = None;
            done(d.restart())
        }
        ["silent", on @ ("on" | "off")] => match proxy {
            Some(p) => {
                p.set_silent(*on == "on");
                Ok(json!({"ok": true}))
            }
            None => Err("no proxy (start with --proxy)".into()),
        },
        ["chronyc", args @ ..] => d
            .chronyc(args)
            .map(|output| json!({"ok": true, "output": output}))
            .map_err(|e| e.to_string()),
        ["report", name] => {
            if client.is_none() {
                let path = d.socket_path().to_str().ok_or("socket path is not UTF-8")?;
                *client = Some(Client::connect(path).map_err(|e| e.chain().to_string())?);
            }
            let c = client.as_mut().ok_or("no client")?;
            report(c, name).map(|value| json!({"ok": true, "value": value}))
        }
        _ => Err(format!("unknown command {line:?}")),
    }
}

fn main() -> ExitCode {
    let opts = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let mut d = match opts.builder.start() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("harness: starting chronyd: {e}");
            return ExitCode::FAILURE;
        }
    };
    let proxy = match (opts.proxy, d.udp_address()) {
        (true, Some(udp)) => {
            let mut b = Proxy::builder(udp).seed(1);
            for r in opts.rewrites {
                b = b.rewrite(r);
            }
            match b.start() {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("harness: starting the proxy: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    let hello = json!({
        "socket": d.socket_path().display().to_string(),
        "udp": d.udp_address().map(|a| a.to_string()),
        "proxy": proxy.as_ref().map(|p| p.address().to_string()),
        "version": d.chrony_version(),
        "servers": (0..d.server_count()).map(|i| d.server_address(i).to_string()).collect::<Vec<_>>(),
    });
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{hello}").and_then(|()| out.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    let mut client = None;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = command(&mut d, proxy.as_ref(), &mut client, &line)
            .unwrap_or_else(|e| json!({"ok": false, "error": e}));
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    // Standard input closed: the client, the proxy and chronyd (its
    // servers, reference clocks and temp dir) go, in that order.
    drop(client);
    drop(proxy);
    drop(d);
    ExitCode::SUCCESS
}
