"""Which of the scopes palbot's manifest asks for this install lacks (an install made before
palbot asked for them), read from the `x-oauth-scopes` header Slack sends with every answer."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from palbot.manifest import bot_scopes
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_code

log = logging.getLogger("palbot.slack")


async def missing_scopes(client: AsyncWebClient) -> frozenset[str]:
    """The manifest's bot scopes this token was not granted; empty when Slack does not say."""
    try:
        answer = await client.auth_test()
    except SLACK_FAILURES as exc:
        log.info("scopes not read: %s", slack_error_code(exc))
        return frozenset()
    headers = {str(k).lower(): v for k, v in (answer.headers or {}).items()}
    raw = headers.get("x-oauth-scopes")
    if isinstance(raw, list):
        raw = ",".join(str(v) for v in raw)
    if not raw:
        return frozenset()  # cannot tell: say nothing rather than something wrong
    granted = {scope.strip() for scope in str(raw).split(",")}
    return frozenset(scope for scope in bot_scopes() if scope not in granted)
