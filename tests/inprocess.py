"""Serve an ASGI app in-process: no socket, no uvicorn. Requests go through httpx's ASGI
transport on the app's own event loop (a background thread), with the app's lifespan run as a
server would run it. The fast tier of the suite: the same app, the same routes and middleware,
minus the network stack and a server's start and stop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

import httpx

BASE_URL = "http://palbot.in-process"


class InProcessServer:
    url = BASE_URL

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._lifespan: Any = None
        self._client: httpx.AsyncClient | None = None

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> InProcessServer:
        self.thread.start()
        self.run(self._enter())
        return self

    async def _enter(self) -> None:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app)
        self._client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30)

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        assert self._client is not None
        response = await self._client.request(method, path, **kw)
        await response.aread()
        return response

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.run(self._request(method, path, **kw))  # type: ignore[no-any-return]

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    async def _exit(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._lifespan is not None:
            await self._lifespan.__aexit__(None, None, None)
        here = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not here]
        for task in rest:  # what the app (or the in-process sandbox) left sleeping
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*rest, return_exceptions=True)

    def stop(self) -> None:
        try:
            self.run(self._exit(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()
