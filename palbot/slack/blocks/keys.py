"""Connect key modal and key status."""

from __future__ import annotations

from typing import Any

from palbot.services.errors import user_text
from palbot.slack import ids
from palbot.slack.blocks.common import message, result_view
from palbot.slack.metadata import ModalMetadata
from palbot.slack.text import context, escape, plain, section
from palbot.store.models import Workspace

KEY_TITLE = "Connect PAL API key"


def key_modal(metadata: ModalMetadata, workspace: Workspace | None) -> dict[str, Any]:
    current = (
        f"A key ending in `{escape(workspace.key_last4)}` is connected; saving replaces it."
        if workspace and workspace.has_key
        else "No key is connected yet."
    )
    return {
        "type": "modal",
        "callback_id": ids.KEY_MODAL,
        "title": plain(KEY_TITLE, 24),
        "submit": plain("Check and save", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": [
            section(
                "Paste the workspace's PAL API key (PAL Maker → *API Key* → *Create New "
                "Key*). palbot checks it against the PAL API before saving it, encrypted."
            ),
            {
                "type": "input",
                "block_id": ids.API_KEY,
                "label": plain("PAL API key", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.API_KEY,
                    "min_length": 8,
                    "max_length": 200,
                    "placeholder": plain("your PAL API key", 150),
                },
            },
            context(current + " Only admins can see this form; the key is never shown again."),
        ],
    }


def key_status_message(workspace: Workspace | None) -> dict[str, Any]:
    if workspace is None or not workspace.has_key:
        text = (
            "No PAL API key is connected to this workspace. A workspace admin can connect "
            "one with `/pal key`."
        )
        return message(text, [section(f":electric_plug: {text}")])
    text = (
        f"A PAL API key ending in `{escape(workspace.key_last4)}` is connected "
        f"(set by <@{escape(workspace.key_set_by or '')}> on "
        f"{escape((workspace.key_set_at or '')[:16].replace('T', ' '))} UTC)."
    )
    return message(text, [section(f":large_green_circle: {text}")])


def no_key_message() -> dict[str, Any]:
    text = (
        "This workspace has no PAL API key connected yet. A workspace admin can connect one "
        "with `/pal key` (get a key in the PAL Maker under *API Key*)."
    )
    return message(text, [section(f":electric_plug: {text}")])


def connected_text(workspace: Workspace) -> str:
    return (
        f"PAL API key ending in `{escape(workspace.key_last4 or '')}` connected. Anyone "
        "here can now `/pal create`, `/pal list` and `/pal start`."
    )


def key_not_saved_view(title: str, exc: Exception) -> dict[str, Any]:
    text = user_text(exc)
    return result_view(
        title,
        [
            section(f":warning: The key was not saved. {escape(text)}"),
            context("Run `/pal key` to try again."),
        ],
    )


def key_connected_view(title: str, workspace: Workspace) -> dict[str, Any]:
    last4 = escape(workspace.key_last4 or "")
    return result_view(
        title, [section(f":white_check_mark: PAL API key ending in `{last4}` connected.")]
    )
