"""What App Home shows a person: one read, whatever surface draws it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.services.audit import AuditTrail
from palbot.services.conversations import ConversationService, LiveCalls
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
    active: list[ConversationRecord] = field(default_factory=list)  # the account's live calls
    started_today: int = 0
    live_unchecked: str | None = None  # why the PAL API's live list is missing


class HomeQuery:
    def __init__(self, rt: Runtime, audit: AuditTrail, conversations: ConversationService) -> None:
        self.rt = rt
        self.audit = audit
        self.conversations = conversations

    async def load(self, viewer: Actor, is_admin: bool) -> HomeData:
        workspace = await self.rt.db(self.rt.store.workspaces.get, viewer.team_id)
        pals: list[dict[str, Any]] | None = None
        pals_error: str | None = None
        pals_total: int | None = None
        live = LiveCalls([])
        if workspace is not None and workspace.has_key:  # both PAL API reads at once
            (pals, pals_total, pals_error), live = await asyncio.gather(
                self._pals(viewer.team_id), self.conversations.live(viewer.team_id, HOME_BUDGET)
            )
        db, team, convs = self.rt.db, viewer.team_id, self.rt.store.conversations
        return HomeData(
            workspace=workspace,
            pals=pals,
            pals_error=pals_error,
            conversations=await db(convs.recent, team, 10),
            audit=await self.audit.peek(team, 10) if is_admin else None,
            pals_total=pals_total,
            active=live.calls,
            started_today=await db(convs.count_started_since, team, day_start()),
            live_unchecked=live.unchecked,
        )

    async def _pals(
        self, team_id: str
    ) -> tuple[list[dict[str, Any]] | None, int | None, str | None]:
        """The first PALs, how many there are, or why they could not be listed."""
        try:
            client = await self.rt.pal_client(team_id, deadline=HOME_BUDGET, max_retries=0)
            page = await client.list_pals(limit=HOME_PALS)
        except api_errors.PalApiError as exc:
            return None, None, exc.user_message
        except NoKey:
            return None, None, "No key connected."
        return [p.raw for p in page.data], page.total_count, None
