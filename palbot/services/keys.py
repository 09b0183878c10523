"""Connecting, checking and removing a workspace's PAL API key."""

from __future__ import annotations

from palbot.pal_api import errors as api_errors
from palbot.services import fields
from palbot.services.audit import Accepted, AuditTrail
from palbot.services.errors import Invalid, NoKey
from palbot.services.runtime import Actor, Runtime
from palbot.store.models import Workspace


def check_key_format(api_key: str) -> str:
    key = (api_key or "").strip()
    if len(key) < 8 or len(key) > 200 or any(c.isspace() for c in key):
        raise Invalid(
            "That does not look like a PAL API key (one word, 8 to 200 characters).",
            field=fields.API_KEY,
        )
    return key


class KeyService:
    def __init__(self, rt: Runtime, audit: AuditTrail) -> None:
        self.rt = rt
        self.audit = audit

    async def status(self, team_id: str) -> Workspace | None:
        return await self.rt.db(self.rt.store.workspaces.get, team_id)

    async def require(self, team_id: str) -> None:
        """Raise NoKey unless the workspace has a key connected."""
        workspace = await self.status(team_id)
        if workspace is None or not workspace.has_key:
            raise NoKey()

    async def check_format(self, actor: Actor, api_key: str) -> str:
        try:
            return check_key_format(api_key)
        except Invalid:
            await self.audit.record("key.set", "invalid", actor, detail={"reason": "format"})
            raise

    async def verify(self, api_key: str, budget: float) -> None:
        """Try the key live (one cheap GET). Raises Invalid for a refused key, PalApiError else."""
        client = self.rt.pal_client_for_key(api_key, deadline=budget, max_retries=0)
        try:
            await client.list_pals(limit=1)
        except api_errors.Unauthorized:
            raise Invalid(
                "The PAL API refused this key (invalid or revoked). Copy it again from "
                "the PAL Maker → API Key.",
                field=fields.API_KEY,
            ) from None

    async def refuse(self, actor: Actor, exc: Exception, ticket: Accepted | None = None) -> None:
        await self.rt.db(self._refuse, actor, exc, ticket)

    def _refuse(self, actor: Actor, exc: Exception, ticket: Accepted | None) -> None:
        """Audit a key that failed its check: `invalid` if refused upstream, else `error`."""
        if isinstance(exc, Invalid):
            outcome, detail = "invalid", {"reason": "refused upstream"}
        else:
            outcome, detail = "error", {"error": type(exc).__name__}
        if ticket is not None:
            ticket.close_now(outcome)  # type: ignore[arg-type]
        else:
            self.audit.record_now("key.set", outcome, actor, detail=detail)  # type: ignore[arg-type]

    async def accept(self, actor: Actor) -> Accepted:
        return await self.audit.accept("key.set", actor)

    async def save(self, actor: Actor, api_key: str, ticket: Accepted | None = None) -> Workspace:
        return await self.rt.db(self._save, actor, api_key, ticket)

    def _save(self, actor: Actor, api_key: str, ticket: Accepted | None) -> Workspace:
        workspace = self.rt.store.workspaces.set_pal_key(
            actor.team_id, api_key, set_by=actor.user_id, enterprise_id=actor.enterprise_id
        )
        if ticket is not None:
            ticket.close_now("ok", last4=workspace.key_last4)
        else:
            self.audit.record_now("key.set", "ok", actor, detail={"last4": workspace.key_last4})
        return workspace

    async def remove(self, actor: Actor) -> bool:
        return await self.rt.db(self._remove, actor)

    def _remove(self, actor: Actor) -> bool:
        removed = self.rt.store.workspaces.remove_pal_key(actor.team_id)
        detail = {} if removed else {"reason": "no key was connected"}
        self.audit.record_now("key.remove", "ok" if removed else "invalid", actor, detail=detail)
        return removed


REMOVAL_SECONDS = 600.0


def _removal_key(actor: Actor) -> str:
    return f"key-remove:{actor.team_id}:{actor.user_id}"


class KeyRemoval:
    """Removing the key with care: a confirmation of the admin's own (stored, single use, ten
    minutes) that names the live conversations, which palbot cannot end once the key is gone."""

    def __init__(self, rt: Runtime, keys: KeyService) -> None:
        self.rt = rt
        self.keys = keys

    async def offer(self, actor: Actor) -> None:
        put = self.rt.store.sessions.put
        await self.rt.db(put, _removal_key(actor), {"team_id": actor.team_id}, REMOVAL_SECONDS)

    async def take(self, actor: Actor) -> bool:
        taken = await self.rt.db(self.rt.store.sessions.pop, _removal_key(actor))
        return taken is not None and taken.get("team_id") == actor.team_id
