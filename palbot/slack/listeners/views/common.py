"""What every form submission answers with."""

from __future__ import annotations

from typing import Any

from palbot.services.audit import Accepted
from palbot.services.runtime import PatchSession
from palbot.slack.blocks.common import loading_view
from palbot.slack.context import Ctx
from palbot.slack.flows.patch import show_patch_report

CHECK_BUDGET = 2.0  # seconds a check that needs the PAL API may take inside the ack


def update(view: dict[str, Any]) -> dict[str, Any]:
    return {"response_action": "update", "view": view}


async def send_patch(
    ctx: Ctx,
    ticket: Accepted,
    session: PatchSession,
    pal_id: str,
    ops: list[dict[str, Any]],
    working: str,
) -> None:
    """The tail of a form that changes a PAL (Patch, Edit), once its change is accepted: the
    form says it is working, the patch is sent once, and the form shows how it ended."""
    await ctx.ack(update(loading_view(ctx.title, working, metadata=ctx.metadata)))
    ctx.failure_prefix = "The PAL was not changed."
    report = await ctx.services.pals.patch(
        ticket,
        pal_id,
        ops,
        session.doc,
        is_admin=ctx.is_admin,
        conflict_key=ctx.view_id,
        response_url=session.response_url,
    )
    await show_patch_report(ctx, report)
