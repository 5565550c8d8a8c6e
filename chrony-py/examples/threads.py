"""Reads chronyd from a thread pool sharing one connection: every report,
each in its own thread, at once.

    python threads.py [ADDRESS]
"""

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chrony import ChronyConnection, ChronyDataError

REPORTS = ("tracking", "sources", "source_stats", "rtc_data", "activity", "smoothing",
           "server_stats", "select_data", "ntp_data", "auth_data")


def main(address: str | None) -> None:
    with ChronyConnection(address) as conn, ThreadPoolExecutor(max_workers=8) as pool:

        def read(name: str) -> Any:
            try:
                return getattr(conn, f"get_{name}")()
            except ChronyDataError as e:  # serverstats and co. over UDP
                return f"not served: {e.kind}"

        for name, value in zip(REPORTS, pool.map(read, REPORTS)):
            shown = f"{len(value)} records" if isinstance(value, list) else value
            print(f"{name}: {shown}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
