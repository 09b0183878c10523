"""Store calls made from the event loop run on the store's own threads, never on the loop.

    record = await rt.db(store.conversations.get, conversation_id)

SQLite gets one dedicated thread (its writes are serialised anyway, and reads from one WAL
connection take microseconds). PostgreSQL gets `PALBOT_DB_THREADS` (default one), each call
borrowing a pooled connection for its duration. One is fastest beside a nearby server: every
round trip hands the GIL back and forth, and each extra thread waiting for it is another turn
the event loop and the write in progress wait for (measured: a burst's `/pal start` p99 29 ms
with one thread, 33 with two, 34 with eight). More threads overlap round trips to a distant
server. A call that needs several statements in one
transaction is one function run here in one go (never spread over several awaits: another
coroutine's call could otherwise land inside the open transaction).

The loop's own thread is registered with the database (`forbid_thread`): a store call made on
it by mistake raises at once (every end-to-end test would catch such a regression).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_THREADS = 1
# Set in after-ack work (`Runtime.spawn`, the poller, reconciliation): its store calls wait
# behind those of requests being answered, so a burst's acks never queue behind its own jobs.
BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)
URGENT, LATER = 0, 1
_running = threading.local()


def urgent_here() -> bool:
    """The job running on this store thread answers a request now (a short lock wait); after-ack
    work (False) may wait longer. Threads that are not store threads are never urgent."""
    return bool(getattr(_running, "urgent", False))


class StoreThreads:
    """Runs store work off the event loop, on threads whose connections wait only briefly for
    another process's write lock (then StoreBusy: the person is told, nothing stalls). Calls
    made while answering a request go first; after-ack work's calls take the next free turn."""

    def __init__(self, db: Any, threads: int) -> None:
        self.db = db
        self.threads = threads
        self._jobs: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._workers = [
            threading.Thread(target=self._work, name=f"palbot-store-{i}", daemon=True)
            for i in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    def _work(self) -> None:
        serve = getattr(self.db, "serve_from_this_thread", None)
        if serve is not None:
            serve()
        # PostgreSQL lends each call a pooled connection; SQLite's thread keeps its own
        borrowed = getattr(self.db, "borrowed", contextlib.nullcontext)
        while True:
            priority, _, job = self._jobs.get()
            if job is None:
                return
            fn, future, loop = job
            _running.urgent = priority == URGENT
            try:
                with borrowed():
                    result = fn()
            except BaseException as exc:  # handed to the awaiting coroutine
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        priority = LATER if BACKGROUND.get() else URGENT
        job = (lambda: fn(*args, **kwargs), future, loop)
        self._jobs.put((priority, next(self._order), job))
        return await future

    def close(self) -> None:
        """Finish the queued work, then stop the threads."""
        for _ in self._workers:
            self._jobs.put((LATER + 1, next(self._order), None))
        for worker in self._workers:
            worker.join(timeout=10)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # its awaiter was cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def threads_for(db: Any) -> int:
    """How many store threads a database wants (see the module's docstring)."""
    return int(getattr(db, "store_threads", SQLITE_THREADS))


class LoopGuard:
    """Marks threads on which store calls are refused (the serving event loop's)."""

    def __init__(self) -> None:
        self._forbidden: set[int] = set()

    def forbid(self, ident: int | None = None) -> None:
        self._forbidden.add(threading.get_ident() if ident is None else ident)

    def allow(self, ident: int | None = None) -> None:
        self._forbidden.discard(threading.get_ident() if ident is None else ident)

    def check(self) -> None:
        if self._forbidden and threading.get_ident() in self._forbidden:
            raise RuntimeError(
                "store call on the event loop: run it with `await rt.db(...)` instead"
            )
