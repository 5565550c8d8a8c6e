//! How libchrony's outcomes become this crate's [`Error`]s, and which
//! errors the engine treats apart (chronyd's own answers, a record past
//! the end, a disabled feature).

use super::link::{Link, Op, Req};
use super::policy::Policy;
use crate::error::{Error, ErrorCode};
use std::io;

pub(crate) fn is_would_block(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR))
        || e.kind() == io::ErrorKind::WouldBlock
}

/// chronyd's own answers: they end the exchange, on any transport.
pub(crate) fn is_daemon_answer(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Unauthorized
            | ErrorCode::Disabled
            | ErrorCode::OldServer
            | ErrorCode::NewServer
            | ErrorCode::UnexpectedStatus
    )
}

/// Maps a libchrony error of an exchange.
pub(crate) fn map_error<L: Link>(
    policy: &Policy,
    req: Req,
    code: ErrorCode,
    os: io::Error,
) -> Error {
    let address = policy.address.clone();
    let report = req.report_name();
    let send_or_recv = matches!(code, ErrorCode::SendFailed | ErrorCode::RecvFailed);
    match code {
        ErrorCode::Unauthorized => Error::Unauthorized { address, report },
        _ if send_or_recv
            && matches!(
                os.raw_os_error(),
                Some(libc::ECONNREFUSED | libc::ENOENT | libc::ENOTCONN)
            ) =>
        {
            Error::Connect {
                address,
                source: os,
            }
        }
        _ if send_or_recv && matches!(os.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            Error::PermissionDenied {
                address,
                source: os,
            }
        }
        _ => {
            let op = match req {
                _ if code == ErrorCode::SendFailed => Op::Request,
                Req::Count(_) => Op::RecordCount,
                Req::Record(..) => Op::Record,
            };
            Error::Protocol {
                operation: op.label(),
                report,
                code,
                message: L::error_string(code),
                os_error: send_or_recv.then_some(os),
            }
        }
    }
}

/// chronyd's "no such source" (a record index past the end): libchrony
/// reports it as an unexpected status on a record request.
pub(crate) fn no_such_record(req: Req, e: &Error) -> bool {
    matches!(req, Req::Record(..))
        && matches!(
            e,
            Error::Protocol {
                code: ErrorCode::UnexpectedStatus,
                ..
            }
        )
}

/// chronyd's "feature off" (`CHRONY_DISABLED`).
pub(crate) fn is_disabled(e: &Error) -> bool {
    matches!(
        e,
        Error::Protocol {
            code: ErrorCode::Disabled,
            ..
        }
    )
}
