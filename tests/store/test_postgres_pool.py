"""PostgreSQL's connection pool (psycopg-pool), as the server uses it: store calls run on the
store's threads, each borrowing a pooled connection for its duration. A real server (tests/pg.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from palbot.config import Settings
from palbot.store import SqliteStore, open_store
from palbot.store.errors import StoreBusy
from palbot.store.offloop import StoreThreads, threads_for
from palbot.store.postgres.db import PgDatabase
from palbot.store.postgres.store import open_postgres_store
from tests.pg import PostgresServer


@dataclass
class Pooled:
    """A store on PostgreSQL with a pool of 2 and 2 store threads, run as a server runs them."""

    store: SqliteStore
    db: PgDatabase
    threads: StoreThreads


@pytest.fixture
def small_pool(postgres_url: str) -> Iterator[Pooled]:
    store = open_postgres_store(
        postgres_url, Fernet.generate_key().decode(), pool_size=2, threads=2
    )
    assert isinstance(store.db, PgDatabase)
    threads = StoreThreads(store.db, threads_for(store.db))
    yield Pooled(store, store.db, threads)
    threads.close()
    store.close()


def _palbot_connections(db: PgDatabase) -> int:
    """Connections palbot holds to this database, as the server sees them (from a pooled one)."""
    row = db.conn.execute(
        "SELECT COUNT(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'palbot'"
    ).fetchone()
    return int(row[0])


def test_the_pool_size_bounds_the_connections_whatever_the_threads(
    small_pool: Pooled,
) -> None:
    store, db, threads = small_pool.store, small_pool.db, small_pool.threads
    assert threads.threads == 2 == db.pool.max_size
    threads = StoreThreads(db, 5)  # more threads than connections: they take turns
    seen: list[int] = []

    def slow_append(i: int) -> int:
        db.conn.execute("SELECT pg_sleep(0.05)").fetchone()
        seen.append(_palbot_connections(db))
        return store.audit.append("audit.read", "ok", team_id="T1", detail={"i": i}).seq

    async def burst() -> list[int]:
        return await asyncio.gather(*(threads(slow_append, i) for i in range(12)))

    seqs = asyncio.run(burst())
    threads.close()
    assert sorted(seqs) == list(range(1, 13))  # every call ran, one chain
    assert store.audit.verify().ok
    # never more than the pool's two, though 5 threads ran (+1: this test thread's own, which
    # opened the store and migrated it)
    assert max(seen) <= 3
    stats = db.pool.get_stats()
    assert stats["pool_size"] <= 2 and stats.get("requests_num", 0) >= 12


def test_a_failing_call_gives_its_connection_back_rolled_back(
    small_pool: Pooled,
) -> None:
    db, threads = small_pool.db, small_pool.threads

    def fail_inside_a_write() -> None:
        with db.write() as conn:
            conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", ("x", "h", 1.0)
            )
            raise ValueError("after the insert")

    def left_open() -> None:  # a bug that leaves a transaction open must not poison the pool
        conn = db.conn
        conn.execute_script("BEGIN")
        conn.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", ("y", "h", 1)
        )

    async def scenario() -> tuple[Any, Any]:
        for _ in range(3):  # more than the pool holds: a connection kept would starve it
            with pytest.raises(ValueError, match="after the insert"):
                await threads(fail_inside_a_write)
            await threads(left_open)
        names = await threads(
            lambda: [r[0] for r in db.conn.execute("SELECT name FROM leases").fetchall()]
        )
        status = await threads(lambda: db.conn.in_transaction)
        return names, status

    names, in_transaction = asyncio.run(scenario())
    assert names == []  # neither insert was committed
    assert in_transaction is False
    stats = db.pool.get_stats()
    assert stats["pool_size"] <= 2
    assert stats["pool_available"] == stats["pool_size"]  # every one given back


def test_pooled_connections_dropped_by_a_restart_are_replaced_without_failing_a_call(
    postgres_server: PostgresServer, small_pool: Pooled
) -> None:
    """A restart drops every pooled connection at once: the next calls on every store thread,
    reads and writes, still succeed (the pool tests its idle ones before lending another)."""
    store, db, threads = small_pool.store, small_pool.db, small_pool.threads
    database = db.url.rsplit("/", 1)[1]

    def drop_all() -> None:
        with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )

    def nap() -> None:  # (db.conn here is the store thread's pooled connection)
        db.conn.execute("SELECT pg_sleep(0.05)")

    async def warm() -> None:  # both pooled connections open and idle
        await asyncio.gather(*(threads(nap) for _ in range(4)))

    one = StoreThreads(db, 1)  # one call at a time: the other dead connection waits idle

    async def calls() -> list[Any]:
        reads = [one(store.workspaces.get, "T1") for _ in range(4)]
        writes = [one(store.audit.append, "audit.read", "ok", team_id="T1") for _ in range(4)]
        return await asyncio.gather(*reads, *writes)

    asyncio.run(threads(store.workspaces.set_pal_key, "T1", "sk-test-pool-0001", set_by="U1"))
    for _ in range(2):
        asyncio.run(warm())
        assert db.pool.get_stats()["pool_size"] == 2
        drop_all()
        results = asyncio.run(calls())
        assert all(w is not None and w.has_key for w in results[:4])
        assert all(entry.seq >= 1 for entry in results[4:])
    one.close()
    assert store.audit.verify().ok


def test_a_call_finding_every_connection_in_use_fails_as_busy_and_the_next_succeeds(
    postgres_url: str,
) -> None:
    """Only a pool smaller than the store's threads can run out: a call that waited its time
    for a connection fails as StoreBusy (the person is told palbot is busy), nothing hangs."""
    db = PgDatabase(postgres_url, pool_size=1, pool_wait=0.2)
    threads = StoreThreads(db, 2)  # two threads, one connection

    def hold(seconds: float) -> None:
        db.conn.execute("SELECT pg_sleep(?)", (seconds,))

    async def scenario() -> tuple[BaseException | None, bool]:
        holder = asyncio.ensure_future(threads(hold, 1.0))
        await asyncio.sleep(0.2)  # the only connection is lent to `holder`
        try:
            await threads(db.ping)
            busy: BaseException | None = None
        except StoreBusy as exc:
            busy = exc
        await holder
        return busy, await threads(db.ping)

    try:
        busy, later = asyncio.run(scenario())
    finally:
        threads.close()
        db.close()
    assert isinstance(busy, StoreBusy)
    assert later is True  # the connection was given back: the next call gets it


def test_a_command_line_use_opens_no_pool(postgres_url: str) -> None:
    """`palbot audit verify`, `db copy`, `migrate`: store calls on the calling thread, on a
    connection of its own; the pool (for a server's store threads) is never opened."""
    store = open_postgres_store(postgres_url, Fernet.generate_key().decode())
    try:
        store.audit.append("audit.read", "ok", team_id="T1")
        assert store.audit.verify().ok
        db = store.db
        assert isinstance(db, PgDatabase)
        assert db.pool.closed  # never opened
        assert _palbot_connections(db) == 1
    finally:
        store.close()


def test_a_lent_connection_lost_mid_call_is_replaced_from_the_pool(
    small_pool: Pooled,
) -> None:
    db, threads = small_pool.db, small_pool.threads

    def lose_then_read() -> int:
        # inside a transaction: never resent
        with pytest.raises(psycopg.OperationalError), db.write() as conn:
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return int(db.conn.execute("SELECT 41 + 1").fetchone()[0])

    assert asyncio.run(threads(lose_then_read)) == 42
    for _ in range(40):  # the pool replaces the lost one in its background
        stats = db.pool.get_stats()
        if stats["pool_available"] == stats["pool_size"]:
            break
        time.sleep(0.05)
    assert stats["pool_available"] == stats["pool_size"] <= 2  # the new one given back too
    assert len(db._own) == 1  # no connection of its own was made on the store thread


def test_health_checks_from_any_thread_borrow_from_the_pool(postgres_url: str) -> None:
    """/healthz asks on whichever thread the executor picks: each ask borrows a pooled
    connection and gives it back (none of its own left behind per thread); every connection
    in use is `busy`, not a failure."""
    import concurrent.futures

    roomy = PgDatabase(postgres_url, pool_size=2)
    own_before = len(roomy._own)  # the constructing thread's, which migrated
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as executor:
            states = list(executor.map(lambda _: roomy.health(), range(24)))
        assert states == ["ok"] * 24
        assert len(roomy._own) == own_before
    finally:
        roomy.close()

    tight = PgDatabase(postgres_url, pool_size=1, pool_wait=0.2)
    threads = StoreThreads(tight, 1)

    def hold() -> None:
        tight.conn.execute("SELECT pg_sleep(?)", (0.8,))

    async def while_held() -> tuple[str, str]:
        holder = asyncio.ensure_future(threads(hold))
        await asyncio.sleep(0.2)  # the only connection is lent to `holder`
        state = await asyncio.to_thread(tight.health)
        await holder
        return state, await asyncio.to_thread(tight.health)

    try:
        assert asyncio.run(while_held()) == ("busy", "ok")
    finally:
        threads.close()
        tight.close()


def test_palbot_db_pool_size_and_threads_are_read_and_bounded(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("PALBOT_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("PALBOT_DB_POOL_SIZE", "3")
    store = open_store(Settings())
    try:
        assert isinstance(store.db, PgDatabase)
        assert store.db.pool.max_size == 3
        assert threads_for(store.db) == 1  # the default: one store thread
    finally:
        store.close()
    monkeypatch.setenv("PALBOT_DB_THREADS", "3")
    store = open_store(Settings())
    try:
        assert threads_for(store.db) == 3 == store.db.pool.max_size
    finally:
        store.close()
    for bad in ("0", "65", "many"):
        monkeypatch.setenv("PALBOT_DB_POOL_SIZE", bad)
        with pytest.raises(ValueError, match="palbot_db_pool_size"):
            Settings()
    monkeypatch.setenv("PALBOT_DB_POOL_SIZE", "2")
    with pytest.raises(ValueError, match=r"PALBOT_DB_THREADS \(3\) is more than"):
        Settings()
    for bad in ("0", "65"):
        monkeypatch.setenv("PALBOT_DB_THREADS", bad)
        with pytest.raises(ValueError, match="palbot_db_threads"):
            Settings()
