"""Bolt listeners, one module per Slack surface. Each `register(app, …)` wires thin handlers."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.services.conversations import ConversationService
from palbot.services.runtime import Runtime
from palbot.slack.listeners import actions, commands, events, options, views


def register_listeners(app: AsyncApp, rt: Runtime, convs: ConversationService) -> None:
    commands.register(app, rt, convs)
    views.register(app, rt, convs)
    actions.register(app, rt, convs)
    options.register(app, rt)
    events.register(app, rt)
