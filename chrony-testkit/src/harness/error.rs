//! The error type of the harness.

use std::fmt;
use std::io;

/// Everything that can go wrong while starting or driving a test chronyd.
///
/// Errors about a chronyd that did not become ready carry its log, so a test
/// failure shows why.
#[derive(Debug)]
#[non_exhaustive]
pub enum HarnessError {
    /// An I/O operation of the harness itself failed.
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// An external command (chronyc, docker, kill, ...) failed.
    Command {
        /// The command line.
        command: String,
        /// Its exit code (`None`: killed by a signal).
        status: Option<i32>,
        /// Its standard output.
        stdout: String,
        /// Its standard error.
        stderr: String,
    },
    /// Something did not happen before its deadline.
    Timeout {
        /// What was awaited.
        what: String,
        /// The client chronyd's log at that time (may be empty).
        log: String,
    },
    /// A chronyd exited while it should be running.
    Exited {
        /// Which chronyd.
        what: String,
        /// Its log.
        log: String,
    },
    /// The requested feature cannot work here (with the reason).
    Unsupported(String),
    /// Docker is not installed or its daemon is not reachable.
    DockerUnavailable(String),
    /// The builder was given an impossible combination of options.
    InvalidConfig(String),
}

impl HarnessError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}

fn write_log(f: &mut fmt::Formatter<'_>, log: &str) -> fmt::Result {
    if log.trim().is_empty() {
        write!(f, " (log is empty)")
    } else {
        write!(
            f,
            "\n--- chronyd log ---\n{}\n--- end of log ---",
            log.trim_end()
        )
    }
}

/// The message of a [`HarnessError`], unpadded.
struct Message<'a>(&'a HarnessError);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_message(f)
    }
}

impl fmt::Display for HarnessError {
    /// The message, honouring width, fill and alignment (`{:<60}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.width().is_none() && f.precision().is_none() {
            self.write_message(f)
        } else {
            f.pad(&Message(self).to_string())
        }
    }
}

impl HarnessError {
    fn write_message(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::Io { context, source } => write!(f, "{context}: {source}"),
            HarnessError::Command {
                command,
                status,
                stdout,
                stderr,
            } => {
                match status {
                    Some(code) => write!(f, "`{command}` failed with exit code {code}")?,
                    None => write!(f, "`{command}` was killed by a signal")?,
                }
                let out = stdout.trim();
                let err = stderr.trim();
                if !out.is_empty() {
                    write!(f, "; stdout: {out}")?;
                }
                if !err.is_empty() {
                    write!(f, "; stderr: {err}")?;
                }
                Ok(())
            }
            HarnessError::Timeout { what, log } => {
                write!(f, "timed out waiting for {what}")?;
                write_log(f, log)
            }
            HarnessError::Exited { what, log } => {
                write!(f, "{what} exited unexpectedly")?;
                write_log(f, log)
            }
            HarnessError::Unsupported(why) => write!(f, "unsupported: {why}"),
            HarnessError::DockerUnavailable(why) => write!(f, "docker is not available: {why}"),
            HarnessError::InvalidConfig(why) => write!(f, "invalid harness configuration: {why}"),
        }
    }
}

impl std::error::Error for HarnessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HarnessError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HarnessError;

    #[test]
    fn display_honours_width_fill_and_alignment() {
        let e = HarnessError::Unsupported("x".into());
        assert_eq!(format!("{e}"), "unsupported: x");
        assert_eq!(format!("{e:<16}|"), "unsupported: x  |");
        assert_eq!(format!("{e:*>16}|"), "**unsupported: x|");
    }
}
