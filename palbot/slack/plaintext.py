"""Slack message text as plain words, for a PAL's context: mentions become names, links their
label and address, formatting marks go. Nothing hidden passes: no user, channel or group ids, no
link parameters (which can carry tokens), no control characters. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

_ANGLE = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"^@([UW][A-Z0-9_]+)(?:\|(.*))?$")
_CHANNEL = re.compile(r"^#([CGD][A-Z0-9_]+)(?:\|(.*))?$")
_SPECIAL = re.compile(r"^!([a-z]+)(?:\^[^|]*)?(?:\|(.*))?$")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_USER_IDS = re.compile(r"<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>")


def mentioned_users(text: str) -> list[str]:
    """The user ids a message mentions, in order, once each."""
    return list(dict.fromkeys(_USER_IDS.findall(text or "")))


def _link(target: str, label: str | None) -> str:
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return label or ""
    address = f"{parts.scheme}://{parts.netloc}{parts.path}"  # no query: it can carry tokens
    if not label or label in (target, address):
        return address
    return f"{label} ({address})"


def _token(inner: str, names: Mapping[str, str]) -> str:
    user = _USER.match(inner)
    if user:
        return "@" + (names.get(user.group(1)) or (user.group(2) or "").lstrip("@") or "someone")
    channel = _CHANNEL.match(inner)
    if channel:
        return "#" + (channel.group(2) or "a channel")
    special = _SPECIAL.match(inner)
    if special:
        word, label = special.group(1), special.group(2)
        if word in ("here", "channel", "everyone"):
            return f"@{word}"
        return (label or "").strip()  # a user group's @name, a date's fallback text
    target, _, label = inner.partition("|")
    return _link(target, label or None)


def to_plain(text: str, names: Mapping[str, str] | None = None) -> str:
    """A Slack message's text (`mrkdwn` with Slack's `<…>` markup) as plain text; `names`
    maps user ids to display names."""
    names = names or {}
    out = _ANGLE.sub(lambda m: _token(m.group(1), names), text or "")
    out = out.replace("```", "").replace("`", "")
    previous = None
    while previous != out:  # nested emphasis (*_both_*) loses every mark
        previous = out
        out = _EMPHASIS.sub(lambda m: m.group(2), out)
    out = out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = _CONTROL.sub("", out)
    return "\n".join(line.rstrip() for line in out.strip().splitlines())


def fit_lines(lines: list[str], limit: int, header: str = "") -> str:
    """`header` and as many of the last `lines` as fit in `limit` characters (the latest
    words matter most); a line too long on its own is cut at the end."""
    kept: list[str] = []
    room = limit - len(header) - (1 if header else 0)
    for line in reversed(lines):
        if len(line) + 1 > room:
            if not kept:
                kept.append(line[: max(0, room - 1)].rstrip() + "…")
            break
        kept.append(line)
        room -= len(line) + 1
    body = "\n".join(reversed(kept))
    return f"{header}\n{body}" if header else body
