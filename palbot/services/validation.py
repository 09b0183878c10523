"""Checks on identifiers that every surface shares."""

from __future__ import annotations

import re

_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def is_id(value: str | None) -> bool:
    """A PAL, face or conversation id as the PAL API issues them (letters, digits, - and _)."""
    return bool(value and _ID.match(value))
