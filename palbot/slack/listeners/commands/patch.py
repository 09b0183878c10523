"""`/pal patch <id>` (the Patch form), `/pal patch <id> <json-patch>` (inline), `/pal edit <id>`."""

from __future__ import annotations

from palbot.services import pals as pal_service
from palbot.slack.context import Ctx
from palbot.slack.flows.edit import open_edit_form
from palbot.slack.flows.patch import open_patch_form, show_patch_report


async def patch(ctx: Ctx) -> None:
    assert ctx.command is not None and ctx.command.arg is not None
    pal_id, text = ctx.command.arg, ctx.command.rest
    if not text:
        await ctx.ack()
        await open_patch_form(ctx, pal_id)
        return
    ops = pal_service.parse_patch_text(text, field="patch")  # a syntax error goes in the ack
    pals = ctx.services.pals
    ticket = await pals.accept_patch(ctx.actor, pal_id, ops)
    await ctx.working(f"Changing the PAL `{pal_id}`…")
    report = await pals.patch_current(
        ticket, pal_id, ops, is_admin=ctx.is_admin, response_url=ctx.response_url
    )
    await show_patch_report(ctx, report)


async def edit(ctx: Ctx) -> None:
    """`/pal edit <pal_id>`: the Edit form."""
    await ctx.ack()
    await open_edit_form(ctx, ctx.target or "")
