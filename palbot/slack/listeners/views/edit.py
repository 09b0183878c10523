"""The Edit PAL form (`pal_edit`): what changed, as a JSON Patch, checked and sent once."""

from __future__ import annotations

from palbot.slack import ids
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.context import Ctx
from palbot.slack.flows.edit import TITLE
from palbot.slack.listeners.views.common import CHECK_BUDGET, send_patch, update

__all__ = ["TITLE", "submit_edit"]


async def submit_edit(ctx: Ctx) -> None:
    pals, pal_id = ctx.services.pals, ctx.metadata.pal_id or ""
    session = await pals.patch_session(
        ctx.actor, pal_id, ctx.view_id, ctx.metadata.response_url, CHECK_BUDGET
    )
    ctx.form_doc = session.doc
    ops = await pals.edit_ops(ctx.actor, pal_id, session.doc, ctx.values)
    if not ops:  # nothing to send: no PATCH, no audit row
        await ctx.ack(update(pal_blocks.nothing_changed_view(session.doc)))
        return
    await pals.may_patch(ctx.actor, pal_id, session.doc, ops, ctx.is_admin, field=ids.PAL_NAME)
    key = ctx.submission_key()
    ticket = await pals.accept_patch(ctx.actor, pal_id, ops, dedupe_key=key, via="edit")
    await send_patch(ctx, ticket, session, pal_id, ops, "Saving your changes…")


def refill(ctx: Ctx, error: str) -> dict[str, object] | None:
    """The Edit form again, with what was entered, after the PAL API refused the change."""
    return pal_blocks.edit_modal(ctx.metadata, ctx.values, None, error)
