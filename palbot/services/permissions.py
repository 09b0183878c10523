"""Who may create, edit (patch) and delete a workspace's PALs, and who may point a PAL's speech
at another model or voice server.

Admins choose per workspace (`Permissions`): create — everyone or admins; edit and delete —
everyone, the PAL's creator and admins (the default), or admins only. A PAL made outside palbot
has no creator here, so under `creator_and_admins` only admins change it. Whatever the setting,
a change to the endpoints or credentials of `layers.llm` / `layers.tts` is admin-only: they decide
where every later conversation's words and voice are sent. Every refusal is audited `denied` and
says who may do it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from palbot.services.audit import Accepted, AuditTrail
from palbot.services.errors import Denied, Invalid
from palbot.services.ports import AdminCheck
from palbot.services.runtime import Actor, Runtime
from palbot.store.models import AuditAction, Permissions

Verb = Literal["create", "edit", "delete"]
ACTIONS: dict[Verb, AuditAction] = {
    "create": "pal.create",
    "edit": "pal.patch",
    "delete": "pal.delete",
}
LEVELS = ("everyone", "creator_and_admins", "admins")
LEVEL_WORDS = {
    "everyone": "everyone in the workspace",
    "creator_and_admins": "the PAL's creator and workspace admins",
    "admins": "workspace admins only",
}
# members of layers.llm / layers.tts that say where requests go or what they carry
ENDPOINT_MEMBERS = re.compile(
    r"^(base_url|url|endpoint|api_base|host|api[_-]?key|.*token|.*secret|headers|extra_body|"
    r"credentials?|authorization|password|private[_-]?key)$",
    re.IGNORECASE,
)
GUARDED_LAYERS = ("llm", "tts")
ASK_ADMIN = "A workspace admin can change who may in `/pal limits`."


def guarded_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The endpoint and credential fields of layers.llm / layers.tts that differ between two
    documents (as `layers.llm.base_url`…); never their values."""
    changed: list[str] = []
    for layer in GUARDED_LAYERS:
        old = _layer(before, layer)
        new = _layer(after, layer)
        for key in sorted(set(old) | set(new)):
            if ENDPOINT_MEMBERS.match(key) and _canon(old.get(key)) != _canon(new.get(key)):
                changed.append(f"layers.{layer}.{key}")
    return changed


def _layer(doc: dict[str, Any], name: str) -> dict[str, Any]:
    layers = doc.get("layers") if isinstance(doc, dict) else None
    layer = layers.get(name) if isinstance(layers, dict) else None
    return layer if isinstance(layer, dict) else {}


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def parse_permissions(values: dict[str, str | None], current: Permissions) -> Permissions:
    """Permissions from the Limits form's selects (a field left out keeps its value)."""
    data = current.model_dump()
    for verb in ("create", "edit", "delete"):
        raw = values.get(f"permission_{verb}")
        if raw is None:
            continue
        allowed = ("everyone", "admins") if verb == "create" else LEVELS
        if raw not in allowed:
            raise Invalid("Choose one of the listed options.", field=f"permission_{verb}")
        data[verb] = raw
    return Permissions(**data)


class PermissionService:
    def __init__(self, rt: Runtime, audit: AuditTrail) -> None:
        self.rt = rt
        self.audit = audit

    async def get(self, team_id: str) -> Permissions:
        workspace = await self.rt.db(self.rt.store.workspaces.get, team_id)
        return workspace.permissions if workspace else Permissions()

    async def set(self, actor: Actor, permissions: Permissions) -> bool:
        """Save (admins only: the caller checks); audited `permissions.set` when it changed."""
        before = await self.get(actor.team_id)
        if before == permissions:
            return False
        store = self.rt.store.workspaces
        await self.rt.db(store.set_permissions, actor.team_id, permissions, set_by=actor.user_id)
        detail = {"before": before.model_dump(), "after": permissions.model_dump()}
        await self.audit.record("permissions.set", "ok", actor, detail=detail)
        return True

    async def creator(self, team_id: str, pal_id: str) -> str | None:
        return await self.rt.db(self.rt.store.workspaces.creator_of, team_id, pal_id)

    async def created(self, actor: Actor, pal_id: str) -> None:
        """Remember who created a PAL through palbot (for `creator_and_admins`)."""
        await self.rt.db(
            self.rt.store.workspaces.record_creator, actor.team_id, pal_id, actor.user_id
        )

    async def require(
        self,
        actor: Actor,
        verb: Verb,
        is_admin: AdminCheck,
        *,
        pal_id: str | None = None,
        guarded: list[str] | None = None,
        field: str | None = None,
        ticket: Accepted | None = None,
    ) -> None:
        """Raise Denied (audited) unless `actor` may `verb` this PAL; `guarded` lists the
        endpoint/credential fields the change touches (admins only, whatever the setting)."""
        policy = await self.get(actor.team_id)
        level = getattr(policy, verb)
        refusal: str | None = None
        creator: str | None = None
        if guarded and not await is_admin():
            refusal = (
                f"Only workspace admins can change where a PAL's speech goes "
                f"({', '.join(guarded[:3])}): ask an admin to make this change."
            )
        if refusal is None and level != "everyone":
            creator = await self.creator(actor.team_id, pal_id) if pal_id else None
            mine = level == "creator_and_admins" and creator == actor.user_id
            if not mine and not await is_admin():
                refusal = self._refusal(verb, level, creator)
        if refusal is None:
            return
        detail: dict[str, Any] = {"reason": "permission", "policy": level}
        if guarded:
            detail["guarded"] = guarded
        if ticket is not None:  # the accepted action's own outcome
            await ticket.close("denied", **detail)
        else:
            await self.audit.record(ACTIONS[verb], "denied", actor, target=pal_id, detail=detail)
        denied = Denied(refusal, field=field)
        denied.who = creator
        raise denied

    @staticmethod
    def _refusal(verb: Verb, level: str, creator: str | None) -> str:
        doing = {"create": "create PALs", "edit": "change this PAL", "delete": "delete this PAL"}
        if level == "admins" or verb == "create":
            return f"In this workspace only workspace admins can {doing[verb]}. {ASK_ADMIN}"
        who = "its creator" if creator else "workspace admins (it was not created in Slack)"
        if creator:
            who += " and workspace admins"
        return f"In this workspace only {who} can {doing[verb]}. {ASK_ADMIN}"
