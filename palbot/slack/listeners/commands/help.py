"""`/pal`, `/pal help` and `/pal help <subcommand>`."""

from __future__ import annotations

from palbot.slack.blocks.help import help_for, help_message
from palbot.slack.checks import Usage
from palbot.slack.context import Ctx
from palbot.slack.parsing import USAGE, did_you_mean_sub


async def show_help(ctx: Ctx) -> None:
    topic = (ctx.command.arg or "").lower().lstrip("/") if ctx.command else ""
    topic = topic.removeprefix("pal ").strip()
    if not topic:
        await ctx.ack(help_message())
        return
    if topic not in USAGE:
        hint = did_you_mean_sub(topic)
        raise Usage("help", f"There is no `/pal {topic[:40]}`. {hint}".strip())
    await ctx.ack(help_for(topic, USAGE[topic]))
