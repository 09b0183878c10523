"""External selects: faces for the Create modal, PALs for the Start modal (2.5 s budget)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.slack import ids
from palbot.slack.context import SlackDeps
from palbot.slack.entries import Entry, register_entries
from palbot.slack.listeners.options import pickers

ENTRIES = (
    Entry(ids.DEFAULT_FACE_ID, pickers.face_options),
    Entry(ids.PAL_ID, pickers.pal_options),
)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    register_entries(deps, app.options, ENTRIES)
