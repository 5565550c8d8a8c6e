"""Watches chronyd with asyncio: every INTERVAL seconds, the clock's error
bound and the number of reachable sources, COUNT times; a call that takes
longer than the interval is cancelled.

    python watch_async.py [ADDRESS] [--interval SECONDS] [--count N]
"""

import argparse
import asyncio

from chrony import AsyncChronyConnection, ChronyError


async def watch(address: str | None, interval: float, count: int) -> None:
    async with AsyncChronyConnection(address) as conn:
        for _ in range(count):
            try:
                tracking, sources = await asyncio.wait_for(
                    asyncio.gather(conn.get_tracking(), conn.get_sources()), interval
                )
                reachable = sum(s.is_reachable() for s in sources)
                print(f"error bound {tracking.clock_error_bound():.6f} s, {reachable}/{len(sources)} sources reachable")
            except (ChronyError, TimeoutError) as e:
                print(f"no answer: {e!r}")
            await asyncio.sleep(interval)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("address", nargs="?")
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--count", type=int, default=6)
    args = ap.parse_args()
    asyncio.run(watch(args.address, args.interval, args.count))


if __name__ == "__main__":
    main()
