"""Store calls made from the event loop run on the store's own threads, never on the loop.

    record = await rt.db(store.conversations.get, conversation_id)

SQLite gets one dedicated thread (its writes are serialised anyway, and reads from one WAL
connection take microseconds); PostgreSQL gets a small pool of threads, each holding one
connection, so round trips to the server overlap. A call that needs several statements in one
transaction is one function run here in one go (never spread over several awaits: another
coroutine's call could otherwise land inside the open transaction).

The loop's own thread is registered with the database (`forbid_thread`): a store call made on
it by mistake raises at once (every end-to-end test would catch such a regression).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_THREADS = 1
POSTGRES_THREADS = 8


class StoreThreads:
    """Runs store work off the event loop, on threads whose connections wait only briefly for
    another process's write lock (then StoreBusy: the person is told, nothing stalls)."""

    def __init__(self, db: Any, threads: int) -> None:
        self.db = db
        self.threads = threads
        self._pool = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="palbot-store",
            initializer=self._serving_thread,
        )

    def _serving_thread(self) -> None:
        serve = getattr(self.db, "serve_from_this_thread", None)
        if serve is not None:
            serve()

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


def threads_for(db: Any) -> int:
    """How many store threads a database wants (see the module's docstring)."""
    return POSTGRES_THREADS if getattr(db, "is_postgres", False) else SQLITE_THREADS


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
