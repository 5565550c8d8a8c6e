"""Benchmark: the `chrony` package against pychrony 2.0.3 on one chronyd,
and 8 threads sharing one connection against one thread.

Run it through `scripts/bench-python`, which starts a private chronyd with
128 sources and installs both packages. Every figure is a median over
rounds that alternate the contenders (their order swapped every round), so
a change in the machine's load hits both alike:

- per report (`get_tracking`, `get_sources`, `get_source_stats`): each
  round times `--calls` calls of each package (the median call of the
  round); printed are the medians over the rounds and pychrony's time
  divided by ours;
- threads: each round counts the `get_tracking()` and `get_sources()`
  calls that one thread, then 8 threads sharing one `ChronyConnection`,
  complete in `--seconds` (the order swapped every round); printed are the
  calls per second and the ratio of 8 threads to one. Over the Unix socket
  on a small machine that ratio is bounded by CPU (chronyd, one thread,
  answers every request; the client decodes every reply); with `--udp`
  (scripts/bench-python: chronyd's UDP port through a proxy adding 5 ms
  each way, as a remote chronyd) a call mostly waits, and the ratio shows
  whether the threads wait in parallel or in turn.
"""

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import chrony
import pychrony

REPORTS = ("get_tracking", "get_sources", "get_source_stats")


def median_call(call: Callable[[], Any], calls: int) -> float:
    """The median time of `calls` calls, seconds."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reports(address: str, rounds: int, calls: int) -> None:
    ours: dict[str, list[float]] = {r: [] for r in REPORTS}
    theirs: dict[str, list[float]] = {r: [] for r in REPORTS}
    with chrony.ChronyConnection(address) as c, pychrony.ChronyConnection(address) as p:
        assert len(c.get_sources()) == len(p.get_sources())
        for k in range(rounds):
            for report in REPORTS:
                contenders = [(c, ours), (p, theirs)]
                if k % 2:
                    contenders.reverse()
                for conn, out in contenders:
                    out[report].append(median_call(getattr(conn, report), calls))
        sources = len(c.get_sources())
    print(f"# {sources} sources at {address}; {rounds} rounds of {calls} calls, medians")
    print(f"{'report':<18} {'chrony':>12} {'pychrony':>12} {'pychrony/chrony':>16}")
    for report in REPORTS:
        a, b = statistics.median(ours[report]), statistics.median(theirs[report])
        print(f"{report:<18} {a * 1e3:>9.3f} ms {b * 1e3:>9.3f} ms {b / a:>15.2f}x")


def rate(conn: chrony.ChronyConnection, report: str, threads: int, seconds: float) -> float:
    """Calls per second that `threads` threads sharing `conn` complete."""
    counts = [0] * threads
    stop = threading.Event()
    start = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        call = getattr(conn, report)
        start.wait()
        while not stop.is_set():
            call()
            counts[i] += 1

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - began)


def threads(address: str, rounds: int, seconds: float) -> None:
    print(f"# one ChronyConnection to {address} shared by 1 and by 8 threads; {rounds} rounds of {seconds} s, medians")
    print(f"{'report':<18} {'1 thread':>12} {'8 threads':>12} {'8/1':>8}")
    with chrony.ChronyConnection(address) as c:
        for report in ("get_tracking", "get_sources"):
            one: list[float] = []
            eight: list[float] = []
            for k in range(rounds):
                order = [(1, one), (8, eight)]
                if k % 2:
                    order.reverse()
                for n, out in order:
                    out.append(rate(c, report, n, seconds))
            a, b = statistics.median(one), statistics.median(eight)
            print(f"{report:<18} {a:>10.0f}/s {b:>10.0f}/s {b / a:>7.2f}x")


def load() -> str:
    """The machine's load average, for the record."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--address", required=True, help="chronyd's Unix socket (or UDP address)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=100, help="calls per report and round")
    ap.add_argument("--seconds", type=float, default=1.0, help="length of a thread round")
    ap.add_argument("--thread-rounds", type=int, default=7)
    ap.add_argument("--udp", help="also the thread rounds over this UDP address")
    args = ap.parse_args()
    print(f"# chrony {chrony.__version__}, pychrony {pychrony.__version__}; {load()}")
    reports(args.address, args.rounds, args.calls)
    threads(args.address, args.thread_rounds, args.seconds)
    if args.udp:
        threads(args.udp, args.thread_rounds, args.seconds)
    print(f"# after: {load()}")


if __name__ == "__main__":
    main()
