"""Slack Web API clients: one per workspace, on one pooled HTTP session."""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from palbot.services.installs import InstallService


def web_client(base_url: str, token: str | None = None, session: Any = None) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=base_url, session=session)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


class SlackClients:
    """A bot client for a team outside any Slack request (callbacks, the poller). One workspace:
    the app's own client. OAuth: the team's bot token from the installation store."""

    def __init__(
        self, base_url: str, installs: InstallService, single: AsyncWebClient | None = None
    ) -> None:
        self.base_url = base_url
        self.installs = installs
        self.single = single
        self.session: Any = None  # the pooled aiohttp session, set when serving

    async def for_team(self, team_id: str) -> AsyncWebClient | None:
        if self.single is not None:
            return self.single
        bot = self.installs.bot_for_team(team_id)
        if bot is None or not bot.get("bot_token"):
            return None
        return web_client(self.base_url, bot["bot_token"], self.session)
