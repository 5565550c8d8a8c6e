"""From the native module's plain values to the dataclasses and exceptions.

The native module hands back each record as a tuple of the Rust model's
field values in declaration order, and describes every report with
`_native.schema()`: its field name (`tracking`, `source_stats`, ...), its
fields' Rust names and types. The reports of pychrony have their own
adapters below; every other report's dataclass has the Rust fields' names
in the same order and is built generically, each field converted by its
Rust type: a `Timestamp` (seconds, nanoseconds) to float seconds, an
`Option<IpAddr>` (octets) to text, an enum or flag set to the Python class
of the same name.
"""

import dataclasses
import enum
import ipaddress
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from . import models
from .exceptions import (
    ChronyConnectionError,
    ChronyDataError,
    ChronyError,
    ChronyPermissionError,
    ChronyTimeoutError,
)
from .models import (
    NEVER,
    Absence,
    LeapStatus,
    RTCData,
    Snapshot,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TrackingStatus,
    Transport,
)

_T = TypeVar("_T")

#: The message of a call outside the `with` block, as pychrony words it.
OUTSIDE = "ChronyConnection methods must be called within a 'with' block"

#: Error kinds that mean chronyd cannot be reached.
_CONNECTION_KINDS = frozenset(
    {"invalid_address", "resolve", "connect", "io", "resource_exhausted"}
)


def error(native: BaseException) -> Exception:
    """The exception for a native `Error` (args: kind, message, code, report)."""
    kind, message, code, report = cast(
        "tuple[str, str, int | None, str | None]", tuple(native.args)
    )
    if kind == "closed":
        return RuntimeError(OUTSIDE)
    cls: type[ChronyError]
    if kind == "timeout":
        cls = ChronyTimeoutError
    elif kind == "permission_denied":
        cls = ChronyPermissionError
    elif kind in _CONNECTION_KINDS:
        cls = ChronyConnectionError
    else:
        cls = ChronyDataError
    return cls(message, code, kind=kind, report=report)


def _bad(report: str, what: str) -> ChronyDataError:
    return ChronyDataError(f"bad data in report {report}: {what}", kind="bad_data", report=report)


def timestamp(value: tuple[int, int]) -> float:
    """A `Timestamp` (seconds, nanoseconds) as float seconds since the epoch."""
    return value[0] + value[1] / 1e9


def ip_address(value: Sequence[int] | None) -> str | None:
    """An `Option<IpAddr>` (its octets) as text."""
    if value is None:
        return None
    return str(ipaddress.ip_address(bytes(value)))


def refid_text(reference_id: int) -> str:
    """A reference ID as chronyc names it: its printable characters."""
    return "".join(
        chr(b) for b in reference_id.to_bytes(4, "big") if 0x20 <= b < 0x7F
    )


def _enum_table(cls: type[Any], aliases: dict[str, Any] | None = None) -> dict[Any, Any]:
    """Rust names (snake_case) and raw values to `cls`'s members."""
    table: dict[Any, Any] = {name.lower(): m for name, m in cls.__members__.items()}
    table.update({m.value: m for m in cls})
    table.update(aliases or {})
    return table


_TABLES: dict[str, dict[Any, Any]] = {
    "LeapStatus": _enum_table(LeapStatus, {"unsynchronized": LeapStatus.UNSYNC}),
    "SourceMode": _enum_table(SourceMode, {"reference_clock": SourceMode.REFCLOCK}),
}
_FLAGS = ("SelectOptions", "SmoothingFlags", "NtpFlags")
#: Enums whose fields cannot hold an unknown value (pychrony's): one is an
#: error, as in pychrony.
_STRICT = ("LeapStatus", "SourceState", "SourceMode")


def _table(rust_type: str) -> dict[Any, Any] | None:
    if rust_type not in _TABLES:
        cls = getattr(models, rust_type, None)
        if not (isinstance(cls, type) and issubclass(cls, enum.Enum)) or rust_type in _FLAGS:
            return None
        _TABLES[rust_type] = _enum_table(cls)
    return _TABLES[rust_type]


def _converter(report: str, rust_type: str) -> Callable[[Any], Any] | None:
    """The conversion of a field of `rust_type`, `None` when none is needed."""
    if rust_type == "Timestamp":
        return timestamp
    if rust_type == "Option<IpAddr>":
        return ip_address
    if rust_type in _FLAGS:
        flags = getattr(models, rust_type)
        return lambda v: flags(v[-1])
    table = _table(rust_type)
    if table is not None and rust_type in _STRICT:

        def member(v: Any, table: dict[Any, Any] = table) -> Any:
            try:
                return table[v]
            except KeyError:
                raise _bad(report, f"unknown {rust_type} value {v!r}") from None

        return member
    if table is not None:
        # An enum of the newer reports: a value it does not know stays an int.
        def member(v: Any, table: dict[Any, Any] = table) -> Any:
            return table.get(v, v)

        return member
    return None


class Schema:
    """The native module's description of the reports, and the builders
    of their dataclasses."""

    def __init__(
        self, described: Sequence[tuple[str, str, str, str, Sequence[tuple[str, str]]]]
    ) -> None:
        #: field -> (libchrony report name, shape, ((Rust field, Rust type), ...))
        self.reports = {f: (name, shape, tuple(fields)) for f, name, shape, _, fields in described}
        #: field -> the Rust model's name (`Activity`, `NtpData`, ...)
        self.models = {f: model for f, _, _, model, _ in described}
        self._builders: dict[str, Callable[[Any], Any]] = {}

    def index(self, report: str) -> dict[str, int]:
        """The position of each Rust field in a record of `report`."""
        return {name: i for i, (name, _) in enumerate(self.reports[report][2])}

    def generic(self, report: str, cls: type[_T]) -> Callable[[Any], _T]:
        """A builder of `cls` from a record of `report`: the dataclass's
        fields must be the Rust fields, in order."""
        fields = self.reports[report][2]
        names = tuple(f.name for f in dataclasses.fields(cast(Any, cls)))
        rust = tuple(name for name, _ in fields)
        if names != rust:
            raise ChronyError(
                f"{cls.__name__} has the fields {names}, the native {report} report {rust}: "
                "the package and its native module do not match"
            )
        convs = [(i, c) for i, (_, t) in enumerate(fields) if (c := _converter(report, t))]

        def build(row: Sequence[Any]) -> _T:
            values = list(row)
            for i, conv in convs:
                values[i] = conv(values[i])
            return cls(*values)

        return build

    def builder(self, report: str) -> Callable[[Any], Any]:
        """The builder of a record of `report` (a snapshot field name)."""
        b = self._builders.get(report)
        if b is None:
            special = _SPECIAL.get(report)
            b = special(self) if special else self.generic(report, self.dataclass(report))
            self._builders[report] = b
        return b

    def dataclass(self, report: str) -> type[Any]:
        """The dataclass of a report built generically: the one named
        after the Rust model."""
        cls = getattr(models, self.models[report], None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ChronyError(
                f"no dataclass {self.models[report]} for the native {report} report: "
                "the package and its native module do not match"
            )
        return cls

    def single(self, report: str, value: Any) -> Any:
        """The value of a single-record or optional report."""
        return None if value is None else self.builder(report)(value)

    def many(self, report: str, rows: Sequence[Any]) -> list[Any]:
        """The values of a per-source report."""
        build = self.builder(report)
        return [build(r) for r in rows]

    def value(self, report: str, value: Any) -> Any:
        """The value of `report` whatever its shape."""
        if self.reports[report][1] == "per_source":
            return self.many(report, value)
        return self.single(report, value)

    def snapshot(self, native: tuple[str, str, dict[str, Any], dict[str, tuple[str, str]]]) -> Snapshot:
        """A `Snapshot` from the native snapshot."""
        address, transport, present, absent = native
        reports = {f: self.value(f, v) for f, v in present.items()}
        missing = {f: Absence(reason, message) for f, (reason, message) in absent.items()}
        for f in missing:
            reports[f] = None
        return Snapshot(address=address, transport=Transport(transport), absent=missing, **reports)


def _tracking(schema: Schema) -> Callable[[Sequence[Any]], TrackingStatus]:
    i = schema.index("tracking")
    leap = _converter("tracking", "LeapStatus")
    assert leap is not None
    (rid, addr, stratum, leap_i, ref, corr, last, rms, freq, resid, skew, delay, disp, interval) = (
        i[n]
        for n in (
            "reference_id",
            "address",
            "stratum",
            "leap_status",
            "reference_time",
            "current_correction",
            "last_offset",
            "rms_offset",
            "frequency_ppm",
            "residual_frequency_ppm",
            "skew_ppm",
            "root_delay",
            "root_dispersion",
            "last_update_interval",
        )
    )

    def build(r: Sequence[Any]) -> TrackingStatus:
        address = r[addr]
        return TrackingStatus(
            r[rid],
            address if address is not None else refid_text(r[rid]),
            address if address is not None else "",
            r[stratum],
            leap(r[leap_i]),
            timestamp(r[ref]),
            r[corr],
            r[last],
            r[rms],
            r[freq],
            r[resid],
            r[skew],
            r[delay],
            r[disp],
            r[interval],
        )

    return build


def _sources(schema: Schema) -> Callable[[Sequence[Any]], Source]:
    i = schema.index("sources")
    states = _enum_table(SourceState)
    modes = _TABLES["SourceMode"]
    (addr, poll, stratum, state, mode, flags, reach, ago, orig, adj, err) = (
        i[n]
        for n in (
            "address",
            "poll",
            "stratum",
            "state",
            "mode",
            "flags",
            "reachability",
            "last_sample_ago",
            "original_offset",
            "adjusted_offset",
            "error",
        )
    )

    def build(r: Sequence[Any]) -> Source:
        try:
            s, m = states[r[state]], modes[r[mode]]
        except KeyError:
            raise _bad("sources", f"unknown state or mode {r[state]!r}, {r[mode]!r}") from None
        a = r[ago]
        return Source(
            r[addr],
            r[poll],
            r[stratum],
            s,
            m,
            r[flags],
            r[reach],
            NEVER if a is None else a,
            r[orig],
            r[adj],
            r[err],
        )

    return build


def _is_address(text: str) -> bool:
    """True for an IP address (which has a '.' or a ':') or an unresolved
    `ID#NNNNNNNNNN` source, false for a reference clock's name."""
    return "." in text or ":" in text or text.startswith("ID#")


def _source_stats(schema: Schema) -> Callable[[Sequence[Any]], SourceStats]:
    i = schema.index("source_stats")
    (rid, addr, samples, runs, span, sd, resid, skew, offset, err) = (
        i[n]
        for n in (
            "reference_id",
            "address",
            "samples",
            "runs",
            "span",
            "standard_deviation",
            "residual_frequency_ppm",
            "skew_ppm",
            "offset",
            "offset_error",
        )
    )

    def build(r: Sequence[Any]) -> SourceStats:
        a = r[addr]
        return SourceStats(
            r[rid],
            a if _is_address(a) else "",
            r[samples],
            r[runs],
            r[span],
            r[sd],
            r[resid],
            r[skew],
            r[offset],
            r[err],
        )

    return build


def _rtc_data(schema: Schema) -> Callable[[Sequence[Any]], RTCData]:
    i = schema.index("rtc_data")
    (ref, samples, runs, span, offset, freq) = (
        i[n] for n in ("reference_time", "samples", "runs", "span", "offset", "frequency_ppm")
    )

    def build(r: Sequence[Any]) -> RTCData:
        return RTCData(timestamp(r[ref]), r[samples], r[runs], r[span], r[offset], r[freq])

    return build


_SPECIAL: dict[str, Callable[[Schema], Callable[[Any], Any]]] = {
    "tracking": _tracking,
    "sources": _sources,
    "source_stats": _source_stats,
    "rtc_data": _rtc_data,
}
