"""Socket Mode, with its requests holding the same after-ack gate as /slack/events does."""

from __future__ import annotations

from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from palbot.services.runtime import AckFirst


class GatedSocketModeHandler(AsyncSocketModeHandler):
    """While an envelope is being answered, after-ack work waits (and no full GC runs)."""

    def __init__(self, app: AsyncApp, app_token: str, *, gate: AckFirst, **kwargs: Any) -> None:
        self.gate = gate
        super().__init__(app, app_token, **kwargs)

    async def handle(  # type: ignore[override]  # as Bolt's own handler declares it
        self, client: SocketModeClient, req: SocketModeRequest
    ) -> None:
        self.gate.enter()
        try:
            await super().handle(client, req)
        finally:
            self.gate.leave()
