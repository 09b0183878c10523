"""The services' shared runtime: settings, store, PAL API connection pool, caches, tasks.

It knows nothing of Slack: whatever a chat surface needs lives in `palbot/slack/`."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from palbot.config import Settings
from palbot.pal_api import PalApiClient
from palbot.services.cache import TTLCache
from palbot.services.errors import NoKey
from palbot.store import Store
from palbot.store.errors import StoreBusy
from palbot.store.offloop import BACKGROUND, StoreThreads, threads_for

log = logging.getLogger("palbot.services")
PAL_NAME_SECONDS = 120.0
WORK_SLOTS = 16  # slow after-ack jobs (PAL API + Slack round trips) running at once


@dataclass(frozen=True)
class Actor:
    """Who asked, from where. `team_id` comes from the verified Slack payload."""

    team_id: str
    user_id: str
    channel_id: str | None = None
    enterprise_id: str | None = None


@dataclass
class PatchSession:
    """What a Patch modal (or a pending force) needs kept server-side."""

    pal_id: str
    doc: dict[str, Any]
    ops: list[dict[str, Any]] | None = None
    response_url: str | None = None
    channel_id: str | None = None
    team_id: str | None = None  # a confirmation is bound to who asked, in which workspace
    user_id: str | None = None


class StoredPatchSessions:
    """Patch sessions kept in the store (encrypted, an hour), by form or confirmation id."""

    TTL = 3600.0

    def __init__(self, store: Store, db: StoreThreads) -> None:
        self.store = store
        self.db = db

    async def get(self, key: str) -> PatchSession | None:
        data = await self.db(self.store.sessions.get, key)
        return PatchSession(**data) if data else None

    async def set(self, key: str, session: PatchSession, ttl: float | None = None) -> None:
        await self.db(self.store.sessions.put, key, dataclasses.asdict(session), ttl or self.TTL)

    async def pop(self, key: str) -> PatchSession | None:
        data = await self.db(self.store.sessions.pop, key)
        return PatchSession(**data) if data else None


class AckFirst:
    """Acks before slow work. Slack requests being answered hold the gate, and so does a
    request answered less than `QUIET` ago (in a burst the next one is on its way): after-ack
    work waits for a quiet moment before each upstream round trip, but never more than
    `MAX_WAIT`, so a sustained burst cannot starve it."""

    QUIET = 0.002
    MAX_WAIT = 0.5

    def __init__(self) -> None:
        self.pending = 0
        self.last_activity = 0.0  # time.monotonic() of the latest request's arrival or answer
        self.open = True
        self._waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None

    def idle_for(self, seconds: float) -> bool:
        """No request is being answered, and none arrived or was answered in `seconds`."""
        return self.pending == 0 and time.monotonic() - self.last_activity >= seconds

    def enter(self) -> None:
        self.last_activity = time.monotonic()
        self.pending += 1
        self.open = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def leave(self) -> None:
        self.last_activity = time.monotonic()
        self.pending = max(0, self.pending - 1)
        if self.pending == 0 and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.QUIET, self._quiet)

    def _quiet(self) -> None:
        self._timer = None
        if self.pending == 0:
            self.open = True
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                _release(waiter)

    async def wait_turn(self) -> None:
        """Wait for the gate to open, or `MAX_WAIT` (a future and a timer: a burst's waiting
        jobs stay small)."""
        if self.open:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timeout = loop.call_later(self.MAX_WAIT, _release, waiter)
        try:
            await waiter
        finally:
            timeout.cancel()
            with contextlib.suppress(ValueError):  # released by its timeout, not the gate
                self._waiters.remove(waiter)


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Runtime:
    def __init__(
        self, settings: Settings, store: Store, http: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        # every store call made while serving runs on the store's threads, never on the loop
        self.db = StoreThreads(store.db, threads_for(store.db))
        self.http = http or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
        )
        # what a later request needs (a Patch form's document, an Overwrite confirmation):
        # stored, so the submission may reach any process
        self.patch_sessions = StoredPatchSessions(store, self.db)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.work_slots = asyncio.Semaphore(WORK_SLOTS)
        self.ack_first = AckFirst()
        # PAL names by "team:pal_id", seen lately (a start needs the name, not a fresh GET)
        self.pal_names: TTLCache[str] = TTLCache(ttl=PAL_NAME_SECONDS, max_items=20_000)
        # who this process is, for the leases of duties only one process runs at a time
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # keys whose API generation wants persona_id/replica_id (by fingerprint, never the key)
        self.legacy_name_keys: set[str] = set()
        # attempt ids of the starts this process is running now (reconciliation skips them)
        self.starts_running: set[str] = set()

    # ---- PAL API ---------------------------------------------------------------------

    async def pal_client(
        self, team_id: str, *, deadline: float | None = None, max_retries: int | None = None
    ) -> PalApiClient:
        key = await self.db(self.store.workspaces.get_pal_key, team_id)
        if not key:
            raise NoKey()
        return self.pal_client_for_key(key, deadline=deadline, max_retries=max_retries)

    def pal_client_for_key(
        self, key: str, *, deadline: float | None = None, max_retries: int | None = None
    ) -> PalApiClient:
        s = self.settings
        return PalApiClient(
            key,
            base_url=s.pal_api_url,
            connect_timeout=s.pal_api_connect_timeout,
            read_timeout=min(s.pal_api_read_timeout, deadline or s.pal_api_read_timeout),
            deadline=deadline or s.pal_api_deadline,
            max_retries=s.pal_api_max_retries if max_retries is None else max_retries,
            http=self.http,
            legacy_name_keys=self.legacy_name_keys,
        )

    def remember_pal(self, team_id: str, pal_id: str, name: str | None) -> None:
        if name is None:
            self.pal_names.pop(f"{team_id}:{pal_id}")
        else:
            self.pal_names.set(f"{team_id}:{pal_id}", name)

    # ---- duties that run in one process at a time ----

    async def leading(self, duty: str, interval: float) -> bool:
        """True when this process holds (or just took) the lease on `duty`: it runs this
        round. A holder that stops renewing (it died) loses it after three rounds."""
        try:
            ttl = max(3 * interval, 1.0)
            return bool(await self.db(self.store.leases.acquire, duty, self.holder, ttl=ttl))
        except StoreBusy:
            return False

    async def step_down(self, *duties: str) -> None:
        """Give up these duties' leases (a clean shutdown: another process takes them at its
        next round, not after the lease runs out)."""
        for duty in duties:
            try:
                await self.db(self.store.leases.release, duty, self.holder)
            except Exception:  # StoreBusy, a closed store: the lease runs out on its own
                log.info("lease %s not released", duty)

    # ---- background work -------------------------------------------------------------

    @staticmethod
    def after_ack() -> None:
        """The calling task's request is answered: what it does next is background work, whose
        store calls wait behind those of requests still being answered."""
        BACKGROUND.set(True)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "palbot-task") -> None:
        """Run after-ack work in the background (its store calls yield to requests')."""
        context = contextvars.copy_context()
        context.run(BACKGROUND.set, True)
        self.adopt(asyncio.get_running_loop().create_task(coro, name=name, context=context))

    @property
    def background_tasks(self) -> int:
        """How many after-ack jobs are still running."""
        return len(self._tasks)

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Keep a running task alive until it ends, and log its failure."""
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def aclose(self, grace: float = 5.0) -> None:
        """Let after-ack work finish for up to `grace` seconds, then stop what is left."""
        if self._tasks:
            log.info("letting %d jobs finish (up to %.0f s)", len(self._tasks), grace)
        await self.drain(grace)
        for task in list(self._tasks):
            task.cancel()
        await self.http.aclose()
