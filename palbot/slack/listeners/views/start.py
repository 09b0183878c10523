"""The Start conversation form (`pal_start`): every start option, checked before the ack."""

from __future__ import annotations

import re
from typing import Any

from palbot.services.conversations import MAX_CALL_SECONDS, StartRequest
from palbot.services.errors import Invalid
from palbot.services.runtime import Actor
from palbot.slack import ids
from palbot.slack.blocks.common import loading_view
from palbot.slack.blocks.conversations import FORM_CONTEXT_CHARS, LANGUAGES, MULTILINGUAL
from palbot.slack.context import Ctx
from palbot.slack.flows.start import TITLE, run_start
from palbot.slack.listeners.views.common import update

__all__ = ["TITLE", "submit_start"]
KNOWN_LANGUAGES = (*LANGUAGES, MULTILINGUAL)
WHOLE = re.compile(r"\d{1,5}")


async def submit_start(ctx: Ctx) -> None:
    request = start_request(ctx)
    limits = await ctx.services.limits.get(ctx.actor.team_id)
    most = min(limits.max_call_duration or MAX_CALL_SECONDS, MAX_CALL_SECONDS)
    if request.max_call_duration and request.max_call_duration > most:
        minutes = max(1, most // 60)
        raise Invalid(f"{minutes} minutes at most here.", field=ids.CALL_DURATION)
    accepted = await ctx.services.conversations.accept(request)  # audited before the ack
    await ctx.ack(update(loading_view(TITLE, "Starting the conversation…")))
    await run_start(ctx, accepted)


def _text(ctx: Ctx, block_id: str) -> str:
    return (ctx.values.get(block_id) or "").strip()


def start_request(ctx: Ctx) -> StartRequest:
    """The form's values as a start, or Invalid at the field that is wrong."""
    pal_id = _text(ctx, ids.PAL_ID)
    name = _text(ctx, ids.CONVERSATION_NAME)
    thread_ts = ctx.metadata.thread_ts
    # a start from a message goes to that message's thread: its channel is fixed
    channel = ctx.metadata.channel_id if thread_ts else ctx.values.get(ids.CHANNEL)
    channel = channel or ctx.metadata.channel_id
    if not pal_id:
        raise Invalid("Choose a PAL.", field=ids.PAL_ID)
    if not channel:
        raise Invalid("Choose the channel for the Join link.", field=ids.CHANNEL)
    if len(name) > 200:
        raise Invalid("200 characters at most.", field=ids.CONVERSATION_NAME)
    a = ctx.actor
    return StartRequest(
        actor=Actor(a.team_id, a.user_id, channel, a.enterprise_id),
        pal_id=pal_id,
        channel_id=channel,
        conversation_name=name or None,
        test_mode=bool(ctx.values.get(ids.TEST_MODE)),
        dedupe_keys=(f"view:{ctx.view_id}",),
        audio_only=bool(ctx.values.get(ids.AUDIO_ONLY)),
        closed_captions=bool(ctx.values.get(ids.CLOSED_CAPTIONS)),
        recording=bool(ctx.values.get(ids.RECORDING)),
        private=bool(ctx.values.get(ids.PRIVATE)),
        thread_ts=thread_ts,
        **_typed_options(ctx),
    )


def _typed_options(ctx: Ctx) -> dict[str, Any]:
    """The options typed or chosen (not ticked), checked at their fields."""
    context_text = _text(ctx, ids.CONVERSATIONAL_CONTEXT)
    if len(context_text) > FORM_CONTEXT_CHARS:
        raise Invalid(
            f"{FORM_CONTEXT_CHARS:,} characters at most.", field=ids.CONVERSATIONAL_CONTEXT
        )
    greeting = _text(ctx, ids.CUSTOM_GREETING)
    if len(greeting) > 500:
        raise Invalid("500 characters at most.", field=ids.CUSTOM_GREETING)
    language = _text(ctx, ids.LANGUAGE) or None
    if language is not None and language not in KNOWN_LANGUAGES:
        raise Invalid("Choose a language from the list.", field=ids.LANGUAGE)
    minutes = _text(ctx, ids.CALL_DURATION)
    if minutes and not WHOLE.fullmatch(minutes):
        raise Invalid("A whole number of minutes, such as 15.", field=ids.CALL_DURATION)
    if minutes and not 1 <= int(minutes) <= MAX_CALL_SECONDS // 60:
        raise Invalid(f"Between 1 and {MAX_CALL_SECONDS // 60} minutes.", field=ids.CALL_DURATION)
    return {
        "conversational_context": context_text or None,
        "custom_greeting": greeting or None,
        "language": language,
        "max_call_duration": int(minutes) * 60 if minutes else None,
    }
