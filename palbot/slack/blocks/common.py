"""Views and messages shared by several features."""

from __future__ import annotations

from typing import Any

from palbot.slack import ids
from palbot.slack.metadata import ModalMetadata
from palbot.slack.text import context, cut, escape, plain, section


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    """A form's input, named after the field it fills (block_id = action_id)."""
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, 2000),
        "element": {**element, "action_id": block_id},
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def text_input(
    block_id: str,
    label: str,
    *,
    multiline: bool = False,
    optional: bool = False,
    initial: str | None = None,
    max_length: int = 3000,
    hint: str | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    """A text field (`initial` cut to fit, never with a marker inside the value)."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = cut(initial, max_length, marker="")
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return input_block(block_id, label, element, optional=optional, hint=hint)


def result_view(
    title: str, blocks: list[dict[str, Any]], metadata: ModalMetadata | None = None
) -> dict[str, Any]:
    """A view with no submit button, shown after a submission (success, failure, progress)."""
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": ids.RESULT_VIEW,
        "title": plain(title, 24),
        "close": plain("Close", 24),
        "blocks": blocks[:100] or [section(" ")],
    }
    if metadata is not None:
        view["private_metadata"] = metadata.dump()
    return view


def loading_view(
    title: str, text: str, callback_id: str = ids.RESULT_VIEW, metadata: ModalMetadata | None = None
) -> dict[str, Any]:
    view = result_view(title, [section(f":hourglass_flowing_sand: {text}")], metadata)
    view["callback_id"] = callback_id
    return view


def error_view(text: str, title: str = "palbot") -> dict[str, Any]:
    """A modal that failed: the reason (often upstream's words), escaped."""
    return result_view(title, [section(f":warning: {escape(text)}")])


def message(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An ephemeral answer: `text` is the notification fallback, blocks the body."""
    return {
        "response_type": "ephemeral",
        "text": text[:3000],
        "blocks": (blocks or [section(text)])[:50],
    }


def error_message(text: str, hint: str | None = None) -> dict[str, Any]:
    """A refusal or failure. `text` often carries upstream or exception text: it is escaped."""
    text = escape(text)
    blocks = [section(f":warning: {text}")]
    if hint:
        blocks.append(context(hint))
    return message(text, blocks)


def ok_message(text: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return message(text, [section(f":white_check_mark: {text}"), *(extra or [])])


def working_message(text: str) -> dict[str, Any]:
    """A sign of life while the PAL API answers; the answer replaces it."""
    return message(text, [context(f":hourglass_flowing_sand: {escape(text)}")])
