"""Overwrite editor changes (`patch_force`): the confirmed retry of a 409 with `?force=true`."""

from __future__ import annotations

from palbot.services.errors import Invalid
from palbot.slack.blocks.common import loading_view
from palbot.slack.context import Ctx
from palbot.slack.flows.patch import TITLE, show_patch_report

EXPIRED = "This confirmation has expired (or it is someone else's); run the patch again."


async def force_button(ctx: Ctx) -> None:
    pals = ctx.services.pals
    session = await pals.take_force(ctx.value, ctx.actor)  # theirs, single use
    if session is None or not session.ops:
        raise Invalid(EXPIRED)
    ticket = await pals.accept_patch(ctx.actor, session.pal_id, session.ops, force=True)
    await ctx.ack()
    if not ctx.in_modal:  # from a message: fetch, check and send again
        report = await pals.patch_current(
            ticket,
            session.pal_id,
            session.ops,
            is_admin=ctx.is_admin,
            force=True,
            response_url=ctx.response_url,
        )
    else:  # from the Patch modal: against the document it was opened on
        await ctx.show(loading_view(TITLE, "Overwriting the editor changes…"))
        report = await pals.patch(
            ticket,
            session.pal_id,
            session.ops,
            session.doc,
            is_admin=ctx.is_admin,
            force=True,
            conflict_key=ctx.view_id,
        )
    await show_patch_report(ctx, report)
