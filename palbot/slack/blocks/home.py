"""The App Home tab."""

from __future__ import annotations

from typing import Any

from palbot.slack import ids
from palbot.slack.blocks.admin import limits_text
from palbot.slack.blocks.conversations import end_button, joinable, live_line
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


HOME_PALS = 10


def home_view(
    *,
    workspace: Workspace | None,
    pals: list[dict[str, Any]] | None,
    pals_error: str | None,
    conversations: list[ConversationRecord],
    is_admin: bool,
    audit: list[AuditEntry] | None = None,
    pals_total: int | None = None,
    active: list[ConversationRecord] | None = None,
    viewer: str = "",
    started_today: int = 0,
    live_unchecked: str | None = None,
    missing_scopes: frozenset[str] | None = None,
) -> dict[str, Any]:
    """App Home for everyone (Create, Start, the live calls, the PALs) and, for admins, the key,
    the limits with today's usage, and the last audit lines."""
    has_key = workspace is not None and workspace.has_key
    blocks: list[dict[str, Any]] = [
        header("palbot"),
        section("Create, tune and talk to Tavus PALs from Slack. Type `/pal help` anywhere."),
    ]
    if has_key:
        blocks.append(
            actions(
                button("Create a PAL", ids.HOME_CREATE, style="primary"),
                button("Start a conversation", ids.HOME_START),
            )
        )
    else:
        blocks.append(
            section(
                ":electric_plug: No PAL API key is connected yet. "
                + ("Connect one below." if is_admin else "A workspace admin can connect one.")
            )
        )
    blocks += _live(active or [], viewer, is_admin, live_unchecked)
    blocks += _pals(pals, pals_error, pals_total)
    blocks += _recent(conversations)
    if is_admin:
        from_slack = len([r for r in active or [] if r.started_by])  # what the limits count
        blocks += _admin(workspace, started_today, from_slack, audit)
        blocks += _reinstall(missing_scopes or frozenset())
    return {"type": "home", "blocks": blocks[:100]}


def _live(
    active: list[ConversationRecord], viewer: str, is_admin: bool, unchecked: str | None
) -> list[dict[str, Any]]:
    """The account's live calls: Join where the list may offer it, End for their starter
    (any, for an admin; one started outside Slack, only an admin)."""
    blocks: list[dict[str, Any]] = [divider(), header(f"Live conversations ({len(active)})")]
    if unchecked:
        blocks.append(
            context(
                f":warning: The PAL API could not be asked ({escape(cut(unchecked, 200))}): "
                "only conversations started from Slack are listed."
            )
        )
    if not active:
        blocks.append(context("None right now."))
    for record in active[:10]:
        line = f":large_green_circle: {live_line(record)} · {inline_code(record.conversation_id)}"
        blocks.append(section(cut(line, 3000)))
        buttons = []
        if joinable(record):  # a private room's link (with its token) is in its starter's DM
            buttons.append(
                button("Join", ids.CONVERSATION_JOIN, record.conversation_id, url=record.url)
            )
        if is_admin or (record.started_by and record.started_by == viewer):
            buttons.append(end_button(record.conversation_id))
        if buttons:
            blocks.append(actions(*buttons))
    return blocks


# what each optional scope brings, for an install that was made before palbot asked for it
FEATURE_SCOPES = (
    ("calls:write", "Slack's native call card on each conversation's message"),
    ("links:write", "conversation links pasted in Slack unfurled into a live card"),
    ("channels:history", "a whole thread as a PAL's context (the message shortcut)"),
    ("files:write", "each call's transcript as a file in its thread"),
)


def _reinstall(missing: frozenset[str]) -> list[dict[str, Any]]:
    """Admins: the features this install lacks, and how to turn them on."""
    lacking = [(scope, what) for scope, what in FEATURE_SCOPES if scope in missing]
    if not lacking:
        return []
    lines = "\n".join(f"• {what} (`{scope}`)" for scope, what in lacking)
    return [
        section(
            ":sparkles: *Turned off until palbot is reinstalled*\n"
            f"{lines}\n"
            "Reinstall palbot from its app page (or *Add to Slack* again): Slack then asks to "
            "approve the new permissions, and these come on. Nothing is lost meanwhile."
        )
    ]


def _pals(
    pals: list[dict[str, Any]] | None, error: str | None, total: int | None
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [divider(), header("PALs")]
    if error:
        blocks.append(context(f":warning: {escape(error)}"))
        return blocks
    if not pals:
        blocks.append(section("No PALs yet: *Create a PAL* above, or `/pal create`."))
        return blocks
    for pal in pals[:HOME_PALS]:
        name = escape(cut(str(pal.get("pal_name") or pal.get("pal_id")), 150))
        blocks.append(section(f"*{name}*  {inline_code(pal.get('pal_id', ''))}"))
    more = (total if total is not None else len(pals)) - min(len(pals), HOME_PALS)
    if more > 0:
        blocks.append(context(f"…and {more} more: `/pal list` shows them all."))
    return blocks


def _recent(conversations: list[ConversationRecord]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [divider(), header("Recent conversations")]
    done = [c for c in conversations if c.status != "active"][:10]
    if not done:
        blocks.append(context("None yet."))
    for conv in done:
        emoji = STATUS_EMOJI.get(conv.status, ":white_circle:")
        name = escape(cut(conv.pal_name or conv.pal_id, 100))
        title = escape(cut(conv.conversation_name or "", 100))
        status = "test" if conv.test_mode else conv.status
        blocks.append(
            context(
                f"{emoji} *{name}*{' · ' + title if title else ''} · "
                f"{escape(status)} · started by <@{escape(conv.started_by)}> · "
                f"{escape(conv.created_at[:16].replace('T', ' '))} UTC"
            )
        )
    return blocks


def _admin(
    workspace: Workspace | None, today: int, live: int, audit: list[AuditEntry] | None
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [divider(), header("Admin")]
    if workspace is not None and workspace.has_key:
        when = escape((workspace.key_set_at or "")[:16].replace("T", " "))
        blocks.append(
            section(
                f":key: PAL API key ending in `{escape(workspace.key_last4 or '')}` "
                f"(set by <@{escape(workspace.key_set_by or '')}>, {when} UTC)"
            )
        )
        blocks.append(
            actions(
                button("Replace key", ids.HOME_CONNECT_KEY),
                button("Remove key", ids.HOME_KEY_REMOVE, style="danger"),
            )
        )
    else:
        blocks.append(actions(button("Connect PAL API key", ids.HOME_CONNECT_KEY, style="primary")))
    limits = workspace.limits if workspace else None
    usage = [f"{today} started today (UTC)"]
    if limits and limits.max_per_day:
        usage[0] = f"{today} of {limits.max_per_day} started today (UTC)"
    usage.append(
        f"{live} of {limits.max_concurrent} live"
        if limits and limits.max_concurrent
        else f"{live} live"
    )
    blocks.append(
        section(f"*Limits:* {limits_text(limits) if limits else 'none set'}\n{' · '.join(usage)}")
    )
    blocks.append(actions(button("Change limits", ids.HOME_LIMITS)))
    if audit:
        lines = [
            f"`#{e.seq}` {escape(e.at[11:16])} "
            + (f"<@{escape(e.user_id)}> " if e.user_id else "")
            + f"*{escape(e.action)}*"
            + (f" {inline_code(cut(e.target, 40))}" if e.target else "")
            + f" → {escape(e.outcome)}"
            for e in audit[:10]
        ]
        blocks.append(section("*Recent audit entries*\n" + "\n".join(lines)))
    return blocks
