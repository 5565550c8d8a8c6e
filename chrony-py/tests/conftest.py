"""Shared by the tests: chronyd from the testkit's harness.

A `Daemon` runs chrony-testkit's `harness` example (a client chronyd with
its loopback reference servers, every chronyd with -x, in a private temp
dir), reads the JSON line describing it, and drives it through its
standard input: freeze, resume, stop, restart, chronyc, and the Rust
library's own reading of a report. Closing standard input stops
everything.

`CHRONY_PY_HARNESS` names the binary (default: `target/debug/examples/
harness` of this repository, built by `cargo test --workspace`).
"""

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(os.environ.get("CHRONY_PY_HARNESS", REPO / "target" / "debug" / "examples" / "harness"))

#: The daemon most tests read: two reference servers, one server that never
#: answers, one reference clock, polling every second, the UDP command port
#: open, time smoothing configured (for the smoothing report).
STANDARD = [
    "--servers", "2",
    "--unreachable", "1",
    "--refclocks", "1",
    "--poll", "0",
    "--udp",
    "--extra", "smoothtime 400 0.001 leaponly",
]


class Daemon:
    """A harness chronyd, driven through the harness process."""

    def __init__(self, *args: str) -> None:
        if not HARNESS.is_file():
            raise RuntimeError(
                f"no harness binary at {HARNESS}: build it with "
                "`cargo build -p chrony-testkit --features harness --example harness` "
                "or set CHRONY_PY_HARNESS"
            )
        env = dict(os.environ)
        # The harness (a test tool, not the wheel) links libchrony from
        # scripts/bootstrap's prefix.
        lib = REPO / ".deps" / "libchrony" / "lib"
        if lib.is_dir():
            env["LD_LIBRARY_PATH"] = f"{lib}:{env['LD_LIBRARY_PATH']}" if env.get("LD_LIBRARY_PATH") else str(lib)
        self._proc = subprocess.Popen(
            [str(HARNESS), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in, self._out = self._proc.stdin, self._proc.stdout
        line = self._out.readline()
        if not line:
            raise RuntimeError(f"the harness did not start (exit status {self._proc.wait()}; its stderr is above)")
        info = json.loads(line)
        self.socket: str = info["socket"]
        self.udp: str | None = info["udp"]
        self.proxy: str | None = info["proxy"]
        self.version: str = info["version"]
        self.servers: list[str] = info["servers"]

    def command(self, line: str) -> dict[str, Any]:
        """Sends one command, returns its answer; fails on an error."""
        self._in.write(line + "\n")
        self._in.flush()
        answer = self._out.readline()
        if not answer:
            raise RuntimeError(f"the harness exited during {line!r}")
        reply: dict[str, Any] = json.loads(answer)
        if not reply["ok"]:
            raise RuntimeError(f"harness {line!r}: {reply['error']}")
        return reply

    def chronyc(self, *args: str) -> list[list[str]]:
        """`chronyc -n -c ARGS` on the client chronyd, split into rows and columns."""
        output: str = self.command("chronyc " + " ".join(args))["output"]
        return [line.split(",") for line in output.splitlines() if line.strip()]

    def rust(self, report: str) -> Any:
        """The report as the Rust library reads it (its JSON form)."""
        return self.command(f"report {report}")["value"]

    def freeze(self) -> None:
        self.command("freeze")

    def resume(self) -> None:
        self.command("resume")

    def stop(self) -> None:
        self.command("stop")

    def restart(self) -> None:
        self.command("restart")

    def silent(self, on: bool) -> None:
        self.command("silent on" if on else "silent off")

    def close(self) -> None:
        self._in.close()
        try:
            self._proc.wait(timeout=60)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._out.close()


@pytest.fixture(scope="session")
def standard() -> Iterator[Daemon]:
    """The shared daemon (`STANDARD`); tests leave it as they found it."""
    d = Daemon(*STANDARD)
    yield d
    d.close()


@pytest.fixture
def daemon() -> Iterator[Callable[..., Daemon]]:
    """Starts daemons of a test's own (stopped when the test ends)."""
    started: list[Daemon] = []

    def start(*args: str) -> Daemon:
        d = Daemon(*args)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """True once `check()` is true, polling every 50 ms; false after `seconds`."""
    end = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints the differences from pychrony the parity test found."""
    from test_parity import FOUND

    if FOUND:
        terminalreporter.section("differences from pychrony 2.0.3 (each listed in chrony-py/README.md)")
        for key in sorted(FOUND):
            terminalreporter.write_line(f"{key}: {FOUND[key]}")
