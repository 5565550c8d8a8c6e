"""Threads sharing one connection, the GIL released while waiting, and
asyncio: concurrent tasks, deadlines, and cancellation that leaves no
half-read session behind."""

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from conftest import Daemon, eventually

from chrony import AsyncChronyConnection, ChronyConnection, ChronyTimeoutError, _native

THREADS = 8


@pytest.fixture(scope="module")
def frozen_later() -> Iterator[Daemon]:
    """A daemon the tests freeze (and resume before they end)."""
    d = Daemon("--servers", "2", "--poll", "0")
    yield d
    d.close()


def counts(conn: ChronyConnection | AsyncChronyConnection) -> tuple[int, int]:
    """(idle clients, open clients) of a connection."""
    native = conn._native
    assert native is not None
    idle, open_ = native._counts()
    return int(idle), int(open_)


def sockets() -> int:
    """This process's open sockets."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def in_threads(target: Callable[[], None]) -> None:
    """Runs `target` in `THREADS` threads at once; returns when all have."""
    pool = [threading.Thread(target=target) for _ in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def test_eight_threads_share_one_connection(standard: Daemon) -> None:
    addresses = [r[2] for r in standard.chronyc("sources")]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    with ChronyConnection(standard.socket) as conn:

        def work() -> None:
            try:
                start.wait()
                for _ in range(20):
                    assert conn.get_tracking().is_synchronized()
                    assert [s.address for s in conn.get_sources()] == addresses
                    assert len(conn.get_source_stats()) == len(addresses)
                    snap = conn.snapshot()
                    assert snap.sources is not None and len(snap.sources) == len(addresses)
                    assert not snap.absent
            except BaseException as e:  # reported below
                errors.append(e)

        in_threads(work)
        assert not errors, errors
        idle, open_ = counts(conn)
        assert idle == open_ and 1 <= open_ <= _native.MAX_CLIENTS, (idle, open_)


def test_threads_wait_in_parallel_not_in_turn(frozen_later: Daemon) -> None:
    """Eight calls on a frozen chronyd each run out their 1.5 s deadline at
    the same time: one lock around one client would take 8 x 1.5 s."""
    outcomes: list[BaseException | None] = []
    with ChronyConnection(frozen_later.socket, timeout=1.5) as conn:
        assert conn.get_tracking().is_synchronized()
        frozen_later.freeze()
        try:
            start = time.monotonic()

            def call() -> None:
                try:
                    conn.get_tracking()
                    outcomes.append(None)
                except BaseException as e:
                    outcomes.append(e)

            in_threads(call)
            elapsed = time.monotonic() - start
        finally:
            frozen_later.resume()
        assert all(isinstance(e, ChronyTimeoutError) for e in outcomes) and len(outcomes) == THREADS
        assert elapsed < 2 * 1.5 + 1.0, f"{THREADS} calls took {elapsed:.1f} s"
        assert counts(conn) == (THREADS, THREADS)


def test_the_gil_is_released_while_waiting(frozen_later: Daemon) -> None:
    with ChronyConnection(frozen_later.socket, timeout=1.0) as conn:
        conn.get_tracking()
        frozen_later.freeze()
        try:
            # What the waiting call raised (an exception in a thread does
            # not fail the test by itself).
            seen: list[BaseException] = []
            waiting = threading.Thread(target=lambda: seen.append(pytest.raises(ChronyTimeoutError, conn.get_tracking).value))
            waiting.start()
            time.sleep(0.05)
            # Pure Python work while the other thread waits on chronyd.
            n, end = 0, time.monotonic() + 0.5
            while time.monotonic() < end:
                n += 1
            blocked = waiting.is_alive()
            waiting.join()
        finally:
            frozen_later.resume()
    assert blocked, "the call was waiting all along"
    assert len(seen) == 1 and isinstance(seen[0], ChronyTimeoutError), seen
    assert n > 10_000, f"only {n} loop turns ran while a call waited: the GIL was held"


def test_close_while_a_thread_is_in_a_call(frozen_later: Daemon) -> None:
    conn = ChronyConnection(frozen_later.socket, timeout=1.0)
    conn.__enter__()
    conn.get_tracking()
    seen: list[BaseException] = []
    frozen_later.freeze()
    try:
        t = threading.Thread(target=lambda: seen.append(pytest.raises(ChronyTimeoutError, conn.get_tracking).value))
        t.start()
        time.sleep(0.2)
        conn.__exit__(None, None, None)
        t.join()
    finally:
        frozen_later.resume()
    assert len(seen) == 1 and isinstance(seen[0], ChronyTimeoutError)
    with pytest.raises(RuntimeError):
        conn.get_tracking()


def test_asyncio_reads_what_the_blocking_connection_reads(standard: Daemon) -> None:
    async def read() -> None:
        async with AsyncChronyConnection(standard.socket) as conn:
            assert conn.address == standard.socket
            tracking = await conn.get_tracking()
            assert tracking.is_synchronized()
            with ChronyConnection(standard.socket) as blocking:
                assert [s.address for s in await conn.get_sources()] == [s.address for s in blocking.get_sources()]
                assert [s.address for s in await conn.get_source_stats()] == [s.address for s in blocking.get_source_stats()]
                assert [s.address for s in await conn.get_select_data()] == [s.address for s in blocking.get_select_data()]
                assert [s.address for s in await conn.get_ntp_data()] == [s.address for s in blocking.get_ntp_data()]
                assert await conn.get_auth_data() == blocking.get_auth_data()
                assert (await conn.get_activity()).total() == blocking.get_activity().total()
                smoothing, blocking_smoothing = await conn.get_smoothing(), blocking.get_smoothing()
                assert smoothing is not None and blocking_smoothing is not None
                assert smoothing.flags == blocking_smoothing.flags
                # chronyd counts every command request, ours between the two.
                before = blocking.get_server_stats().received_command_requests
                ours = (await conn.get_server_stats()).received_command_requests
                after = blocking.get_server_stats().received_command_requests
                assert before is not None and ours is not None and after is not None
                assert before < ours < after, (before, ours, after)
            assert await conn.get_rtc_data() is None
            snap = await conn.snapshot()
            assert not snap.absent and snap.sources is not None and len(snap.sources) == 4
            # Eight tasks at once on the one connection.
            results = await asyncio.gather(*(conn.get_sources() for _ in range(THREADS)))
            assert all(len(r) == 4 for r in results)
            idle, open_ = counts(conn)
            assert idle == open_ and 1 <= open_ <= _native.MAX_CLIENTS
        with pytest.raises(RuntimeError, match="within a 'with' block"):
            await conn.get_tracking()

    asyncio.run(read())


def test_asyncio_deadline_and_cancellation(frozen_later: Daemon) -> None:
    """A frozen chronyd: a call raises ChronyTimeoutError at its deadline;
    a cancelled call (Task.cancel, asyncio.wait_for) is dropped at once:
    its client is back in the pool long before the call's 10 s deadline,
    the sockets of its requests in flight are closed, and the next call
    reads correct values."""

    async def scenario() -> None:
        async with AsyncChronyConnection(frozen_later.socket, timeout=1.0) as short:
            await short.get_tracking()
            frozen_later.freeze()
            try:
                start = time.monotonic()
                with pytest.raises(ChronyTimeoutError):
                    await short.get_sources()
                assert time.monotonic() - start < 3.0
            finally:
                frozen_later.resume()
        async with AsyncChronyConnection(frozen_later.socket) as conn:
            await conn.get_sources()
            frozen_later.freeze()
            try:
                task = asyncio.create_task(conn.get_sources())
                await asyncio.sleep(0.3)
                assert not task.done()
                during = sockets()
                assert counts(conn) == (0, 1)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert eventually(lambda: counts(conn) == (1, 1), 2.0), counts(conn)
                assert sockets() < during, "the sessions with a request in flight are closed"
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(conn.get_tracking(), 0.2)
                assert eventually(lambda: counts(conn) == (1, 1), 2.0), counts(conn)
            finally:
                frozen_later.resume()

            rows = frozen_later.chronyc("sources")
            assert [s.address for s in await conn.get_sources()] == [r[2] for r in rows], rows
            tracking = await conn.get_tracking()
            assert tracking.is_synchronized()
            assert tracking.reference_ip in frozen_later.servers

    asyncio.run(scenario())
