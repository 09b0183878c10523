"""Permission checks as one reusable step, instead of repeated inside every handler."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from palbot.services.audit import record
from palbot.services.runtime import Actor, Runtime
from palbot.slack.blocks.common import error_message
from palbot.slack.request import Reply
from palbot.store.models import AuditAction

ADMIN_ONLY = "Only workspace admins and owners (or users listed in PALBOT_ADMIN_USERS) can {what}."


async def require_admin(
    rt: Runtime,
    client: AsyncWebClient,
    actor: Actor,
    action: AuditAction,
    what: str,
    reply: Reply,
    target: str | None = None,
    accepted_seq: int | None = None,
) -> bool:
    """True for an admin; otherwise audits `denied`, tells the user, and returns False."""
    if await rt.is_admin(client, actor):
        return True
    record(
        rt,
        action,
        "denied",
        actor,
        target=target,
        detail={
            "reason": "not an admin",
            **({"accepted_seq": accepted_seq} if accepted_seq else {}),
        },
    )
    await reply.send(error_message(ADMIN_ONLY.format(what=what)))
    return False
