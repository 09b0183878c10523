"""Slack Web API clients: one per workspace, on one pooled HTTP session."""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from palbot.services.installs import InstallService

MAX_RETRY_AFTER = 5.0  # a longer Retry-After is not waited out while holding a work slot


class BoundedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Slack's 429 is retried after its Retry-After, unless that is longer than a few seconds:
    then the call fails at once (`ratelimited`), the work slot is freed, and what was not
    delivered is delivered later (reconciliation), or the person is told to try again."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        try:
            return float(wait[0]) <= MAX_RETRY_AFTER
        except (TypeError, ValueError, IndexError):
            return False


def web_client(base_url: str, token: str | None = None, session: Any = None) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=base_url, session=session)
    # Only 429s are retried here: a 500 may still have posted (a second placeholder, a second
    # announcement). What was not delivered is delivered later, by upstream's retry of its
    # callback or by reconciliation, which know what is already shown.
    client.retry_handlers.append(BoundedRateLimitRetryHandler(max_retry_count=2))
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
        bot = await self.installs.bot_for_team(team_id)
        if bot is None or not bot.get("bot_token"):
            return None
        return web_client(self.base_url, bot["bot_token"], self.session)
