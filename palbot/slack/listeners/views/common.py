"""What every form submission answers with."""

from __future__ import annotations

from typing import Any

CHECK_BUDGET = 2.0  # seconds a check that needs the PAL API may take inside the ack


def update(view: dict[str, Any]) -> dict[str, Any]:
    return {"response_action": "update", "view": view}
