"""`/pal key`, `/pal key status`, `/pal key remove`."""

from __future__ import annotations

from palbot.slack.blocks import keys as key_blocks
from palbot.slack.blocks.common import error_message, ok_message
from palbot.slack.context import Ctx


async def open_key_form(ctx: Ctx) -> None:
    workspace = await ctx.services.keys.status(ctx.actor.team_id)
    await ctx.open_view(key_blocks.key_modal(ctx.form_metadata(), workspace))


async def key_status(ctx: Ctx) -> None:
    await ctx.ack(key_blocks.key_status_message(await ctx.services.keys.status(ctx.actor.team_id)))


async def remove_key(ctx: Ctx) -> None:
    removed = await ctx.services.keys.remove(ctx.actor)
    await ctx.reply.send(
        ok_message("The workspace's PAL API key was removed.")
        if removed
        else error_message("No PAL API key was connected.")
    )
