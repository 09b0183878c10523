"""The Limits form (`pal_limits`, admins)."""

from __future__ import annotations

from palbot.services.permissions import parse_permissions
from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.blocks.common import ok_message
from palbot.slack.context import Ctx


async def submit_limits(ctx: Ctx) -> None:
    services = ctx.services
    current = await services.permissions.get(ctx.actor.team_id)
    permissions = parse_permissions(ctx.values, current)  # a field error before anything saves
    limits = await services.limits.set(ctx.actor, ctx.values)
    await services.permissions.set(ctx.actor, permissions)
    await ctx.ack()
    saved = (
        f"Limits saved: {admin_blocks.limits_text(limits)}. "
        f"Who may change PALs: {admin_blocks.permissions_text(permissions)}."
    )
    await ctx.reply.send(ok_message(saved))
