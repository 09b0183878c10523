"""The Create PAL form (`pal_create`)."""

from __future__ import annotations

from palbot.pal_api.models import unfamiliar_values
from palbot.services.errors import Invalid
from palbot.services.pals import build_create_body
from palbot.slack import ids
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.blocks.common import error_message, loading_view, result_view
from palbot.slack.context import Ctx
from palbot.slack.listeners.views.common import update
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_text
from palbot.slack.text import escape

TITLE = "Create PAL"


async def submit_create(ctx: Ctx) -> None:
    pals = ctx.services.pals
    try:
        body = build_create_body(ctx.values)
    except Invalid as exc:
        await pals.refuse_create(ctx.actor, exc)
        raise
    ticket = await pals.accept_create(ctx.actor, body, ctx.submission_key(), is_admin=ctx.is_admin)
    loading = loading_view(TITLE, f"Creating *{escape(body.pal_name)}*…", metadata=ctx.metadata)
    await ctx.ack(update(loading))
    ctx.failure_prefix = "The PAL was not created."
    doc = await pals.create(ctx.actor, body, ticket)
    faces = await pals.face_names(ctx.actor)
    blocks = pal_blocks.pal_summary_blocks(doc, ":white_check_mark: Created", faces)
    blocks += pal_blocks.unfamiliar_note(unfamiliar_values(doc))
    await ctx.show(result_view(TITLE, blocks, ctx.metadata))
    name = escape(pal_blocks.pal_title(doc))
    await ctx.reply.send({"text": f"Created PAL {name}", "blocks": blocks})
    await announce(ctx, doc)


async def announce(ctx: Ctx, doc: dict[str, object]) -> None:
    """Announce the new PAL in the channel the creator chose, if any."""
    channel = ctx.values.get(ids.POST_CHANNEL)
    if not channel:
        return
    intro = f"<@{escape(ctx.actor.user_id)}> created a new PAL:"
    name = escape(pal_blocks.pal_title(doc))
    try:
        await ctx.client.chat_postMessage(
            channel=channel,
            text=f"New PAL {name}",
            blocks=pal_blocks.pal_summary_blocks(doc, intro),
        )
    except SLACK_FAILURES as exc:
        text = f"The PAL was created, but the announcement failed: {slack_error_text(exc)}"
        await ctx.reply.send(error_message(text))


def refill(ctx: Ctx, error: str) -> dict[str, object] | None:
    """The Create form again, with what was entered, after the PAL API refused it."""
    return pal_blocks.create_modal(ctx.metadata, values=ctx.values, error=error)
