//! The process metrics every Prometheus client library writes (their
//! names and meanings as client_golang's process collector has them), on
//! `/metrics` only: dashboards and alerts of exporters use them.
//! Read from procfs at each scrape.

use crate::metrics::{declare, Out};
use std::sync::OnceLock;

declare! {
    METRICS;
    PROCESS_CPU: Counter "process_cpu_seconds_total" [] unit "seconds" report "process" since "" compat true
        "CPU time the exporter spent, user and system, in seconds.";
    PROCESS_OPEN_FDS: Gauge "process_open_fds" [] unit "" report "process" since "" compat true
        "File descriptors the exporter has open.";
    PROCESS_MAX_FDS: Gauge "process_max_fds" [] unit "" report "process" since "" compat true
        "The exporter's limit of open file descriptors (the soft limit, raised to the hard one at start).";
    PROCESS_VIRTUAL_MEMORY: Gauge "process_virtual_memory_bytes" [] unit "bytes" report "process" since "" compat true
        "Virtual memory size of the exporter, in bytes.";
    PROCESS_RESIDENT_MEMORY: Gauge "process_resident_memory_bytes" [] unit "bytes" report "process" since "" compat true
        "Resident memory size of the exporter, in bytes.";
    PROCESS_START_TIME: Gauge "process_start_time_seconds" [] unit "seconds" report "process" since "" compat true
        "Start time of the exporter (Unix seconds).";
}

/// What procfs says of this process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub cpu_seconds: f64,
    pub start_time: f64,
    pub virtual_bytes: f64,
    pub resident_bytes: f64,
}

/// The fields of `/proc/PID/stat` this module needs (from the text after
/// the command name, which may hold spaces and parentheses).
pub fn parse_stat(stat: &str, ticks: f64, page: f64, boot_time: f64) -> Option<Stat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    Some(Stat {
        cpu_seconds: (num(11)? + num(12)?) / ticks,
        start_time: boot_time + num(19)? / ticks,
        virtual_bytes: num(20)?,
        resident_bytes: num(21)? * page,
    })
}

/// The boot time (Unix seconds) from `/proc/stat`, read once.
fn boot_time() -> Option<f64> {
    static BOOT: OnceLock<Option<f64>> = OnceLock::new();
    *BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()
    })
}

/// What procfs and the limits say of this process now.
#[derive(Debug, Default)]
pub struct Sample {
    stat: Option<Stat>,
    open_fds: Option<usize>,
    max_fds: Option<u64>,
}

/// Reads the process's figures. Counting its descriptors reads a directory
/// of one entry per descriptor (thousands with a big fleet), so the reads
/// run on the blocking pool, never on a runtime worker.
/// The read starts when this is called, not when it is awaited.
pub fn sample() -> impl std::future::Future<Output = Sample> {
    let task = tokio::task::spawn_blocking(read);
    async move { task.await.unwrap_or_default() }
}

fn read() -> Sample {
    let ticks = crate::sys::clock_ticks() as f64;
    let page = crate::sys::page_size() as f64;
    Sample {
        stat: std::fs::read_to_string("/proc/self/stat")
            .ok()
            .zip(boot_time())
            .and_then(|(s, boot)| parse_stat(&s, ticks, page, boot)),
        open_fds: std::fs::read_dir("/proc/self/fd").ok().map(Iterator::count),
        max_fds: crate::sys::nofile().ok().map(|l| l.soft),
    }
}

/// Writes the process metrics (those procfs answered; none on a system
/// without it).
pub fn collect(out: &mut Out, sample: &Sample) {
    if let Some(s) = sample.stat {
        out.add(&PROCESS_CPU, &[], s.cpu_seconds);
        out.add(&PROCESS_START_TIME, &[], s.start_time);
        out.add(&PROCESS_VIRTUAL_MEMORY, &[], s.virtual_bytes);
        out.add(&PROCESS_RESIDENT_MEMORY, &[], s.resident_bytes);
    }
    if let Some(n) = sample.open_fds {
        out.add(&PROCESS_OPEN_FDS, &[], n as f64);
    }
    if let Some(n) = sample.max_fds {
        out.add(&PROCESS_MAX_FDS, &[], n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        // A command name with a space and a parenthesis; utime 250 and
        // stime 50 ticks, started 1000 ticks after boot, 200 MB virtual,
        // 1000 pages resident.
        let stat = "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 200000000 1000 18446744073709551615";
        let s = parse_stat(stat, 100.0, 4096.0, 1_700_000_000.0).unwrap();
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.start_time, 1_700_000_010.0);
        assert_eq!(s.virtual_bytes, 200_000_000.0);
        assert_eq!(s.resident_bytes, 4_096_000.0);
        assert!(parse_stat("4242 (x) S 1", 100.0, 4096.0, 0.0).is_none());
    }

    #[tokio::test]
    async fn this_process_is_measured() {
        let mut out = Out::default();
        collect(&mut out, &sample().await);
        let one = |d| out.get(d)[0].value;
        assert!(one(&PROCESS_OPEN_FDS) >= 3.0);
        assert_eq!(
            one(&PROCESS_MAX_FDS),
            crate::sys::nofile().unwrap().soft as f64
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = one(&PROCESS_START_TIME);
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "{start} vs {now}"
        );
        assert!(one(&PROCESS_RESIDENT_MEMORY) > 1e6);
        assert!(one(&PROCESS_VIRTUAL_MEMORY) >= one(&PROCESS_RESIDENT_MEMORY));
        assert!(one(&PROCESS_CPU) >= 0.0);
    }
}
