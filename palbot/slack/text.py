"""Safe text for Slack: mrkdwn escaping, code blocks and Block Kit length limits."""

from __future__ import annotations

import json
from typing import Any

ZWSP = "\u200b"


def escape(text: object) -> str:
    """Escape a user-given string for mrkdwn: no mention, channel ping or link can get through."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline_code(text: object, limit: int = 200) -> str:
    value = cut(str(text).replace("`", "'").replace("\n", " "), limit)
    return f"`{escape(value)}`" if value else "``"


def cut(text: str, limit: int, marker: str = "…") -> str:
    """Cut to at most `limit` characters, never mid-way through a surrogate or escape."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))].rstrip() + marker


def code_chunks(text: str, chunk: int = 2900, max_chunks: int = 10) -> tuple[list[str], bool]:
    """Split text into ``` blocks that fit in sections; True when something was left out."""
    safe = escape(text).replace("```", "`" + ZWSP + "``")
    size = chunk - 8
    parts: list[str] = []
    rest = safe
    while rest and len(parts) < max_chunks:
        piece = rest[:size]
        if len(rest) > size:
            newline = piece.rfind("\n")
            if newline > size // 2:
                piece = piece[: newline + 1]
            amp = piece.rfind("&")  # never split an &amp; / &lt; / &gt; entity
            if amp != -1 and ";" not in piece[amp:]:
                piece = piece[:amp]
        parts.append(f"```{piece}```")
        rest = rest[len(piece) :]
    return parts, bool(rest)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit) or " ", "emoji": True}


def mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text, limit) or " "}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, 150)}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id}
    if value is not None:
        out["value"] = cut(value, 2000)
    if style:
        out["style"] = style
    if url:
        out["url"] = url
    if confirm:
        out["confirm"] = confirm
    return out


def confirm_dialog(
    title: str, text: str, yes: str, no: str = "Cancel", danger: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": plain(title, 100),
        "text": mrkdwn(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain(no, 30),
    }
    if danger:
        out["style"] = "danger"
    return out


def actions(*elements: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "actions", "elements": list(elements)}
    if block_id:
        out["block_id"] = block_id
    return out


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": cut(value, 150, marker="")}
