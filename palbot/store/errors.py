"""Failures of the store that callers answer in words."""

from __future__ import annotations


class StoreBusy(Exception):
    """Another process holds the database's write lock (a backup, `palbot audit`, a second
    palbot) past the short wait palbot allows on the request path. Nothing was written."""

    message = (
        "palbot is busy right now (its database is locked by another process). Nothing was "
        "done; try again in a moment."
    )

    def __init__(self) -> None:
        super().__init__(self.message)
