"""The Edit form, written once for `/pal edit <id>` and the Edit button: a loading modal at
once (the trigger expires in 3 s), then the PAL's current values in the Create form's fields."""

from __future__ import annotations

from palbot.pal_api import errors as api_errors
from palbot.services.editing import edit_values
from palbot.services.errors import UserError, user_text
from palbot.slack import ids
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.blocks.common import error_view, loading_view
from palbot.slack.context import Ctx

TITLE = pal_blocks.EDIT_TITLE


async def open_edit_form(ctx: Ctx, pal_id: str) -> None:
    metadata = ctx.form_metadata(pal_id)
    loading = loading_view(TITLE, "Loading the PAL's current values…", ids.EDIT_MODAL, metadata)
    view_id = await ctx.open_view(loading)
    if view_id is None:
        return
    pals = ctx.services.pals
    try:  # kept server-side under the view's id: the submission is compared with it
        doc = await pals.open_patch(ctx.actor, pal_id, view_id, ctx.response_url)
    except (UserError, api_errors.PalApiError) as exc:
        await ctx.show(error_view(user_text(exc), TITLE), view_id)
        return
    values = edit_values(doc)
    faces = await pals.face_names(ctx.actor)
    label = faces.get(values.get(ids.DEFAULT_FACE_ID) or "")
    await ctx.show(pal_blocks.edit_modal(metadata, values, label), view_id)
