"""The Edit and Patch buttons (`pal_edit_button`, `pal_patch_button`) and the confirmed Delete
(`pal_delete_confirm`)."""

from __future__ import annotations

from palbot.slack.blocks.common import ok_message
from palbot.slack.context import Ctx
from palbot.slack.flows.edit import open_edit_form
from palbot.slack.flows.patch import open_patch_form
from palbot.slack.text import escape


async def edit_button(ctx: Ctx) -> None:
    await ctx.ack()
    await open_edit_form(ctx, ctx.value)


async def patch_button(ctx: Ctx) -> None:
    await ctx.ack()
    await open_patch_form(ctx, ctx.value)


async def delete_confirmed(ctx: Ctx) -> None:
    assert ctx.accepted is not None  # audited `accepted` before the ack (declared check)
    ctx.failure_prefix = "The PAL was not deleted."
    name = await ctx.services.pals.delete(ctx.accepted, ctx.value)
    said = f"*{escape(name)}* (`{escape(ctx.value)}`)" if name != ctx.value else f"`{escape(name)}`"
    done = ok_message(f"Deleted the PAL {said}.")
    await ctx.reply.send(done, replace_original=True)
