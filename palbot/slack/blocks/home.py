"""The App Home tab."""

from __future__ import annotations

from typing import Any

from palbot.slack import ids
from palbot.slack.blocks.admin import limits_text
from palbot.slack.text import (
    actions,
    button,
    context,
    cut,
    divider,
    escape,
    header,
    inline_code,
    section,
)
from palbot.store.models import AuditEntry, ConversationRecord, Workspace

STATUS_EMOJI = {
    "active": ":large_green_circle:",
    "ended": ":white_circle:",
    "failed": ":red_circle:",
    "starting": ":hourglass_flowing_sand:",
    "unknown": ":grey_question:",  # palbot is checking with the PAL API (reconciliation)
}


def home_view(
    *,
    workspace: Workspace | None,
    pals: list[dict[str, Any]] | None,
    pals_error: str | None,
    conversations: list[ConversationRecord],
    is_admin: bool,
    audit: list[AuditEntry] | None = None,
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        header("palbot"),
        section("Create, tune and talk to Tavus PALs from Slack. Type `/pal help` anywhere."),
    ]
    blocks.append(divider())
    if workspace is not None and workspace.has_key:
        blocks.append(
            section(
                f":large_green_circle: PAL API key ending in "
                f"`{escape(workspace.key_last4 or '')}` connected."
            )
        )
    else:
        blocks.append(
            section(
                ":electric_plug: No PAL API key is connected yet. "
                "A workspace admin can connect one."
            )
        )
    blocks.append(header("PALs"))
    if pals_error:
        blocks.append(context(f":warning: {escape(pals_error)}"))
    elif not pals:
        blocks.append(section("No PALs yet: `/pal create` makes one."))
    else:
        for pal in pals[:10]:
            name = escape(cut(str(pal.get("pal_name") or pal.get("pal_id")), 150))
            blocks.append(section(f"*{name}*  {inline_code(pal.get('pal_id', ''))}"))
        if len(pals) > 10:
            blocks.append(context(f"…and {len(pals) - 10} more: `/pal list`."))
    blocks.append(header("Recent conversations"))
    if not conversations:
        blocks.append(section("None yet: `/pal start <pal_id>` starts one."))
    for conv in conversations[:10]:
        emoji = STATUS_EMOJI.get(conv.status, ":white_circle:")
        name = escape(cut(conv.pal_name or conv.pal_id, 100))
        title = escape(cut(conv.conversation_name or "", 100))
        blocks.append(
            context(
                f"{emoji} *{name}*{' · ' + title if title else ''} · "
                f"{escape(conv.status)} · started by <@{escape(conv.started_by)}> · "
                f"{escape(conv.created_at[:16].replace('T', ' '))} UTC"
            )
        )
    if is_admin:
        blocks.append(divider())
        blocks.append(header("Admin"))
        limits = workspace.limits if workspace else None
        blocks.append(section(f"Limits: {limits_text(limits) if limits else 'none set'}"))
        blocks.append(
            actions(
                button("Connect PAL API key", ids.HOME_CONNECT_KEY),
                button("Set limits", ids.HOME_LIMITS),
            )
        )
        if audit:
            lines = [
                f"`#{e.seq}` {escape(e.at[:16].replace('T', ' '))} *{escape(e.action)}* → "
                f"{escape(e.outcome)}"
                for e in audit[:10]
            ]
            blocks.append(section("*Recent audit entries*\n" + "\n".join(lines)))
    return {"type": "home", "blocks": blocks[:100]}
