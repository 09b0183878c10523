"""The store's threads: work runs there (not on the loop), in order of urgency, and errors reach
the caller."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from palbot.store.offloop import BACKGROUND, LoopGuard, StoreThreads


class FakeDb:
    """Only what StoreThreads asks of a database: which threads serve."""

    def __init__(self) -> None:
        self.serving: set[int] = set()

    def serve_from_this_thread(self) -> None:
        self.serving.add(threading.get_ident())


def test_request_work_goes_before_background_work_and_errors_reach_the_caller() -> None:
    db = FakeDb()
    threads = StoreThreads(db, 1)
    ran: list[str] = []
    gate = threading.Event()

    async def scenario() -> Any:
        blocker = asyncio.ensure_future(threads(gate.wait, 5))  # the thread is busy

        async def background(tag: str) -> None:
            BACKGROUND.set(True)  # as in after-ack work
            await threads(ran.append, tag)

        queued = [
            asyncio.ensure_future(background("after-ack 1")),
            asyncio.ensure_future(background("after-ack 2")),
        ]
        await asyncio.sleep(0.05)  # both are queued behind the blocker
        queued.append(asyncio.ensure_future(threads(ran.append, "request")))
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(blocker, *queued)

        def fail() -> None:
            raise ValueError("from the store thread")

        with pytest.raises(ValueError, match="from the store thread"):
            await threads(fail)
        return await threads(threading.get_ident)

    worker = asyncio.run(scenario())
    threads.close()
    assert ran == ["request", "after-ack 1", "after-ack 2"]
    assert worker in db.serving and worker != threading.get_ident()


def test_the_loop_guard_refuses_store_calls_on_the_forbidden_thread_only() -> None:
    guard = LoopGuard()
    guard.check()  # nothing forbidden
    guard.forbid()
    with pytest.raises(RuntimeError, match="store call on the event loop"):
        guard.check()
    elsewhere: list[BaseException] = []

    def other() -> None:
        try:
            guard.check()
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            elsewhere.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert elsewhere == []
    guard.allow()
    guard.check()


def test_a_request_waits_briefly_for_a_lock_after_ack_work_waits_it_out(tmp_path: Any) -> None:
    """Another process holds SQLite's write lock for 0.4 s: a request's write gives up after
    its short wait (StoreBusy: "palbot is busy"), while after-ack work waits and succeeds."""
    import sqlite3
    import time

    from palbot.store.errors import StoreBusy
    from palbot.store.sqlite.db import Database

    db = Database(tmp_path / "lock.db")
    threads = StoreThreads(db, 1)

    def write() -> str:
        with db.write() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (str(time.time()), "x"))
        return "written"

    holder = sqlite3.connect(tmp_path / "lock.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.4, holder.execute, args=("ROLLBACK",))

    async def scenario() -> tuple[str, str]:
        release.start()
        try:
            await threads(write)
            urgent = "written"
        except StoreBusy:
            urgent = "busy"

        async def after_ack() -> str:
            BACKGROUND.set(True)
            return await threads(write)

        return urgent, await after_ack()

    try:
        assert asyncio.run(scenario()) == ("busy", "written")
    finally:
        release.join()
        holder.close()
        threads.close()
        db.close()


def test_group_commit_writes_waiting_items_together_and_refuses_one_alone() -> None:
    """Items submitted while a batch is being written go in the next batch, together; an
    item's own failure reaches its caller only."""
    from palbot.services.group_commit import GroupCommit

    batches: list[list[int]] = []
    gate = threading.Event()

    def write_many(items: list[int]) -> list[Any]:
        if not batches:
            gate.wait(5)  # the first batch is slow: the others queue meanwhile
        batches.append(list(items))
        return [ValueError(f"no {i}") if i == 3 else i * 10 for i in items]

    threads = StoreThreads(FakeDb(), 1)
    writer: GroupCommit[int, int] = GroupCommit(threads, write_many)

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(writer.submit(1))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(writer.submit(i)) for i in (2, 3, 4)]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = asyncio.run(scenario())
    threads.close()
    assert batches == [[1], [2, 3, 4]]  # one hop, one commit for the three that waited
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError) and str(results[2]) == "no 3"
