"""`/pal audit [N]` and `/pal limits` (admins)."""

from __future__ import annotations

from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.checks import Usage
from palbot.slack.context import Ctx


def audit_count(ctx: Ctx) -> int:
    arg = ctx.command.arg if ctx.command else None
    if arg is None:
        return 20
    if not arg.isdigit() or not 1 <= int(arg) <= 100:
        raise Usage("audit", "N is a whole number from 1 to 100.")
    return int(arg)


class AuditCount:
    """A declared check: N is a whole number from 1 to 100."""

    after_ack = False

    async def __call__(self, ctx: Ctx) -> None:
        audit_count(ctx)


async def show_audit(ctx: Ctx) -> None:
    limit = audit_count(ctx)
    entries = await ctx.services.audit.recent(ctx.actor, limit)
    await ctx.reply.send(admin_blocks.audit_message(entries, limit))


async def open_limits_form(ctx: Ctx) -> None:
    limits = await ctx.services.limits.get(ctx.actor.team_id)
    permissions = await ctx.services.permissions.get(ctx.actor.team_id)
    await ctx.open_view(admin_blocks.limits_modal(ctx.form_metadata(), limits, permissions))
