"""What a listener needs from a Bolt request, in one small object."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from palbot.services.runtime import Actor
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_code

log = logging.getLogger("palbot.slack")


def actor_from(body: dict[str, Any], context: Any) -> Actor:
    """Who and where, from the verified payload (team ids never come from user input)."""
    user = body.get("user_id") or (body.get("user") or {}).get("id") or context.get("user_id")
    team = context.get("team_id") or body.get("team_id") or (body.get("team") or {}).get("id")
    enterprise = context.get("enterprise_id") or body.get("enterprise_id")
    if not team:
        team = enterprise  # org-wide installs: the org is the workspace
    channel = (
        body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
    )
    return Actor(
        team_id=str(team or ""),
        user_id=str(user or ""),
        channel_id=str(channel) if channel else None,
        enterprise_id=str(enterprise) if enterprise else None,
    )


@dataclass
class Reply:
    """Where later answers go: the response_url if there is one, else the user's DM."""

    client: AsyncWebClient
    user_id: str
    response_url: str | None = None
    # a "Looking up…" answer is showing: the next answer takes its place
    replaces_placeholder: bool = False
    answered: bool = False
    _order: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def still_working(self, message: dict[str, Any]) -> None:
        """Replace the "Looking up…" answer, unless the real answer has been sent."""
        async with self._order:
            if not self.answered:
                await self._send(message, replace_original=True)

    async def send(self, message: dict[str, Any], *, replace_original: bool = False) -> None:
        self.answered = True
        async with self._order:  # never overtaken by a "still working" sent just before
            await self._send(message, replace_original=replace_original)

    async def _send(self, message: dict[str, Any], *, replace_original: bool) -> None:
        body = dict(message)
        body.setdefault("response_type", "ephemeral")
        if self.response_url:
            if replace_original or self.replaces_placeholder:
                body["replace_original"] = True
            try:
                await AsyncWebhookClient(self.response_url).send_dict(body)
                return
            except Exception as exc:  # the response_url expired or is unreachable: DM instead
                log.warning("response_url failed (%s); answering by DM", type(exc).__name__)
        await self.dm(body)

    async def dm(self, message: dict[str, Any]) -> None:
        body = {
            k: v
            for k, v in message.items()
            if k not in ("response_type", "replace_original", "delete_original")
        }
        try:
            await self.client.chat_postMessage(channel=self.user_id, **body)
        except SLACK_FAILURES as exc:
            log.warning("could not DM %s: %s", self.user_id, slack_error_code(exc))


def state_values(view: dict[str, Any]) -> dict[str, str | None]:
    """The submitted values of a view, by block_id, whatever the element type."""
    out: dict[str, str | None] = {}
    for block_id, elements in ((view.get("state") or {}).get("values") or {}).items():
        for element in elements.values():
            kind = element.get("type")
            if kind in ("static_select", "external_select"):
                selected = element.get("selected_option") or {}
                out[block_id] = selected.get("value")
            elif kind == "conversations_select":
                out[block_id] = element.get("selected_conversation")
            elif kind == "channels_select":
                out[block_id] = element.get("selected_channel")
            elif kind == "checkboxes":  # the chosen options' values, or None for none
                chosen = [str(o.get("value")) for o in element.get("selected_options") or []]
                out[block_id] = ",".join(chosen) or None
            else:
                out[block_id] = element.get("value")
    return out
