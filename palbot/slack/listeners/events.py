"""Events API: App Home, uninstall and revoked tokens."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from palbot.services.runtime import Runtime
from palbot.slack.answer_at_ack import register_each

log = logging.getLogger("palbot.events")


class Events:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def home(
        self, event: dict[str, Any], body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        from palbot.slack.home import publish_home

        if event.get("tab") not in (None, "home"):
            return
        await publish_home(self.rt, client, body, context)

    async def uninstalled(self, body: dict[str, Any], context: Any) -> None:
        from palbot.slack.installs import forget_installation

        await forget_installation(self.rt, body, context, reason="app_uninstalled")

    async def tokens_revoked(
        self, event: dict[str, Any], body: dict[str, Any], context: Any
    ) -> None:
        from palbot.slack.installs import forget_revoked_tokens

        await forget_revoked_tokens(self.rt, event, body, context)


def register(app: AsyncApp, rt: Runtime) -> None:
    events = Events(rt)
    register_each(
        rt,
        app.event,
        (
            ("app_home_opened", events.home),
            ("app_uninstalled", events.uninstalled),
            ("tokens_revoked", events.tokens_revoked),
        ),
    )
