"""`link_shared`: a PAL conversation's link pasted in Slack unfurls into a card that says
whether the call is live, with End (checked on click). Links palbot cannot place, private
rooms and other workspaces' conversations are left as they are."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from palbot.slack.blocks.conversations import unfurl_card
from palbot.slack.context import Ctx
from palbot.slack.parsing import is_id
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_code

log = logging.getLogger("palbot.slack")
MAX_LINKS = 5  # Slack sends at most a few links per message


def conversation_id_in(url: str) -> str | None:
    """A conversation room's id: the last part of its path (`…/c1234abcd`)."""
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1] if path else ""
    return last if is_id(last) else None


async def unfurl(ctx: Ctx) -> None:
    event: dict[str, Any] = ctx.body.get("event") or {}
    convs = ctx.services.conversations
    cards: dict[str, Any] = {}
    for link in (event.get("links") or [])[:MAX_LINKS]:
        url = str(link.get("url") or "")
        conversation_id = conversation_id_in(url)
        if conversation_id is None:
            continue
        record = await convs.look_up(ctx.actor.team_id, conversation_id)
        if record is None or record.private or record.test_mode:
            continue  # unknown here, a private room's details, or a test: no card
        cards[url] = unfurl_card(record)
    if not cards:
        return
    where: dict[str, Any] = (
        {"unfurl_id": event["unfurl_id"], "source": event.get("source") or "composer"}
        if event.get("unfurl_id") and event.get("source") == "composer"
        else {"channel": event.get("channel"), "ts": event.get("message_ts")}
    )
    try:
        await ctx.client.chat_unfurl(unfurls=cards, **where)
    except SLACK_FAILURES as exc:
        log.info("link not unfurled: %s", slack_error_code(exc))
