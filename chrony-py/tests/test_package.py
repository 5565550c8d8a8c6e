"""The package against its native module, the testing helpers (also as the
pytest plugin), and the examples run on a harness chronyd."""

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Daemon

import chrony
import chrony.testing
from chrony import _convert, _native, models

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_every_native_report_has_a_dataclass_and_methods() -> None:
    """Each report of the Rust library's list: a dataclass built from it
    (the generic ones with exactly the Rust fields, in order), a
    `get_<report>` method on both connections and a `Snapshot` field, in
    the list's order."""
    schema = _native.schema()
    fields = [f.name for f in dataclasses.fields(chrony.Snapshot)]
    assert fields == ["address", "transport", *(r[0] for r in schema), "absent"]
    s = _convert.Schema(schema)
    for field, report, shape, model, rust_fields in schema:
        assert report in ("tracking", "sources", "sourcestats", "rtcdata", "activity", "serverstats",
                          "smoothing", "selectdata", "ntpdata", "authdata")
        assert shape in ("single", "optional", "per_source")
        for cls in (chrony.ChronyConnection, chrony.AsyncChronyConnection):
            method = getattr(cls, f"get_{field}")
            assert inspect.iscoroutinefunction(method) == (cls is chrony.AsyncChronyConnection)
        if field not in ("tracking", "sources", "source_stats", "rtc_data"):
            cls = s.dataclass(field)
            assert cls.__name__ == model and cls.__dataclass_params__.frozen
            assert [f.name for f in dataclasses.fields(cls)] == [name for name, _ in rust_fields]
            s.generic(field, cls)


def test_defaults_match_the_native_module() -> None:
    assert chrony._connection.DEFAULT_SESSIONS == _native.DEFAULT_SESSIONS
    assert chrony._connection.DEFAULT_TIMEOUT == _native.DEFAULT_TIMEOUT
    assert inspect.signature(chrony.ChronyConnection).parameters["timeout"].default == _native.DEFAULT_TIMEOUT


def test_factories_take_overrides_and_refuse_unknown_fields() -> None:
    makers = [n for n in chrony.testing.__all__ if n.startswith("make_")]
    assert len(makers) == 10
    for name in makers:
        make = getattr(chrony.testing, name)
        value = make()
        assert dataclasses.is_dataclass(value) and type(value).__module__ == "chrony.models"
        first = dataclasses.fields(value)[0].name
        # A value no default holds: the override must reach the field,
        # and only that field.
        marker = object()
        changed = make(**{first: marker})
        assert getattr(changed, first) is marker
        assert dataclasses.replace(changed, **{first: getattr(value, first)}) == value
        with pytest.raises(TypeError):
            make(no_such_field=1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, first, None)
    t = chrony.testing.make_tracking(stratum=16, reference_id=0)
    assert (t.stratum, t.reference_id, t.is_synchronized()) == (16, 0, False)
    assert chrony.testing.make_select_data().is_selected()
    assert chrony.testing.make_ntp_data().all_tests_passed()
    assert not chrony.testing.make_auth_data().is_authenticated()
    assert chrony.testing.make_smoothing().is_active()
    assert chrony.testing.make_activity().total() == 4


def test_fixtures_come_from_the_plugin(
    request: pytest.FixtureRequest,
    tracking_status: models.TrackingStatus,
    source: models.Source,
    source_stats: models.SourceStats,
    rtc_data: models.RTCData,
    activity: models.Activity,
    server_stats: models.ServerStats,
    smoothing: models.Smoothing,
    select_data: models.SelectData,
    ntp_data: models.NtpData,
    auth_data: models.AuthData,
) -> None:
    assert request.config.pluginmanager.has_plugin("chrony"), "registered through the pytest11 entry point"
    assert tracking_status == chrony.testing.make_tracking() and tracking_status.is_synchronized()
    assert source == chrony.testing.make_source() and source.is_selected() and source.is_reachable()
    assert source_stats == chrony.testing.make_source_stats() and source_stats.has_sufficient_samples()
    assert rtc_data == chrony.testing.make_rtc_data() and rtc_data.is_calibrated()
    assert activity == chrony.testing.make_activity()
    assert server_stats == chrony.testing.make_server_stats()
    assert smoothing == chrony.testing.make_smoothing()
    assert select_data == chrony.testing.make_select_data()
    assert ntp_data == chrony.testing.make_ntp_data()
    assert auth_data == chrony.testing.make_auth_data()


def run(example: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / example), *args], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_examples_run(standard: Daemon) -> None:
    status = run("status.py", standard.socket)
    assert "synchronized: True" in status and "RC0" in status
    # One selected source (an NTP server or the reference clock).
    assert sum(line[1:2] == "*" for line in status.splitlines()) == 1, status
    threads = run("threads.py", standard.socket)
    assert "sources: 4 records" in threads and "rtc_data: None" in threads
    assert standard.udp is not None
    assert "server_stats: not served: unauthorized" in run("threads.py", standard.udp)
    watched = run("watch_async.py", standard.socket, "--interval", "0.2", "--count", "2").splitlines()
    assert len(watched) == 2 and all("3/4 sources reachable" in line for line in watched), watched
