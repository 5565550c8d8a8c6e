//! Textfile mode: `--once [--output PATH]` scrapes chronyd once and writes
//! the metrics in Prometheus text format 0.0.4, for node_exporter's
//! textfile collector.
//!
//! The file is replaced atomically: the metrics go to a temporary file in
//! the same directory (a name starting with `.` and not ending in `.prom`,
//! so the collector never reads it half-written), which is flushed to disk
//! and renamed over `PATH`. When chronyd does not answer the file is
//! still written, with `chrony_up 0` (stale values would look healthy),
//! and the exit status is 1.

use crate::cli::Config;
use crate::metrics::{encode, Format};
use crate::scrape::Scraper;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Writes `text` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// One scrape of `scraper` within `--chrony.timeout`, written out; the
/// exit status. Nothing is logged at info on success.
pub async fn once(config: &Config, scraper: Scraper) -> ExitCode {
    let (out, up) = scraper.scrape(config.chrony_timeout).await;
    let text = encode(&out, Format::Text);
    match &config.output {
        Some(path) if path.as_os_str() != "-" => {
            if let Err(e) = write_atomically(path, &text) {
                eprintln!(
                    "chrony-exporter: error: cannot write {}: {e}",
                    path.display()
                );
                return ExitCode::FAILURE;
            }
        }
        _ => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
        }
    }
    if up {
        ExitCode::SUCCESS
    } else {
        // The scraper logged why (warn level).
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chrony.prom");
        std::fs::write(&path, "old\n").unwrap();
        write_atomically(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["chrony.prom"]);
        let missing = dir.path().join("nope").join("chrony.prom");
        assert!(write_atomically(&missing, "x").is_err());
        assert!(!dir.path().join("nope").exists());
    }
}
