//! The stale client socket directories of crashed clients.
//!
//! A client's Unix socket lives at `<dir of chronyd's socket>/libchrony.<12
//! letters>/<16 letters>/sock` (libchrony's layout, kept by
//! [`crate::fdsafe`]); a process killed with its sessions open leaves those
//! two directories behind, one pair per session. At connect, [`sweep`]
//! removes the ones that are stale, judged by the socket itself:
//!
//! - only entries in exactly that layout, directories (not symlinks) owned
//!   by this user, holding nothing but the one directory and the one
//!   socket, are looked at;
//! - the socket is stale when connecting to it is refused
//!   (`ECONNREFUSED`): nobody is bound to it. A live client's socket
//!   accepts the connection and is never touched;
//! - a pair of directories without a socket (a client killed between
//!   `mkdir` and `bind`, or one in that instant right now) is removed only
//!   when older than [`EMPTY_AGE`], far longer than a session takes to open.
//!
//! Errors are ignored: the sweep is a courtesy and never fails a connect.

use crate::fdsafe::{DIR_PREFIX, RAND1_LEN, RAND2_LEN};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How old a socket-less directory pair must be to be removed.
pub(crate) const EMPTY_AGE: Duration = Duration::from_secs(60);

fn is_name(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// What one `libchrony.*` entry is.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Not in libchrony's layout, not ours, or in use: left alone.
    Keep,
    /// Its socket refuses connections.
    Stale,
    /// No socket, and old.
    Abandoned,
}

fn is_own_dir(path: &Path) -> Option<fs::Metadata> {
    let m = fs::symlink_metadata(path).ok()?;
    (m.file_type().is_dir() && m.uid() == euid()).then_some(m)
}

fn judge(dir1: &Path) -> Verdict {
    let Some(m1) = is_own_dir(dir1) else {
        return Verdict::Keep;
    };
    let Ok(entries) = fs::read_dir(dir1) else {
        return Verdict::Keep;
    };
    let inner: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    let [dir2] = inner.as_slice() else {
        // Empty: a client killed between its two mkdirs.
        return if inner.is_empty() && old(&m1) {
            Verdict::Abandoned
        } else {
            Verdict::Keep
        };
    };
    let name2 = dir2.file_name();
    if !name2.to_str().is_some_and(|n| is_name(n, RAND2_LEN)) {
        return Verdict::Keep;
    }
    let dir2 = dir2.path();
    let Some(m2) = is_own_dir(&dir2) else {
        return Verdict::Keep;
    };
    let Ok(entries) = fs::read_dir(&dir2) else {
        return Verdict::Keep;
    };
    let inner: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    match inner.as_slice() {
        [] if old(&m1) && old(&m2) => Verdict::Abandoned,
        [sock] if sock.file_name() == "sock" => {
            let path = sock.path();
            let is_socket = fs::symlink_metadata(&path)
                .is_ok_and(|m| m.file_type().is_socket() && m.uid() == euid());
            if !is_socket {
                return Verdict::Keep;
            }
            match UnixDatagram::unbound().and_then(|s| s.connect(&path)) {
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => Verdict::Stale,
                _ => Verdict::Keep,
            }
        }
        _ => Verdict::Keep,
    }
}

fn old(m: &fs::Metadata) -> bool {
    m.modified()
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age >= EMPTY_AGE)
}

/// Removes the stale client socket directories beside chronyd's socket
/// `server` (see the module docs); returns how many pairs it removed.
pub(crate) fn sweep(server: &Path) -> usize {
    let Some(dir0) = server.parent() else {
        return 0;
    };
    let Ok(entries) = fs::read_dir(dir0) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        if !is_name(rest, RAND1_LEN) {
            continue;
        }
        let dir1 = e.path();
        if judge(&dir1) == Verdict::Keep {
            continue;
        }
        // Innermost first; each step fails harmlessly if someone raced us.
        if let Ok(inner) = fs::read_dir(&dir1) {
            for d2 in inner.filter_map(|e| e.ok()) {
                let _ = fs::remove_file(d2.path().join("sock"));
                let _ = fs::remove_dir(d2.path());
            }
        }
        if fs::remove_dir(&dir1).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_libchronys_layout_and_dead_sockets_go() {
        let base = std::env::temp_dir().join(format!("chrony-sockdir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        let server = base.join("chronyd.sock");
        let pair = |r1: &str, r2: &str| {
            let d2 = base.join(format!("libchrony.{r1}")).join(r2);
            fs::create_dir_all(&d2).unwrap();
            d2.join("sock")
        };
        // A dead socket: bound, then its owner gone.
        let dead = pair("AAAAAAAAAAAA", "BBBBBBBBBBBBBBBB");
        drop(UnixDatagram::bind(&dead).unwrap());
        // A live one.
        let live_path = pair("CCCCCCCCCCCC", "DDDDDDDDDDDDDDDD");
        let live = UnixDatagram::bind(&live_path).unwrap();
        // Not libchrony's naming (wrong length), with a dead socket.
        let other = pair("EEEE", "FFFFFFFFFFFFFFFF");
        drop(UnixDatagram::bind(&other).unwrap());
        // A fresh pair without a socket (a client between mkdir and bind).
        let _fresh = pair("GGGGGGGGGGGG", "HHHHHHHHHHHHHHHH");
        // A regular file where the socket would be.
        let file = pair("IIIIIIIIIIII", "JJJJJJJJJJJJJJJJ");
        fs::write(&file, b"x").unwrap();

        assert_eq!(sweep(&server), 1);
        assert!(!base.join("libchrony.AAAAAAAAAAAA").exists());
        assert!(live_path.exists());
        assert!(other.exists());
        assert!(base
            .join("libchrony.GGGGGGGGGGGG/HHHHHHHHHHHHHHHH")
            .exists());
        assert!(file.exists());
        drop(live);
        // Now dead too.
        assert_eq!(sweep(&server), 1);
        assert!(!live_path.exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
