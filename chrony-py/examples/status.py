"""Prints chronyd's tracking and sources, as `chronyc tracking` and
`chronyc sources` summarize them.

    python status.py [ADDRESS]

ADDRESS is chronyd's Unix socket or UDP address; without it, the usual
socket paths, then localhost over UDP.
"""

import sys

from chrony import ChronyConnection, ChronyError, SourceMode, SourceState

MODE = {SourceMode.CLIENT: "^", SourceMode.PEER: "=", SourceMode.REFCLOCK: "#"}
STATE = {
    SourceState.SELECTED: "*",
    SourceState.NONSELECTABLE: "?",
    SourceState.FALSETICKER: "x",
    SourceState.JITTERY: "~",
    SourceState.UNSELECTED: "+",
    SourceState.SELECTABLE: "-",
}


def main(address: str | None) -> int:
    try:
        with ChronyConnection(address, timeout=5.0) as conn:
            t = conn.get_tracking()
            print(f"reference   {t.reference_id:08X} ({t.reference_id_name}), stratum {t.stratum}")
            print(f"system time {t.offset:+.9f} s, within {t.clock_error_bound():.6f} s of true time")
            print(f"synchronized: {t.is_synchronized()}")
            for s in conn.get_sources():
                print(f"{MODE[s.mode]}{STATE[s.state]} {s.address:<27} {s.stratum:2d} {s.poll:3d} {s.reachability:3o}")
    except ChronyError as e:
        print(f"chronyd: {e} ({e.kind})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
