"""The Python examples of the READMEs (chrony-py/README.md and the
repository's README.md) run against the harness chronyd: each ```python
block, with chronyd's usual addresses (none, `/run/chrony/chronyd.sock`,
`127.0.0.1`) pointed at the harness daemon's socket and UDP port."""

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Daemon

import chrony

READMES = [REPO / "chrony-py" / "README.md", REPO / "README.md"]


def blocks() -> list[tuple[str, str]]:
    found = []
    for readme in READMES:
        text = readme.read_text()
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text[: m.start()].count("\n") + 1
            found.append((f"{readme.relative_to(REPO)}:{line}", m.group(1)))
    return found


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_readme_example_runs(where: str, code: str, standard: Daemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert standard.udp is not None
    here = {None: standard.socket, "/run/chrony/chronyd.sock": standard.socket, "127.0.0.1": standard.udp}

    class Connection(chrony.ChronyConnection):
        def __init__(self, address: str | None = None, **options: Any) -> None:
            super().__init__(here.get(address, address), **options)

    class AsyncConnection(chrony.AsyncChronyConnection):
        def __init__(self, address: str | None = None, **options: Any) -> None:
            super().__init__(here.get(address, address), **options)

    monkeypatch.setattr(chrony, "ChronyConnection", Connection)
    monkeypatch.setattr(chrony, "AsyncChronyConnection", AsyncConnection)
    exec(compile(code, where, "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert out.strip(), f"{where} printed nothing"
    assert "chronyd:" not in out, out  # the examples' error branch
