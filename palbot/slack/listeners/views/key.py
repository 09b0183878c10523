"""The Connect key form (`pal_key`): the key is tried live before it is saved."""

from __future__ import annotations

import asyncio

from palbot.pal_api import errors as api_errors
from palbot.services.audit import Accepted
from palbot.services.errors import Invalid
from palbot.slack import ids
from palbot.slack.blocks import keys as key_blocks
from palbot.slack.blocks.common import loading_view, ok_message
from palbot.slack.context import Ctx
from palbot.slack.listeners.views.common import CHECK_BUDGET, update

TITLE = key_blocks.KEY_TITLE  # one title through the whole flow


async def submit_key(ctx: Ctx) -> None:
    keys = ctx.services.keys
    key = await keys.check_format(ctx.actor, ctx.values.get(ids.API_KEY) or "")
    check = asyncio.ensure_future(keys.verify(key, budget=10.0))
    done, _ = await asyncio.wait({check}, timeout=CHECK_BUDGET)
    if not done:  # the PAL API is slow: show "Checking…" and finish after the ack
        ticket = await keys.accept(ctx.actor)
        await ctx.ack(update(loading_view(TITLE, "Checking the key with the PAL API…")))
        await finish_slow_check(ctx, key, check, ticket)
        return
    try:
        check.result()
    except (Invalid, api_errors.PalApiError) as exc:
        await keys.refuse(ctx.actor, exc)
        if isinstance(exc, Invalid):
            raise
        raise Invalid(f"Could not check the key: {exc.user_message}", field=ids.API_KEY) from None
    workspace = await keys.save(ctx.actor, key)
    await ctx.ack()
    await ctx.reply.send(ok_message(key_blocks.connected_text(workspace)))


async def finish_slow_check(
    ctx: Ctx, key: str, check: asyncio.Future[None], ticket: Accepted
) -> None:
    try:
        await check
    except (Invalid, api_errors.PalApiError) as exc:
        await ctx.services.keys.refuse(ctx.actor, exc, ticket)
        await ctx.show(key_blocks.key_not_saved_view(TITLE, exc))
        return
    workspace = await ctx.services.keys.save(ctx.actor, key, ticket)
    await ctx.show(key_blocks.key_connected_view(TITLE, workspace))
