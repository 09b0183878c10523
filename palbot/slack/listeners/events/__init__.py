"""Events API: App Home, uninstall, revoked tokens, shared links (Bolt acks; work runs after)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.slack.context import SlackDeps
from palbot.slack.entries import Entry, register_entries
from palbot.slack.listeners.events import home, installs, unfurls

ENTRIES = (
    Entry("app_home_opened", home.publish_home),
    Entry("app_uninstalled", installs.uninstalled),
    Entry("tokens_revoked", installs.tokens_revoked),
    Entry("link_shared", unfurls.unfurl),
)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    register_entries(deps, app.event, ENTRIES, events=True)
