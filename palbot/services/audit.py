"""Recording what an actor did, in the audit log."""

from __future__ import annotations

from typing import Any

from palbot.services.runtime import Actor, Runtime
from palbot.store.models import AuditAction, AuditEntry, Outcome


def record(
    rt: Runtime,
    action: AuditAction,
    outcome: Outcome,
    actor: Actor,
    *,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    channel_id: str | None = None,
) -> AuditEntry:
    """One audit row for `actor` (team, user and channel come from it unless given)."""
    return rt.store.audit.append(
        action,
        outcome,
        team_id=actor.team_id,
        user_id=actor.user_id,
        channel_id=channel_id or actor.channel_id,
        target=target,
        detail=detail,
    )


def close_accepted(
    rt: Runtime,
    action: AuditAction,
    outcome: Outcome,
    actor: Actor,
    accepted_seq: int,
    *,
    target: str | None = None,
    channel_id: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """The row that gives an `accepted` action its outcome, pointing back at that row."""
    return record(
        rt,
        action,
        outcome,
        actor,
        target=target,
        channel_id=channel_id,
        detail={"accepted_seq": accepted_seq, **detail},
    )
