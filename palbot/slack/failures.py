"""Every failure a listener raises becomes its surface's reply here, and only here.

- a slash command: an ephemeral message, in the ack while it is open, else via its response_url;
- a button: an ephemeral message via its response_url (or a DM);
- a form, before its ack: field errors (`response_action: errors`), or a silent ack for a repeat;
- a form, after its ack: the modal is replaced by the failure, under the modal's own title.
The audit outcome of each failure is written by the service (or the check) that raised it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.services.errors import Denied, Duplicate, NoKey, UserError, user_text
from palbot.slack.blocks.common import error_message, error_view
from palbot.slack.blocks.keys import no_key_message
from palbot.slack.checks import Silent, Usage
from palbot.slack.context import Ctx
from palbot.slack.parsing import USAGE
from palbot.store.errors import StoreBusy

SLACK_USER = re.compile(r"^[UW][A-Z0-9_]{2,20}$")

log = logging.getLogger("palbot.slack")
ANSWERED = (UserError, api_errors.PalApiError, StoreBusy, Silent)


FIELD_ERROR_CHARS = 250  # what Slack shows under a field


def field_errors(field: str, message: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {field: whole_sentences(message)}}


def whole_sentences(text: str, limit: int = FIELD_ERROR_CHARS) -> str:
    """`text` within `limit`, cut after a whole sentence (else a whole word, marked …), never
    in the middle of one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    end = head.rfind(". ")
    if end >= limit // 3:
        return head[: end + 1]
    return head[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


async def answer_failure(
    ctx: Ctx, exc: Exception, *, field: str | None = None, prefix: str = ""
) -> None:
    """`field`: where a form shows an error that names no field; `prefix`: what did not happen
    ("The PAL was not created."), said before the reason once the form has been answered."""
    if isinstance(exc, Silent):
        if ctx.ack is not None and not ctx.acked:
            await ctx.ack()
        return
    if ctx.surface == "view" or (ctx.in_modal and ctx.acked):
        await _answer_form(ctx, exc, field, prefix)  # in a modal: the modal says it
        return
    await ctx.answer(failure_message(ctx, exc, prefix))


def failure_message(ctx: Ctx, exc: Exception, prefix: str = "") -> dict[str, Any]:
    if isinstance(exc, Usage):
        return error_message(exc.message, f"Usage: `{USAGE[exc.sub]}`")
    if isinstance(exc, NoKey) and ctx.surface == "command" and not ctx.acked:
        return no_key_message()
    text = user_text(exc)
    hint = None
    if isinstance(exc, Denied) and exc.who and SLACK_USER.match(exc.who):
        hint = f"It was created by <@{exc.who}>."  # an id palbot stored: a safe mention
    return error_message(f"{prefix} {text}" if prefix else text, hint)


async def _answer_form(ctx: Ctx, exc: Exception, field: str | None, prefix: str) -> None:
    if not ctx.acked and ctx.surface == "view":
        if isinstance(exc, Duplicate):
            await ctx.ack()  # the first submission is being handled and will update the form
            return
        many = getattr(exc, "errors", None)
        if many:  # every field at fault, at once
            errors = {name: whole_sentences(text) for name, text in many.items()}
            await ctx.ack({"response_action": "errors", "errors": errors})
            return
        where = getattr(exc, "field", None) or field or "_"
        await ctx.ack(field_errors(where, user_text(exc)))
        return
    text = user_text(exc)
    said = f"{prefix} {text}" if prefix else text
    view = ctx.refill(ctx, said) if ctx.refill is not None else None
    await ctx.show(view or error_view(said, ctx.title))  # never a dead end that loses input
