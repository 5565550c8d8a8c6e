"""The exceptions, with pychrony's hierarchy.

`ChronyError` is the base of every exception a connection raises; each one
raised by a connection carries the Rust library's error kind (`kind`, a
stable label such as `timeout`, `connect`, `unauthorized`, `bad_data`) and
the report concerned (`report`), besides pychrony's `message` and
`error_code` (libchrony's error code, when the error is one of libchrony's).

```
ChronyError
├── ChronyConnectionError      chronyd cannot be reached or did not answer
│   └── ChronyTimeoutError     ... within the call's deadline
├── ChronyPermissionError      no access to chronyd's Unix socket
├── ChronyDataError            the report is refused or its data is invalid
└── ChronyLibraryError         the native module or libchrony is missing
```
"""

__all__ = [
    "ChronyError",
    "ChronyConnectionError",
    "ChronyTimeoutError",
    "ChronyPermissionError",
    "ChronyDataError",
    "ChronyLibraryError",
]


class ChronyError(Exception):
    """Base of every exception of this package.

    Attributes:
        message: What went wrong, with every cause.
        error_code: libchrony's error code (`chrony_err`) when libchrony
            reported the error, else `None`.
        kind: The Rust library's error kind (`ErrorKind::as_str`), or `None`
            for an exception not raised by a connection.
        report: The report concerned, when there is one.
    """

    def __init__(
        self,
        message: str,
        error_code: int | None = None,
        *,
        kind: str | None = None,
        report: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.kind = kind
        self.report = report

    def __str__(self) -> str:
        if self.error_code is not None:
            return f"{self.message} (error code: {self.error_code})"
        return self.message


class ChronyConnectionError(ChronyError):
    """chronyd cannot be reached: no such socket, nothing listening, a host
    name that does not resolve, an address that is not valid, or no answer
    (see `ChronyTimeoutError`)."""


class ChronyTimeoutError(ChronyConnectionError):
    """chronyd did not answer within the call's deadline (the connection's
    `timeout`): a frozen or overloaded chronyd, a silent UDP peer, a lost
    network."""


class ChronyPermissionError(ChronyError):
    """The operating system refused access to chronyd's Unix socket: the
    client needs write access to the socket's directory (root or chronyd's
    user). The UDP command port (`ChronyConnection("127.0.0.1")`) serves the
    monitoring reports without it."""


class ChronyDataError(ChronyError):
    """chronyd answered, but the report is not usable: refused over this
    transport (`kind` `unauthorized`), a protocol mismatch, or a value the
    model cannot hold (`bad_data`)."""


class ChronyLibraryError(ChronyError):
    """The native module (or libchrony inside it) cannot be loaded."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=None)
