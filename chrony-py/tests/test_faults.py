"""Bad input and bad state: each gives the documented exception within the
call's deadline, never a hang, a crash or a wrong value.

Dead, frozen and restarted chronyd, a wrong path, an invalid address, a
silent UDP peer, reports refused over UDP, calls outside the `with` block
and on a closed connection, values chronyd sends that the model cannot
hold, a missing native module, bad options. (No permission is in
test_wheel.py: it needs an interpreter user `nobody` can run.)
"""

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pychrony
import pytest
from checks import Checker, retry
from conftest import Daemon

import chrony
from chrony import (
    ChronyConnection,
    ChronyConnectionError,
    ChronyDataError,
    ChronyError,
    ChronyTimeoutError,
)

#: Slack on top of a deadline: thread scheduling on a loaded machine.
SLACK = 2.0


def timed(call: Callable[[], object], deadline: float) -> tuple[BaseException, float]:
    """The exception `call` raises and how long it took (it must raise)."""
    start = time.monotonic()
    with pytest.raises(BaseException) as info:
        call()
    elapsed = time.monotonic() - start
    assert elapsed < deadline + SLACK, f"took {elapsed:.2f} s, the deadline is {deadline} s"
    return info.value, elapsed


@pytest.fixture(scope="module")
def victim() -> Iterator[Daemon]:
    """A daemon the tests of this module freeze, stop and restart (each
    leaves it running)."""
    d = Daemon("--servers", "1", "--poll", "0", "--udp")
    yield d
    d.close()


def test_wrong_path_and_invalid_address() -> None:
    e, _ = timed(lambda: ChronyConnection("/nonexistent/chronyd.sock").__enter__(), 1.0)
    assert isinstance(e, ChronyConnectionError) and not isinstance(e, ChronyTimeoutError)
    assert e.kind == "connect" and "/nonexistent/chronyd.sock" in str(e), e
    assert "No such file or directory" in e.message
    for bad in ("chronyd.sock", "127.0.0.1:99999", "bad address!", "/" + "x" * 200):
        with pytest.raises(ChronyConnectionError) as info:
            ChronyConnection(bad).__enter__()
        assert info.value.kind == "invalid_address", (bad, info.value)


def test_outside_the_with_block_and_closed(standard: Daemon) -> None:
    conn = ChronyConnection(standard.socket)
    assert conn.address is None and conn.transport is None
    with pytest.raises(RuntimeError, match="within a 'with' block"):
        conn.get_tracking()
    with conn:
        assert conn.address == standard.socket
        assert conn.transport is chrony.Transport.UNIX_SOCKET
        assert conn.get_tracking().is_synchronized()
    assert conn.address is None
    for call in (conn.get_tracking, conn.get_sources, conn.snapshot, conn.get_ntp_data):
        with pytest.raises(RuntimeError, match="within a 'with' block"):
            call()
    # Entered again, it works again (as pychrony's).
    with conn:
        assert len(conn.get_sources()) == 4


def test_frozen_chronyd_times_out_then_recovers(victim: Daemon) -> None:
    with ChronyConnection(victim.socket, timeout=1.0) as conn:
        assert conn.get_tracking().is_synchronized()
        victim.freeze()
        try:
            for call in (conn.get_tracking, conn.get_sources, conn.snapshot):
                e, elapsed = timed(call, 1.0)
                assert isinstance(e, ChronyTimeoutError), e
                assert e.kind == "timeout" and elapsed >= 0.9, (e, elapsed)
                assert isinstance(e, ChronyConnectionError)
        finally:
            victim.resume()
        assert conn.get_tracking().is_synchronized()
        assert [s.address for s in conn.get_sources()] == victim.servers


def test_dead_chronyd_fails_then_a_restarted_one_is_read(victim: Daemon) -> None:
    with ChronyConnection(victim.socket, timeout=2.0) as conn:
        before = conn.get_tracking()
        victim.stop()
        try:
            e, _ = timed(conn.get_tracking, 2.0)
            assert isinstance(e, ChronyConnectionError), e
            assert e.kind in ("connect", "io", "timeout"), e
        finally:
            victim.restart()
        # The same connection reads the new chronyd (its sessions reopen).
        after = conn.get_tracking()
        assert after.reference_id == before.reference_id
        rows = victim.chronyc("sources")

        def compare(ck: Checker) -> None:
            a = conn.get_sources()
            ck.check([s.address for s in a] == [r[2] for r in rows], f"{a} vs {rows}")

        retry(5, compare)
    # A new connection too.
    with ChronyConnection(victim.socket) as conn:
        assert conn.get_source_stats()[0].address == victim.servers[0]


def test_silent_udp_peer_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        with ChronyConnection(f"127.0.0.1:{port}", timeout=1.5) as conn:
            assert conn.transport is chrony.Transport.COMMAND_PORT
            assert conn.address == f"127.0.0.1:{port}"
            for call in (conn.get_tracking, conn.get_sources):
                e, elapsed = timed(call, 1.5)
                assert isinstance(e, ChronyTimeoutError) and elapsed >= 1.4, (e, elapsed)
        # The requests did reach the peer (and were never answered).
        silent.setblocking(False)
        assert silent.recv(4096)


def test_nothing_listening_on_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ChronyConnection(f"127.0.0.1:{port}", timeout=3.0) as conn:
        e, _ = timed(conn.get_tracking, 3.0)
    assert isinstance(e, ChronyConnectionError), e


def test_reports_refused_over_udp(standard: Daemon) -> None:
    assert standard.udp is not None
    with ChronyConnection(standard.udp) as conn:
        assert conn.get_tracking().is_synchronized()
        assert conn.get_activity().total() == 3
        for name in ("server_stats", "select_data", "ntp_data", "auth_data"):
            with pytest.raises(ChronyDataError) as info:
                getattr(conn, f"get_{name}")()
            assert info.value.kind == "unauthorized", info.value
            assert "Unix socket" in str(info.value)
        snap = conn.snapshot()
    assert sorted(snap.absent) == ["auth_data", "ntp_data", "select_data", "server_stats"]
    assert all(a.reason == "unauthorized" for a in snap.absent.values())
    assert snap.server_stats is None and snap.tracking is not None and snap.sources is not None
    assert snap.transport is chrony.Transport.COMMAND_PORT


def test_values_the_model_cannot_hold(daemon: Callable[..., Daemon]) -> None:
    """Replies rewritten by the testkit's proxy: a leap status of 7 and a
    reference time 2^48 s after the epoch. Ours raise ChronyDataError;
    pychrony returns the impossible time as it came."""
    tracking = 33
    leap7 = daemon("--servers", "1", "--rewrite", f"{tracking}:52:0x00020007")
    assert leap7.proxy is not None
    with ChronyConnection(leap7.proxy) as conn:
        with pytest.raises(ChronyDataError) as info:
            conn.get_tracking()
        assert info.value.kind == "bad_data" and "LeapStatus" in str(info.value), info.value
        # The other reports are untouched.
        assert len(conn.get_sources()) == 1
    far = daemon("--servers", "1", "--rewrite", f"{tracking}:56:0x00010000")
    assert far.proxy is not None
    with ChronyConnection(far.proxy) as conn:
        with pytest.raises(ChronyDataError) as info:
            conn.get_tracking()
        assert info.value.kind == "bad_data" and info.value.report == "tracking", info.value
        assert "reference time" in str(info.value)
    with pychrony.ChronyConnection(far.proxy) as theirs:
        assert theirs.get_tracking().ref_time > 2.0**48


def test_forged_record_count(daemon: Callable[..., Daemon]) -> None:
    n_sources = 14
    d = daemon("--servers", "1", "--rewrite", f"{n_sources}:28:0x7fffffff")
    assert d.proxy is not None
    with ChronyConnection(d.proxy, timeout=5.0) as conn:
        e, _ = timed(conn.get_sources, 5.0)
    assert isinstance(e, ChronyDataError) and e.kind == "too_many_records", e


def test_missing_native_module_is_a_library_error() -> None:
    code = (
        "import sys; sys.modules['chrony._native'] = None\n"
        "import chrony\n"
        "try:\n"
        "    chrony.ChronyConnection('/run/chrony/chronyd.sock').__enter__()\n"
        "except chrony.ChronyLibraryError as e:\n"
        "    print('library error:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("library error: the native module chrony._native cannot be loaded"), out.stdout


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"timeout": -1.0}, {"timeout": float("nan")}, {"timeout": float("inf")},
     {"timeout": "10"}, {"sessions": 0}, {"sessions": 33}, {"sessions": 1.5}, {"sessions": True}],
)
def test_bad_options_are_value_errors(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ChronyConnection("/run/chrony/chronyd.sock", **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        chrony.AsyncChronyConnection("/run/chrony/chronyd.sock", **options)  # type: ignore[arg-type]


def test_auto_detect_connects_or_fails_within_its_deadline() -> None:
    """Without an address: chronyd's socket paths, then UDP on localhost.
    This machine may or may not run a chronyd there (the tests' chronyds
    never do): either it is found, or the failure is a connection error
    raised within the deadline."""
    conn = ChronyConnection(timeout=2.0)
    start = time.monotonic()
    try:
        with conn:
            assert conn.address in ("/run/chrony/chronyd.sock", "/var/run/chrony/chronyd.sock", "127.0.0.1:323", "[::1]:323")
            conn.get_tracking()
    except ChronyError as e:
        assert isinstance(e, ChronyConnectionError | chrony.ChronyPermissionError), e
        # Two UDP candidates, each with its deadline.
        assert time.monotonic() - start < 2 * 2.0 + SLACK
