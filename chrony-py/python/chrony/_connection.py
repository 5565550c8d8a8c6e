"""`ChronyConnection` and `AsyncChronyConnection`."""

from collections.abc import Awaitable
from types import TracebackType
from typing import Any

from . import _convert
from .exceptions import ChronyLibraryError
from .models import (
    Activity,
    AuthData,
    NtpData,
    RTCData,
    SelectData,
    ServerStats,
    Smoothing,
    Snapshot,
    Source,
    SourceStats,
    TrackingStatus,
    Transport,
)

try:
    from . import _native
except ImportError as e:  # pragma: no cover - exercised in a subprocess
    _LIBRARY_ERROR: ImportError | None = e
else:
    _LIBRARY_ERROR = None

__all__ = ["ChronyConnection", "AsyncChronyConnection", "DEFAULT_TIMEOUT", "DEFAULT_SESSIONS"]

# Written here, not read from _native, so that the signatures show them
# even where the native module cannot load; the tests hold them equal to
# the Rust library's (chrony::DEFAULT_DEADLINE, DEFAULT_CONCURRENCY).
#: The default whole-call deadline, seconds.
DEFAULT_TIMEOUT = 10.0
#: The default number of sessions per client (requests of one call in
#: flight at once).
DEFAULT_SESSIONS = 8

_schema: _convert.Schema | None = None


def _reports() -> _convert.Schema:
    global _schema
    if _schema is None:
        _schema = _convert.Schema(_native.schema())
    return _schema


def _check_library() -> None:
    if _LIBRARY_ERROR is not None:
        raise ChronyLibraryError(
            f"the native module chrony._native cannot be loaded ({_LIBRARY_ERROR}); "
            "reinstall the chrony wheel for this platform"
        ) from _LIBRARY_ERROR


def _check_options(timeout: float, sessions: int) -> None:
    # bool is an int; neither is an option value.
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if timeout == float("inf"):
        raise ValueError("timeout must be finite: every call has a deadline")
    # Without the native module, __enter__ raises ChronyLibraryError.
    most = _native.MAX_SESSIONS if _LIBRARY_ERROR is None else sessions
    if isinstance(sessions, bool) or not isinstance(sessions, int) or not 1 <= sessions <= most:
        raise ValueError(f"sessions must be an int from 1 to {most}, not {sessions!r}")


class _Base:
    """What both connections share: options, address and transport."""

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        sessions: int = DEFAULT_SESSIONS,
    ) -> None:
        _check_options(timeout, sessions)
        self._address = address
        self._timeout = float(timeout)
        self._sessions = sessions
        self._native: Any = None

    @property
    def address(self) -> str | None:
        """The address in use: the one given, or the one auto-detection
        found (`/run/chrony/chronyd.sock`, `127.0.0.1:323`, ...); `None`
        while not connected."""
        native = self._native
        if native is None:
            return None
        return self._address if self._address is not None else str(native.address)

    @property
    def transport(self) -> Transport | None:
        """The transport in use, `None` while not connected."""
        native = self._native
        return None if native is None else Transport(native.transport)

    def _close(self) -> None:
        # Both native connections close without waiting, so `__exit__` and
        # `__aexit__` share this.
        native, self._native = self._native, None
        if native is not None:
            native.close()

    def _connected(self) -> Any:
        native = self._native
        if native is None:
            raise RuntimeError(_convert.OUTSIDE)
        return native


class ChronyConnection(_Base):
    """A connection to chronyd, used as a context manager.

    Args:
        address: chronyd's Unix socket path (`/run/chrony/chronyd.sock`),
            or its UDP command port: `host`, `host:port`, `IPv6` or
            `[IPv6]:port` (port 323 when omitted). `None` tries chronyd's
            usual socket paths (`/run/chrony/chronyd.sock`,
            `/var/run/chrony/chronyd.sock`), then 127.0.0.1 and ::1 over UDP.
        timeout: The deadline of every call, in seconds (default 10): a
            call that takes longer raises `ChronyTimeoutError`. Within it a
            request is re-sent on silence as chronyc does (after 1, 2, 4 s).
        sessions: How many requests of one call are in flight at once
            (default 8, from 1 to 32): a per-source report's records are
            read over that many sessions.

    One connection may be shared by threads: each call takes one of the
    connection's clients (up to 8 run at once; a call beyond waits for one,
    at most `timeout`, before its own deadline starts). Waits on chronyd
    release the GIL.

    Example:
        >>> with ChronyConnection("/run/chrony/chronyd.sock") as conn:  # doctest: +SKIP
        ...     print(conn.get_tracking().offset)
    """

    def __enter__(self) -> "ChronyConnection":
        _check_library()
        try:
            self._native = _native.Connection.open(self._address, self._timeout, self._sessions)
        except _native.Error as e:
            raise _convert.error(e) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self._close()

    def _report(self, name: str) -> Any:
        try:
            return self._connected().report(name)
        except _native.Error as e:
            raise _convert.error(e) from None

    def get_tracking(self) -> TrackingStatus:
        """The tracking report.

        Raises:
            RuntimeError: outside the `with` block.
            ChronyConnectionError: chronyd cannot be reached
                (`ChronyTimeoutError`: no answer within the deadline).
            ChronyDataError: the report is invalid.
        """
        r: TrackingStatus = _reports().single("tracking", self._report("tracking"))
        return r

    def get_sources(self) -> list[Source]:
        """The sources report, one entry per source (raises as `get_tracking`)."""
        return _reports().many("sources", self._report("sources"))

    def get_source_stats(self) -> list[SourceStats]:
        """The sourcestats report, one entry per source (raises as `get_tracking`)."""
        return _reports().many("source_stats", self._report("source_stats"))

    def get_rtc_data(self) -> RTCData | None:
        """The rtcdata report, `None` when chronyd does not track an RTC
        (raises as `get_tracking`)."""
        r: RTCData | None = _reports().single("rtc_data", self._report("rtc_data"))
        return r

    def get_activity(self) -> Activity:
        """The activity report (raises as `get_tracking`)."""
        r: Activity = _reports().single("activity", self._report("activity"))
        return r

    def get_server_stats(self) -> ServerStats:
        """The serverstats report; Unix socket only (over UDP:
        `ChronyDataError` with kind `unauthorized`)."""
        r: ServerStats = _reports().single("server_stats", self._report("server_stats"))
        return r

    def get_smoothing(self) -> Smoothing | None:
        """The smoothing report, `None` when time smoothing is off."""
        r: Smoothing | None = _reports().single("smoothing", self._report("smoothing"))
        return r

    def get_select_data(self) -> list[SelectData]:
        """The selectdata report, one entry per source; Unix socket only."""
        return _reports().many("select_data", self._report("select_data"))

    def get_ntp_data(self) -> list[NtpData]:
        """The ntpdata report, one entry per NTP source; Unix socket only."""
        return _reports().many("ntp_data", self._report("ntp_data"))

    def get_auth_data(self) -> list[AuthData]:
        """The authdata report, one entry per NTP source; Unix socket only."""
        return _reports().many("auth_data", self._report("auth_data"))

    def snapshot(self) -> Snapshot:
        """Every report chronyd serves on this transport, read at once
        over the connection's sessions; a report chronyd refuses is `None`
        and named in `Snapshot.absent`."""
        try:
            native = self._connected().snapshot()
        except _native.Error as e:
            raise _convert.error(e) from None
        return _reports().snapshot(native)


class AsyncChronyConnection(_Base):
    """`ChronyConnection` for asyncio: `async with`, awaitable methods, the
    same arguments, reports and exceptions.

    Calls run on a tokio runtime in the native module, never blocking the
    event loop. Concurrent tasks may share one connection (up to 8 calls run
    at once). Cancelling a task in a call (`asyncio.wait_for`,
    `Task.cancel`) drops the call: its sessions with a request in flight
    are closed, so no late reply is ever read as another call's.

    Example:
        >>> async with AsyncChronyConnection("127.0.0.1") as conn:  # doctest: +SKIP
        ...     print((await conn.get_tracking()).offset)
    """

    async def __aenter__(self) -> "AsyncChronyConnection":
        _check_library()
        try:
            self._native = await _native.AsyncConnection.open(
                self._address, self._timeout, self._sessions
            )
        except _native.Error as e:
            raise _convert.error(e) from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self._close()

    async def _report(self, name: str) -> Any:
        pending: Awaitable[Any] = self._connected().report(name)
        try:
            return await pending
        except _native.Error as e:
            raise _convert.error(e) from None

    async def get_tracking(self) -> TrackingStatus:
        """The tracking report (see `ChronyConnection.get_tracking`)."""
        r: TrackingStatus = _reports().single("tracking", await self._report("tracking"))
        return r

    async def get_sources(self) -> list[Source]:
        """The sources report."""
        return _reports().many("sources", await self._report("sources"))

    async def get_source_stats(self) -> list[SourceStats]:
        """The sourcestats report."""
        return _reports().many("source_stats", await self._report("source_stats"))

    async def get_rtc_data(self) -> RTCData | None:
        """The rtcdata report, `None` without RTC tracking."""
        r: RTCData | None = _reports().single("rtc_data", await self._report("rtc_data"))
        return r

    async def get_activity(self) -> Activity:
        """The activity report."""
        r: Activity = _reports().single("activity", await self._report("activity"))
        return r

    async def get_server_stats(self) -> ServerStats:
        """The serverstats report (Unix socket only)."""
        r: ServerStats = _reports().single("server_stats", await self._report("server_stats"))
        return r

    async def get_smoothing(self) -> Smoothing | None:
        """The smoothing report, `None` when time smoothing is off."""
        r: Smoothing | None = _reports().single("smoothing", await self._report("smoothing"))
        return r

    async def get_select_data(self) -> list[SelectData]:
        """The selectdata report (Unix socket only)."""
        return _reports().many("select_data", await self._report("select_data"))

    async def get_ntp_data(self) -> list[NtpData]:
        """The ntpdata report (Unix socket only)."""
        return _reports().many("ntp_data", await self._report("ntp_data"))

    async def get_auth_data(self) -> list[AuthData]:
        """The authdata report (Unix socket only)."""
        return _reports().many("auth_data", await self._report("auth_data"))

    async def snapshot(self) -> Snapshot:
        """Every report at once (see `ChronyConnection.snapshot`)."""
        pending: Awaitable[Any] = self._connected().snapshot()
        try:
            native = await pending
        except _native.Error as e:
            raise _convert.error(e) from None
        return _reports().snapshot(native)
