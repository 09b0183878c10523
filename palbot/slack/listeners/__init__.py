"""Bolt listeners, one folder per Slack surface and one module per entry. Each module imports
without an App; each folder's `register(app, deps)` wires its entries with their checks."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.slack.context import SlackDeps
from palbot.slack.listeners import actions, commands, events, options, shortcuts, views


def register_listeners(app: AsyncApp, deps: SlackDeps) -> None:
    commands.register(app, deps)
    views.register(app, deps)
    actions.register(app, deps)
    options.register(app, deps)
    events.register(app, deps)
    shortcuts.register(app, deps)
