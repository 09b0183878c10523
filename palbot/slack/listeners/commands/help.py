"""`/pal` and `/pal help`."""

from __future__ import annotations

from palbot.slack.blocks.help import help_message
from palbot.slack.context import Ctx


async def show_help(ctx: Ctx) -> None:
    await ctx.ack(help_message())
