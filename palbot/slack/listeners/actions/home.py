"""App Home controls: Create, Start, Connect/Replace key, Remove key, Limits."""

from __future__ import annotations

from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.blocks import keys as key_blocks
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.context import Ctx
from palbot.slack.flows.start import open_start_form
from palbot.slack.listeners.commands import key as key_commands
from palbot.slack.metadata import ModalMetadata


async def connect_key(ctx: Ctx) -> None:
    workspace = await ctx.services.keys.status(ctx.actor.team_id)
    await ctx.open_view(key_blocks.key_modal(ModalMetadata(), workspace))


async def change_limits(ctx: Ctx) -> None:
    limits = await ctx.services.limits.get(ctx.actor.team_id)
    permissions = await ctx.services.permissions.get(ctx.actor.team_id)
    await ctx.open_view(admin_blocks.limits_modal(ModalMetadata(), limits, permissions))


async def create_pal(ctx: Ctx) -> None:
    await ctx.services.keys.require(ctx.actor.team_id)
    await ctx.open_view(pal_blocks.create_modal(ModalMetadata()))


async def start_conversation(ctx: Ctx) -> None:
    await ctx.services.keys.require(ctx.actor.team_id)
    await open_start_form(ctx, ModalMetadata())


async def remove_key(ctx: Ctx) -> None:
    """The same confirmation as `/pal key remove`, by direct message (App Home has no channel)."""
    await key_commands.remove_key(ctx)
