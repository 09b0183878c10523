"""The Start conversation form (`pal_start`)."""

from __future__ import annotations

from palbot.services.conversations import StartRequest
from palbot.services.errors import Invalid
from palbot.services.runtime import Actor
from palbot.slack import ids
from palbot.slack.blocks.common import loading_view
from palbot.slack.context import Ctx
from palbot.slack.flows.start import TITLE, run_start
from palbot.slack.listeners.views.common import update

__all__ = ["TITLE", "submit_start"]


async def submit_start(ctx: Ctx) -> None:
    pal_id = (ctx.values.get(ids.PAL_ID) or "").strip()
    name = (ctx.values.get(ids.CONVERSATION_NAME) or "").strip()
    channel = ctx.values.get(ids.CHANNEL) or ctx.metadata.channel_id
    if not pal_id:
        raise Invalid("Choose a PAL.", field=ids.PAL_ID)
    if not channel:
        raise Invalid("Choose the channel for the Join link.", field=ids.CHANNEL)
    if len(name) > 200:
        raise Invalid("200 characters at most.", field=ids.CONVERSATION_NAME)
    a = ctx.actor
    request = StartRequest(
        actor=Actor(a.team_id, a.user_id, channel, a.enterprise_id),
        pal_id=pal_id,
        channel_id=channel,
        conversation_name=name or None,
        dedupe_keys=(f"view:{ctx.view_id}",),
    )
    accepted = await ctx.services.conversations.accept(request)  # audited before the ack
    await ctx.ack(update(loading_view(TITLE, "Starting the conversation…")))
    await run_start(ctx, accepted)
