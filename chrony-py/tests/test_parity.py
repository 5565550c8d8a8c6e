"""API parity with pychrony 2.0.3, by introspection of both packages
installed side by side.

Compared: every name of pychrony's `__all__` (present, of the same kind),
dataclass fields (names, order, annotations) and frozenness, public methods
and properties with their signatures, enum members and values, the
exception hierarchy and constructors, and `pychrony.testing`'s names,
factories, default dicts and fixtures.

Two kinds of difference: those that break code written for pychrony (a
missing name, field or member, another hierarchy) fail the test whatever
the README says; every other difference (an addition, another signature,
other default values) must be named, as a code span such as
`ChronyConnection.__init__`, in the "Differences from pychrony" section of
chrony-py/README.md. The differences found are printed at the end of the
run.
"""

import dataclasses
import enum
import inspect
import re
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pychrony
import pychrony.testing
import pytest

import chrony
import chrony.testing

README = Path(__file__).resolve().parents[1] / "README.md"

#: Filled by the tests below, printed by `pytest_terminal_summary`.
FOUND: dict[str, str] = {}


def listed() -> set[str]:
    """The names in the README's "Differences from pychrony" section."""
    text = README.read_text()
    start = text.index("### Differences from pychrony")
    end = text.find("\n## ", start)
    section = text[start : end if end > 0 else len(text)]
    return set(re.findall(r"`([A-Za-z_][\w.]*)`", section))


def normalized(text: str) -> str:
    """A signature or annotation with both packages' module paths made one."""
    return re.sub(r"\bpychrony\.", "chrony.", text)


def kind(obj: Any) -> str:
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return "exception"
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        return "enum"
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        return "dataclass"
    if isinstance(obj, type):
        return "class"
    if callable(obj):
        return "function"
    return type(obj).__name__


def signature(obj: Any, name: str) -> str:
    sig = inspect.signature(obj)
    if name == "__init__":
        # Its return is None whether annotated or not.
        sig = sig.replace(return_annotation=inspect.Signature.empty)
    return normalized(str(sig))


def public(cls: type[Any]) -> dict[str, Any]:
    """The public methods and properties a class defines (not inherited
    from `object`, `Exception` or `Enum`), with `__init__`/`__enter__`/... ."""
    out: dict[str, Any] = {}
    for klass in cls.__mro__:
        if klass in (object, Exception, BaseException) or klass.__module__ in ("enum", "builtins"):
            continue
        for name, value in vars(klass).items():
            dunder = name in ("__init__", "__enter__", "__exit__", "__str__")
            if (name.startswith("_") and not dunder) or name in out:
                continue
            if isinstance(value, (property, staticmethod, classmethod)) or inspect.isfunction(value):
                out[name] = value
    return out


def record(key: str, what: str) -> None:
    FOUND[key] = what


def compare_class(name: str, theirs: type[Any], ours: type[Any], problems: list[str]) -> None:
    k = kind(theirs)
    if kind(ours) != k:
        problems.append(f"{name}: a {kind(ours)} here, a {k} in pychrony")
        return
    if k == "enum":
        t = {m.name: m.value for m in theirs}
        o = {m.name: m.value for m in ours}
        if t != o:
            problems.append(f"{name}: members {o} here, {t} in pychrony")
    if k == "dataclass":
        tf = [(f.name, normalized(str(h))) for f, h in zip(dataclasses.fields(theirs), typing.get_type_hints(theirs).values())]
        of = [(f.name, normalized(str(h))) for f, h in zip(dataclasses.fields(ours), typing.get_type_hints(ours).values())]
        if tf != of:
            problems.append(f"{name}: fields {of} here, {tf} in pychrony")
        if ours.__dataclass_params__.frozen != theirs.__dataclass_params__.frozen:
            problems.append(f"{name}: frozen differs")
    if k == "exception":
        tb = [b.__name__ for b in theirs.__mro__ if b.__module__.startswith("pychrony")]
        ob = [b.__name__ for b in ours.__mro__ if b.__module__.startswith("chrony")]
        if tb != ob:
            problems.append(f"{name}: hierarchy {ob} here, {tb} in pychrony")
    tm, om = public(theirs), public(ours)
    # A difference is recorded on the class that defines the member (an
    # exception's __init__ on ChronyError, not on each subclass).
    own = set(vars(theirs)) | set(vars(ours))
    for m in tm:
        if m not in om:
            problems.append(f"{name}.{m}: missing (pychrony has it)")
            continue
        if isinstance(tm[m], property) != isinstance(om[m], property):
            problems.append(f"{name}.{m}: a property in one package only")
        elif not isinstance(tm[m], property):
            ts, os_ = signature(getattr(theirs, m), m), signature(getattr(ours, m), m)
            if ts != os_ and m in own:
                record(f"{name}.{m}", f"signature {os_} here, {ts} in pychrony")
    for m in om.keys() - tm.keys():
        if m in own:
            record(f"{name}.{m}", "added")


def test_every_name_of_pychrony_is_here_with_the_same_contract() -> None:
    problems: list[str] = []
    for name in pychrony.__all__:
        if not hasattr(chrony, name) or name not in chrony.__all__:
            problems.append(f"{name}: not exported")
            continue
        theirs, ours = getattr(pychrony, name), getattr(chrony, name)
        if isinstance(theirs, type):
            compare_class(name, theirs, ours, problems)
        elif kind(theirs) != kind(ours):
            problems.append(f"{name}: a {kind(ours)} here, a {kind(theirs)} in pychrony")
    for name in set(chrony.__all__) - set(pychrony.__all__):
        record(name, "added")
    # The submodules pychrony's users import from.
    for module in ("models", "exceptions"):
        theirs_m: ModuleType = getattr(pychrony, module)
        ours_m: ModuleType = getattr(chrony, module)
        for name in getattr(theirs_m, "__all__", []):
            if not name.startswith("_") and not hasattr(ours_m, name):
                problems.append(f"{module}.{name}: missing")
    assert not problems, "\n".join(problems)
    unlisted = set(FOUND) - listed()
    assert not unlisted, "differences the README does not list:\n" + "\n".join(
        f"{k}: {FOUND[k]}" for k in sorted(unlisted)
    )


def test_exceptions_behave_as_pychrony_s() -> None:
    for name in ("ChronyError", "ChronyConnectionError", "ChronyPermissionError", "ChronyDataError"):
        t = getattr(pychrony, name)("no answer", 6)
        o = getattr(chrony, name)("no answer", 6)
        assert (str(o), o.message, o.error_code, o.args) == (str(t), t.message, t.error_code, t.args)
        t, o = getattr(pychrony, name)("bad"), getattr(chrony, name)("bad")
        assert (str(o), o.error_code) == (str(t), t.error_code)
    t, o = pychrony.ChronyLibraryError("gone"), chrony.ChronyLibraryError("gone")
    assert (str(o), o.message, o.error_code) == (str(t), t.message, t.error_code)
    assert issubclass(chrony.ChronyTimeoutError, chrony.ChronyConnectionError)
    assert chrony.ChronyError("x", kind="timeout", report="tracking").kind == "timeout"


def fixtures(module: ModuleType) -> dict[str, Any]:
    return {v.name: v for v in vars(module).values() if hasattr(v, "_fixture_function")}


def test_testing_module_has_pychrony_s_factories_and_fixtures() -> None:
    problems: list[str] = []
    for name in pychrony.testing.__all__:
        theirs, ours = getattr(pychrony.testing, name), getattr(chrony.testing, name, None)
        if ours is None:
            problems.append(f"testing.{name}: missing")
        elif callable(theirs):
            ts, os_ = signature(theirs, name), signature(ours, name)
            if ts != os_:
                problems.append(f"testing.{name}: signature {os_} here, {ts} in pychrony")
        elif isinstance(theirs, dict):
            if list(theirs) != list(ours):
                problems.append(f"testing.{name}: keys {list(ours)} here, {list(theirs)} in pychrony")
            if theirs != {k: normalize_value(v) for k, v in ours.items()}:
                record(f"testing.{name}", "other default values, of the same meaning")
    for name in set(chrony.testing.__all__) - set(pychrony.testing.__all__):
        record(f"testing.{name}", "added")
    tf, of = fixtures(pychrony.testing), fixtures(chrony.testing)
    for name in tf.keys() - of.keys():
        problems.append(f"fixture {name}: missing")
    for name in of.keys() - tf.keys():
        record(f"testing.{name}", "fixture added")
    assert not problems, "\n".join(problems)
    unlisted = {k for k in FOUND if k.startswith("testing.")} - listed()
    assert not unlisted, "differences the README does not list: " + ", ".join(sorted(unlisted))


def normalize_value(v: Any) -> Any:
    """Our enum member as pychrony's (for comparing default dicts)."""
    if isinstance(v, enum.Enum) and hasattr(pychrony, type(v).__name__):
        return getattr(pychrony, type(v).__name__)[v.name]
    return v


@pytest.mark.parametrize(
    ("factory", "predicate"),
    [
        ("make_tracking", "is_synchronized"),
        ("make_source", "is_selected"),
        ("make_source", "is_reachable"),
        ("make_source_stats", "has_sufficient_samples"),
        ("make_rtc_data", "is_calibrated"),
    ],
)
def test_factory_defaults_have_pychrony_s_meaning(factory: str, predicate: str) -> None:
    theirs = getattr(getattr(pychrony.testing, factory)(), predicate)()
    ours = getattr(getattr(chrony.testing, factory)(), predicate)()
    assert ours is theirs is True


def test_helpers_agree_with_pychrony_on_the_same_values() -> None:
    """The helper methods on values both packages build the same way; the
    one listed difference (`TrackingStatus.is_synchronized`, chronyc's rule)
    shows on the local clock and an unsynchronized leap status only."""
    cases: list[tuple[dict[str, int], str]] = [
        ({}, "NORMAL"), ({"stratum": 16}, "NORMAL"), ({"reference_id": 0}, "NORMAL"), ({}, "INSERT"), ({}, "DELETE"),
    ]
    for overrides, leap in cases:
        o = chrony.testing.make_tracking(leap_status=chrony.LeapStatus[leap], **overrides)
        t = pychrony.testing.make_tracking(leap_status=pychrony.LeapStatus[leap], **overrides)
        assert (o.is_synchronized(), o.is_leap_pending()) == (t.is_synchronized(), t.is_leap_pending()), overrides
    local = {"reference_id": 0x7F7F0101, "stratum": 10}
    assert pychrony.testing.make_tracking(**local).is_synchronized()
    assert not chrony.testing.make_tracking(**local).is_synchronized()
    unsync = chrony.testing.make_tracking(leap_status=chrony.LeapStatus.UNSYNC)
    assert pychrony.testing.make_tracking(leap_status=pychrony.LeapStatus.UNSYNC).is_synchronized()
    assert not unsync.is_synchronized()
    for reach, state in ((0, "SELECTED"), (1, "FALSETICKER"), (255, "UNSELECTED")):
        o_s = chrony.testing.make_source(reachability=reach, state=chrony.SourceState[state])
        t_s = pychrony.testing.make_source(reachability=reach, state=pychrony.SourceState[state])
        assert (o_s.is_reachable(), o_s.is_selected()) == (t_s.is_reachable(), t_s.is_selected())
    for samples in (0, 3, 4, 9):
        o_st = chrony.testing.make_source_stats(samples=samples)
        t_st = pychrony.testing.make_source_stats(samples=samples)
        assert [o_st.has_sufficient_samples(m) for m in (1, 4, 8)] == [t_st.has_sufficient_samples(m) for m in (1, 4, 8)]
        assert chrony.testing.make_rtc_data(samples=samples).is_calibrated() == pychrony.testing.make_rtc_data(samples=samples).is_calibrated()
