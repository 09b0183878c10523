"""`/pal help`."""

from __future__ import annotations

from typing import Any

from palbot.slack.blocks.common import message
from palbot.slack.text import context, divider, header, section

HELP_ROWS: list[tuple[str, str]] = [
    (
        "/pal create",
        "open a form to create a PAL (`/pal create interviewer` starts from a template)",
    ),
    ("/pal list", "list this workspace's PALs, with Start and Patch buttons"),
    ("/pal show p1234abcd", "show a PAL's full configuration"),
    ("/pal edit p1234abcd", "change a PAL in a form with its current values (name, prompt, face…)"),
    ("/pal patch p1234abcd", "change a PAL as JSON, in a form showing its configuration"),
    (
        '/pal patch p1234abcd [{"op":"add","path":"/layers/stt/hotwords","value":"leadership"}]',
        "apply a JSON Patch (RFC 6902) directly",
    ),
    (
        "/pal start p1234abcd Weekly sync",
        "start a conversation and post its Join link here; "
        "add `--test` for a free test conversation nobody joins, `--private` for a link only "
        "you get (in a DM), `--audio-only`, or `--lang spanish`",
    ),
    ("/pal start", "pick a PAL and a channel in a form"),
    ("/pal conversations", "the live conversations (Join, End) and the recent ones"),
    ("/pal end c1234abcd", "end a conversation you started (admins: any)"),
    (
        "/pal key",
        "admins: connect the workspace's PAL API key (`/pal key status`, `/pal key remove`)",
    ),
    ("/pal delete p1234abcd", "admins: delete a PAL (asks to confirm)"),
    ("/pal limits", "admins: cap concurrent and daily conversations and call length"),
    ("/pal audit 20", "admins: the last entries of this workspace's audit log"),
]


def help_message() -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header("palbot: PALs in Slack")]
    blocks.append(section("Create, tune and talk to Tavus PALs (AI video agents) from Slack."))
    blocks.append(divider())
    blocks.append(section("\n".join(f"`{cmd}`\n      {what}" for cmd, what in HELP_ROWS)))
    blocks.append(
        section(
            "On any message: *More actions* (⋯) → *Talk this through* starts a conversation "
            "with a PAL about it (or its thread), posted in its thread."
        )
    )
    blocks.append(
        context(
            "Starting a conversation bills the workspace's PAL account from the "
            "moment it is created. `/pal key status` shows whether a key is "
            "connected."
        )
    )
    return message(
        "palbot help: /pal create, list, show, patch, start, conversations, end, key, delete, "
        "limits, audit",
        blocks,
    )


def help_for(sub: str, usage: str) -> dict[str, Any]:
    """`/pal help <subcommand>`: its forms, with the examples of /pal help."""
    rows = [(cmd, what) for cmd, what in HELP_ROWS if cmd.split()[1:2] == [sub]]
    blocks: list[dict[str, Any]] = [section(f"*/pal {sub}*\n`{usage}`")]
    if rows:
        blocks.append(section("\n".join(f"`{cmd}`\n      {what}" for cmd, what in rows)))
    blocks.append(context("`/pal help` lists every subcommand."))
    return message(f"/pal {sub}: {usage}", blocks)
