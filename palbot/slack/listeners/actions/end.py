"""The End button (`conversation_end`, value: conversation_id)."""

from __future__ import annotations

from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.blocks.common import ok_message
from palbot.slack.context import Ctx


async def end_button(ctx: Ctx) -> None:
    convs = ctx.services.conversations
    ticket = await convs.accept_end(ctx.actor, ctx.value)  # audited before the ack
    await ctx.ack()
    result = await convs.end(ctx.messages(), ctx.actor, ctx.value, ctx.is_admin, ticket)
    await ctx.reply.send(ok_message(conv_blocks.ended_text(result.record, result.already_ended)))
