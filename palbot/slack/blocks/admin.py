"""Limits modal and the audit list."""

from __future__ import annotations

import json
from typing import Any

from palbot.slack import ids
from palbot.slack.blocks.common import message
from palbot.slack.metadata import ModalMetadata
from palbot.slack.text import context, cut, escape, header, inline_code, plain, section
from palbot.store.models import AuditEntry, Limits, Permissions


def _number(
    block_id: str, label: str, value: int | None, hint: str, minimum: int, maximum: int
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "number_input",
        "action_id": block_id,
        "is_decimal_allowed": False,
        "min_value": str(minimum),
        "max_value": str(maximum),
    }
    if value is not None:
        element["initial_value"] = str(value)
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain(label, 2000),
        "hint": plain(hint, 2000),
        "element": element,
    }


PERMISSION_CHOICES = {
    "everyone": "Everyone in the workspace",
    "creator_and_admins": "The PAL's creator and admins",
    "admins": "Admins only",
}
PERMISSION_FIELDS = (
    ("create", "Who may create PALs", ("everyone", "admins")),
    ("edit", "Who may edit (patch) a PAL", ("everyone", "creator_and_admins", "admins")),
    ("delete", "Who may delete a PAL", ("everyone", "creator_and_admins", "admins")),
)


def _permission_select(verb: str, label: str, choices: tuple[str, ...], current: str) -> Any:
    options = [{"text": plain(PERMISSION_CHOICES[c], 75), "value": c} for c in choices]
    return {
        "type": "input",
        "block_id": f"permission_{verb}",
        "label": plain(label, 2000),
        "element": {
            "type": "static_select",
            "action_id": f"permission_{verb}",
            "options": options,
            "initial_option": next(o for o in options if o["value"] == current),
        },
    }


def limits_modal(
    metadata: ModalMetadata, limits: Limits, permissions: Permissions | None = None
) -> dict[str, Any]:
    permissions = permissions or Permissions()
    return {
        "type": "modal",
        "callback_id": ids.LIMITS_MODAL,
        "title": plain("Limits", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata.dump(),
        "blocks": [
            section(
                "Cap what this workspace's conversations can cost. Leave a field empty for "
                "no limit."
            ),
            _number(
                ids.MAX_CONCURRENT,
                "Concurrent conversations",
                limits.max_concurrent,
                "At most this many active at once.",
                1,
                1000,
            ),
            _number(
                ids.MAX_PER_DAY,
                "Conversations per day",
                limits.max_per_day,
                "Started per UTC day (test conversations are free and not counted).",
                1,
                100000,
            ),
            _number(
                ids.MAX_CALL_DURATION,
                "Maximum call duration (seconds)",
                limits.max_call_duration,
                "Each call ends after this long (upstream default: 3600).",
                10,
                3600,
            ),
            section(
                "*Who may change PALs.* Admins always may. Pointing a PAL's speech at another "
                "model or voice server (`layers.llm` / `layers.tts` endpoints and credentials) "
                "is for admins only, whatever is chosen here."
            ),
            *(
                _permission_select(verb, label, choices, getattr(permissions, verb))
                for verb, label, choices in PERMISSION_FIELDS
            ),
        ],
    }


def permissions_text(permissions: Permissions) -> str:
    return "; ".join(
        f"{verb}: {PERMISSION_CHOICES[getattr(permissions, verb)].lower()}"
        for verb, _, _ in PERMISSION_FIELDS
    )


def limits_text(limits: Limits) -> str:
    def show(value: int | None) -> str:
        return str(value) if value is not None else "no limit"

    duration = f"{limits.max_call_duration} s" if limits.max_call_duration else "upstream default"
    return (
        f"concurrent: {show(limits.max_concurrent)} · per day: {show(limits.max_per_day)} · "
        f"call duration: {duration}"
    )


def audit_message(entries: list[AuditEntry], limit: int) -> dict[str, Any]:
    if not entries:
        return message("The audit log has no entries for this workspace yet.")
    blocks: list[dict[str, Any]] = [header(f"Audit log: last {len(entries)} entries")]
    lines: list[str] = []
    for e in entries:
        who = (
            f"<@{escape(e.user_id)}>"
            if e.user_id and e.user_id.startswith(("U", "W"))
            else (escape(e.user_id or "palbot"))
        )
        detail = {k: v for k, v in e.detail.items() if k not in ("accepted_seq",)}
        extra = cut(json.dumps(detail, ensure_ascii=False), 120) if detail else ""
        target = f" {inline_code(e.target, 60)}" if e.target else ""
        line = (
            f"`#{e.seq}` {escape(e.at[:19].replace('T', ' '))} {who} "
            f"*{escape(e.action)}*{target} → {escape(e.outcome)}"
        )
        if extra:
            line += f" {inline_code(extra, 130)}"
        lines.append(line)
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    blocks.append(
        context(
            "Full export: `palbot audit --team <team_id>` on the server; "
            "`palbot audit verify` checks the hash chain."
        )
    )
    return message(f"Last {len(entries)} audit entries", blocks[:50])
