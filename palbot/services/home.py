"""What App Home shows a person: one read, whatever surface draws it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.services.audit import AuditTrail
from palbot.services.errors import NoKey
from palbot.services.limits import day_start
from palbot.services.runtime import Actor, Runtime
from palbot.store.models import AuditEntry, ConversationRecord, Workspace

HOME_PALS = 10
HOME_BUDGET = 3.0


@dataclass
class HomeData:
    workspace: Workspace | None
    pals: list[dict[str, Any]] | None
    pals_error: str | None
    conversations: list[ConversationRecord]
    audit: list[AuditEntry] | None
    pals_total: int | None = None  # how many PALs the account has (more than shown)
    active: list[ConversationRecord] = field(default_factory=list)
    started_today: int = 0


class HomeQuery:
    def __init__(self, rt: Runtime, audit: AuditTrail) -> None:
        self.rt = rt
        self.audit = audit

    async def load(self, viewer: Actor, is_admin: bool) -> HomeData:
        workspace = await self.rt.db(self.rt.store.workspaces.get, viewer.team_id)
        pals: list[dict[str, Any]] | None = None
        pals_error: str | None = None
        pals_total: int | None = None
        if workspace is not None and workspace.has_key:
            try:
                client = await self.rt.pal_client(
                    viewer.team_id, deadline=HOME_BUDGET, max_retries=0
                )
                page = await client.list_pals(limit=HOME_PALS)
                pals, pals_total = [p.raw for p in page.data], page.total_count
            except api_errors.PalApiError as exc:
                pals_error = exc.user_message
            except NoKey:
                pals_error = "No key connected."
        db, team, convs = self.rt.db, viewer.team_id, self.rt.store.conversations
        return HomeData(
            workspace=workspace,
            pals=pals,
            pals_error=pals_error,
            conversations=await db(convs.recent, team, 10),
            audit=await self.audit.peek(team, 10) if is_admin else None,
            pals_total=pals_total,
            active=[r for r in await db(convs.list_active, team) if not r.test_mode],
            started_today=await db(convs.count_started_since, team, day_start()),
        )
