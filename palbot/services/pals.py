"""Creating, reading, patching and deleting PALs."""

from __future__ import annotations

import copy
import json
import re
import secrets
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonpatch

from palbot.pal_api import PalApiClient
from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import PalCreate, parse_patch, unfamiliar_values
from palbot.services import fields as ids
from palbot.services.audit import Accepted, AuditTrail
from palbot.services.cache import TTLCache
from palbot.services.editing import edit_ops
from palbot.services.errors import Duplicate, Invalid, NoKey, UserError, invalid_fields
from palbot.services.form_json import advanced_field_errors, loads_field, object_field
from palbot.services.layer_secrets import hide_in_ops
from palbot.services.patching import changes_between, check_patch, fit_patch
from palbot.services.permissions import PermissionService, guarded_changes
from palbot.services.ports import AdminCheck
from palbot.services.runtime import Actor, PatchSession, Runtime
from palbot.store.models import AuditAction

FORM_FIELD_PATHS = {
    ids.PERCEPTION_MODEL: ("perception", "perception_model"),
    ids.TURN_DETECTION_MODEL: ("conversational_flow", "turn_detection_model"),
    ids.TURN_TAKING_PATIENCE: ("conversational_flow", "turn_taking_patience"),
    ids.PAL_INTERRUPTIBILITY: ("conversational_flow", "pal_interruptibility"),
}
TOP_LEVEL_FORM_FIELDS = {
    ids.PAL_NAME,
    ids.SYSTEM_PROMPT,
    ids.CONTEXT,
    ids.DEFAULT_FACE_ID,
    ids.PIPELINE_MODE,
    "layers",
}


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _form_errors(form: dict[str, str | None]) -> dict[str, str]:
    """Every field of the Create form at fault, by block_id (shown together, at once)."""
    errors: dict[str, str] = {}
    if not (form.get(ids.PAL_NAME) or "").strip():
        errors[ids.PAL_NAME] = "Give the PAL a name."
    pipeline = (form.get(ids.PIPELINE_MODE) or "full").strip()
    if pipeline != "echo" and not (form.get(ids.SYSTEM_PROMPT) or "").strip():
        errors[ids.SYSTEM_PROMPT] = "A system prompt is required unless the pipeline mode is echo."
    if not (form.get(ids.DEFAULT_FACE_ID) or "").strip():
        errors[ids.DEFAULT_FACE_ID] = "Choose a face, or type a face id."
    errors.update(
        advanced_field_errors(
            form,
            TOP_LEVEL_FORM_FIELDS,
            lambda clash: f"Set {', '.join(clash)} with the form's own fields, not here.",
        )
    )
    return errors


def build_create_body(form: dict[str, str | None]) -> PalCreate:
    """The create-PAL body from the modal's fields; Invalid names every block_id at fault."""
    errors = _form_errors(form)
    if errors:
        raise invalid_fields(errors)
    layers_extra = object_field(form.get(ids.LAYERS_JSON), ids.LAYERS_JSON)
    extra = object_field(form.get(ids.EXTRA_JSON), ids.EXTRA_JSON)
    name = (form.get(ids.PAL_NAME) or "").strip()
    face = (form.get(ids.DEFAULT_FACE_ID) or "").strip()
    form_layers: dict[str, Any] = {}
    for block_id, (layer, key) in FORM_FIELD_PATHS.items():
        if form.get(block_id):
            form_layers.setdefault(layer, {})[key] = form[block_id]
    body: dict[str, Any] = dict(extra)
    body.update(pal_name=name, default_face_id=face)
    for block_id in (ids.SYSTEM_PROMPT, ids.CONTEXT, ids.PIPELINE_MODE):
        value = (form.get(block_id) or "").strip()
        if value:
            body[block_id] = value
    body["layers"] = deep_merge(layers_extra, form_layers)
    if body.get("pipeline_mode", "full") != "echo" and not body.get("system_prompt"):
        raise Invalid(
            "A system prompt is required unless the pipeline mode is echo.", field=ids.SYSTEM_PROMPT
        )
    try:
        return PalCreate.model_validate(body)
    except Exception as exc:  # pydantic's ValidationError: map the field to its block
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if path in form or path in FORM_FIELD_PATHS:
            raise Invalid(msg, field=path) from None
        if path.startswith("layers."):
            raise Invalid(f"{path[len('layers.') :]}: {msg}", field=ids.LAYERS_JSON) from None
        raise Invalid(f"{path}: {msg}", field=ids.EXTRA_JSON) from None


_SHORTHAND = re.compile(r"^\s*[A-Za-z_][\w.\-]*\s*=")


def shorthand_patch(text: str) -> list[dict[str, Any]] | None:
    """`pal_name=Bob layers.llm.model=m2` as JSON Patch `add` operations (add sets a member,
    replacing it if present); values are JSON where they parse (numbers, true, quoted text),
    else text. None when the text is not in that form."""
    if not _SHORTHAND.match(text):
        return None
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    ops: list[dict[str, Any]] = []
    for word in words:
        name, sep, raw = word.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][\w.\-]*", name):
            return None
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        path = "/" + "/".join(part.replace("~", "~0") for part in name.split("."))
        ops.append({"op": "add", "path": path, "value": value})
    return ops


def parse_patch_text(text: str, field: str = ids.PATCH_JSON) -> list[dict[str, Any]]:
    if not text or not text.strip():
        raise Invalid("Enter a JSON Patch array.", field=field)
    short = shorthand_patch(text)
    if short is not None:
        return parse_patch(short)
    try:
        value = loads_field(text, field)
    except Invalid as exc:
        raise Invalid(
            f"{exc.message} A patch is a JSON array such as "
            '`[{"op":"replace","path":"/pal_name","value":"Bob"}]`, or `name=value` pairs '
            "such as `pal_name=Bob` or `layers.stt.hotwords=leadership`.",
            field=field,
        ) from None
    if isinstance(value, dict):
        value = [value]  # one operation given bare: accept it as a one-item patch
    try:
        return parse_patch(value)
    except api_errors.InvalidRequest as exc:
        raise Invalid(_patch_problem(value, exc), field=field) from None


def _patch_problem(value: Any, exc: api_errors.InvalidRequest) -> str:
    """A malformed operation, in words: which one, and what a right one looks like."""
    match = re.match(r"patch\[(\d+)\]\.?(\w*)", exc.field or "")
    if match is None:
        return f"{exc.detail[:1].upper()}{exc.detail[1:]}."
    index, part = int(match.group(1)), match.group(2)
    who = f"Operation {index + 1}" if len(value) > 1 else "The operation"
    op = value[index] if isinstance(value[index], dict) else {}
    if part == "op":
        given = str(op.get("op", ""))[:40]
        what = f"`{given}` is not" if given else "it has no `op`: it needs"
        return (
            f"{who}: {what} a JSON Patch operation (use add, remove, replace, move, copy or test)."
        )
    if part in ("path", "from_", "from"):
        return f"{who}: its {part.rstrip('_')} must be a path such as `/layers/stt/hotwords`."
    return f"{who}: {exc.detail}."


def unfamiliar_notes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """A note for each value a change brought that palbot does not know (the API took it)."""
    known_before = set(unfamiliar_values(before))
    return [
        f"Note: palbot does not know {value!r} for {field}; the PAL API accepted it."
        for field, value in unfamiliar_values(after)
        if (field, value) not in known_before
    ]


def no_such_pal(pal_id: str) -> str:
    return f"Not found: no PAL `{pal_id}` in this workspace's PAL account. `/pal list` shows them."


CONFIRMATION_SECONDS = 600.0


def claim_once(rt: Runtime, actor: Actor, key: str | None) -> None:
    """One user action, one effect: the first claim of `key` passes, a repeat (a retried
    request, a replayed click) raises Duplicate. On a store thread."""
    if key and not rt.store.idempotency.claim(key, team_id=actor.team_id):
        raise Duplicate("That request was already handled.")


def _delete_key(actor: Actor, pal_id: str) -> str:
    return f"delete:{actor.team_id}:{actor.user_id}:{pal_id}"


def pal_name_of(doc: dict[str, Any]) -> str:
    return str(doc.get("pal_name") or doc.get("persona_name") or "Unnamed PAL")


@dataclass
class PatchReport:
    """How a patch ended, for any surface to show: patched (with the changes), unchanged, or
    refused because of unpublished editor changes (`force_token` asks to overwrite them)."""

    kind: Literal["patched", "unchanged", "conflict"]
    pal_id: str
    name: str
    changes: list[dict[str, Any]]
    discarded: bool = False
    after: dict[str, Any] | None = None
    force_token: str | None = None
    words: list[str] = field(default_factory=list)  # what changed, in words


class PalService:
    """Every action on PALs: list, show, create, patch (with its form session), delete."""

    def __init__(self, rt: Runtime, audit: AuditTrail, permissions: PermissionService) -> None:
        self.rt = rt
        self.audit = audit
        self.permissions = permissions
        self._faces: TTLCache[list[tuple[str, str]]] = TTLCache(ttl=300, max_items=1000)

    # ---- reads -----------------------------------------------------------------------

    async def list_pals(
        self, actor: Actor, limit: int = 15
    ) -> tuple[list[dict[str, Any]], int | None]:
        page = await (await self.rt.pal_client(actor.team_id)).list_pals(limit=limit)
        for pal in page.data:
            self.rt.remember_pal(actor.team_id, pal.pal_id, pal.pal_name or pal.pal_id)
        return [p.raw for p in page.data], page.total_count

    async def stock_pals(self, actor: Actor, limit: int = 8) -> list[dict[str, Any]]:
        """The account's stock PALs (`pal_type=system`); none when they cannot be listed."""
        try:
            client = await self.rt.pal_client(actor.team_id, max_retries=1)
            page = await client.list_pals(limit=limit, pal_type="system")
        except api_errors.PalApiError:
            return []
        for pal in page.data:
            self.rt.remember_pal(actor.team_id, pal.pal_id, pal.pal_name or pal.pal_id)
        return [p.raw for p in page.data]

    async def face_names(self, actor: Actor, budget: float = 2.0) -> dict[str, str]:
        """Face names by id, to show a face by name wherever its id appears (best effort)."""
        try:
            return {face_id: name for face_id, name in await self._face_list(actor, budget)}
        except (NoKey, api_errors.PalApiError):
            return {}

    async def get(
        self, actor: Actor, pal_id: str, *, deadline: float | None = None
    ) -> dict[str, Any]:
        retries = 0 if deadline is not None else None
        client = await self.rt.pal_client(actor.team_id, deadline=deadline, max_retries=retries)
        try:
            pal = await client.get_pal(pal_id)
        except api_errors.NotFound:
            raise Invalid(no_such_pal(pal_id)) from None
        self.rt.remember_pal(actor.team_id, pal_id, pal_name_of(pal.raw))
        return pal.raw

    async def choices(self, actor: Actor, budget: float) -> list[tuple[str, str]]:
        """(pal_id, label) for a picker, within `budget` seconds."""
        client = await self.rt.pal_client(actor.team_id, deadline=budget, max_retries=0)
        page = await client.list_pals(limit=100)
        return [(p.pal_id, f"{p.pal_name or p.pal_id} ({p.pal_id})") for p in page.data]

    async def faces(self, actor: Actor, budget: float) -> list[tuple[str, str]]:
        """(face_id, label) for a picker, within `budget` seconds (kept for 5 minutes)."""
        return [
            (face_id, f"{name} ({face_id})")
            for face_id, name in await self._face_list(actor, budget)
        ]

    async def _face_list(self, actor: Actor, budget: float) -> list[tuple[str, str]]:
        """(face_id, name) of the account's faces, stock and own (kept for 5 minutes)."""
        cached = self._faces.get(actor.team_id)
        if cached is not None:
            return cached
        client = await self.rt.pal_client(actor.team_id, deadline=budget, max_retries=0)
        page = await client.list_faces(limit=100)
        faces = [(f.face_id, f.face_name or f.face_id) for f in page.data]
        self._faces.set(actor.team_id, faces)
        return faces

    async def claim(self, actor: Actor, key: str | None) -> None:
        """For an entry point that must act once per request (see `claim_once`)."""
        if key:
            await self.rt.db(claim_once, self.rt, actor, key)

    async def has_key(self, team_id: str) -> bool:
        workspace = await self.rt.db(self.rt.store.workspaces.get, team_id)
        return workspace is not None and workspace.has_key

    def _accept_now(
        self,
        action: AuditAction,
        actor: Actor,
        dedupe_key: str | None,
        *,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Accepted:
        """On a store thread, in one go: NoKey before anything is claimed or audited, then
        Duplicate for a repeated request, else the `accepted` row."""
        workspace = self.rt.store.workspaces.get(actor.team_id)
        if workspace is None or not workspace.has_key:
            raise NoKey()
        with self.rt.store.transaction():
            claim_once(self.rt, actor, dedupe_key)
            return self.audit.accept_now(action, actor, target=target, detail=detail)

    # ---- create ----------------------------------------------------------------------

    async def accept_create(
        self,
        actor: Actor,
        body: PalCreate,
        dedupe_key: str | None = None,
        *,
        is_admin: AdminCheck,
    ) -> Accepted:
        """Before the ack: Denied (who may create, and layer endpoints are admins'), NoKey,
        or Duplicate for a repeated submission, else `accepted`."""
        guarded = guarded_changes({}, body.model_dump(exclude_none=True))
        await self.permissions.require(
            actor, "create", is_admin, guarded=guarded, field=ids.PAL_NAME
        )
        detail = {"pal_name": body.pal_name}
        return await self.rt.db(self._accept_now, "pal.create", actor, dedupe_key, detail=detail)

    async def refuse_create(self, actor: Actor, exc: Invalid) -> None:
        detail: dict[str, Any] = {"field": exc.field, "reason": exc.message}
        if exc.errors and len(exc.errors) > 1:
            detail["fields"] = sorted(exc.errors)
        await self.audit.record("pal.create", "invalid", actor, detail=detail)

    async def create(self, actor: Actor, body: PalCreate, ticket: Accepted) -> dict[str, Any]:
        client = await self._client(ticket)
        try:
            pal = await client.create_pal(body)
        except api_errors.PalApiError as exc:
            await ticket.close("error", error=type(exc).__name__, status=exc.status)
            if isinstance(exc, api_errors.NotFound):  # upstream's 400 "Invalid default_face_id"
                raise Invalid(
                    f"No face `{body.default_face_id}` in this PAL account (the PAL API says: "
                    f"{exc.detail or 'not found'}). Type part of a face's name in the face "
                    "picker to choose one.",
                    field=ids.DEFAULT_FACE_ID,
                ) from None
            raise
        await ticket.close("ok", target=pal.pal_id, pal_name=pal.pal_name)
        await self.permissions.created(actor, pal.pal_id)
        self.rt.remember_pal(actor.team_id, pal.pal_id, pal.pal_name)
        return pal.raw or pal.model_dump()

    async def _client(self, ticket: Accepted) -> PalApiClient:
        """The workspace's PAL API client; a key removed meanwhile closes the accepted row."""
        try:
            return await self.rt.pal_client(ticket.actor.team_id)
        except NoKey:
            await ticket.close("error", error="NoKey")
            raise

    # ---- patch -----------------------------------------------------------------------

    async def open_patch(
        self, actor: Actor, pal_id: str, form_id: str, response_url: str | None
    ) -> dict[str, Any]:
        """Load the PAL for a Patch form and keep it server-side under the form's id, so the
        submission is checked without a second request."""
        doc = await self.get(actor, pal_id)
        session = PatchSession(
            pal_id=pal_id, doc=doc, response_url=response_url, channel_id=actor.channel_id
        )
        await self.rt.patch_sessions.set(form_id, session)
        return doc

    async def patch_session(
        self, actor: Actor, pal_id: str, form_id: str, response_url: str | None, budget: float
    ) -> PatchSession:
        """The document the form was opened on; fetched within `budget` if palbot restarted."""
        session = await self.rt.patch_sessions.get(form_id)
        if session is not None:
            return session
        try:
            doc = await self.get(actor, pal_id, deadline=budget)
        except (NoKey, api_errors.PalApiError) as exc:
            text = exc.message if isinstance(exc, NoKey) else str(exc)
            raise Invalid(
                f"Could not load the PAL to check the patch: {text}", field=ids.PATCH_JSON
            ) from None
        return PatchSession(pal_id=pal_id, doc=doc, response_url=response_url)

    async def check_patch(
        self, actor: Actor, pal_id: str, doc: dict[str, Any], ops: list[dict[str, Any]], field: str
    ) -> list[dict[str, Any]]:
        """The local pre-check, on the operations that will be sent (`fit_patch`); a misfit is
        audited `invalid` and raised as a field error. Returns the operations to send."""
        fitted = fit_patch(doc, ops)
        try:
            check_patch(doc, fitted, field=field)
        except Invalid as exc:
            await self.refuse_patch(actor, pal_id, exc)
            raise
        return fitted

    async def edit_ops(
        self, actor: Actor, pal_id: str, doc: dict[str, Any], form: dict[str, str | None]
    ) -> list[dict[str, Any]]:
        """The Edit form's changes as the operations to send (empty: nothing changed); a
        field error is audited `invalid` and raised."""
        try:
            ops = edit_ops(doc, form)
        except Invalid as exc:
            await self.refuse_patch(actor, pal_id, exc)
            raise
        return await self.check_patch(actor, pal_id, doc, ops, ids.PAL_NAME) if ops else []

    async def refuse_patch(self, actor: Actor, pal_id: str, exc: Invalid) -> None:
        detail = {"reason": exc.message}
        await self.audit.record("pal.patch", "invalid", actor, target=pal_id, detail=detail)

    async def accept_patch(
        self,
        actor: Actor,
        pal_id: str,
        ops: list[dict[str, Any]],
        force: bool = False,
        dedupe_key: str | None = None,
        via: str | None = None,
    ) -> Accepted:
        detail: dict[str, Any] = {"ops": hide_in_ops(ops), "force": force}  # never credentials
        if via:
            detail["via"] = via  # "edit": the Edit form (audited as a patch)
        return await self.rt.db(
            self._accept_now, "pal.patch", actor, dedupe_key, target=pal_id, detail=detail
        )

    async def may_patch(
        self,
        actor: Actor,
        pal_id: str,
        before: dict[str, Any],
        ops: list[dict[str, Any]],
        is_admin: AdminCheck,
        *,
        field: str | None = None,
        ticket: Accepted | None = None,
    ) -> None:
        """Denied (audited) unless `actor` may make this change to this PAL."""
        try:
            after = jsonpatch.apply_patch(before, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            after = before  # the patch is refused as invalid elsewhere
        guarded = guarded_changes(before, after)
        await self.permissions.require(
            actor, "edit", is_admin, pal_id=pal_id, guarded=guarded, field=field, ticket=ticket
        )

    async def patch(
        self,
        ticket: Accepted,
        pal_id: str,
        ops: list[dict[str, Any]],
        before: dict[str, Any],
        *,
        is_admin: AdminCheck,
        force: bool = False,
        conflict_key: str | None = None,
        response_url: str | None = None,
    ) -> PatchReport:
        """PATCH upstream and report how it ended. A conflict keeps the patch server-side under
        `conflict_key` (or a fresh token) for an Overwrite confirmation."""
        expected = check_patch(before, ops)
        await self.may_patch(ticket.actor, pal_id, before, ops, is_admin, ticket=ticket)
        client = await self._client(ticket)
        name = pal_name_of(before)
        try:
            result = await client.patch_pal(pal_id, ops, force=force)
        except api_errors.NoChange:
            await ticket.close("ok", changed=False)
            return PatchReport("unchanged", pal_id, name, [])
        except api_errors.PatchConflict as exc:
            await ticket.close("error", error=type(exc).__name__, status=exc.status)
            # the Overwrite confirmation: an unguessable token bound to who asked, in which
            # workspace, for this PAL; single use; ten minutes
            token = "pf-" + secrets.token_urlsafe(16)
            actor = ticket.actor
            session = PatchSession(
                pal_id, before, ops=ops, response_url=response_url,
                team_id=actor.team_id, user_id=actor.user_id,
            )  # fmt: skip
            await self.rt.patch_sessions.set(token, session, ttl=CONFIRMATION_SECONDS)
            return PatchReport("conflict", pal_id, name, [], force_token=token)
        except api_errors.PalApiError as exc:
            await ticket.close("error", error=type(exc).__name__, status=exc.status)
            unknown = unfamiliar_values(expected)
            if isinstance(exc, api_errors.InvalidPatch) and unknown:
                said = ", ".join(f"`{v}` for {f}" for f, v in unknown[:3])
                raise Invalid(
                    f"The PAL API refused the patch as invalid. palbot does not know {said}: "
                    "check that value."
                ) from None
            raise
        after = result.pal.raw if result.pal is not None and result.pal.raw else expected
        after = {k: v for k, v in after.items() if k != "discarded_maker_changes"}
        await ticket.close(
            "ok", changed=True, discarded_maker_changes=result.discarded_maker_changes
        )
        self.rt.remember_pal(ticket.actor.team_id, pal_id, after.get("pal_name") or pal_id)
        if conflict_key:
            await self.rt.patch_sessions.pop(conflict_key)
        return PatchReport(
            "patched",
            pal_id,
            pal_name_of(after),
            hide_in_ops(_changes(before, after)),
            result.discarded_maker_changes,
            after,
            words=[c.words() for c in changes_between(before, after)]
            + unfamiliar_notes(before, after),
        )

    async def patch_current(
        self,
        ticket: Accepted,
        pal_id: str,
        ops: list[dict[str, Any]],
        *,
        is_admin: AdminCheck,
        force: bool = False,
        response_url: str | None = None,
    ) -> PatchReport:
        """Fetch the PAL, check the patch against it, send it (the inline and Overwrite path)."""
        try:
            before = await self.get(ticket.actor, pal_id)
        except (UserError, api_errors.PalApiError) as exc:
            await ticket.close("error", error=type(exc).__name__)
            raise
        ops = fit_patch(before, ops)
        try:
            check_patch(before, ops, field="patch")
        except Invalid as exc:
            await ticket.close("invalid", reason=exc.message)
            raise
        return await self.patch(
            ticket, pal_id, ops, before, is_admin=is_admin, force=force, response_url=response_url
        )

    async def take_force(self, token: str, actor: Actor) -> PatchSession | None:
        """The patch an Overwrite confirmation stands for: only for the person who asked, in
        their workspace, once. Another person's click leaves it untouched."""
        session = await self.rt.patch_sessions.get(token)
        if session is None or not session.ops:
            return None
        if (session.team_id, session.user_id) != (actor.team_id, actor.user_id):
            return None
        return await self.rt.patch_sessions.pop(token)  # None if the first click took it already

    # ---- delete ----------------------------------------------------------------------

    async def offer_delete(self, actor: Actor, pal_id: str) -> None:
        """The confirmation the Delete button stands for: this person, this workspace, this
        PAL, ten minutes, single use (stored: the click may reach another process)."""
        key = _delete_key(actor, pal_id)
        await self.rt.db(self.rt.store.sessions.put, key, {"pal_id": pal_id}, CONFIRMATION_SECONDS)

    async def take_delete(self, actor: Actor, pal_id: str) -> bool:
        """True once for the person the confirmation was offered to."""
        taken = await self.rt.db(self.rt.store.sessions.pop, _delete_key(actor, pal_id))
        return taken is not None and taken.get("pal_id") == pal_id

    async def accept_delete(self, actor: Actor, pal_id: str) -> Accepted:
        return await self.audit.accept("pal.delete", actor, target=pal_id)

    async def delete(self, ticket: Accepted, pal_id: str) -> str:
        """Delete it; returns its name as last seen (its id if palbot never saw it)."""
        name = self.rt.pal_names.get(f"{ticket.actor.team_id}:{pal_id}") or pal_id
        client = await self._client(ticket)
        try:
            await client.delete_pal(pal_id)
            self.rt.remember_pal(ticket.actor.team_id, pal_id, None)
        except api_errors.PalApiError as exc:
            await ticket.close("error", error=type(exc).__name__)
            raise
        await ticket.close("ok")
        return name


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    ignore = ("updated_at",)
    return list(
        jsonpatch.make_patch(
            {k: v for k, v in before.items() if k not in ignore},
            {k: v for k, v in after.items() if k not in ignore},
        ).patch
    )
