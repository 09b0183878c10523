"""`/pal create`, `/pal list`, `/pal show <id>`, `/pal delete <id>`."""

from __future__ import annotations

from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.checks import Usage
from palbot.slack.context import Ctx


async def open_create_form(ctx: Ctx) -> None:
    assert ctx.command is not None
    template = (ctx.command.arg or "").lower() or None
    if template and template not in pal_blocks.TEMPLATES:
        known = ", ".join(pal_blocks.TEMPLATES)
        raise Usage(
            "create", f"There is no template `{template[:40]}`; the templates are: {known}."
        )
    await ctx.services.keys.require(ctx.actor.team_id)
    await ctx.ack()
    await ctx.open_view(pal_blocks.create_modal(ctx.form_metadata(), template))


async def list_pals(ctx: Ctx) -> None:
    await ctx.working("Looking up this workspace's PALs…")
    service = ctx.services.pals
    pals, total = await service.list_pals(ctx.actor)
    stock = await service.stock_pals(ctx.actor)
    faces = await service.face_names(ctx.actor)
    await ctx.reply.send(pal_blocks.pal_list_message(pals, total, stock, faces))


async def show_pal(ctx: Ctx) -> None:
    await ctx.working(f"Looking up the PAL `{ctx.target}`…")
    doc = await ctx.services.pals.get(ctx.actor, ctx.target or "")
    faces = await ctx.services.pals.face_names(ctx.actor)
    await ctx.reply.send(pal_blocks.pal_show_message(doc, faces))


async def confirm_delete(ctx: Ctx) -> None:
    await ctx.working(f"Looking up the PAL `{ctx.target}`…")
    doc = await ctx.services.pals.get(ctx.actor, ctx.target or "")
    await ctx.services.pals.offer_delete(ctx.actor, ctx.target or "")
    await ctx.reply.send(pal_blocks.delete_confirm_message(doc))
