"""`/pal …`: parse once (in the request context), then hand each subcommand to its entry. The
table below is where each subcommand's checks are declared."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from palbot.slack import ids
from palbot.slack.blocks.common import error_message
from palbot.slack.checks import AdminOnly, NeedsKey, Once, Permitted, Usage, ValidId
from palbot.slack.context import Ctx, SlackDeps
from palbot.slack.entries import Entry, register_entries, run_entry
from palbot.slack.listeners.commands import admin, conversations, help, key, pals, patch
from palbot.slack.parsing import did_you_mean_sub

SUBCOMMANDS = {
    e.key: e
    for e in (
        Entry("help", help.show_help),
        Entry("key", key.open_key_form, (AdminOnly("key.set", "connect the PAL API key"),)),
        Entry("key status", key.key_status),
        Entry("key remove", key.remove_key, (AdminOnly("key.remove", "remove the PAL API key"),)),
        Entry("create", pals.open_create_form, (Permitted("create"),)),
        Entry("list", pals.list_pals, (NeedsKey(),)),
        Entry("show", pals.show_pal, (ValidId("Give the id of the PAL to show."), NeedsKey())),
        Entry(
            "patch",
            patch.patch,
            (ValidId("Give the id of the PAL to patch."), NeedsKey(), Once(), Permitted("edit")),
        ),
        Entry(
            "edit",
            patch.edit,
            (ValidId("Give the id of the PAL to edit."), NeedsKey(), Permitted("edit")),
        ),
        Entry("start", conversations.start),
        Entry("conversations", conversations.list_conversations),
        Entry(
            "end",
            conversations.end,
            (ValidId("Give the id of the conversation to end."), NeedsKey()),
        ),
        Entry(
            "delete",
            pals.confirm_delete,
            (
                ValidId("Give the id of the PAL to delete."),
                NeedsKey(),
                Permitted("delete"),
            ),
        ),
        Entry(
            "audit",
            admin.show_audit,
            (admin.AuditCount(), AdminOnly("audit.read", "read the audit log")),
        ),
        Entry("limits", admin.open_limits_form, (AdminOnly("limits.set", "set limits"),)),
    )
}


def subcommand(ctx: Ctx) -> Entry | None:
    cmd = ctx.command
    assert cmd is not None
    if cmd.sub != "key":
        return SUBCOMMANDS.get(cmd.sub)
    what = (cmd.arg or "").lower()
    if what not in ("", "status", "remove"):
        raise Usage("key", f"`/pal key {(cmd.arg or '')[:40]}` is not a key command.")
    return SUBCOMMANDS[f"key {what}".strip()]


async def pal_command(ctx: Ctx) -> None:
    entry = subcommand(ctx)
    if entry is None:
        assert ctx.command is not None
        await ctx.ack(
            error_message(
                f"Unknown subcommand `{ctx.command.sub[:40]}`.",
                f"{did_you_mean_sub(ctx.command.sub)}"
                "`/pal help` lists every subcommand with an example.",
            )
        )
        return
    await run_entry(ctx, entry)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    register_entries(deps, app.command, (Entry(ids.COMMAND, pal_command),))
