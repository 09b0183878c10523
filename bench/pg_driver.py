"""psycopg 3 from the event loop: its sync API on store threads (palbot's way) or its async API.

    python bench/pg_driver.py [--ops 4000] [--concurrency 50] [--busy-us 300] [--threads 1,8]

Both ways use psycopg-pool (8 connections) against a throwaway PostgreSQL server (tests/pg.py)
and run the same transaction per operation: BEGIN, the write lock palbot takes
(`pg_advisory_xact_lock`), an INSERT … RETURNING, COMMIT, then a read, as a `/pal start`'s
accept and look-up do. Beside them, the loop also runs `--busy-us` of pure Python per
operation, standing in for Bolt answering the request: that is what a slower loop delays. The
sync way runs once per `--threads` count (store threads; palbot's default is one).

Prints, for each way: operations per second, p50/p99 latency, and the CPU time the loop's own
thread spent per operation (the loop is the serving process's bottleneck, see README).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import contextvars  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from typing import TypeVar  # noqa: E402

import greenlet  # noqa: E402
import psycopg  # noqa: E402
from psycopg_pool import AsyncConnectionPool, ConnectionPool  # noqa: E402

from palbot.store.offloop import StoreThreads  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

T = TypeVar("T")
LOCK = 0x7061_6C62
SCHEMA = "CREATE TABLE IF NOT EXISTS rows (seq bigserial PRIMARY KEY, team text, body text)"


def busy(us: int) -> None:
    end = time.perf_counter() + us / 1e6
    while time.perf_counter() < end:
        pass


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


class SyncWay:
    """palbot's: a sync pool, each operation one call run on a store thread."""

    def __init__(self, url: str, threads: int) -> None:
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, min_size=8, max_size=8, kwargs={"autocommit": True}, open=True
        )
        self.pool.wait()
        self.threads = StoreThreads(self, threads)

    def _op(self, i: int) -> int:
        with self.pool.connection() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
                row = conn.execute(
                    "INSERT INTO rows (team, body) VALUES (%s, %s) RETURNING seq", ("T1", str(i))
                ).fetchone()
            conn.execute("SELECT body FROM rows WHERE seq = %s", (row[0],)).fetchone()
            return int(row[0])

    async def op(self, i: int) -> int:
        return await self.threads(self._op, i)

    async def close(self) -> None:
        self.threads.close()
        self.pool.close()


class AsyncWay:
    """psycopg's async API: an AsyncConnectionPool, every round trip awaited on the loop."""

    def __init__(self, url: str) -> None:
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            url, min_size=8, max_size=8, kwargs={"autocommit": True}, open=False
        )

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def op(self, i: int) -> int:
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
                cur = await conn.execute(
                    "INSERT INTO rows (team, body) VALUES (%s, %s) RETURNING seq", ("T1", str(i))
                )
                row = await cur.fetchone()
            assert row is not None
            cur = await conn.execute("SELECT body FROM rows WHERE seq = %s", (row[0],))
            await cur.fetchone()
            return int(row[0])

    async def close(self) -> None:
        await self.pool.close()


# The greenlet bridge (as SQLAlchemy's asyncio support does it): synchronous code whose every
# statement is handed to the loop and awaited there. Tried for palbot's store and not adopted
# (README, "PostgreSQL driver"); kept here so the figure can be measured again.
class _StoreGreenlet(greenlet.greenlet):  # type: ignore[misc]
    """A store call in progress; `driver` is the greenlet awaiting on the loop for it."""

    def __init__(self, fn: Callable[..., Any], driver: greenlet.greenlet) -> None:
        super().__init__(fn, driver)
        self.driver = driver


def in_store_call() -> bool:
    """True inside `run_on_loop`: statements may be awaited on the loop from here."""
    return isinstance(greenlet.getcurrent(), _StoreGreenlet)


def wait_for(awaitable: Awaitable[T]) -> T:
    """From a store call run by `run_on_loop`: the awaitable's result, awaited on the loop."""
    current = greenlet.getcurrent()
    if not isinstance(current, _StoreGreenlet):
        raise RuntimeError("wait_for() outside a store call run by run_on_loop()")
    result: T = current.driver.switch(awaitable)
    return result


async def run_on_loop(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `fn(*args, **kwargs)` in a greenlet; await on its behalf whatever it `wait_for`s."""
    call = _StoreGreenlet(fn, greenlet.getcurrent())
    call.gr_context = contextvars.copy_context()  # it sees the caller's context variables
    result = call.switch(*args, **kwargs)
    while not call.dead:
        try:
            value = await result
        except BaseException:  # the statement failed: raise it where it was sent
            result = call.throw(*sys.exc_info())
        else:
            result = call.switch(value)
    return result  # type: ignore[no-any-return]


class BridgedWay(AsyncWay):
    """palbot's store code as written (synchronous), run by the greenlet bridge over the async
    pool: each statement awaited on the loop."""

    def _op(self, conn: Any, i: int) -> int:
        wait_for(conn.execute("BEGIN"))
        wait_for(conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,)))
        cur = wait_for(
            conn.execute(
                "INSERT INTO rows (team, body) VALUES (%s, %s) RETURNING seq", ("T1", str(i))
            )
        )
        row = wait_for(cur.fetchone())
        wait_for(conn.execute("COMMIT"))
        cur = wait_for(conn.execute("SELECT body FROM rows WHERE seq = %s", (row[0],)))
        wait_for(cur.fetchone())
        return int(row[0])

    async def op(self, i: int) -> int:
        async with self.pool.connection() as conn:
            return await run_on_loop(self._op, conn, i)


async def drive(
    way: Any, ops: int, concurrency: int, busy_us: int
) -> tuple[float, list[float], float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            began = time.perf_counter()
            busy(busy_us)  # Bolt's share of the request, on the loop
            await way.op(i)
            latencies.append(time.perf_counter() - began)

    cpu0, wall0 = time.thread_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(ops)))
    wall = time.perf_counter() - wall0
    loop_cpu = time.thread_time() - cpu0  # this (the loop's) thread only
    return ops / wall, latencies, loop_cpu / ops


async def run(url: str, ops: int, concurrency: int, busy_us: int, threads: list[int]) -> None:
    ways = (
        *(f"sync pool, {n} store thread(s)" for n in threads),
        "async pool on the loop",
        "bridged: sync code, async pool",
    )
    for name in ways:
        if name.startswith("sync"):
            way: Any = SyncWay(url, int(name.split(", ")[1].split()[0]))
        else:
            way = AsyncWay(url) if name.startswith("async") else BridgedWay(url)
            await way.open()
        await drive(way, 200, concurrency, busy_us)  # warm up
        rate, lat, cpu = await drive(way, ops, concurrency, busy_us)
        await way.close()
        print(
            f"{name:38} {rate:7.0f} ops/s  p50 {pct(lat, 50) * 1000:6.1f} ms  "
            f"p99 {pct(lat, 99) * 1000:6.1f} ms  loop CPU {cpu * 1e6:5.0f} us/op",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--busy-us", type=int, default=300)
    parser.add_argument("--threads", default="1,8", help="store thread counts for the sync way")
    args = parser.parse_args()
    server = PostgresServer()
    try:
        url = server.new_database()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
        print(
            f"{args.ops} operations, C={args.concurrency}, {args.busy_us} us of loop work each, "
            f"{threading.active_count()} thread(s) before start"
        )
        threads = [int(n) for n in args.threads.split(",")]
        asyncio.run(run(url, args.ops, args.concurrency, args.busy_us, threads))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
