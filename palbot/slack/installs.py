"""Installs and uninstalls: forgetting tokens, auditing both."""

from __future__ import annotations

import logging
from typing import Any

from palbot.services.runtime import Runtime
from palbot.slack.request import actor_from

log = logging.getLogger("palbot.installs")


async def forget_installation(rt: Runtime, body: dict[str, Any], context: Any, reason: str) -> None:
    actor = actor_from(body, context)
    enterprise_id = body.get("enterprise_id") or context.get("enterprise_id")
    team_id = body.get("team_id") or context.get("team_id")
    is_org = bool(body.get("is_enterprise_install"))
    await rt.store.installations.async_delete_all(
        enterprise_id=enterprise_id, team_id=None if is_org else team_id
    )
    # drop the cached authorization once the rows are gone (a request racing in between
    # re-reads the store and finds nothing)
    rt.forget_team(enterprise_id, None if is_org else team_id)
    rt.store.audit.append(
        "app.uninstall",
        "ok",
        team_id=actor.team_id or None,
        detail={"reason": reason, "enterprise_id": enterprise_id},
    )
    log.info("uninstalled from %s: tokens forgotten", actor.team_id)


async def forget_revoked_tokens(
    rt: Runtime, event: dict[str, Any], body: dict[str, Any], context: Any
) -> None:
    enterprise_id = body.get("enterprise_id") or context.get("enterprise_id")
    team_id = body.get("team_id") or context.get("team_id")
    tokens = event.get("tokens") or {}
    store = rt.store.installations
    for user_id in tokens.get("oauth") or []:
        await store.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )
    if tokens.get("bot"):
        await store.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        rt.forget_team(enterprise_id, team_id)
    rt.store.audit.append(
        "app.uninstall",
        "ok",
        team_id=team_id,
        detail={
            "reason": "tokens_revoked",
            "users": len(tokens.get("oauth") or []),
            "bot": bool(tokens.get("bot")),
        },
    )
