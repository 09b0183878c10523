"""Installations: recording an install, forgetting uninstalled or revoked tokens, auditing both."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from palbot.services.audit import AuditTrail
from palbot.services.runtime import Actor, Runtime

log = logging.getLogger("palbot.installs")

# Called once a team's tokens are gone, to drop anything cached about them (enterprise, team).
Forget = Callable[[str | None, str | None], None]


class InstallService:
    def __init__(self, rt: Runtime, audit: AuditTrail) -> None:
        self.rt = rt
        self.audit = audit
        self.on_forget: list[Forget] = []

    @property
    def records(self) -> Any:
        """The installation rows, for the OAuth flow's adapter that reads and writes them."""
        return self.rt.store.installations

    @property
    def states(self) -> Any:
        """The OAuth states (CSRF protection of the install flow)."""
        return self.rt.store.oauth_states

    async def bot_for_team(self, team_id: str) -> dict[str, Any] | None:
        """The bot installation that can post in `team_id` (org-wide installs included)."""
        return await self.rt.db(self._bot_for_team, team_id)

    def find_bot(
        self, enterprise_id: str | None, team_id: str | None, is_org: bool = False
    ) -> dict[str, Any] | None:
        """The bot row's data (its token included), or None."""
        return self.rt.store.installations.find_bot(enterprise_id, team_id, is_org)

    def _bot_for_team(self, team_id: str) -> dict[str, Any] | None:
        workspace = self.rt.store.workspaces.get(team_id)
        enterprise = workspace.enterprise_id if workspace else None
        bot = self.find_bot(enterprise, team_id)
        if bot is None and enterprise:
            bot = self.find_bot(enterprise, None, True)
        return bot

    async def installed(
        self,
        team_id: str | None,
        user_id: str | None,
        enterprise_id: str | None,
        org_wide: bool,
        scopes: Any,
    ) -> None:
        self._forget(enterprise_id, team_id)
        installer = Actor(team_id=team_id or enterprise_id or "", user_id=user_id or "")
        detail = {"enterprise_id": enterprise_id, "org_wide": org_wide, "scopes": scopes}
        await self.audit.record("app.install", "ok", installer, detail=detail)

    async def uninstalled(
        self, enterprise_id: str | None, team_id: str | None, is_org: bool, reason: str
    ) -> None:
        team = None if is_org else team_id
        await self.rt.db(self.rt.store.installations.delete_all, enterprise_id, team)
        # drop the cached authorization once the rows are gone (a request racing in between
        # re-reads the store and finds nothing)
        self._forget(enterprise_id, team)
        detail = {"reason": reason, "enterprise_id": enterprise_id}
        await self.audit.record("app.uninstall", "ok", team_id=team_id or None, detail=detail)
        log.info("uninstalled from %s: tokens forgotten", team_id)

    async def tokens_revoked(
        self, enterprise_id: str | None, team_id: str | None, users: list[str], bot: bool
    ) -> None:
        store, db = self.rt.store.installations, self.rt.db
        for user_id in users:
            await db(store.delete_installation, enterprise_id, team_id, user_id)
        if bot:
            await db(store.delete_bot, enterprise_id, team_id)
            self._forget(enterprise_id, team_id)
        detail = {"reason": "tokens_revoked", "users": len(users), "bot": bot}
        await self.audit.record("app.uninstall", "ok", team_id=team_id, detail=detail)

    def _forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        for forget in self.on_forget:
            forget(enterprise_id, team_id)
