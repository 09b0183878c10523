"""The Edit form (`pal_edit`): a PAL's current values in the Create form's fields, and the JSON
Patch of what a person changed there (nothing for a field left as it was).

Layer credentials are shown `[hidden]` (layer_secrets) and a `[hidden]` left in place keeps the
stored value: it is never sent back as the text "[hidden]". Read-only fields (`pal_id`,
`created_at`…) are neither shown nor patched.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from palbot.services import fields as ids
from palbot.services.errors import Invalid, invalid_fields
from palbot.services.form_json import advanced_field_errors, object_field
from palbot.services.layer_secrets import HIDDEN, hide_in_config

FORM_LAYER_FIELDS = {
    ids.PERCEPTION_MODEL: ("perception", "perception_model"),
    ids.TURN_DETECTION_MODEL: ("conversational_flow", "turn_detection_model"),
    ids.TURN_TAKING_PATIENCE: ("conversational_flow", "turn_taking_patience"),
    ids.PAL_INTERRUPTIBILITY: ("conversational_flow", "pal_interruptibility"),
}
TEXT_FIELDS = (ids.PAL_NAME, ids.SYSTEM_PROMPT, ids.CONTEXT, ids.DEFAULT_FACE_ID, ids.PIPELINE_MODE)
UNSET = "__unset__"  # a select's "not set" option: the field stays (or becomes) unset
READ_ONLY = {
    "pal_id",
    "persona_id",
    "pal_type",
    "persona_type",
    "created_at",
    "updated_at",
    "status",
    "discarded_maker_changes",
}


def edit_values(doc: dict[str, Any]) -> dict[str, str | None]:
    """The Edit form's values from a PAL document, by block_id."""
    shown = hide_in_config(doc)
    values: dict[str, str | None] = {}
    for block_id in TEXT_FIELDS:
        value = shown.get(block_id) or (
            shown.get("persona_name") if block_id == ids.PAL_NAME else None
        )
        values[block_id] = str(value) if value not in (None, "") else None
    layers = copy.deepcopy(shown.get("layers") or {})
    for block_id, (layer, key) in FORM_LAYER_FIELDS.items():
        section = layers.get(layer) if isinstance(layers.get(layer), dict) else {}
        value = section.get(key) if section else None
        values[block_id] = str(value) if value not in (None, "") else None
        if section and key in section:
            del section[key]
            if not section:
                del layers[layer]
    values[ids.LAYERS_JSON] = json.dumps(layers, indent=2) if layers else None
    extra = {
        k: v
        for k, v in shown.items()
        if k not in READ_ONLY and k not in TEXT_FIELDS and k not in ("layers", "persona_name")
    }
    values[ids.EXTRA_JSON] = json.dumps(extra, indent=2) if extra else None
    return values


def _edit_errors(before: dict[str, Any], form: dict[str, str | None]) -> dict[str, str]:
    """Every field of the Edit form at fault, by block_id (shown together, at once)."""
    errors: dict[str, str] = {}
    if not _given(form, ids.PAL_NAME):
        errors[ids.PAL_NAME] = "Give the PAL a name."
    if not _given(form, ids.DEFAULT_FACE_ID):
        errors[ids.DEFAULT_FACE_ID] = "Choose a face."
    pipeline = _given(form, ids.PIPELINE_MODE) or "full"
    if pipeline != "echo" and not _given(form, ids.SYSTEM_PROMPT) and before.get("system_prompt"):
        errors[ids.SYSTEM_PROMPT] = "A system prompt is required unless the pipeline mode is echo."
    errors.update(
        advanced_field_errors(
            form,
            READ_ONLY | set(TEXT_FIELDS) | {"layers", "persona_name"},
            lambda clash: (
                f"{', '.join(clash)} cannot be set here (read-only, or a field of this form)."
            ),
        )
    )
    return errors


def edit_ops(before: dict[str, Any], form: dict[str, str | None]) -> list[dict[str, Any]]:
    """The JSON Patch that turns `before` into what the form says (empty: nothing changed).
    Invalid names every field at fault."""
    errors = _edit_errors(before, form)
    if errors:
        raise invalid_fields(errors)
    after = copy.deepcopy(before)
    name_key = (
        "pal_name" if "pal_name" in before or "persona_name" not in before else "persona_name"
    )
    for block_id in TEXT_FIELDS:
        key = name_key if block_id == ids.PAL_NAME else block_id
        value = _given(form, block_id)
        if value:
            after[key] = value
        elif block_id in (ids.PAL_NAME, ids.DEFAULT_FACE_ID):
            what = "Give the PAL a name." if block_id == ids.PAL_NAME else "Choose a face."
            raise Invalid(what, field=block_id)
        else:
            after.pop(key, None)
    layers_text = object_field(form.get(ids.LAYERS_JSON), ids.LAYERS_JSON)
    layers = _keep_hidden(layers_text, before.get("layers") or {})
    for block_id, (layer, key) in FORM_LAYER_FIELDS.items():
        value = _given(form, block_id)
        if value:
            section = layers.setdefault(layer, {})
            if not isinstance(section, dict):
                raise Invalid(f"layers.{layer} must be an object.", field=ids.LAYERS_JSON)
            section[key] = value
    if layers or "layers" in before:
        after["layers"] = layers
    extra = object_field(form.get(ids.EXTRA_JSON), ids.EXTRA_JSON)
    clash = sorted(set(extra) & (READ_ONLY | set(TEXT_FIELDS) | {"layers", "persona_name"}))
    if clash:
        raise Invalid(
            f"{', '.join(clash)} cannot be set here (read-only, or a field of this form).",
            field=ids.EXTRA_JSON,
        )
    for key in [k for k in after if k not in READ_ONLY and k not in TEXT_FIELDS]:
        if key not in ("layers", "persona_name", name_key) and key not in extra:
            del after[key]  # removed from the advanced fields
    after.update(extra)
    if (
        after.get("pipeline_mode", "full") != "echo"
        and not after.get("system_prompt")
        and before.get("system_prompt")
    ):
        raise Invalid(
            "A system prompt is required unless the pipeline mode is echo.",
            field=ids.SYSTEM_PROMPT,
        )
    return list(jsonpatch.make_patch(before, after).patch)


def _given(form: dict[str, str | None], block_id: str) -> str:
    value = (form.get(block_id) or "").strip()
    return "" if value == UNSET else value


def _keep_hidden(edited: Any, stored: Any) -> Any:
    """`[hidden]` left where a stored secret was: the stored value, untouched."""
    if edited == HIDDEN:
        return copy.deepcopy(stored)
    if isinstance(edited, dict):
        old = stored if isinstance(stored, dict) else {}
        return {k: _keep_hidden(v, old.get(k)) for k, v in edited.items()}
    if isinstance(edited, list):
        old_list = stored if isinstance(stored, list) else []
        return [
            _keep_hidden(v, old_list[i] if i < len(old_list) else None)
            for i, v in enumerate(edited)
        ]
    return edited
