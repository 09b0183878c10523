"""Buttons: one module per action; each entry's checks declared here."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.slack import ids
from palbot.slack.checks import (
    Accept,
    AdminOnly,
    DeleteConfirmed,
    KeyRemovalConfirmed,
    Once,
    Permitted,
    ValidId,
)
from palbot.slack.context import SlackDeps
from palbot.slack.entries import Entry, register_entries
from palbot.slack.listeners.actions import end, force, home, join, key, pals, start

ENTRIES = (
    Entry(ids.PAL_START_BUTTON, start.start_button),
    Entry(ids.PAL_PATCH_BUTTON, pals.patch_button, (ValidId(silent=True), Permitted("edit"))),
    Entry(ids.PAL_EDIT_BUTTON, pals.edit_button, (ValidId(silent=True), Permitted("edit"))),
    Entry(ids.CONVERSATION_JOIN, join.join_button),
    Entry(ids.CONVERSATION_END, end.end_button),
    Entry(
        ids.PAL_DELETE_CONFIRM,
        pals.delete_confirmed,
        (
            ValidId(silent=True),
            Once(),
            DeleteConfirmed(),
            Accept("pal.delete"),
            Permitted("delete"),
        ),
    ),
    Entry(ids.PATCH_FORCE, force.force_button),
    Entry(
        ids.KEY_REMOVE_CONFIRM,
        key.remove_confirmed,
        (Once(), AdminOnly("key.remove", "remove the PAL API key"), KeyRemovalConfirmed()),
    ),
    Entry(
        ids.HOME_CONNECT_KEY,
        home.connect_key,
        (AdminOnly("key.set", "connect the PAL API key"),),
    ),
    Entry(ids.HOME_LIMITS, home.change_limits, (AdminOnly("limits.set", "set limits"),)),
    Entry(ids.HOME_CREATE, home.create_pal, (Permitted("create"),)),
    Entry(ids.HOME_START, home.start_conversation),
    Entry(
        ids.HOME_KEY_REMOVE,
        home.remove_key,
        (AdminOnly("key.remove", "remove the PAL API key"),),
    ),
)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    register_entries(deps, app.action, ENTRIES)
