"""The one way palbot writes audit rows.

An action whose result comes later is `accept`ed before the ack (an `accepted` row) and answered by
exactly one closing row (`ok`, `denied`, `invalid` or `error`) that names the accepted row's seq.
An action decided at once is `record`ed in one row. Nothing else appends to the audit log.

The async methods run on the store's threads (never on the event loop); the `_now` ones write at
once, for code already on a store thread (inside a transaction) or with no loop (the CLI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from palbot.services.runtime import Actor
from palbot.store.models import AuditAction, AuditEntry, NewEntry, Outcome

T = TypeVar("T")
Run = Callable[..., Awaitable[Any]]


@dataclass
class Accepted:
    """An `accepted` audit row still waiting for its outcome."""

    trail: AuditTrail
    action: AuditAction
    actor: Actor
    seq: int
    target: str | None = None
    channel_id: str | None = None

    async def close(
        self, outcome: Outcome, *, target: str | None = None, **detail: Any
    ) -> AuditEntry:
        """The row that gives this action its outcome (pointing back at the accepted row)."""
        return await self.trail.run(self.close_now, outcome, target=target, **detail)

    def close_now(
        self, outcome: Outcome, *, target: str | None = None, **detail: Any
    ) -> AuditEntry:
        return self.trail.record_now(
            self.action,
            outcome,
            self.actor,
            target=target or self.target,
            channel_id=self.channel_id,
            detail={"accepted_seq": self.seq, **detail},
        )


@dataclass(frozen=True)
class Ask:
    """An action to write down as `accepted` (see `AuditTrail.accept_many_now`)."""

    action: AuditAction
    actor: Actor
    target: str | None = None
    channel_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class AuditTrail:
    """Over the store's audit log (the service, the CLI and reconciliation all write here)."""

    def __init__(self, store: Any, run: Run | None = None) -> None:
        self.store = store
        self.run: Run = run or _direct

    async def record(
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
        """As `record_now`, on a store thread."""
        return await self.run(
            self.record_now,
            action,
            outcome,
            actor,
            team_id=team_id,
            target=target,
            detail=detail,
            channel_id=channel_id,
        )

    def record_now(
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

    async def accept(
        self,
        action: AuditAction,
        actor: Actor,
        *,
        target: str | None = None,
        channel_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Accepted:
        """As `accept_now`, on a store thread."""
        return await self.run(
            self.accept_now, action, actor, target=target, channel_id=channel_id, detail=detail
        )

    def accept_now(
        self,
        action: AuditAction,
        actor: Actor,
        *,
        target: str | None = None,
        channel_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Accepted:
        row = self.record_now(
            action, "accepted", actor, target=target, channel_id=channel_id, detail=detail
        )
        return Accepted(self, action, actor, row.seq, target, channel_id or actor.channel_id)

    def accept_many_now(self, asks: list[Ask]) -> list[Accepted]:
        """`accepted` rows for several actions at once, in order (one append on the store)."""
        rows = self.store.audit.append_many(
            [
                NewEntry(
                    ask.action,
                    "accepted",
                    team_id=ask.actor.team_id or None,
                    user_id=ask.actor.user_id or None,
                    channel_id=ask.channel_id or ask.actor.channel_id,
                    target=ask.target,
                    detail=ask.detail,
                )
                for ask in asks
            ]
        )
        return [
            Accepted(
                self,
                ask.action,
                ask.actor,
                row.seq,
                ask.target,
                ask.channel_id or ask.actor.channel_id,
            )
            for ask, row in zip(asks, rows, strict=True)
        ]

    def resume(
        self, action: AuditAction, actor: Actor, seq: int, *, target: str | None = None
    ) -> Accepted:
        """The ticket of an `accepted` row written earlier (by another process, or before a
        restart), to close it now."""
        return Accepted(self, action, actor, seq, target, actor.channel_id)

    async def recent(self, actor: Actor, limit: int) -> list[AuditEntry]:
        """The workspace's last `limit` rows, and an `audit.read` row saying they were read."""
        return await self.run(self._recent, actor, limit)

    def _recent(self, actor: Actor, limit: int) -> list[AuditEntry]:
        entries: list[AuditEntry] = self.store.audit.recent(actor.team_id, limit)
        self.record_now("audit.read", "ok", actor, detail={"rows": len(entries)})
        return entries

    async def peek(self, team_id: str, limit: int) -> list[AuditEntry]:
        """The last rows for a display that is not itself a read of the log (App Home)."""
        return await self.run(self.store.audit.recent, team_id, limit)


async def _direct(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return fn(*args, **kwargs)
