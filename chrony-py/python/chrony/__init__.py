"""chrony: chronyd's monitoring reports for Python, on the Rust `chrony`
engine, behind pychrony's API.

    >>> from chrony import ChronyConnection
    >>> with ChronyConnection() as conn:  # doctest: +SKIP
    ...     print(conn.get_tracking().offset)

Moving from pychrony 2.0.3 is a change of import (`pychrony` -> `chrony`);
everything pychrony exports is here with the same fields and methods, and
more: all ten reports of chronyd, `snapshot()`, a deadline on every call,
threads sharing one connection and `AsyncChronyConnection` for asyncio.
"""

from importlib.metadata import PackageNotFoundError, version

from ._connection import AsyncChronyConnection, ChronyConnection
from .exceptions import (
    ChronyConnectionError,
    ChronyDataError,
    ChronyError,
    ChronyLibraryError,
    ChronyPermissionError,
    ChronyTimeoutError,
)
from .models import (
    Absence,
    Activity,
    AuthData,
    AuthMode,
    KeyType,
    LeapStatus,
    NtpData,
    NtpFlags,
    NtpMode,
    RTCData,
    SelectData,
    SelectOptions,
    SelectState,
    ServerStats,
    Smoothing,
    SmoothingFlags,
    Snapshot,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TimestampSource,
    TrackingStatus,
    Transport,
)

try:
    __version__ = version("chrony")
except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
    __version__ = "0.0.0.dev0"

__all__ = [
    "__version__",
    # Connections
    "ChronyConnection",
    "AsyncChronyConnection",
    # Enums and flags
    "LeapStatus",
    "SourceState",
    "SourceMode",
    "Transport",
    "SelectState",
    "NtpMode",
    "TimestampSource",
    "AuthMode",
    "KeyType",
    "SelectOptions",
    "SmoothingFlags",
    "NtpFlags",
    # Reports
    "TrackingStatus",
    "Source",
    "SourceStats",
    "RTCData",
    "Activity",
    "ServerStats",
    "Smoothing",
    "SelectData",
    "NtpData",
    "AuthData",
    "Snapshot",
    "Absence",
    # Exceptions
    "ChronyError",
    "ChronyConnectionError",
    "ChronyTimeoutError",
    "ChronyPermissionError",
    "ChronyDataError",
    "ChronyLibraryError",
]
