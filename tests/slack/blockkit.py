"""Check views and messages with slack_sdk.models, the way Slack would refuse them."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int = 50) -> None:
    assert 0 < len(blocks) <= max_blocks, f"{len(blocks)} blocks"
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()


def check_view(view: dict[str, Any]) -> None:
    clean = {k: v for k, v in view.items() if k not in ("id", "hash", "state", "team_id")}
    model = View(**clean)
    model.validate_json()
    check_blocks(view["blocks"], max_blocks=100)
    assert len(view.get("private_metadata") or "") <= 3000


def check_message(message: dict[str, Any]) -> None:
    if message.get("blocks"):
        check_blocks(message["blocks"])
    assert len(message.get("text") or "") <= 40000


def render(blocks: list[dict[str, Any]]) -> str:
    """The text a person reads in these blocks, one line per block; buttons as `[label]`."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        parts: list[str] = []
        if isinstance(block.get("text"), dict):
            parts.append(str(block["text"].get("text", "")))
        for field in block.get("fields") or []:
            parts.append(str(field.get("text", "")))
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                parts.append(f"[{element['text']['text']}]")
            elif "text" in element and isinstance(element["text"], str):
                parts.append(element["text"])
            elif isinstance(element.get("text"), dict):
                parts.append(str(element["text"].get("text", "")))
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            parts.append(f"[{accessory['text']['text']}]")
        if kind == "input" and isinstance(block.get("label"), dict):
            parts.append(str(block["label"].get("text", "")))
        lines.append(" ".join(p for p in parts if p))
    return "\n".join(lines)
