"""The wheel as a user gets it: `pip install` into a fresh venv of the
system's python3, then a process whose environment names nothing of this
repository (no `.deps`, no LD_LIBRARY_PATH, no PYTHONPATH) reads a harness
chronyd with the libchrony the wheel carries. The same venv, run as user
`nobody`, meets chronyd's socket directory without write access.

`CHRONY_PY_WHEEL` names the wheel (default: the one in target/wheels/,
which `scripts/wheel` builds).
"""

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import REPO, Daemon

SYSTEM_PYTHON = "/usr/bin/python3"
#: The environment of every process of this module: nothing of the repository.
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def the_wheel() -> Path:
    named = os.environ.get("CHRONY_PY_WHEEL")
    if named:
        return Path(named)
    wheels = sorted((REPO / "target" / "wheels").glob("chrony-*.whl"), key=lambda p: p.stat().st_mtime)
    assert wheels, "no wheel in target/wheels: build it with scripts/wheel (or set CHRONY_PY_WHEEL)"
    return wheels[-1]


@pytest.fixture(scope="module")
def venv() -> Iterator[Path]:
    """A fresh venv of the system python3 with the wheel installed, in a
    directory every user may read (for the `nobody` test)."""
    wheel = the_wheel()
    root = Path(tempfile.mkdtemp(prefix="chrony-wheel-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        env = {**CLEAN_ENV, "HOME": str(root)}
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(root / "venv")], env=env, check=True, timeout=120)
        pip = [str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index", "--disable-pip-version-check"]
        subprocess.run([*pip, str(wheel)], env=env, check=True, timeout=120)
        yield root / "venv"
    finally:
        shutil.rmtree(root, ignore_errors=True)


PROBE = """
import json, os, sys
import chrony
out = {"file": chrony.__file__, "path": sys.path, "env": dict(os.environ)}
try:
    with chrony.ChronyConnection(sys.argv[1], timeout=5.0) as conn:
        t = conn.get_tracking()
        out["reference_id"] = t.reference_id
        out["sources"] = [s.address for s in conn.get_sources()]
        out["libs"] = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libchrony" in l})
except chrony.ChronyError as e:
    out["error"] = [type(e).__name__, e.kind, str(e)]
print(json.dumps(out))
"""


def probe(python: Path, address: str, *prefix: str) -> dict[str, object]:
    out = subprocess.run(
        [*prefix, str(python), "-c", PROBE, address], env=CLEAN_ENV, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_the_installed_wheel_reads_chronyd(venv: Path, standard: Daemon) -> None:
    got = probe(venv / "bin" / "python", standard.socket)
    assert "error" not in got, got
    assert str(got["file"]).startswith(str(venv)), got["file"]
    everything = json.dumps([got["path"], got["env"]])
    assert ".deps" not in everything and "LD_LIBRARY_PATH" not in everything, everything
    # libchrony is the wheel's own copy, found through the extension's rpath.
    libs = got["libs"]
    assert isinstance(libs, list) and len(libs) == 1, libs
    assert libs[0].startswith(str(venv)) and "/chrony.libs/libchrony-" in libs[0], libs
    rows = standard.chronyc("tracking")
    assert got["reference_id"] == int(rows[0][0], 16)
    assert got["sources"] == [r[2] for r in standard.chronyc("sources")]


def test_no_write_access_to_the_socket_directory_is_a_permission_error(venv: Path, daemon: Callable[..., Daemon]) -> None:
    assert os.geteuid() == 0, (
        "this test needs root: it runs the probe as user nobody (as root, file "
        "permissions do not apply), and the harness runs chronyd as root"
    )
    d = daemon("--servers", "1", "--no-wait-sync")
    sock = Path(d.socket)
    # Others may traverse to the socket directory, as to /run; the socket
    # directory itself stays 0770 root:root, as chrony's own /run/chrony.
    os.chmod(sock.parent.parent, 0o711)
    assert stat.S_IMODE(sock.parent.stat().st_mode) & 0o007 == 0
    as_nobody = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
    got = probe(venv / "bin" / "python", str(sock), *as_nobody)
    error = got.get("error")
    assert isinstance(error, list) and error[:2] == ["ChronyPermissionError", "permission_denied"], got
    # Root reaches it.
    assert "error" not in probe(venv / "bin" / "python", str(sock)), "root reads the socket"
