"""JSON typed into a form field: parsed, or refused as a field error that says where."""

from __future__ import annotations

import json
from typing import Any

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
