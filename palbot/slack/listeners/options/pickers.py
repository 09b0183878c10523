"""The face picker (`default_face_id`) and the PAL picker (`pal_id`)."""

from __future__ import annotations

import logging
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.services.errors import NoKey
from palbot.slack.context import Ctx
from palbot.slack.parsing import is_id
from palbot.slack.text import option

log = logging.getLogger("palbot.options")
BUDGET = 2.5
MAX_OPTIONS = 100


def matching(choices: list[tuple[str, str]], typed: str, use_label: str) -> list[dict[str, Any]]:
    """The choices whose label holds what was typed; a typed id is offered as itself too."""
    needle = typed.lower()
    opts = [option(label, value) for value, label in choices if needle in label.lower()]
    if is_id(typed) and all(o["value"] != typed for o in opts):
        opts.insert(0, option(f"{use_label} {typed}", typed))
    return opts[:MAX_OPTIONS]


async def face_options(ctx: Ctx) -> None:
    typed = str(ctx.body.get("value") or "").strip()
    try:
        faces = await ctx.services.pals.faces(ctx.actor, BUDGET)
    except (NoKey, api_errors.PalApiError) as exc:
        log.info("faces unavailable for the picker: %s", type(exc).__name__)
        faces = []
    await ctx.ack(options=matching(faces, typed, "Use face id"))


async def pal_options(ctx: Ctx) -> None:
    typed = str(ctx.body.get("value") or "").strip()
    try:
        pals = await ctx.services.pals.choices(ctx.actor, BUDGET)
    except (NoKey, api_errors.PalApiError) as exc:
        log.info("PALs unavailable for the picker: %s", type(exc).__name__)
        pals = []
    await ctx.ack(options=matching(pals, typed, "Use PAL id"))
