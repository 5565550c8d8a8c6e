//! The exporter's few direct libc calls: the descriptor limit and two
//! `sysconf` values. The only module with `unsafe`.
#![allow(unsafe_code)]

use std::io;

/// The limits of open descriptors (`RLIMIT_NOFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoFile {
    pub soft: u64,
    pub hard: u64,
}

/// The process's descriptor limits.
pub fn nofile() -> io::Result<NoFile> {
    let r = getrlimit()?;
    // rlim_t is u64 on 64-bit targets, narrower on some 32-bit ones.
    #[allow(clippy::useless_conversion)]
    Ok(NoFile {
        soft: u64::from(r.rlim_cur),
        hard: u64::from(r.rlim_max),
    })
}

fn getrlimit() -> io::Result<libc::rlimit> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid, writable rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// Raises the soft limit of open descriptors to the hard limit, as Go's
/// runtime does at start: the usual soft limit of 1024 is a convention for
/// programs that use `select(2)` (which this one does not), and a probed
/// fleet needs descriptors for every target and every scraper connection.
/// The limits before; unchanged when raising fails.
pub fn raise_nofile() -> io::Result<NoFile> {
    let before = nofile()?;
    if before.soft < before.hard {
        let mut r = getrlimit()?;
        r.rlim_cur = r.rlim_max;
        // SAFETY: `r` is a valid rlimit; raising the soft limit up to the
        // hard one needs no privilege and changes nothing else.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(before)
}

fn sysconf(name: libc::c_int) -> Option<u64> {
    // SAFETY: sysconf reads a configuration value; any name is allowed
    // (an unknown one gives -1).
    let v = unsafe { libc::sysconf(name) };
    (v > 0).then_some(v as u64)
}

/// Clock ticks per second of /proc's CPU times (Linux's USER_HZ, 100, if
/// sysconf fails).
pub fn clock_ticks() -> u64 {
    sysconf(libc::_SC_CLK_TCK).unwrap_or(100)
}

/// The memory page size (4096 if sysconf fails).
pub fn page_size() -> u64 {
    sysconf(libc::_SC_PAGESIZE).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_limit() {
        let before = raise_nofile().unwrap();
        let after = nofile().unwrap();
        assert_eq!(after.soft, after.hard);
        assert_eq!(after.hard, before.hard);
        assert!(clock_ticks() >= 100);
        assert!(page_size() >= 4096);
    }
}
