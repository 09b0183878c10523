"""`/pal start [<id> [name] [flags]]`, `/pal end <conversation_id>`, `/pal conversations`."""

from __future__ import annotations

import re

from palbot.services.conversations import StartRequest, visible_to
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.blocks.common import ok_message
from palbot.slack.checks import Usage
from palbot.slack.context import Ctx
from palbot.slack.flows.start import endable, open_start_form, run_start
from palbot.slack.parsing import did_you_mean, is_id

LANGUAGE = re.compile(r"[A-Za-z][A-Za-z -]{1,39}")


async def start(ctx: Ctx) -> None:
    cmd = ctx.command
    assert cmd is not None
    if cmd.arg is None:
        await ctx.services.keys.require(ctx.actor.team_id)
        await ctx.ack()
        await open_start_form(ctx, ctx.form_metadata())
        return
    request = start_request(ctx)
    accepted = await ctx.services.conversations.accept(request)  # audited before the ack
    await ctx.ack()
    await run_start(ctx, accepted)


def start_request(ctx: Ctx) -> StartRequest:
    """`/pal start <id> [name] [flags]` as a start, or Usage naming what is wrong."""
    cmd = ctx.command
    assert cmd is not None and cmd.arg is not None
    if not is_id(cmd.arg):
        raise Usage("start", f"`{cmd.arg[:40]}` is not a PAL id.")
    if cmd.unknown_flags:  # a mistyped flag never becomes a billed conversation
        flag = cmd.unknown_flags[0][:40]
        raise Usage("start", f"`{flag}` is not a flag palbot knows.{did_you_mean(flag)}")
    if cmd.missing_value:
        raise Usage("start", f"`{cmd.missing_value}` needs a value, e.g. `--lang spanish`.")
    if cmd.language is not None and not LANGUAGE.fullmatch(cmd.language):
        raise Usage("start", "A language is a name such as `english`, `spanish` or `multilingual`.")
    if len(cmd.rest) > 200:
        raise Usage("start", "The conversation name is too long (200 characters at most).")
    if not ctx.actor.channel_id:
        raise Usage("start", "Run it in the channel where the Join link belongs.")
    return StartRequest(
        actor=ctx.actor,
        pal_id=cmd.arg,
        channel_id=ctx.actor.channel_id,
        conversation_name=cmd.rest or None,
        test_mode=cmd.test,
        dedupe_keys=(f"trigger:{ctx.trigger_id}",) if ctx.trigger_id else (),
        audio_only=cmd.audio_only,
        language=cmd.language.lower() if cmd.language else None,
        private=cmd.private,
    )


async def end(ctx: Ctx) -> None:
    convs, conversation_id = ctx.services.conversations, ctx.target or ""
    ticket = await convs.accept_end(ctx.actor, conversation_id)  # audited before the ack
    await ctx.ack()
    result = await convs.end(ctx.messages(), ctx.actor, conversation_id, ctx.is_admin, ticket)
    await ctx.reply.send(ok_message(conv_blocks.ended_text(result.record, result.already_ended)))


async def list_conversations(ctx: Ctx) -> None:
    """The account's live conversations, as the PAL API lists them (those started outside
    Slack too), then the recent ones from Slack."""
    convs = ctx.services.conversations
    await ctx.working("Looking up the live conversations…")
    live = await convs.live(ctx.actor.team_id)
    admin, me = await ctx.is_admin(), ctx.actor.user_id
    calls = visible_to(live.calls, me, admin)
    recent = visible_to(await convs.recent(ctx.actor.team_id, 20), me, admin)
    may_end = await endable(ctx, calls)
    message = conv_blocks.conversations_message(calls, recent, may_end, unchecked=live.unchecked)
    await ctx.answer(message)
