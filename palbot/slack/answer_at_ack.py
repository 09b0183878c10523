"""Answer Slack the moment a listener acks; whatever the listener does after its ack runs on in
the background.

Bolt's default (`process_before_response=False`) starts the listener as a task and then polls for
its ack every 10 ms, so every answer waits up to 10 ms for nothing. palbot runs Bolt with
`process_before_response=True` and registers each listener through `answer_at_ack`: the listener
runs as a task, and Bolt gets its answer as soon as the listener has called `ack()` (an event, not
a poll), or has returned, or failed before acking. Event listeners (which Bolt acks itself) run
entirely in the background.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.response import BoltResponse

from palbot.services.runtime import Runtime

log = logging.getLogger("palbot.slack")

# A listener that has not acked by then gets Bolt's empty 200 (Slack's limit is 3 s); palbot's
# listeners ack within their 2 s budget for upstream checks.
ACK_DEADLINE = 2.5

Listener = Callable[..., Coroutine[Any, Any, Any]]


class SignallingAck:
    """Bolt's `ack`, which also resolves `answered` once it has been called."""

    def __init__(
        self, ack: AsyncAck, answered: asyncio.Future[None], rt: Runtime | None = None
    ) -> None:
        self._ack = ack
        self._answered = answered
        self._rt = rt
        self.called = False

    @property
    def response(self) -> BoltResponse | None:
        return self._ack.response

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = await self._ack(*args, **kwargs)
        self.called = True
        _resolve(self._answered)
        if self._rt is not None:
            self._rt.after_ack()  # the rest of this listener is background work
        return response


def _resolve(future: asyncio.Future[None], *_: Any) -> None:
    if not future.done():
        future.set_result(None)


def answer_at_ack(rt: Runtime, listener: Listener) -> Listener:
    """Wrap a listener for Bolt (which reads the wrapped listener's arguments)."""
    name = _name(listener)

    @functools.wraps(listener, updated=())
    async def run(**kwargs: Any) -> None:
        ack = kwargs.get("ack")
        if ack is None:  # an event: Bolt answers it; all of the work comes after
            rt.spawn(listener(**kwargs), name=name)
            return
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()  # acked, done, or too late
        signalling = SignallingAck(ack, answered, rt)
        task = loop.create_task(listener(**{**kwargs, "ack": signalling}), name=name)
        task.add_done_callback(functools.partial(_resolve, answered))
        deadline = loop.call_later(ACK_DEADLINE, _resolve, answered)
        try:
            await answered
        finally:
            deadline.cancel()
            if not task.done() or signalling.called:
                rt.adopt(task)  # after the ack, the rest (and any failure) is background work
        if not signalling.called:
            if task.done():
                task.result()  # a failure before the ack: Bolt answers it as an error
            if ack.response is None:  # past the deadline, or returned without acking
                log.warning("%s did not ack (within %.1f s): empty ack", name, ACK_DEADLINE)
                await ack()

    return run


def register_each(
    rt: Runtime,
    route: Callable[[str], Callable[[Listener], Any]],
    listeners: Iterable[tuple[str, Listener]],
) -> None:
    """`route` is a Bolt registrar (`app.action`, `app.view`…): each (id, listener) through it."""
    for key, listener in listeners:
        route(key)(answer_at_ack(rt, listener))


def _name(listener: Listener) -> str:
    return getattr(listener, "__qualname__", None) or type(listener).__qualname__
