"""Comparing reads of a live chronyd whose values move between reads.

A value read by another program (chronyc, the Rust library, pychrony)
between two reads of ours must lie between them: a float within the
precision chronyc printed it with, an integer or a name equal to one of
the two. When chronyd's state changed in the middle (a new sample), a
comparison is retried (`retry`) rather than failed.
"""

import dataclasses
import datetime
import enum
from collections.abc import Callable
from typing import Any

#: chronyc's text for each leap status.
LEAP_TEXT = {
    "NORMAL": "Normal",
    "INSERT": "Insert second",
    "DELETE": "Delete second",
    "UNSYNC": "Not synchronised",
}


class Checker:
    """Collects mismatches instead of failing at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)

    def between(self, what: str, before: float, printed: str, after: float, decimals: int) -> None:
        """chronyc's `printed` value (rounded to `decimals`) lies between our reads."""
        value = float(printed)
        tol = 0.5 * 10.0**-decimals * 1.000001 + 1e-15
        lo, hi = min(before, after), max(before, after)
        self.check(
            lo - tol <= value <= hi + tol,
            f"{what}: chronyc printed {printed}, we read {before!r} before and {after!r} after",
        )

    def one_of(self, what: str, before: Any, printed: Any, after: Any) -> None:
        self.check(
            printed in (before, after),
            f"{what}: the other read {printed!r}, we read {before!r} / {after!r}",
        )

    def within(self, what: str, before: Any, other: Any, after: Any) -> None:
        """`other` lies between `before` and `after` (numbers), or equals one of them."""
        if isinstance(other, (int, float)) and not isinstance(other, bool) and isinstance(before, (int, float)):
            lo, hi = min(before, after), max(before, after)
            self.check(lo <= other <= hi, f"{what}: the other read {other!r}, we read {before!r} / {after!r}")
        else:
            self.one_of(what, before, other, after)


def retry(attempts: int, compare: Callable[[Checker], None]) -> None:
    """Runs `compare` until it finds no mismatch, at most `attempts` times."""
    problems: list[str] = []
    for _ in range(attempts):
        ck = Checker()
        compare(ck)
        if not ck.problems:
            return
        problems = ck.problems
    raise AssertionError(f"still different after {attempts} attempts:\n" + "\n".join(problems))


def rfc3339(text: str) -> float:
    """The Rust library's JSON time (`2026-11-25T22:31:57.515378988Z`) as
    float seconds, computed as the package computes it (seconds +
    nanoseconds / 1e9)."""
    assert text.endswith("Z") and text[19] == ".", text
    whole = datetime.datetime.fromisoformat(text[:19]).replace(tzinfo=datetime.timezone.utc)
    return int(whole.timestamp()) + int(text[20:-1]) / 1e9


def python_value(ours: Any, rust: Any) -> Any:
    """The Rust library's JSON value `rust` in the form of our field value
    `ours` (an enum member, a flag set, a time, a plain value)."""
    if isinstance(ours, enum.IntFlag):
        return type(ours)(rust["raw"])
    if isinstance(ours, enum.Enum):
        if isinstance(rust, int):
            return type(ours)(rust)
        names: dict[str, Any] = {m.name.lower(): m for m in type(ours)}
        aliases = {"unsynchronized": "unsync", "reference_clock": "refclock"}
        return names[aliases.get(rust, rust)]
    if isinstance(rust, str) and rust.endswith("Z") and len(rust) == 30:
        return rfc3339(rust)
    return rust


def compare_generic(ck: Checker, what: str, before: Any, rust: dict[str, Any], after: Any) -> None:
    """Every field of a dataclass named as the Rust model's field: the Rust
    value lies between our two reads."""
    for f in dataclasses.fields(before):
        a, b = getattr(before, f.name), getattr(after, f.name)
        ck.within(f"{what}.{f.name}", a, python_value(a, rust[f.name]), b)
