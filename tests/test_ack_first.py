"""After-ack work yields to Slack requests still being answered, but is never starved."""

from __future__ import annotations

import asyncio
import time

import pytest

from palbot.services.runtime import AckFirst


async def test_work_waits_for_pending_acks_then_goes() -> None:
    gate = AckFirst()
    began = time.monotonic()
    await gate.wait_turn()  # nothing pending: no wait
    assert time.monotonic() - began < 0.01
    gate.enter()
    waiter = asyncio.ensure_future(gate.wait_turn())
    await asyncio.sleep(0.01)
    assert not waiter.done()  # an ack is being answered: the work waits
    gate.leave()
    await asyncio.wait_for(waiter, 0.1)  # released as soon as the acks are out
    gate.enter()
    began = time.monotonic()
    await gate.wait_turn()  # a request that never finishes cannot starve the work
    assert AckFirst.MAX_WAIT * 0.8 <= time.monotonic() - began < AckFirst.MAX_WAIT * 4


async def test_work_waits_out_a_burst_not_just_the_request_in_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(AckFirst, "QUIET", 0.05)
    gate = AckFirst()
    gate.enter()
    gate.leave()  # answered, but the next request of a burst may be a moment away
    waiter = asyncio.ensure_future(gate.wait_turn())
    await asyncio.sleep(0.03)
    assert not waiter.done()
    gate.enter()  # it came: the quiet window starts again once it is answered
    gate.leave()
    await asyncio.sleep(0.03)
    assert not waiter.done()
    began = time.monotonic()
    await asyncio.wait_for(waiter, 0.5)
    assert time.monotonic() - began < 0.04  # released once 50 ms passed without a request
