"""A Slack message, or its whole thread, as a PAL's conversational context: plain
"Name: words" lines, oldest first, the latest kept when they do not all fit."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from palbot.slack.plaintext import fit_lines, mentioned_users, to_plain
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_code

log = logging.getLogger("palbot.slack")
# what people wrote; joins, leaves, topic changes and the like say nothing to a PAL
SPOKEN = (None, "thread_broadcast", "bot_message", "file_share", "me_message")
MAX_THREAD_MESSAGES = 200
MAX_NAMES = 25  # users.info calls for one context, at most


async def _name(client: AsyncWebClient, user_id: str) -> str | None:
    try:
        user = (await client.users_info(user=user_id)).get("user") or {}
    except SLACK_FAILURES:
        return None
    profile = user.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("name")
    return str(name) if name else None


async def _thread(client: AsyncWebClient, channel: str, ts: str) -> list[dict[str, Any]] | None:
    try:
        answer = await client.conversations_replies(
            channel=channel, ts=ts, limit=MAX_THREAD_MESSAGES
        )
    except SLACK_FAILURES as exc:  # no history scope, not in the channel: the message alone
        log.info("thread not read: %s", slack_error_code(exc))
        return None
    return list(answer.get("messages") or [])


async def gather(
    client: AsyncWebClient, channel: str, message: dict[str, Any], limit: int
) -> tuple[str, bool]:
    """The context text and whether it holds the whole thread (False: the message alone)."""
    root = message.get("thread_ts")
    messages: list[dict[str, Any]] = [message]
    whole_thread = False
    if root or message.get("reply_count"):
        found = await _thread(client, channel, str(root or message.get("ts")))
        if found:
            messages, whole_thread = found, True
    messages = [m for m in messages if m.get("subtype") in SPOKEN and (m.get("text") or "")]
    latest_first: list[str] = []  # who speaks or is named, from the newest message back
    for m in reversed(messages):
        if m.get("user"):
            latest_first.append(str(m["user"]))
        latest_first += mentioned_users(str(m.get("text") or ""))
    users = list(dict.fromkeys(latest_first))[:MAX_NAMES]  # the rest stay "someone"
    found_names = await asyncio.gather(*(_name(client, u) for u in users))
    names = {u: n for u, n in zip(users, found_names, strict=True) if n}
    lines = []
    for m in messages:
        author = names.get(str(m.get("user") or "")) or _bot_name(m) or "someone"
        said = to_plain(str(m.get("text") or ""), names)
        if said:
            lines.append(f"{to_plain(author)}: {said}")
    header = "From a Slack thread:" if whole_thread and len(lines) > 1 else "From Slack:"
    return fit_lines(lines, limit, header), whole_thread


def _bot_name(message: dict[str, Any]) -> str | None:
    profile = message.get("bot_profile") or {}
    name = profile.get("name") or message.get("username")
    return str(name) if name else None


async def message_context(
    client: AsyncWebClient,
    channel: str,
    message: dict[str, Any],
    limit: int,
    budget: float = 1.5,
) -> str:
    """Within `budget` seconds (a form must open within Slack's 3 s): the message and its
    thread with names; else the message alone, mentions unnamed."""
    try:
        text, _ = await asyncio.wait_for(gather(client, channel, message, limit), budget)
        return text
    except TimeoutError:
        log.info("message context not gathered in %.1f s: the message alone", budget)
        alone = f"someone: {to_plain(str(message.get('text') or ''))}"
        return fit_lines([alone], limit, "From Slack:")
