"""`app_uninstalled` and `tokens_revoked`: forget what they name."""

from __future__ import annotations

from typing import Any

from palbot.slack.context import Ctx


def _where(ctx: Ctx) -> tuple[Any, Any]:
    enterprise = ctx.body.get("enterprise_id") or ctx.actor.enterprise_id
    return enterprise, ctx.body.get("team_id") or ctx.actor.team_id


async def uninstalled(ctx: Ctx) -> None:
    enterprise, team = _where(ctx)
    is_org = bool(ctx.body.get("is_enterprise_install"))
    await ctx.services.installs.uninstalled(enterprise, team, is_org, "app_uninstalled")


async def tokens_revoked(ctx: Ctx) -> None:
    enterprise, team = _where(ctx)
    tokens = (ctx.body.get("event") or {}).get("tokens") or {}
    users = list(tokens.get("oauth") or [])
    await ctx.services.installs.tokens_revoked(enterprise, team, users, bool(tokens.get("bot")))
