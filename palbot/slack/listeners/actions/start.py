"""The Start button (`pal_start_button`, value: pal_id)."""

from __future__ import annotations

from palbot.services.conversations import StartRequest
from palbot.services.errors import Invalid
from palbot.slack.context import Ctx
from palbot.slack.flows.start import run_start
from palbot.slack.parsing import is_id

NOWHERE = "This button has no PAL or channel to start in; use `/pal start <pal_id>`."


async def start_button(ctx: Ctx) -> None:
    if not is_id(ctx.value) or not ctx.actor.channel_id:
        raise Invalid(NOWHERE)
    action_ts = ctx.action.get("action_ts") or ctx.trigger_id
    request = StartRequest(
        actor=ctx.actor,
        pal_id=ctx.value,
        channel_id=ctx.actor.channel_id,
        dedupe_keys=(f"action:{action_ts}",),  # the same click delivered twice is one start
    )
    accepted = await ctx.services.conversations.accept(request)  # audited before the ack
    await ctx.ack()
    await run_start(ctx, accepted)
