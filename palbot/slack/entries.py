"""Listeners as declared entries: an id, a handler taking `Ctx`, and the checks it needs.

`listener(deps, entry)` is the one wrapper between Bolt and a handler: it takes the request
context the middleware built, runs the declared checks, calls the handler, and sends any failure
through the one mapping in `failures.py`. `answer_at_ack` then answers Slack at the ack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from palbot.slack.answer_at_ack import Listener, register_each
from palbot.slack.checks import Check
from palbot.slack.context import CONTEXT_KEY, Ctx, SlackDeps
from palbot.slack.failures import ANSWERED, answer_failure

Handler = Callable[[Ctx], Awaitable[None]]


@dataclass(frozen=True)
class Entry:
    key: str  # the command, subcommand, action_id or callback_id
    handler: Handler
    checks: tuple[Check, ...] = ()
    field: str | None = None  # forms: where a failure that names no field is shown
    title: str = "palbot"  # forms: the modal's title, through its whole flow
    # forms: the form again, with what was entered and the error, after a failure past the ack
    refill: Callable[[Ctx, str], dict[str, Any] | None] | None = None


def context_of(deps: SlackDeps, body: dict[str, Any], context: Any, client: Any) -> Ctx:
    ctx = context.get(CONTEXT_KEY)
    return ctx if isinstance(ctx, Ctx) else Ctx.build(deps, body, context, client)


async def run_entry(ctx: Ctx, entry: Entry) -> None:
    """The declared checks, then the handler; a failure is answered for the surface."""
    ctx.title = entry.title
    ctx.refill = entry.refill
    try:
        for check in entry.checks:
            if check.after_ack and ctx.surface in ("command", "action") and not ctx.acked:
                await ctx.ack()  # never keep the ack waiting on a Slack round trip
            await check(ctx)
        await entry.handler(ctx)
    except ANSWERED as exc:
        await answer_failure(ctx, exc, field=entry.field, prefix=ctx.failure_prefix)
    finally:
        ctx.done_working()


def listener(deps: SlackDeps, entry: Entry) -> Listener:
    async def run(ack: Any, body: dict[str, Any], context: Any, client: Any) -> None:
        ctx = context_of(deps, body, context, client)
        ctx.ack = ack
        await run_entry(ctx, entry)

    run.__qualname__ = f"listener[{entry.key}]"
    return run


def event_listener(deps: SlackDeps, entry: Entry) -> Listener:
    """Events are acked by Bolt itself; the handler runs after Bolt's answer."""

    async def run(body: dict[str, Any], context: Any, client: Any) -> None:
        await run_entry(context_of(deps, body, context, client), entry)

    run.__qualname__ = f"event[{entry.key}]"
    return run


def register_entries(
    deps: SlackDeps,
    route: Callable[[str], Callable[[Listener], Any]],
    entries: Iterable[Entry],
    *,
    events: bool = False,
) -> None:
    wrap = event_listener if events else listener
    register_each(deps.services.rt, route, ((e.key, wrap(deps, e)) for e in entries))
