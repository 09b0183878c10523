"""`/pal key`, `/pal key status`, `/pal key remove`."""

from __future__ import annotations

from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.blocks import keys as key_blocks
from palbot.slack.blocks.common import error_message
from palbot.slack.context import Ctx


async def open_key_form(ctx: Ctx) -> None:
    workspace = await ctx.services.keys.status(ctx.actor.team_id)
    await ctx.open_view(key_blocks.key_modal(ctx.form_metadata(), workspace))


async def key_status(ctx: Ctx) -> None:
    await ctx.ack(key_blocks.key_status_message(await ctx.services.keys.status(ctx.actor.team_id)))


async def remove_key(ctx: Ctx) -> None:
    """First a confirmation of the admin's own, naming the live conversations."""
    services = ctx.services
    workspace = await services.keys.status(ctx.actor.team_id)
    if workspace is None or not workspace.has_key:
        await ctx.reply.send(error_message("No PAL API key is connected."))
        return
    live = await services.conversations.active(ctx.actor.team_id)
    await services.key_removal.offer(ctx.actor)
    message = conv_blocks.key_remove_confirm_message(
        workspace.key_last4,
        live,
        {r.conversation_id for r in live},  # an admin may end any
    )
    await ctx.reply.send(message)
