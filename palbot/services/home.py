"""What App Home shows a person: one read, whatever surface draws it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.services.audit import AuditTrail
from palbot.services.errors import NoKey
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


class HomeQuery:
    def __init__(self, rt: Runtime, audit: AuditTrail) -> None:
        self.rt = rt
        self.audit = audit

    async def load(self, viewer: Actor, is_admin: bool) -> HomeData:
        workspace = await self.rt.db(self.rt.store.workspaces.get, viewer.team_id)
        pals: list[dict[str, Any]] | None = None
        pals_error: str | None = None
        if workspace is not None and workspace.has_key:
            try:
                client = await self.rt.pal_client(
                    viewer.team_id, deadline=HOME_BUDGET, max_retries=0
                )
                pals = [p.raw for p in (await client.list_pals(limit=HOME_PALS)).data]
            except api_errors.PalApiError as exc:
                pals_error = exc.user_message
            except NoKey:
                pals_error = "No key connected."
        db, team = self.rt.db, viewer.team_id
        return HomeData(
            workspace=workspace,
            pals=pals,
            pals_error=pals_error,
            conversations=await db(self.rt.store.conversations.recent, team, 10),
            audit=await self.audit.peek(team, 10) if is_admin else None,
        )
