"""The Limits form (`pal_limits`, admins)."""

from __future__ import annotations

from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.blocks.common import ok_message
from palbot.slack.context import Ctx


async def submit_limits(ctx: Ctx) -> None:
    limits = await ctx.services.limits.set(ctx.actor, ctx.values)
    await ctx.ack()
    await ctx.reply.send(ok_message(f"Limits saved: {admin_blocks.limits_text(limits)}."))
