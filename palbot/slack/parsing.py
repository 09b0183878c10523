"""Parsing the text of `/pal …` (design.md, 'Parsing')."""

from __future__ import annotations

import difflib
import re
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


START_FLAGS = ("--test", "--private", "--audio-only", "--lang")
VALUE_FLAGS = ("--lang",)  # flags followed by their value
_FLAG = re.compile(
    r"^[-\u2010-\u2015\u2212]{1,2}[A-Za-z][\w-]*$"
)  # -x, --x, and dashes Slack makes


@dataclass(frozen=True)
class Command:
    sub: str
    arg: str | None = None
    rest: str = ""
    test: bool = False
    unknown_flags: tuple[str, ...] = ()
    audio_only: bool = False
    language: str | None = None
    private: bool = False
    missing_value: str | None = None  # a flag that needs a value and has none


ID_ARGUMENT = ("show", "patch", "edit", "start", "end", "delete")
_PAIRS = {"<": ">", "`": "`", '"': '"', "'": "'", "(": ")", "[": "]"}
_TRAILING = ".,;:!?"
_IN_LINK = re.compile(r"[/=#]([A-Za-z0-9_-]{6,64})/?(?:[?#].*)?$")


def clean_id(raw: str) -> str:
    """An id as people type or paste it: `<p0a6da2460bf>` (like the help's `<pal_id>`), in
    quotes or backticks, with a trailing comma or full stop, or at the end of a link. Anything
    else is left as typed (and refused as not an id): an unpaired `>` is not a wrapper."""
    text = raw.strip().rstrip(_TRAILING)
    while len(text) >= 2 and text[0] in _PAIRS and text[-1] == _PAIRS[text[0]]:
        text = text[1:-1].strip().rstrip(_TRAILING)
    if "://" in text or text.startswith("www."):
        link = _IN_LINK.search(text.split("|", 1)[0])
        if link:
            text = link.group(1)
    return text if is_id(text) else raw


def parse(text: str | None) -> Command:
    text = normalize(text or "")
    if not text:
        return Command("help")
    parts = text.split(None, 2)
    sub = parts[0].lower()
    arg = parts[1] if len(parts) > 1 else None
    rest = parts[2].strip() if len(parts) > 2 else ""
    if arg is not None and sub in ID_ARGUMENT and arg != "--test":
        arg = clean_id(arg)
    if sub != "start":
        return Command(sub, arg, rest)
    if arg == "--test" and not rest:
        return Command(sub, None, "", True)
    # flags anywhere after the id: `--test` is a flag wherever it stands, never part of a name,
    # and anything flag-shaped that palbot does not know is refused (never started, never billed)
    words: list[str] = []
    flags: list[str] = []
    values: dict[str, str] = {}
    missing: str | None = None
    parts_left = rest.split()
    while parts_left:
        word = parts_left.pop(0)
        if not _FLAG.match(word):
            words.append(word)
            continue
        flags.append(word)
        if word in VALUE_FLAGS:
            if parts_left and not _FLAG.match(parts_left[0]):
                values[word] = parts_left.pop(0)
            else:
                missing = word
    unknown = tuple(f for f in flags if f not in START_FLAGS)
    return Command(
        sub,
        arg,
        " ".join(words),
        "--test" in flags,
        unknown,
        audio_only="--audio-only" in flags,
        language=values.get("--lang"),
        private="--private" in flags,
        missing_value=missing,
    )


def did_you_mean_sub(sub: str) -> str:
    """ "did you mean `/pal list`?" for a mistyped subcommand."""
    found = difflib.get_close_matches(sub.lower(), list(USAGE), n=1, cutoff=0.6)
    return f"Did you mean `/pal {found[0]}`? " if found else ""


def did_you_mean(flag: str) -> str:
    """ "did you mean `--test`?" for a mistyped flag (a case, a dash, a swapped letter)."""
    plain = flag.lstrip("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212").lower()
    found = difflib.get_close_matches(plain, [f.lstrip("-") for f in START_FLAGS], n=1, cutoff=0.5)
    return f" Did you mean `--{found[0]}`?" if found else ""


USAGE = {
    "help": "/pal help   or   /pal help <subcommand>",
    "key": "/pal key   ·   /pal key status   ·   /pal key remove",
    "create": "/pal create   or   /pal create interviewer",
    "list": "/pal list",
    "show": "/pal show <pal_id>",
    "patch": '/pal patch <pal_id>   or   /pal patch <pal_id> [{"op":"replace","path":"/pal_name",'
    '"value":"New name"}]',
    "edit": "/pal edit <pal_id>",
    "start": "/pal start <pal_id> [conversation name] [--test] [--private] [--audio-only] "
    "[--lang <language>]   or   /pal start",
    "end": "/pal end <conversation_id>",
    "conversations": "/pal conversations",
    "delete": "/pal delete <pal_id>",
    "audit": "/pal audit [N]",
    "limits": "/pal limits",
}

__all__ = ["USAGE", "Command", "is_id", "normalize", "parse"]
