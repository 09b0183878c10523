"""App Home controls: Connect key (`home_connect_key`) and Limits (`home_limits`)."""

from __future__ import annotations

from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.blocks import keys as key_blocks
from palbot.slack.context import Ctx
from palbot.slack.metadata import ModalMetadata


async def connect_key(ctx: Ctx) -> None:
    workspace = await ctx.services.keys.status(ctx.actor.team_id)
    await ctx.open_view(key_blocks.key_modal(ModalMetadata(), workspace))


async def change_limits(ctx: Ctx) -> None:
    limits = await ctx.services.limits.get(ctx.actor.team_id)
    permissions = await ctx.services.permissions.get(ctx.actor.team_id)
    await ctx.open_view(admin_blocks.limits_modal(ModalMetadata(), limits, permissions))
