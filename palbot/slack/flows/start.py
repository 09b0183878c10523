"""A start's answer to the person who asked, written once for every way to start."""

from __future__ import annotations

from palbot.services.conversations import MAX_CALL_SECONDS, AcceptedStart, visible_to
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.blocks.common import error_message, ok_message, result_view
from palbot.slack.context import Ctx
from palbot.slack.metadata import ModalMetadata
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
        elif accepted.req.test_mode or accepted.req.private:
            await ctx.reply.send(ok_message(text))
        return
    active: list[ConversationRecord] = []
    may_end: set[str] | None = None
    if result.concurrency_limited:
        active = visible_to(result.active, ctx.actor.user_id, await ctx.is_admin())
        may_end = await endable(ctx, active)
    if in_form:
        blocks = conv_blocks.start_failed_blocks(
            result.message, active, result.concurrency_limited, may_end
        )
        await ctx.show(result_view(TITLE, blocks))
    elif result.concurrency_limited:
        message = conv_blocks.active_list_message(result.message, active, may_end)
        await ctx.reply.send(message)
    else:
        await ctx.reply.send(error_message(result.message))


async def open_start_form(
    ctx: Ctx,
    metadata: ModalMetadata,
    *,
    context_text: str | None = None,
    thread_note: str | None = None,
) -> None:
    """Open the Start form, its length bounded by the workspace's limit (one local read)."""
    limits = await ctx.services.limits.get(ctx.actor.team_id)
    seconds = min(limits.max_call_duration or MAX_CALL_SECONDS, MAX_CALL_SECONDS)
    view = conv_blocks.start_modal(
        metadata,
        max_minutes=max(1, seconds // 60),
        context_text=context_text,
        thread_note=thread_note,
        recording=bool(ctx.services.rt.settings.palbot_recording_storage),
    )
    await ctx.open_view(view)


async def endable(ctx: Ctx, active: list[ConversationRecord]) -> set[str]:
    """The conversations this person may end: their own, or all of them for an admin."""
    own = {r.conversation_id for r in active if r.started_by == ctx.actor.user_id}
    if len(own) == len(active) or not await ctx.is_admin():
        return own
    return {r.conversation_id for r in active}
