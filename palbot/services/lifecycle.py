"""Following each conversation to its end: PAL API callbacks, and a poller when there are none."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import CallbackEvent
from palbot.services.audit import AuditTrail
from palbot.services.conversations import ConversationService
from palbot.services.errors import NoKey
from palbot.services.ports import MessagesFor
from palbot.services.reconcile import Reconciler
from palbot.services.runtime import Runtime
from palbot.services.validation import is_id
from palbot.store.models import ConversationRecord
from palbot.store.offloop import BACKGROUND

log = logging.getLogger("palbot.lifecycle")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
MAX_CALLBACK_BYTES = 2_000_000
KNOWN_EVENTS = (
    "system.replica_joined",
    "system.shutdown",
    "application.transcription_ready",
    "application.recording_ready",
    "application.perception_analysis",
)


def transcript_lines(transcript: Any, pal_name: str) -> list[str]:
    lines: list[str] = []
    if not isinstance(transcript, list):
        return lines
    for turn in transcript:
        if not isinstance(turn, dict):
            continue
        role = str(turn.get("role") or "")
        content = str(turn.get("content") or "").strip()
        if role == "system" or not content:
            continue
        speaker = pal_name if role == "assistant" else ("Participant" if role == "user" else role)
        lines.append(f"{speaker}: {content}")
    return lines


class Lifecycle:
    def __init__(
        self,
        rt: Runtime,
        convs: ConversationService,
        audit: AuditTrail,
        messages_for: MessagesFor,
        reconciler: Reconciler,
    ) -> None:
        self.rt = rt
        self.convs = convs
        self.audit = audit
        self.messages_for = messages_for
        self.reconciler = reconciler

    async def accept(self, token: str, event: CallbackEvent) -> tuple[int, str]:
        """Validate and record a callback; returns (HTTP status, what happened). Work on Slack
        happens afterwards, in the background, so the PAL API gets its 2xx at once. A callback
        for a start whose answer palbot has not had (or lost) completes that start."""
        status, what, record = await self.rt.db(self._accept_now, token, event)
        if record is None:
            return status, what
        adopting = record.status in ("starting", "unknown")
        work = self._adopt_then_deliver(record, event) if adopting else self.deliver(record, event)
        self.rt.spawn(work, name=f"callback-{event.event_type}")
        return status, what

    def _accept_now(
        self, token: str, event: CallbackEvent
    ) -> tuple[int, str, ConversationRecord | None]:
        """On a store thread: find the token's record, claim the event, audit it."""
        store = self.rt.store.conversations
        record = store.by_callback_token(token) if TOKEN.match(token) else None
        if record is None:
            return 404, "unknown callback", None
        adopting = record.status in ("starting", "unknown")
        if record.conversation_id != event.conversation_id and not (
            adopting and is_id(event.conversation_id)
        ):
            return 404, "unknown callback", None
        if not store.first_event(event.conversation_id, event.event_type):
            return 200, "duplicate", None
        self.audit.record_now(
            "conversation.callback",
            "ok",
            team_id=record.team_id,
            channel_id=record.channel_id,
            target=event.conversation_id,
            detail={"event_type": event.event_type, "known": event.event_type in KNOWN_EVENTS},
        )
        return 200, "accepted", record

    async def _adopt_then_deliver(self, record: ConversationRecord, event: CallbackEvent) -> None:
        """The callback names the conversation this start created: record it first."""
        try:
            client = await self.rt.pal_client(record.team_id, max_retries=1)
            conv = await client.get_conversation(event.conversation_id)
        except (NoKey, api_errors.PalApiError) as exc:
            log.info("callback for an open start not adopted yet: %s", type(exc).__name__)
            store = self.rt.store.conversations
            await self.rt.db(store.release_event, event.conversation_id, event.event_type)
            return
        store, db = self.rt.store.conversations, self.rt.db
        current = await db(store.by_attempt, record.attempt_id or "")
        if current is not None and current.status in ("starting", "unknown"):
            record = await self.reconciler.adopt(current, conv)
        else:  # the create's own answer recorded it meanwhile
            latest = await db(store.get, event.conversation_id)
            record = latest or record
        await self.deliver(record, event)

    async def deliver(self, record: ConversationRecord, event: CallbackEvent) -> None:
        """Apply the event; it counts as handled only once its effect is delivered, so a
        failed Slack call leaves it for upstream's retry (or palbot's next look)."""
        store, db = self.rt.store.conversations, self.rt.db
        try:
            delivered = await self.apply(record, event)
        except Exception:
            await db(store.release_event, event.conversation_id, event.event_type)
            raise
        if delivered:
            await db(store.event_delivered, event.conversation_id, event.event_type)
        else:
            await db(store.release_event, event.conversation_id, event.event_type)

    async def apply(self, record: ConversationRecord, event: CallbackEvent) -> bool:
        """Show the event; True once it is shown (or there is nothing to show)."""
        messages = await self.messages_for(record.team_id)
        props, kind = event.properties, event.event_type
        if kind == "system.shutdown":  # recorded even where nothing can be posted any more
            reason = str(props.get("shutdown_reason") or "shutdown")
            await self.convs.record_end(
                messages, record.conversation_id, ended_by=None, reason=reason
            )
            return True
        if messages is None:
            log.info("no way to post for %s: callback %s not shown", record.team_id, kind)
            return True  # uninstalled: nothing will ever show it
        if kind == "system.replica_joined":
            current = await self.rt.db(self.rt.store.conversations.get, record.conversation_id)
            if current is not None and current.status == "active":  # not after an end
                return await messages.joined(await self.convs.with_join_link(current))
            return True
        if kind == "application.transcription_ready":
            pal = record.pal_name or "PAL"
            lines = transcript_lines(props.get("transcript"), pal)
            return await messages.transcript(record, lines)
        if kind == "application.recording_ready":
            where = props.get("storage_uri") or props.get("s3_key") or "the PAL account's storage"
            duration = props.get("duration")
            seconds = float(duration) if isinstance(duration, int | float) else None
            return await messages.recording_ready(record, str(where), seconds)
        if kind == "application.perception_analysis":
            analysis = str(props.get("analysis") or "").strip()
            return await messages.perception(record, analysis) if analysis else True
        log.info("ignored callback event %s", kind)
        return True

    # ---- the poller ----------------------------------------------------------------

    async def poll_once(self) -> int:
        """Bring every active conversation's message up to date; returns how many ended."""
        ended = 0
        for record in await self.rt.db(self.rt.store.conversations.list_active):
            try:
                client = await self.rt.pal_client(record.team_id, max_retries=1)
                conv = await client.get_conversation(record.conversation_id)
            except NoKey:
                continue
            except api_errors.NotFound:
                reason = "the conversation no longer exists upstream"
            except api_errors.PalApiError as exc:
                log.info("poll of %s failed: %s", record.conversation_id, type(exc).__name__)
                continue
            else:
                if conv.status != "ended":
                    continue
                raw = conv.raw or {}
                reason = str(raw.get("shutdown_reason") or "the conversation ended")
            messages = await self.messages_for(record.team_id)
            if await self.convs.record_end(
                messages, record.conversation_id, ended_by=None, reason=reason
            ):
                ended += 1
        return ended

    async def run_poller(self, interval: float) -> None:
        """Every `interval` seconds, in whichever process holds the `poller` lease."""
        BACKGROUND.set(True)  # this task's store calls yield to requests'
        while True:
            try:
                if await self.rt.leading("poller", interval):
                    await self.poll_once()
            except Exception:
                log.exception("conversation poller round failed")
            await asyncio.sleep(interval)
