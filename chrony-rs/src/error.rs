//! The one error type of this crate.

use crate::display::pad;
use crate::wire::FieldType;
use libchrony_sys as sys;
use std::fmt;
use std::io;
use std::time::Duration;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to chronyd.
///
/// Match on the variant, or on [`Error::kind`] (a small `Copy` enum with a
/// stable label for metrics), to tell the cases apart. Every variant
/// carries enough context (address, report, field) to be logged as it is;
/// its message does not repeat the underlying error that
/// [`source()`](std::error::Error::source) returns, so print the chain to
/// see both.
///
/// ```
/// use chrony::{Client, Error};
///
/// match Client::connect("/nonexistent/chronyd.sock") {
///     Err(Error::Connect { address, source }) => {
///         assert_eq!(address, "/nonexistent/chronyd.sock");
///         assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
///     }
///     other => panic!("unexpected: {other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be parsed (`/abs/path.sock`, `IPv4[:port]` or
    /// `[IPv6]:port` are accepted).
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A host name did not resolve to any address.
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// The socket could not be opened or chronyd is not there (no such
    /// socket, connection refused, ...).
    Connect {
        /// The address that was tried.
        address: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The operating system refused access to chronyd's socket directory.
    PermissionDenied {
        /// The address that was tried.
        address: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// chronyd did not answer in time: one exchange ran out of attempts
    /// (the per-exchange timeout, doubled per re-send), or the whole call
    /// ran past its deadline. See [`ClientBuilder`](crate::ClientBuilder).
    Timeout {
        /// The address of chronyd.
        address: String,
        /// The report being read.
        report: String,
        /// What was asked (for example `record 0` or `record count`).
        operation: String,
        /// The bound that passed: the call's deadline when `call_deadline`
        /// is true, else the time one exchange was given (its attempts
        /// together).
        timeout: Duration,
        /// True when the whole call's deadline passed, false when one
        /// exchange ran out of attempts.
        call_deadline: bool,
    },
    /// chronyd claimed more records than this crate accepts
    /// ([`MAX_RECORDS`](crate::MAX_RECORDS)): a corrupted or forged count.
    TooManyRecords {
        /// The address of chronyd.
        address: String,
        /// The report.
        report: String,
        /// The count chronyd sent.
        count: u64,
        /// The limit.
        limit: usize,
    },
    /// chronyd's record count and its records disagree the same way on
    /// every read: it claims `count` records of a per-source report but
    /// serves none from index `served` on (a corrupted or forged count, not
    /// a source that came or went).
    CountContradicted {
        /// The address of chronyd.
        address: String,
        /// The report.
        report: String,
        /// The count chronyd sent.
        count: u64,
        /// The first record index chronyd has no record for.
        served: u64,
    },
    /// Datagrams came back for a request, but none of them was a valid
    /// reply (garbage, replies too short for the report, foreign
    /// datagrams): not the silence of [`Error::Timeout`].
    NoValidReply {
        /// The address of chronyd.
        address: String,
        /// The report being read.
        report: String,
        /// What was asked (for example `record 0` or `record count`).
        operation: String,
        /// The datagrams that arrived and did not complete the reply.
        datagrams: u64,
        /// The time the exchange was given (its attempts together), or the
        /// call's deadline when `call_deadline` is true.
        timeout: std::time::Duration,
        /// True when the whole call's deadline passed.
        call_deadline: bool,
    },
    /// The process ran out of a resource opening a session: file
    /// descriptors (`EMFILE`, `ENFILE`), or libchrony could not open
    /// `/dev/urandom` (`CHRONY_NO_RANDOM`) or allocate a session. Each
    /// session takes two descriptors (its socket and libchrony's
    /// `/dev/urandom`); a call that cannot open more runs on the sessions
    /// it has, and fails with this only when it has none.
    ResourceExhausted {
        /// The address of chronyd.
        address: String,
        /// What ran out, naming the error (`EMFILE`, `CHRONY_NO_RANDOM`, ...).
        cause: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The report changed while it was read (a source appeared or went
    /// away between the count and its record), on every read.
    ReportChanged {
        /// The address of chronyd.
        address: String,
        /// The report.
        report: String,
    },
    /// chronyd refused the request on this transport: some reports (for
    /// example `serverstats`, `ntpdata`, `selectdata`, `authdata`) are served
    /// only over the Unix socket.
    Unauthorized {
        /// The address of chronyd.
        address: String,
        /// The report that was refused.
        report: String,
    },
    /// libchrony reported an error. [`Error::kind`] tells chronyd's own
    /// answers apart: [`ErrorKind::Disabled`] (`CHRONY_DISABLED`),
    /// [`ErrorKind::DaemonTooOld`] (`CHRONY_OLD_SERVER`),
    /// [`ErrorKind::DaemonTooNew`] (`CHRONY_NEW_SERVER`).
    Protocol {
        /// The libchrony call or step (`request`, `response`, ...).
        operation: &'static str,
        /// The report being read.
        report: String,
        /// The error code.
        code: ErrorCode,
        /// libchrony's own text for the code (`chrony_get_error_string`).
        message: String,
        /// The OS error, if the code is a send/receive failure.
        os_error: Option<io::Error>,
    },
    /// chronyd sent a field that is missing, of the wrong type or has a bad
    /// value.
    BadData {
        /// The report.
        report: String,
        /// The libchrony field name.
        field: String,
        /// What is wrong.
        problem: DataProblem,
    },
    /// The report name is not one libchrony knows.
    UnknownReport(String),
}

impl fmt::Display for Error {
    /// The message, without the source's text ([`Error::chain`] prints
    /// both), honouring width, fill and alignment (`{:<60}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidAddress { address, reason } => {
                pad(f, format_args!("invalid chronyd address {address:?}: {reason}"))
            }
            Error::Resolve { host, .. } => pad(f, format_args!("cannot resolve chronyd host {host:?}")),
            Error::Connect { address, .. } => pad(f, format_args!("cannot connect to chronyd at {address}")),
            Error::PermissionDenied { address, .. } => pad(
                f,
                format_args!(
                    "permission denied connecting to chronyd at {address} (the client creates its \
                     own socket in the directory of chronyd's socket, so it needs write access there: run as \
                     root or as chronyd's user, or as a member of its group when the directory is group-writable)"
                ),
            ),
            Error::Timeout { address, report, operation, timeout, call_deadline } => pad(
                f,
                format_args!(
                    "chronyd at {address} did not answer {report} {operation} within {timeout:?} ({})",
                    if *call_deadline { "the call's deadline" } else { "the exchange's timeout and re-sends" }
                ),
            ),
            Error::TooManyRecords { address, report, count, limit } => pad(
                f,
                format_args!(
                    "chronyd at {address} claims {count} records for report {report} (at most {limit} accepted)"
                ),
            ),
            Error::CountContradicted { address, report, count, served } => pad(
                f,
                format_args!(
                    "chronyd at {address} claims {count} records for report {report} but serves only {served} (on every read)"
                ),
            ),
            Error::NoValidReply { address, report, operation, datagrams, timeout, .. } => pad(
                f,
                format_args!(
                    "chronyd at {address} sent {datagrams} datagram(s) for {report} {operation} within {timeout:?}, none of them a valid reply"
                ),
            ),
            Error::ResourceExhausted { address, cause, .. } => pad(
                f,
                format_args!("out of resources opening a session to chronyd at {address}: {cause}"),
            ),
            Error::ReportChanged { address, report } => pad(
                f,
                format_args!("report {report} from chronyd at {address} kept changing while it was read"),
            ),
            Error::Unauthorized { address, report } => pad(
                f,
                format_args!(
                    "chronyd at {address} does not serve report {report} over this transport (use its Unix socket)"
                ),
            ),
            Error::Protocol { operation, report, code, message, .. } => {
                pad(f, format_args!("{}", protocol_message(operation, report, *code, message)))
            }
            Error::BadData { report, field, problem } => {
                pad(f, format_args!("bad data in report {report}, field {field:?}: {problem}"))
            }
            Error::UnknownReport(report) => pad(f, format_args!("unknown report {report:?}")),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve { source, .. }
            | Error::Connect { source, .. }
            | Error::PermissionDenied { source, .. }
            | Error::ResourceExhausted { source, .. } => Some(source),
            Error::Protocol { os_error, .. } => os_error.as_ref().map(|e| e as _),
            _ => None,
        }
    }
}

fn protocol_message(operation: &str, report: &str, code: ErrorCode, message: &str) -> String {
    match code {
        ErrorCode::Disabled => format!("report {report} is not enabled in chronyd ({message})"),
        ErrorCode::OldServer => {
            format!("chronyd is too old to serve report {report} ({message})")
        }
        ErrorCode::NewServer => {
            format!("chronyd is too new for this libchrony to read report {report} ({message})")
        }
        _ => format!("libchrony error in {operation} for report {report}: {code} ({message})"),
    }
}

/// What kind of [`Error`] happened: a small `Copy` value with a stable
/// label ([`as_str`](Self::as_str)) for metrics and matching.
///
/// ```
/// use chrony::{Error, ErrorCode, ErrorKind};
/// let e = Error::Protocol {
///     operation: "response",
///     report: "rtcdata".into(),
///     code: ErrorCode::Disabled,
///     message: "Disabled".into(),
///     os_error: None,
/// };
/// assert_eq!(e.kind(), ErrorKind::Disabled);
/// assert_eq!(e.kind().as_str(), "disabled");
/// assert_eq!(e.report(), Some("rtcdata"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::InvalidAddress`]: `invalid_address`.
    InvalidAddress,
    /// [`Error::Resolve`]: `resolve`.
    Resolve,
    /// [`Error::Connect`]: `connect`.
    Connect,
    /// [`Error::PermissionDenied`]: `permission_denied`.
    PermissionDenied,
    /// [`Error::Timeout`]: `timeout`.
    Timeout,
    /// [`Error::Unauthorized`], or `CHRONY_UNAUTHORIZED`: `unauthorized`.
    Unauthorized,
    /// The report is not enabled in chronyd (`CHRONY_DISABLED`): `disabled`.
    Disabled,
    /// chronyd is too old for the request (`CHRONY_OLD_SERVER`):
    /// `daemon_too_old`.
    DaemonTooOld,
    /// chronyd is newer than libchrony understands (`CHRONY_NEW_SERVER`):
    /// `daemon_too_new`.
    DaemonTooNew,
    /// Sending or receiving failed (`CHRONY_SEND_FAILED`,
    /// `CHRONY_RECV_FAILED`): `io`.
    Io,
    /// chronyd's reply was not valid (`CHRONY_INVALID_RESPONSE`,
    /// `CHRONY_UNEXPECTED_STATUS`, [`Error::NoValidReply`]):
    /// `invalid_response`.
    InvalidResponse,
    /// Any other libchrony error: `protocol`.
    Protocol,
    /// [`Error::TooManyRecords`]: `too_many_records`.
    TooManyRecords,
    /// [`Error::ReportChanged`]: `report_changed`.
    ReportChanged,
    /// [`Error::CountContradicted`]: `count_contradicted`.
    CountContradicted,
    /// [`Error::ResourceExhausted`]: `resource_exhausted`.
    ResourceExhausted,
    /// [`Error::BadData`]: `bad_data`.
    BadData,
    /// [`Error::UnknownReport`], or `CHRONY_UNKNOWN_REPORT`: `unknown_report`.
    UnknownReport,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::InvalidAddress,
        ErrorKind::Resolve,
        ErrorKind::Connect,
        ErrorKind::PermissionDenied,
        ErrorKind::Timeout,
        ErrorKind::Unauthorized,
        ErrorKind::Disabled,
        ErrorKind::DaemonTooOld,
        ErrorKind::DaemonTooNew,
        ErrorKind::Io,
        ErrorKind::InvalidResponse,
        ErrorKind::Protocol,
        ErrorKind::TooManyRecords,
        ErrorKind::ReportChanged,
        ErrorKind::CountContradicted,
        ErrorKind::ResourceExhausted,
        ErrorKind::BadData,
        ErrorKind::UnknownReport,
    ];

    /// The stable snake_case label (`timeout`, `bad_data`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidAddress => "invalid_address",
            ErrorKind::Resolve => "resolve",
            ErrorKind::Connect => "connect",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Disabled => "disabled",
            ErrorKind::DaemonTooOld => "daemon_too_old",
            ErrorKind::DaemonTooNew => "daemon_too_new",
            ErrorKind::Io => "io",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Protocol => "protocol",
            ErrorKind::TooManyRecords => "too_many_records",
            ErrorKind::ReportChanged => "report_changed",
            ErrorKind::CountContradicted => "count_contradicted",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::BadData => "bad_data",
            ErrorKind::UnknownReport => "unknown_report",
        }
    }
}

/// An [`Error`] and its causes, displayed on one line: see
/// [`Error::chain`]. Width, fill and alignment apply to the whole line.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(&'a Error);

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = std::error::Error::source(self.0);
        while let Some(c) = cause {
            line.push_str(": ");
            line.push_str(&c.to_string());
            cause = c.source();
        }
        f.pad(&line)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Error {
    /// The error and every cause behind it on one line, for logs and
    /// messages: `Display` of the error alone never repeats the text of its
    /// [`source()`](std::error::Error::source), this prints both, each
    /// cause after `": "`.
    ///
    /// ```
    /// let err = chrony::Client::connect("/nonexistent/chronyd.sock").unwrap_err();
    /// assert_eq!(err.to_string(), "cannot connect to chronyd at /nonexistent/chronyd.sock");
    /// assert_eq!(
    ///     err.chain().to_string(),
    ///     "cannot connect to chronyd at /nonexistent/chronyd.sock: No such file or directory (os error 2)"
    /// );
    /// eprintln!("chronyd: {}", err.chain());
    /// ```
    pub fn chain(&self) -> ErrorChain<'_> {
        ErrorChain(self)
    }

    /// The kind of error, with a stable label for metrics.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidAddress { .. } => ErrorKind::InvalidAddress,
            Error::Resolve { .. } => ErrorKind::Resolve,
            Error::Connect { .. } => ErrorKind::Connect,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Unauthorized { .. } => ErrorKind::Unauthorized,
            Error::Protocol { code, .. } => match code {
                ErrorCode::Disabled => ErrorKind::Disabled,
                ErrorCode::OldServer => ErrorKind::DaemonTooOld,
                ErrorCode::NewServer => ErrorKind::DaemonTooNew,
                ErrorCode::Unauthorized => ErrorKind::Unauthorized,
                ErrorCode::UnknownReport => ErrorKind::UnknownReport,
                ErrorCode::SendFailed | ErrorCode::RecvFailed => ErrorKind::Io,
                ErrorCode::InvalidResponse | ErrorCode::UnexpectedStatus => {
                    ErrorKind::InvalidResponse
                }
                _ => ErrorKind::Protocol,
            },
            Error::TooManyRecords { .. } => ErrorKind::TooManyRecords,
            Error::ReportChanged { .. } => ErrorKind::ReportChanged,
            Error::CountContradicted { .. } => ErrorKind::CountContradicted,
            Error::NoValidReply { .. } => ErrorKind::InvalidResponse,
            Error::ResourceExhausted { .. } => ErrorKind::ResourceExhausted,
            Error::BadData { .. } => ErrorKind::BadData,
            Error::UnknownReport(_) => ErrorKind::UnknownReport,
        }
    }

    /// The report the error is about, for every variant that has one.
    pub fn report(&self) -> Option<&str> {
        match self {
            Error::Timeout { report, .. }
            | Error::Unauthorized { report, .. }
            | Error::Protocol { report, .. }
            | Error::TooManyRecords { report, .. }
            | Error::ReportChanged { report, .. }
            | Error::CountContradicted { report, .. }
            | Error::NoValidReply { report, .. }
            | Error::BadData { report, .. } => Some(report),
            Error::UnknownReport(report) => Some(report),
            Error::InvalidAddress { .. }
            | Error::Resolve { .. }
            | Error::Connect { .. }
            | Error::ResourceExhausted { .. }
            | Error::PermissionDenied { .. } => None,
        }
    }

    /// True for errors that a retry later could fix (timeouts, connection
    /// problems), false for data and usage errors.
    ///
    /// ```
    /// # use chrony::Error;
    /// let e = Error::UnknownReport("nope".into());
    /// assert!(!e.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Timeout { .. } | Error::Connect { .. } | Error::ResourceExhausted { .. }
        )
    }
}

/// What was wrong with a field (see [`Error::BadData`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DataProblem {
    /// The record has no field of that name.
    Missing,
    /// The field has another type than the model needs.
    WrongType {
        /// The type the model reads.
        expected: FieldType,
        /// The type chronyd sent.
        found: FieldType,
    },
    /// A float that is NaN or infinite.
    NotFinite(f64),
    /// A number outside the range the model allows.
    OutOfRange {
        /// The value as text.
        value: String,
        /// The range or set that was expected.
        expected: &'static str,
    },
    /// A string field that is not valid UTF-8.
    InvalidUtf8(Vec<u8>),
    /// A string field with no value.
    NullString,
    /// A timestamp whose nanoseconds are not below 10^9 or whose seconds are
    /// not plausible.
    InvalidTimestamp {
        /// Seconds.
        secs: i64,
        /// Nanoseconds.
        nanos: i64,
    },
}

impl fmt::Display for DataProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataProblem::Missing => f.pad("missing"),
            DataProblem::WrongType { expected, found } => pad(
                f,
                format_args!("wrong type: expected {expected}, found {found}"),
            ),
            DataProblem::NotFinite(v) => pad(f, format_args!("not a finite number: {v}")),
            DataProblem::OutOfRange { value, expected } => pad(
                f,
                format_args!("value {value} out of range (expected {expected})"),
            ),
            DataProblem::InvalidUtf8(bytes) => {
                pad(f, format_args!("not valid UTF-8: {bytes:02x?}"))
            }
            DataProblem::NullString => f.pad("string has no value"),
            DataProblem::InvalidTimestamp { secs, nanos } => {
                pad(f, format_args!("invalid timestamp {secs} s + {nanos} ns"))
            }
        }
    }
}

/// A libchrony error code (`chrony_err`).
///
/// Codes this crate does not know are kept in [`ErrorCode::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `CHRONY_NO_MEMORY`
    NoMemory,
    /// `CHRONY_NO_RANDOM`
    NoRandom,
    /// `CHRONY_UNKNOWN_REPORT`
    UnknownReport,
    /// `CHRONY_RANDOM_FAILED`
    RandomFailed,
    /// `CHRONY_SEND_FAILED`
    SendFailed,
    /// `CHRONY_RECV_FAILED`
    RecvFailed,
    /// `CHRONY_INVALID_ARGUMENT`
    InvalidArgument,
    /// `CHRONY_UNEXPECTED_CALL`
    UnexpectedCall,
    /// `CHRONY_UNAUTHORIZED`
    Unauthorized,
    /// `CHRONY_DISABLED`
    Disabled,
    /// `CHRONY_UNEXPECTED_STATUS`
    UnexpectedStatus,
    /// `CHRONY_OLD_SERVER`
    OldServer,
    /// `CHRONY_NEW_SERVER`
    NewServer,
    /// `CHRONY_INVALID_RESPONSE`
    InvalidResponse,
    /// A code this crate does not know.
    Unknown(u32),
}

impl ErrorCode {
    /// Maps a raw `chrony_err`; `None` for `CHRONY_OK`.
    ///
    /// ```
    /// # use chrony::ErrorCode;
    /// assert_eq!(ErrorCode::from_raw(0), None);
    /// assert_eq!(ErrorCode::from_raw(9), Some(ErrorCode::Unauthorized));
    /// assert_eq!(ErrorCode::from_raw(99), Some(ErrorCode::Unknown(99)));
    /// ```
    pub fn from_raw(code: u32) -> Option<ErrorCode> {
        Some(match code {
            sys::chrony_err_CHRONY_OK => return None,
            sys::chrony_err_CHRONY_NO_MEMORY => ErrorCode::NoMemory,
            sys::chrony_err_CHRONY_NO_RANDOM => ErrorCode::NoRandom,
            sys::chrony_err_CHRONY_UNKNOWN_REPORT => ErrorCode::UnknownReport,
            sys::chrony_err_CHRONY_RANDOM_FAILED => ErrorCode::RandomFailed,
            sys::chrony_err_CHRONY_SEND_FAILED => ErrorCode::SendFailed,
            sys::chrony_err_CHRONY_RECV_FAILED => ErrorCode::RecvFailed,
            sys::chrony_err_CHRONY_INVALID_ARGUMENT => ErrorCode::InvalidArgument,
            sys::chrony_err_CHRONY_UNEXPECTED_CALL => ErrorCode::UnexpectedCall,
            sys::chrony_err_CHRONY_UNAUTHORIZED => ErrorCode::Unauthorized,
            sys::chrony_err_CHRONY_DISABLED => ErrorCode::Disabled,
            sys::chrony_err_CHRONY_UNEXPECTED_STATUS => ErrorCode::UnexpectedStatus,
            sys::chrony_err_CHRONY_OLD_SERVER => ErrorCode::OldServer,
            sys::chrony_err_CHRONY_NEW_SERVER => ErrorCode::NewServer,
            sys::chrony_err_CHRONY_INVALID_RESPONSE => ErrorCode::InvalidResponse,
            other => ErrorCode::Unknown(other),
        })
    }

    /// The raw `chrony_err` value.
    ///
    /// ```
    /// # use chrony::ErrorCode;
    /// assert_eq!(ErrorCode::Disabled.raw(), 10);
    /// ```
    pub fn raw(self) -> u32 {
        match self {
            ErrorCode::NoMemory => sys::chrony_err_CHRONY_NO_MEMORY,
            ErrorCode::NoRandom => sys::chrony_err_CHRONY_NO_RANDOM,
            ErrorCode::UnknownReport => sys::chrony_err_CHRONY_UNKNOWN_REPORT,
            ErrorCode::RandomFailed => sys::chrony_err_CHRONY_RANDOM_FAILED,
            ErrorCode::SendFailed => sys::chrony_err_CHRONY_SEND_FAILED,
            ErrorCode::RecvFailed => sys::chrony_err_CHRONY_RECV_FAILED,
            ErrorCode::InvalidArgument => sys::chrony_err_CHRONY_INVALID_ARGUMENT,
            ErrorCode::UnexpectedCall => sys::chrony_err_CHRONY_UNEXPECTED_CALL,
            ErrorCode::Unauthorized => sys::chrony_err_CHRONY_UNAUTHORIZED,
            ErrorCode::Disabled => sys::chrony_err_CHRONY_DISABLED,
            ErrorCode::UnexpectedStatus => sys::chrony_err_CHRONY_UNEXPECTED_STATUS,
            ErrorCode::OldServer => sys::chrony_err_CHRONY_OLD_SERVER,
            ErrorCode::NewServer => sys::chrony_err_CHRONY_NEW_SERVER,
            ErrorCode::InvalidResponse => sys::chrony_err_CHRONY_INVALID_RESPONSE,
            ErrorCode::Unknown(v) => v,
        }
    }

    /// The `CHRONY_*` constant name.
    ///
    /// ```
    /// # use chrony::ErrorCode;
    /// assert_eq!(ErrorCode::NewServer.name(), "CHRONY_NEW_SERVER");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NoMemory => "CHRONY_NO_MEMORY",
            ErrorCode::NoRandom => "CHRONY_NO_RANDOM",
            ErrorCode::UnknownReport => "CHRONY_UNKNOWN_REPORT",
            ErrorCode::RandomFailed => "CHRONY_RANDOM_FAILED",
            ErrorCode::SendFailed => "CHRONY_SEND_FAILED",
            ErrorCode::RecvFailed => "CHRONY_RECV_FAILED",
            ErrorCode::InvalidArgument => "CHRONY_INVALID_ARGUMENT",
            ErrorCode::UnexpectedCall => "CHRONY_UNEXPECTED_CALL",
            ErrorCode::Unauthorized => "CHRONY_UNAUTHORIZED",
            ErrorCode::Disabled => "CHRONY_DISABLED",
            ErrorCode::UnexpectedStatus => "CHRONY_UNEXPECTED_STATUS",
            ErrorCode::OldServer => "CHRONY_OLD_SERVER",
            ErrorCode::NewServer => "CHRONY_NEW_SERVER",
            ErrorCode::InvalidResponse => "CHRONY_INVALID_RESPONSE",
            ErrorCode::Unknown(_) => "CHRONY_UNKNOWN",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(v) => pad(f, format_args!("unknown libchrony error {v}")),
            other => f.pad(other.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        for raw in 1..=20u32 {
            let code = ErrorCode::from_raw(raw).unwrap();
            assert_eq!(code.raw(), raw);
            if raw <= 14 {
                assert!(!matches!(code, ErrorCode::Unknown(_)), "{raw}");
                assert!(code.name().starts_with("CHRONY_"));
            } else {
                assert_eq!(code, ErrorCode::Unknown(raw));
            }
        }
    }

    #[test]
    fn messages_name_their_context() {
        let e = Error::BadData {
            report: "tracking".into(),
            field: "stratum".into(),
            problem: DataProblem::OutOfRange {
                value: "300".into(),
                expected: "0..=255",
            },
        };
        let text = e.to_string();
        assert!(
            text.contains("tracking") && text.contains("stratum") && text.contains("300"),
            "{text}"
        );
        let e = Error::PermissionDenied {
            address: "/run/chrony/chronyd.sock".into(),
            source: io::Error::from_raw_os_error(libc::EACCES),
        };
        assert!(e.to_string().contains("write access"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }

    /// Display never repeats the text of the error `source()` returns.
    #[test]
    fn messages_do_not_repeat_their_source() {
        let os = || io::Error::other("the-os-error-text");
        let errors = [
            Error::Connect {
                address: "/x.sock".into(),
                source: os(),
            },
            Error::PermissionDenied {
                address: "/x.sock".into(),
                source: os(),
            },
            Error::Protocol {
                operation: "response",
                report: "tracking".into(),
                code: ErrorCode::RecvFailed,
                message: "Receive failed".into(),
                os_error: Some(os()),
            },
        ];
        for e in errors {
            let source = std::error::Error::source(&e).expect("has a source");
            assert_eq!(source.to_string(), "the-os-error-text");
            assert!(!e.to_string().contains("the-os-error-text"), "{e}");
            let chain = e.chain().to_string();
            assert_eq!(chain, format!("{e}: the-os-error-text"));
        }
    }

    /// The chain goes as deep as the causes do, and pads as a whole.
    #[test]
    fn chain_prints_every_cause() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("outer")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Error::Resolve {
            host: "h".into(),
            source: io::Error::other(Outer(io::Error::other("inner"))),
        };
        assert_eq!(
            e.chain().to_string(),
            "cannot resolve chronyd host \"h\": outer: inner"
        );
        let e = Error::UnknownReport("x".into());
        assert_eq!(
            e.chain().to_string(),
            e.to_string(),
            "no cause, nothing added"
        );
        assert_eq!(
            format!("{:>30}|", e.chain()).len(),
            31.max(e.to_string().len() + 1)
        );
    }

    #[test]
    fn kinds_and_reports() {
        let protocol = |code| Error::Protocol {
            operation: "response",
            report: "smoothing".into(),
            code,
            message: String::new(),
            os_error: None,
        };
        let cases = [
            (ErrorCode::Disabled, ErrorKind::Disabled, "not enabled"),
            (ErrorCode::OldServer, ErrorKind::DaemonTooOld, "too old"),
            (ErrorCode::NewServer, ErrorKind::DaemonTooNew, "too new"),
            (ErrorCode::RecvFailed, ErrorKind::Io, "CHRONY_RECV_FAILED"),
            (ErrorCode::NoMemory, ErrorKind::Protocol, "CHRONY_NO_MEMORY"),
        ];
        for (code, kind, text) in cases {
            let e = protocol(code);
            assert_eq!(e.kind(), kind);
            assert!(
                e.to_string().contains(text) && e.to_string().contains("smoothing"),
                "{e}"
            );
            assert_eq!(e.report(), Some("smoothing"));
        }
        let t = Error::Timeout {
            address: "127.0.0.1:323".into(),
            report: "sources".into(),
            operation: "record 3".into(),
            timeout: Duration::from_secs(1),
            call_deadline: false,
        };
        assert_eq!(
            (t.kind(), t.report()),
            (ErrorKind::Timeout, Some("sources"))
        );
        assert!(t.to_string().contains("sources"));
        let labels: std::collections::HashSet<_> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(labels.len(), ErrorKind::ALL.len(), "labels are distinct");
    }
}
