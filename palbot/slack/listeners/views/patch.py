"""The Patch PAL form (`pal_patch`): checked against the document the form was opened on."""

from __future__ import annotations

from palbot.services.errors import Invalid
from palbot.services.pals import parse_patch_text
from palbot.slack import ids
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.context import Ctx
from palbot.slack.flows.patch import TITLE
from palbot.slack.listeners.views.common import CHECK_BUDGET, send_patch

__all__ = ["TITLE", "submit_patch"]


async def submit_patch(ctx: Ctx) -> None:
    pals, pal_id = ctx.services.pals, ctx.metadata.pal_id or ""
    try:
        ops = parse_patch_text(ctx.values.get(ids.PATCH_JSON) or "")
    except Invalid as exc:
        await pals.refuse_patch(ctx.actor, pal_id, exc)
        raise
    session = await pals.patch_session(
        ctx.actor, pal_id, ctx.view_id, ctx.metadata.response_url, CHECK_BUDGET
    )
    ctx.form_doc = session.doc
    ops = await pals.check_patch(ctx.actor, pal_id, session.doc, ops, ids.PATCH_JSON)  # as sent
    await pals.may_patch(ctx.actor, pal_id, session.doc, ops, ctx.is_admin, field=ids.PATCH_JSON)
    ticket = await pals.accept_patch(
        ctx.actor, session.pal_id, ops, dedupe_key=ctx.submission_key()
    )
    await send_patch(ctx, ticket, session, session.pal_id, ops, "Applying the patch…")


def refill(ctx: Ctx, error: str) -> dict[str, object] | None:
    """The Patch form again, with the patch as typed, after the PAL API refused it."""
    if ctx.form_doc is None:
        return None
    typed = ctx.values.get(ids.PATCH_JSON)
    return pal_blocks.patch_modal(ctx.metadata, ctx.form_doc, typed=typed, error=error)
