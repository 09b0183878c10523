"""The Join button (`conversation_join`): a url button, Slack opens the link."""

from __future__ import annotations

from palbot.slack.context import Ctx


async def join_button(ctx: Ctx) -> None:
    await ctx.ack()
