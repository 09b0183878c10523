"""What the domain needs from the chat surface, as Protocols it calls and never imports.

`palbot/slack/` implements these with its Block Kit builders; a CLI, a test or another chat
platform can implement them too. Services only ever speak these words: a placeholder, started,
joined, failed, ended, and the results posted after a call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from palbot.store.models import ConversationRecord


@dataclass(frozen=True)
class MessageRef:
    """Where a conversation's message lives (a channel and the message's timestamp)."""

    channel_id: str
    ts: str
    call_id: str | None = None  # a native call card registered with it (Slack's Calls API)


@dataclass(frozen=True)
class Posted:
    """A result posted in a conversation's thread (`ok`), and where it can be seen (`link`,
    where the chat has one): the conversation's message links to it."""

    ok: bool
    link: str | None = None


class PostRefused(Exception):
    """The chat surface refused to post (not in the channel, archived, rate-limited…).
    `message` is written for the person who asked; `code` is the platform's own word."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ConversationMessages(Protocol):
    """The one message that follows a conversation from start to end, and its thread. Each
    method says whether it was delivered (False: try again later), never raises for Slack."""

    async def placeholder(
        self, channel_id: str, pal_name: str, starter: str, thread_ts: str | None = None
    ) -> MessageRef:
        """Post "starting…" (in `thread_ts`'s thread, where given) before anything is billed;
        raises PostRefused."""
        ...

    async def started(self, record: ConversationRecord) -> MessageRef | None:
        """The join message; where it is shown (a new message if the old one could not be
        updated), or None when it could not be shown yet."""
        ...

    async def joined(self, record: ConversationRecord) -> bool: ...
    async def failed(self, ref: MessageRef, pal_name: str, starter: str, reason: str) -> bool:
        """A start that created nothing: its placeholder leaves the channel (the channel only
        ever sees conversations that exist); the starter is told privately, with `reason`, by
        whoever answers them."""
        ...

    async def unconfirmed(self, ref: MessageRef, pal_name: str, starter: str) -> bool:
        """The PAL API has not confirmed a create yet: the placeholder says palbot is checking."""
        ...

    async def ended(self, record: ConversationRecord) -> bool: ...
    async def key_removed(self, record: ConversationRecord) -> bool:
        """A live conversation's message: the key is gone, palbot can no longer end it."""
        ...

    async def transcript(self, record: ConversationRecord, lines: list[str]) -> Posted:
        """The whole transcript in the thread, as a readable file ("Speaker: words")."""
        ...

    async def recording_ready(
        self, record: ConversationRecord, where: str, duration: float | None
    ) -> Posted: ...
    async def perception(self, record: ConversationRecord, analysis: str) -> Posted: ...
    async def results_ready(self, record: ConversationRecord, links: dict[str, str]) -> bool:
        """The ended conversation's message summarises it again, now linking to the results
        in its thread (`links`: event type → link)."""
        ...

    async def tell(self, user_id: str, text: str) -> bool:
        """A private word to one person (plain text; the surface escapes it)."""
        ...

    async def start_settled(self, record: ConversationRecord, started: bool) -> bool:
        """Tell the starter how a start whose outcome was not known ended (reconciliation)."""
        ...


# The messages of a workspace outside any request (callbacks, the poller); None when palbot
# can no longer post there (uninstalled).
MessagesFor = Callable[[str], Awaitable[ConversationMessages | None]]

# Whether the person asking is a workspace admin (asked only when needed).
AdminCheck = Callable[[], Awaitable[bool]]
