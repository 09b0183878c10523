"""Shortcuts: the message shortcut that starts a conversation about a message."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.slack import ids
from palbot.slack.context import SlackDeps
from palbot.slack.entries import Entry, register_entries
from palbot.slack.listeners.shortcuts import start_from_message

ENTRIES = (Entry(ids.START_FROM_MESSAGE, start_from_message.open_form),)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    register_entries(deps, app.shortcut, ENTRIES)
