"""Connecting and removing a workspace's PAL API key."""

from __future__ import annotations

from palbot.pal_api import errors as api_errors
from palbot.services.audit import record
from palbot.services.errors import Invalid
from palbot.services.runtime import Actor, Runtime
from palbot.store.models import Workspace


def check_key_format(api_key: str) -> str:
    key = (api_key or "").strip()
    if len(key) < 8 or len(key) > 200 or any(c.isspace() for c in key):
        raise Invalid(
            "That does not look like a PAL API key (one word, 8 to 200 characters).",
            field="api_key",
        )
    return key


async def verify_key(rt: Runtime, api_key: str, budget: float) -> None:
    """Try the key live (one cheap GET). Raises Invalid for a refused key, PalApiError else."""
    client = rt.pal_client_for_key(api_key, deadline=budget, max_retries=0)
    try:
        await client.list_pals(limit=1)
    except api_errors.Unauthorized:
        raise Invalid(
            "The PAL API refused this key (invalid or revoked). Copy it again from "
            "the PAL Maker → API Key.",
            field="api_key",
        ) from None


def save_key(rt: Runtime, actor: Actor, api_key: str, accepted_seq: int | None = None) -> Workspace:
    workspace = rt.store.workspaces.set_pal_key(
        actor.team_id, api_key, set_by=actor.user_id, enterprise_id=actor.enterprise_id
    )
    detail: dict[str, object] = {"last4": workspace.key_last4}
    if accepted_seq:
        detail["accepted_seq"] = accepted_seq
    record(
        rt,
        "key.set",
        "ok",
        actor,
        detail=detail,
    )
    return workspace


def remove_key(rt: Runtime, actor: Actor) -> bool:
    removed = rt.store.workspaces.remove_pal_key(actor.team_id)
    record(
        rt,
        "key.remove",
        "ok" if removed else "invalid",
        actor,
        detail={} if removed else {"reason": "no key was connected"},
    )
    return removed
