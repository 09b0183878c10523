"""The one way palbot writes audit rows.

An action whose result comes later is `accept`ed before the ack (an `accepted` row) and answered by
exactly one closing row (`ok`, `denied`, `invalid` or `error`) that names the accepted row's seq.
An action decided at once is `record`ed in one row. Nothing else appends to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from palbot.services.runtime import Actor
from palbot.store.models import AuditAction, AuditEntry, Outcome


@dataclass
class Accepted:
    """An `accepted` audit row still waiting for its outcome."""

    trail: AuditTrail
    action: AuditAction
    actor: Actor
    seq: int
    target: str | None = None
    channel_id: str | None = None

    def close(self, outcome: Outcome, *, target: str | None = None, **detail: Any) -> AuditEntry:
        """The row that gives this action its outcome (pointing back at the accepted row)."""
        return self.trail.record(
            self.action,
            outcome,
            self.actor,
            target=target or self.target,
            channel_id=self.channel_id,
            detail={"accepted_seq": self.seq, **detail},
        )


class AuditTrail:
    """Over the store's audit log (the service, the CLI and reconciliation all write here)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def record(
        self,
        action: AuditAction,
        outcome: Outcome,
        actor: Actor | None = None,
        *,
        team_id: str | None = None,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        channel_id: str | None = None,
    ) -> AuditEntry:
        """One row. Team, user and channel come from `actor` unless given; a row for what no
        Slack user did (a callback, an uninstall) names the team only."""
        return self.store.audit.append(
            action,
            outcome,
            team_id=team_id or (actor.team_id if actor else None) or None,
            user_id=(actor.user_id if actor else None) or None,
            channel_id=channel_id or (actor.channel_id if actor else None),
            target=target,
            detail=detail,
        )

    def accept(
        self,
        action: AuditAction,
        actor: Actor,
        *,
        target: str | None = None,
        channel_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Accepted:
        row = self.record(
            action, "accepted", actor, target=target, channel_id=channel_id, detail=detail
        )
        return Accepted(self, action, actor, row.seq, target, channel_id or actor.channel_id)

    def resume(
        self, action: AuditAction, actor: Actor, seq: int, *, target: str | None = None
    ) -> Accepted:
        """The ticket of an `accepted` row written earlier (by another process, or before a
        restart), to close it now."""
        return Accepted(self, action, actor, seq, target, actor.channel_id)

    def recent(self, actor: Actor, limit: int) -> list[AuditEntry]:
        """The workspace's last `limit` rows, and an `audit.read` row saying they were read."""
        entries = self.store.audit.recent(actor.team_id, limit)
        self.record("audit.read", "ok", actor, detail={"rows": len(entries)})
        return entries

    def peek(self, team_id: str, limit: int) -> list[AuditEntry]:
        """The last rows for a display that is not itself a read of the log (App Home)."""
        return self.store.audit.recent(team_id, limit)
