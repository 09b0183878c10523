"""The patch flow, written once: open the form on the PAL's current configuration, and show how
a patch ended, in a message or in the modal it came from."""

from __future__ import annotations

from palbot.pal_api import errors as api_errors
from palbot.services.errors import UserError, user_text
from palbot.services.pals import PatchReport
from palbot.slack import ids
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.blocks.common import error_view, loading_view
from palbot.slack.context import Ctx

TITLE = "Patch PAL"


async def open_patch_form(ctx: Ctx, pal_id: str) -> None:
    """A loading modal at once (the trigger expires in 3 s), then the current configuration."""
    metadata = ctx.form_metadata(pal_id)
    loading = loading_view(
        TITLE, "Loading the PAL's current configuration…", ids.PATCH_MODAL, metadata
    )
    view_id = await ctx.open_view(loading)
    if view_id is None:
        return
    try:
        doc = await ctx.services.pals.open_patch(ctx.actor, pal_id, view_id, ctx.response_url)
    except (UserError, api_errors.PalApiError) as exc:
        await ctx.show(error_view(user_text(exc), TITLE), view_id)
        return
    await ctx.show(pal_blocks.patch_modal(metadata, doc), view_id)


async def show_patch_report(ctx: Ctx, report: PatchReport) -> None:
    """In the modal the patch came from, or as a message."""
    if ctx.in_modal:
        shown = (ctx.view or {}).get("title") or {}
        title = str(shown.get("text") or ctx.title)  # the modal keeps its title to the end
        await ctx.show(pal_blocks.patch_report_view(report, ctx.metadata, title))
    else:
        await ctx.reply.send(pal_blocks.patch_report_message(report))
