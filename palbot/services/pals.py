"""Creating, reading, patching and deleting PALs."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import jsonpatch

from palbot.pal_api import PalApiClient
from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import PalCreate, parse_patch
from palbot.services.audit import close_accepted, record
from palbot.services.errors import Invalid, NoKey
from palbot.services.runtime import Actor, Runtime
from palbot.slack import ids
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


def _loads(text: str, field: str) -> Any:
    """JSON from a form field; a syntax error names where it is, as a field error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).", field=field
        ) from None
    except RecursionError:
        raise Invalid("The JSON is nested too deeply.", field=field) from None


def _json_object(text: str | None, field: str) -> dict[str, Any]:
    if not text or not text.strip():
        return {}
    value = _loads(text, field)
    if not isinstance(value, dict):
        raise Invalid('Must be a JSON object, like {"key": "value"}.', field=field)
    return value


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def build_create_body(form: dict[str, str | None]) -> PalCreate:
    """The create-PAL body from the modal's fields; Invalid names the block_id at fault."""
    layers_extra = _json_object(form.get(ids.LAYERS_JSON), ids.LAYERS_JSON)
    extra = _json_object(form.get(ids.EXTRA_JSON), ids.EXTRA_JSON)
    clash = sorted(set(extra) & TOP_LEVEL_FORM_FIELDS)
    if clash:
        raise Invalid(
            f"Set {', '.join(clash)} with the form's own fields, not here.", field=ids.EXTRA_JSON
        )
    name = (form.get(ids.PAL_NAME) or "").strip()
    if not name:
        raise Invalid("Give the PAL a name.", field=ids.PAL_NAME)
    face = (form.get(ids.DEFAULT_FACE_ID) or "").strip()
    if not face:
        raise Invalid("Choose a face, or type a face id.", field=ids.DEFAULT_FACE_ID)
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


def accept(
    rt: Runtime,
    action: AuditAction,
    actor: Actor,
    *,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Audit `accepted` for an action whose result comes after the ack; returns its seq."""
    return record(
        rt,
        action,
        "accepted",
        actor,
        target=target,
        detail=detail,
    ).seq


def client_or_fail(
    rt: Runtime, action: AuditAction, actor: Actor, accepted_seq: int, target: str | None = None
) -> PalApiClient:
    """The workspace's PAL API client; a key removed meanwhile closes the accepted row."""
    try:
        return rt.pal_client(actor.team_id)
    except NoKey:
        close_accepted(rt, action, "error", actor, accepted_seq, target=target, error="NoKey")
        raise


async def create_pal(
    rt: Runtime, actor: Actor, body: PalCreate, accepted_seq: int | None = None
) -> dict[str, Any]:
    accepted_seq = accepted_seq or accept(
        rt, "pal.create", actor, detail={"pal_name": body.pal_name}
    )
    client = client_or_fail(rt, "pal.create", actor, accepted_seq, target=None)
    try:
        pal = await client.create_pal(body)
    except api_errors.PalApiError as exc:
        close_accepted(
            rt,
            "pal.create",
            "error",
            actor,
            accepted_seq,
            error=type(exc).__name__,
            status=exc.status,
        )
        raise
    doc = pal.raw or pal.model_dump()
    close_accepted(
        rt, "pal.create", "ok", actor, accepted_seq, target=pal.pal_id, pal_name=pal.pal_name
    )
    rt.remember_pal(actor.team_id, pal.pal_id, pal.pal_name)
    return doc


def parse_patch_text(text: str, field: str = ids.PATCH_JSON) -> list[dict[str, Any]]:
    if not text or not text.strip():
        raise Invalid("Enter a JSON Patch array.", field=field)
    value = _loads(text, field)
    if isinstance(value, dict):
        value = [value]  # one operation given bare: accept it as a one-item patch
    try:
        return parse_patch(value)
    except api_errors.InvalidRequest as exc:
        where = exc.field or "patch"
        raise Invalid(f"{where}: {exc.detail}", field=field) from None


def apply_locally(
    doc: dict[str, Any], ops: list[dict[str, Any]], field: str = ids.PATCH_JSON
) -> dict[str, Any]:
    """Apply the patch to the current document first: a missing path is the user's to fix."""
    try:
        result = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(doc))
    except jsonpatch.JsonPatchTestFailed as exc:
        raise Invalid(f"A test operation failed: {exc}", field=field) from None
    except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException) as exc:
        raise Invalid(
            f"The patch does not fit this PAL: {exc}. (Use add for a field that may be absent.)",
            field=field,
        ) from None
    except (jsonpatch.JsonPatchException, TypeError, ValueError, KeyError) as exc:
        raise Invalid(f"The patch cannot be applied: {exc}", field=field) from None
    if not isinstance(result, dict):
        raise Invalid(
            "The patch would replace the whole PAL; patch its fields instead.", field=field
        )
    return result


@dataclass
class PatchOutcome:
    changes: list[dict[str, Any]]
    discarded: bool
    after: dict[str, Any]


async def patch_pal(
    rt: Runtime,
    actor: Actor,
    pal_id: str,
    ops: list[dict[str, Any]],
    before: dict[str, Any],
    *,
    force: bool = False,
    accepted_seq: int | None = None,
) -> PatchOutcome:
    """PATCH upstream. NoChange and PatchConflict are raised for the caller to present."""
    expected = apply_locally(before, ops)
    accepted_seq = accepted_seq or accept(
        rt, "pal.patch", actor, target=pal_id, detail={"ops": ops, "force": force}
    )
    client = client_or_fail(rt, "pal.patch", actor, accepted_seq, target=pal_id)
    try:
        result = await client.patch_pal(pal_id, ops, force=force)
    except api_errors.NoChange:
        close_accepted(rt, "pal.patch", "ok", actor, accepted_seq, target=pal_id, changed=False)
        raise
    except api_errors.PalApiError as exc:
        close_accepted(
            rt,
            "pal.patch",
            "error",
            actor,
            accepted_seq,
            target=pal_id,
            error=type(exc).__name__,
            status=exc.status,
        )
        raise
    after = result.pal.raw if result.pal is not None and result.pal.raw else expected
    after = {k: v for k, v in after.items() if k != "discarded_maker_changes"}
    ignore = ("updated_at",)
    changes = [
        op
        for op in jsonpatch.make_patch(
            {k: v for k, v in before.items() if k not in ignore},
            {k: v for k, v in after.items() if k not in ignore},
        ).patch
    ]
    close_accepted(
        rt,
        "pal.patch",
        "ok",
        actor,
        accepted_seq,
        target=pal_id,
        changed=True,
        discarded_maker_changes=result.discarded_maker_changes,
    )
    rt.remember_pal(actor.team_id, pal_id, after.get("pal_name") or pal_id)
    return PatchOutcome(changes=changes, discarded=result.discarded_maker_changes, after=after)


async def delete_pal(
    rt: Runtime, actor: Actor, pal_id: str, accepted_seq: int | None = None
) -> None:
    accepted_seq = accepted_seq or accept(rt, "pal.delete", actor, target=pal_id)
    client = client_or_fail(rt, "pal.delete", actor, accepted_seq, target=pal_id)
    try:
        await client.delete_pal(pal_id)
        rt.remember_pal(actor.team_id, pal_id, None)
    except api_errors.PalApiError as exc:
        close_accepted(
            rt, "pal.delete", "error", actor, accepted_seq, target=pal_id, error=type(exc).__name__
        )
        raise
    close_accepted(rt, "pal.delete", "ok", actor, accepted_seq, target=pal_id)
