"""The face picker (`default_face_id`) and the PAL picker (`pal_id`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.services.errors import NoKey
from palbot.services.runtime import Actor
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
    opts = opts[: MAX_OPTIONS - 1]
    if is_id(typed) and all(o["value"] != typed for o in opts):
        opts.append(option(f"{use_label} {typed}", typed))  # names first, the raw id last
    return opts


Load = Callable[[Actor, float], Awaitable[list[tuple[str, str]]]]


async def answer_options(ctx: Ctx, load: Load, what: str, use_label: str) -> None:
    """The picker's options within the budget; none (never an error) when upstream fails."""
    typed = str(ctx.body.get("value") or "").strip()
    try:
        choices = await load(ctx.actor, BUDGET)
    except (NoKey, api_errors.PalApiError) as exc:
        log.info("%s unavailable for the picker: %s", what, type(exc).__name__)
        choices = []
    await ctx.ack(options=matching(choices, typed, use_label))


async def face_options(ctx: Ctx) -> None:
    await answer_options(ctx, ctx.services.pals.faces, "faces", "Use face id")


async def pal_options(ctx: Ctx) -> None:
    await answer_options(ctx, ctx.services.pals.choices, "PALs", "Use PAL id")
