"""Parsing the text of `/pal …` (design.md, 'Parsing')."""

from __future__ import annotations

from dataclasses import dataclass

from palbot.services.validation import is_id

_CURLY = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
    }
)
MAX_TEXT = 4000


def normalize(text: str) -> str:
    """Unescape Slack's &amp; &lt; &gt; and straighten curly quotes."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.translate(_CURLY).strip()


@dataclass(frozen=True)
class Command:
    sub: str
    arg: str | None = None
    rest: str = ""
    test: bool = False


def parse(text: str | None) -> Command:
    text = normalize(text or "")
    if not text:
        return Command("help")
    parts = text.split(None, 2)
    sub = parts[0].lower()
    arg = parts[1] if len(parts) > 1 else None
    rest = parts[2].strip() if len(parts) > 2 else ""
    test = False
    if sub == "start":
        if rest == "--test" or rest.endswith(" --test"):
            test, rest = True, rest[: -len("--test")].strip()
        elif arg == "--test" and not rest:
            test, arg = True, None
    return Command(sub, arg, rest, test)


USAGE = {
    "help": "/pal help",
    "key": "/pal key   ·   /pal key status   ·   /pal key remove",
    "create": "/pal create   or   /pal create interviewer",
    "list": "/pal list",
    "show": "/pal show <pal_id>",
    "patch": '/pal patch <pal_id>   or   /pal patch <pal_id> [{"op":"replace","path":"/pal_name",'
    '"value":"New name"}]',
    "start": "/pal start <pal_id> [conversation name] [--test]   or   /pal start",
    "end": "/pal end <conversation_id>",
    "delete": "/pal delete <pal_id>",
    "audit": "/pal audit [N]",
    "limits": "/pal limits",
}

__all__ = ["USAGE", "Command", "is_id", "normalize", "parse"]
