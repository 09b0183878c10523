"""Full garbage collections run while no Slack request is waiting, never in the middle of one."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from palbot import gc_tuning
from palbot.services.runtime import AckFirst


@pytest.fixture
def full_collections() -> Iterator[list[float]]:
    """The loop times of full collections, with the automatic one pushed far away meanwhile."""
    seen: list[float] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            seen.append(asyncio.get_event_loop().time())

    saved = gc.get_threshold()
    gc.set_threshold(saved[0], saved[1], 1_000_000)
    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)
    gc.set_threshold(*saved)


async def test_full_collection_waits_for_a_quiet_moment(full_collections: list[float]) -> None:
    gate = AckFirst()
    gate.enter()  # a Slack request is being answered
    gc.collect(1)  # young passes happened: a full collection is due
    collector = asyncio.ensure_future(gc_tuning.collect_when_quiet(gate, 0.01, quiet=0.05))
    try:
        await asyncio.sleep(0.15)
        assert full_collections == []  # not while the request waits
        gate.leave()
        await asyncio.sleep(0.03)
        assert full_collections == []  # nor right after: the next one may be on its way
        await asyncio.sleep(0.15)
        assert len(full_collections) == 1  # once quiet, and only once: nothing more is due
    finally:
        collector.cancel()


def test_startup_objects_are_frozen_and_full_passes_spaced_out() -> None:
    saved = gc.get_threshold()
    try:
        gc_tuning.freeze_startup()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[2] == gc_tuning.FULL_AFTER_GEN1
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
