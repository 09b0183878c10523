"""The confirmed key removal (`key_remove_confirm`): the live conversations are told."""

from __future__ import annotations

from palbot.slack.blocks.common import error_message, ok_message
from palbot.slack.context import Ctx


async def remove_confirmed(ctx: Ctx) -> None:
    services = ctx.services
    live = await services.conversations.active(ctx.actor.team_id)
    removed = await services.keys.remove(ctx.actor)
    if not removed:
        await ctx.reply.send(error_message("No PAL API key was connected."), replace_original=True)
        return
    messages = ctx.messages()
    told = 0
    for record in live:
        if record.test_mode:
            continue
        if await messages.key_removed(await services.conversations.with_join_link(record)):
            told += 1
    tail = {0: "", 1: " The live conversation's message says so."}.get(
        told, f" The {told} live conversations' messages say so."
    )
    done = ok_message(f"The workspace's PAL API key was removed.{tail}")
    await ctx.reply.send(done, replace_original=True)
