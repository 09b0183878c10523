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
from palbot.services.runtime import Runtime
from palbot.store.models import ConversationRecord

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
    ) -> None:
        self.rt = rt
        self.convs = convs
        self.audit = audit
        self.messages_for = messages_for

    def accept(self, token: str, event: CallbackEvent) -> tuple[int, str]:
        """Validate and record a callback; returns (HTTP status, what happened). Work on Slack
        happens afterwards, in the background, so the PAL API gets its 2xx at once."""
        record = (
            self.rt.store.conversations.by_callback_token(token) if TOKEN.match(token) else None
        )
        if record is None or record.conversation_id != event.conversation_id:
            return 404, "unknown callback"
        if not self.rt.store.conversations.first_event(record.conversation_id, event.event_type):
            return 200, "duplicate"
        self.audit.record(
            "conversation.callback",
            "ok",
            team_id=record.team_id,
            channel_id=record.channel_id,
            target=record.conversation_id,
            detail={"event_type": event.event_type, "known": event.event_type in KNOWN_EVENTS},
        )
        self.rt.spawn(self.apply(record, event), name=f"callback-{event.event_type}")
        return 200, "accepted"

    async def apply(self, record: ConversationRecord, event: CallbackEvent) -> None:
        messages = await self.messages_for(record.team_id)
        props, kind = event.properties, event.event_type
        if kind == "system.shutdown":  # recorded even where nothing can be posted any more
            reason = str(props.get("shutdown_reason") or "shutdown")
            await self.convs.record_end(
                messages, record.conversation_id, ended_by=None, reason=reason
            )
        elif messages is None:
            log.info("no way to post for %s: callback %s not shown", record.team_id, kind)
        elif kind == "system.replica_joined":
            current = self.rt.store.conversations.get(record.conversation_id)
            if current is not None and current.status == "active":  # not after an end
                await messages.joined(current)
        elif kind == "application.transcription_ready":
            pal = record.pal_name or "PAL"
            await messages.transcript(record, transcript_lines(props.get("transcript"), pal))
        elif kind == "application.recording_ready":
            where = props.get("storage_uri") or props.get("s3_key") or "the PAL account's storage"
            duration = props.get("duration")
            seconds = float(duration) if isinstance(duration, int | float) else None
            await messages.recording_ready(record, str(where), seconds)
        elif kind == "application.perception_analysis":
            analysis = str(props.get("analysis") or "").strip()
            if analysis:
                await messages.perception(record, analysis)
        else:
            log.info("ignored callback event %s", kind)

    # ---- the poller ----------------------------------------------------------------

    async def poll_once(self) -> int:
        """Bring every active conversation's message up to date; returns how many ended."""
        ended = 0
        for record in self.rt.store.conversations.list_active():
            try:
                client = self.rt.pal_client(record.team_id, max_retries=1)
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
        while True:
            try:
                await self.poll_once()
            except Exception:
                log.exception("conversation poller round failed")
            await asyncio.sleep(interval)
