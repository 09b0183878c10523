"""`pal_start_from_message` ("Talk this through with a PAL"): the Start form, its context the
message (or its thread) in plain words; the join message then goes in that thread."""

from __future__ import annotations

from palbot.slack.blocks.conversations import FORM_CONTEXT_CHARS
from palbot.slack.context import Ctx
from palbot.slack.flows.start import open_start_form
from palbot.slack.message_context import message_context
from palbot.slack.metadata import ModalMetadata
from palbot.slack.text import escape

IN_THREAD = (
    "The Join message goes in the thread of the message you picked, in <#{channel}>. "
    "Edit the context below as you like: the PAL reads it before the call."
)


async def open_form(ctx: Ctx) -> None:
    await ctx.ack()
    await ctx.services.keys.require(ctx.actor.team_id)
    message = ctx.body.get("message") or {}
    channel = ctx.actor.channel_id or ""
    thread_ts = str(message.get("thread_ts") or message.get("ts") or "") or None
    text = await message_context(ctx.client, channel, message, FORM_CONTEXT_CHARS)
    metadata = ModalMetadata(
        channel_id=channel or None, response_url=ctx.response_url, thread_ts=thread_ts
    )
    note = IN_THREAD.format(channel=escape(channel))
    await open_start_form(ctx, metadata, context_text=text, thread_note=note)
