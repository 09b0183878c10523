"""Remove secrets from anything that is logged, audited or shown."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
SECRET_NAME = re.compile(
    r"(api[_-]?key|token|secret|password|passwd|authorization|credential|private[_-]?key)",
    re.IGNORECASE,
)
MIN_SECRET_LENGTH = 6


def redact(value: Any, known_secrets: Iterable[str] = ()) -> Any:
    """A copy of `value` where every secret-named key and every known secret string is replaced."""
    secrets = sorted(
        {s for s in known_secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    )
    return _redact(value, secrets)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and SECRET_NAME.search(key) and item not in (None, ""):
                out[key] = REDACTED
            else:
                out[key] = _redact(item, secrets)
        return out
    if isinstance(value, list | tuple):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    return value
