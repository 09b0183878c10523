"""A start's answer to the person who asked, written once for every way to start."""

from __future__ import annotations

from palbot.services.conversations import AcceptedStart
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.blocks.common import error_message, ok_message, result_view
from palbot.slack.context import Ctx
from palbot.slack.text import section
from palbot.store.models import ConversationRecord

TITLE = "Start conversation"


async def run_start(ctx: Ctx, accepted: AcceptedStart) -> None:
    """Run an accepted start (after the ack) and tell the starter how it went."""
    result = await ctx.services.conversations.run(ctx.messages(), accepted)
    in_form = ctx.surface == "view"
    if result.ok and result.record is not None:
        text = conv_blocks.started_text(result.record)
        if in_form:
            await ctx.show(result_view(TITLE, [section(f":white_check_mark: {text}")]))
        elif accepted.req.test_mode:
            await ctx.reply.send(ok_message(text))
        return
    may_end = await endable(ctx, result.active) if result.concurrency_limited else None
    if in_form:
        blocks = conv_blocks.start_failed_blocks(
            result.message, result.active, result.concurrency_limited, may_end
        )
        await ctx.show(result_view(TITLE, blocks))
    elif result.concurrency_limited:
        message = conv_blocks.active_list_message(result.message, result.active, may_end)
        await ctx.reply.send(message)
    else:
        await ctx.reply.send(error_message(result.message))


async def endable(ctx: Ctx, active: list[ConversationRecord]) -> set[str]:
    """The conversations this person may end: their own, or all of them for an admin."""
    own = {r.conversation_id for r in active if r.started_by == ctx.actor.user_id}
    if len(own) == len(active) or not await ctx.is_admin():
        return own
    return {r.conversation_id for r in active}
