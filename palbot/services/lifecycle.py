"""Following each conversation to its end: PAL API callbacks, and a poller when there are none."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import CallbackEvent
from palbot.services.conversations import ConversationService
from palbot.services.errors import NoKey
from palbot.services.runtime import Runtime
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.text import context, cut, escape, section
from palbot.store.models import ConversationRecord

log = logging.getLogger("palbot.lifecycle")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
MAX_CALLBACK_BYTES = 2_000_000
INLINE_TRANSCRIPT_CHARS = 2800 * 4
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
    def __init__(self, rt: Runtime, convs: ConversationService) -> None:
        self.rt = rt
        self.convs = convs

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
        self.rt.store.audit.append(
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
        slack = await self.rt.slack_for_team(record.team_id)
        props = event.properties
        kind = event.event_type
        if kind == "system.replica_joined":
            current = self.rt.store.conversations.get(record.conversation_id)
            if current is not None and current.status == "active":  # not after an end
                await self.convs._update(
                    slack,
                    current.channel_id,
                    current.message_ts,
                    conv_blocks.join_message(current, pal_joined=True),
                )
        elif kind == "system.shutdown":
            await self.convs.record_end(
                slack,
                record.conversation_id,
                ended_by=None,
                reason=str(props.get("shutdown_reason") or "shutdown"),
            )
        elif kind == "application.transcription_ready":
            await self.post_transcript(slack, record, props.get("transcript"))
        elif kind == "application.recording_ready":
            where = props.get("storage_uri") or props.get("s3_key") or "the PAL account's storage"
            duration = props.get("duration")
            tail = f" ({int(duration)} s)" if isinstance(duration, int | float) else ""
            await self.reply(
                slack,
                record,
                f":film_frames: The recording is ready{tail}: "
                f"`{escape(cut(str(where), 500))}` (in the PAL account's recording "
                "storage).",
            )
        elif kind == "application.perception_analysis":
            analysis = str(props.get("analysis") or "").strip()
            if analysis:
                await self.reply(
                    slack, record, ":eyes: *Perception analysis*\n" + escape(cut(analysis, 2800))
                )
        else:
            log.info("ignored callback event %s", kind)

    async def reply(
        self,
        slack: AsyncWebClient | None,
        record: ConversationRecord,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        if slack is None or not record.channel_id or not record.message_ts:
            return
        try:
            await slack.chat_postMessage(
                channel=record.channel_id,
                thread_ts=record.message_ts,
                text=cut(text, 3000),
                blocks=blocks or [section(text)],
            )
        except SlackApiError as exc:
            log.warning("thread reply failed: %s", exc.response.get("error"))

    async def post_transcript(
        self, slack: AsyncWebClient | None, record: ConversationRecord, transcript: Any
    ) -> None:
        pal = record.pal_name or "PAL"
        lines = transcript_lines(transcript, pal)
        if not lines:
            await self.reply(slack, record, ":memo: The transcript is ready, but it is empty.")
            return
        full = "\n".join(lines)
        if len(full) <= INLINE_TRANSCRIPT_CHARS:
            blocks: list[dict[str, Any]] = [section(":memo: *Transcript*")]
            chunk = ""
            for line in lines:
                speaker, _, said = line.partition(": ")
                entry = f"*{escape(speaker)}:* {escape(said)}\n"
                if len(chunk) + len(entry) > 2900:
                    blocks.append(section(chunk))
                    chunk = ""
                chunk += entry
            if chunk:
                blocks.append(section(chunk))
            await self.reply(slack, record, f"Transcript ({len(lines)} turns)", blocks)
            return
        if slack is None or not record.channel_id or not record.message_ts:
            return
        try:  # too long for messages: the whole transcript as a file, never cut
            await slack.files_upload_v2(
                channel=record.channel_id,
                thread_ts=record.message_ts,
                filename=f"transcript-{record.conversation_id}.txt",
                title=f"Transcript: {cut(pal, 80)}",
                content=full,
                initial_comment=f"Transcript ({len(lines)} turns, {len(full):,} characters).",
            )
        except SlackApiError as exc:
            log.warning("transcript upload failed: %s", exc.response.get("error"))
            await self.reply(
                slack,
                record,
                ":memo: The transcript is ready but could not be "
                "uploaded here (palbot needs the files:write scope).",
                [
                    section(":memo: The transcript is ready but could not be uploaded"),
                    context("palbot needs the `files:write` scope."),
                ],
            )

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
            slack = await self.rt.slack_for_team(record.team_id)
            if await self.convs.record_end(
                slack, record.conversation_id, ended_by=None, reason=reason
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
