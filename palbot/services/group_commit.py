"""Group commit: the acks' writes that arrive while one is being written go together, in one
hop to the store's thread and one transaction; the writer answers each item on its own (one
item's refusal leaves no trace and does not refuse the others). A burst of starts then costs a
handful of store jobs, commits and statements, not so many per start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`await writer.submit(item)` → `write_one(item)`'s result (or its exception), written
    with the other items waiting at that moment: `write_many(items)` runs on a store thread
    and returns one result or exception per item."""

    def __init__(
        self,
        run: Callable[..., Any],
        write_many: Callable[[list[Item]], list[Result | BaseException]],
    ) -> None:
        self.run = run
        self.write_many = write_many
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writing = False
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        if not self._writing:
            self._writing = True
            self._task = loop.create_task(self._drain())  # this request's context: urgent
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    results = await self.run(self.write_many, [item for item, _ in batch])
                except BaseException as exc:  # the whole batch failed (StoreBusy…)
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._writing = False
