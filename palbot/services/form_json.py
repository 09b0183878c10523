"""JSON typed into a form field: parsed, or refused as a field error that says where."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from palbot.services import fields as ids
from palbot.services.errors import Invalid


def loads_field(text: str, field: str) -> Any:
    """JSON from a form field; a syntax error names where it is, as a field error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).", field=field
        ) from None
    except RecursionError:
        raise Invalid("The JSON is nested too deeply.", field=field) from None


def object_field(text: str | None, field: str) -> dict[str, Any]:
    """A JSON object from a form field (empty: none)."""
    if not text or not text.strip():
        return {}
    value = loads_field(text, field)
    if not isinstance(value, dict):
        raise Invalid('Must be a JSON object, like {"key": "value"}.', field=field)
    return value


def advanced_field_errors(
    form: dict[str, str | None], taken: set[str], say_clash: Callable[[list[str]], str]
) -> dict[str, str]:
    """The errors of a PAL form's two advanced JSON fields (layers, more fields), by block_id;
    `taken`: top-level names the more-fields object may not set, said by `say_clash`."""
    errors: dict[str, str] = {}
    for block_id in (ids.LAYERS_JSON, ids.EXTRA_JSON):
        try:
            value = object_field(form.get(block_id), block_id)
        except Invalid as exc:
            errors[block_id] = exc.message
            continue
        clash = sorted(set(value) & taken) if block_id == ids.EXTRA_JSON else []
        if clash:
            errors[block_id] = say_clash(clash)
    return errors
