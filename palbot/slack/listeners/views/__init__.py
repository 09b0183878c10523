"""Modal submissions: one module per form. Invalid input comes back as `response_action: errors`
and changes nothing; checks that need the PAL API run inside the ack with a 2-second budget."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.slack import ids
from palbot.slack.checks import AdminOnly
from palbot.slack.context import SlackDeps
from palbot.slack.entries import Entry, register_entries
from palbot.slack.listeners.views import create, edit, key, limits, patch, start

ENTRIES = (
    Entry(
        ids.KEY_MODAL,
        key.submit_key,
        (AdminOnly("key.set", "connect the PAL API key", field=ids.API_KEY),),
        field=ids.API_KEY,
        title=key.TITLE,
    ),
    Entry(
        ids.CREATE_MODAL,
        create.submit_create,
        field=ids.PAL_NAME,
        title=create.TITLE,
        refill=create.refill,
    ),
    Entry(
        ids.PATCH_MODAL,
        patch.submit_patch,
        field=ids.PATCH_JSON,
        title=patch.TITLE,
        refill=patch.refill,
    ),
    Entry(
        ids.EDIT_MODAL, edit.submit_edit, field=ids.PAL_NAME, title=edit.TITLE, refill=edit.refill
    ),
    Entry(ids.START_MODAL, start.submit_start, field=ids.PAL_ID, title=start.TITLE),
    Entry(
        ids.LIMITS_MODAL,
        limits.submit_limits,
        (AdminOnly("limits.set", "set limits", field=ids.MAX_CONCURRENT),),
        field=ids.MAX_CONCURRENT,
    ),
)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    register_entries(deps, app.view, ENTRIES)
