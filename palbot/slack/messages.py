"""The conversation's message in Slack: palbot's implementation of `ConversationMessages`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from palbot.services.ports import MessageRef, Posted, PostRefused
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_code, slack_error_text
from palbot.slack.text import cut
from palbot.store.models import ConversationRecord

log = logging.getLogger("palbot.slack")
TRANSIENT = ("internal_error", "fatal_error", "request_timeout", "service_unavailable")
UPDATE_RETRY_SECONDS = 1.0


def _posted(message: dict[str, Any]) -> dict[str, Any]:
    """A message body for chat.postMessage (no response_url-only fields)."""
    return {k: v for k, v in message.items() if k not in ("response_type", "replace_original")}


class SlackConversationMessages:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def placeholder(
        self, channel_id: str, pal_name: str, starter: str, thread_ts: str | None = None
    ) -> MessageRef:
        try:
            posted = await self.client.chat_postMessage(
                channel=channel_id,
                thread_ts=thread_ts,
                **conv_blocks.starting_message(pal_name, starter),
            )
        except SLACK_FAILURES as exc:
            raise PostRefused(slack_error_text(exc), slack_error_code(exc)) from None
        return MessageRef(str(posted["channel"]), str(posted["ts"]))

    async def started(self, record: ConversationRecord) -> MessageRef | None:
        """The join message, in place of the placeholder, with Slack's native call card where
        the Calls API is available; if Slack keeps refusing the update, as a new message (the
        caller records where it now is, and the call's id)."""
        call_id = record.slack_call_id or await self._add_call(record)
        if call_id:
            record = record.model_copy(update={"slack_call_id": call_id})
        content = conv_blocks.join_message(record)
        if await self._update(record, content):
            return MessageRef(record.channel_id or "", record.message_ts or "", call_id)
        if not record.channel_id:
            return None
        try:
            posted = await self.client.chat_postMessage(
                channel=record.channel_id, thread_ts=record.thread_ts, **content
            )
        except SLACK_FAILURES as exc:
            log.warning("join message not posted: %s", slack_error_code(exc))
            return None
        return MessageRef(str(posted["channel"]), str(posted["ts"]), call_id)

    async def _add_call(self, record: ConversationRecord) -> str | None:
        """Register the conversation with Slack's Calls API (the card Zoom and Meet use); None
        where it is not available (the scope not granted on an older install, an error): the
        message then carries the Join button alone, as before."""
        if record.test_mode or record.private or not record.url:
            return None  # a private room's link stays in the starter's DM, not in Slack's call
        pal = record.pal_name or record.pal_id
        try:
            added = await self.client.calls_add(
                external_unique_id=record.conversation_id,
                join_url=record.url,
                created_by=record.started_by,
                title=cut(f"Conversation with {pal}", 100, marker="…"),
                external_display_id=record.conversation_id,
            )
        except SLACK_FAILURES as exc:
            log.info("no call card for %s: %s", record.conversation_id, slack_error_code(exc))
            return None
        call = added.get("call") or {}
        return str(call.get("id")) if call.get("id") else None

    async def joined(self, record: ConversationRecord) -> bool:
        # the message first, right after the caller saw the conversation live (a slower call
        # in between would widen the window in which an end lands before this update)
        shown = await self._update(record, conv_blocks.join_message(record, pal_joined=True))
        if record.slack_call_id:  # the PAL appears among the call's participants
            pal = record.pal_name or record.pal_id
            try:
                await self.client.calls_participants_add(
                    id=record.slack_call_id,
                    users=[{"external_id": f"pal:{record.pal_id}", "display_name": pal}],
                )
            except SLACK_FAILURES as exc:
                log.info("call participant not added: %s", slack_error_code(exc))
        return shown

    async def failed(self, ref: MessageRef, pal_name: str, starter: str, reason: str) -> bool:
        """The placeholder goes (the reason is the starter's alone: billing state is nobody
        else's business); where it cannot be deleted, it says only that nothing started."""
        for attempt in range(2):
            try:
                await self.client.chat_delete(channel=ref.channel_id, ts=ref.ts)
                return True
            except SLACK_FAILURES as exc:
                code = slack_error_code(exc)
                if code == "message_not_found":
                    return True  # gone already
                log.warning("chat.delete failed: %s", code)
                if attempt or code not in TRANSIENT:
                    break
                await asyncio.sleep(UPDATE_RETRY_SECONDS)
        content = conv_blocks.not_started_message(pal_name)
        return await self._update_at(ref.channel_id, ref.ts, content)

    async def unconfirmed(self, ref: MessageRef, pal_name: str, starter: str) -> bool:
        content = conv_blocks.unconfirmed_start_message(pal_name, starter)
        return await self._update_at(ref.channel_id, ref.ts, content)

    async def ended(self, record: ConversationRecord) -> bool:
        if record.slack_call_id:  # the call card says it ended, and for how long
            try:
                await self.client.calls_end(
                    id=record.slack_call_id,
                    duration=conv_blocks.duration_seconds(record.created_at, record.ended_at),
                )
            except SLACK_FAILURES as exc:
                log.info("call not ended in Slack: %s", slack_error_code(exc))
        return await self._update(record, conv_blocks.ended_message(record))

    async def key_removed(self, record: ConversationRecord) -> bool:
        return await self._update(record, conv_blocks.join_message(record, key_removed=True))

    async def transcript(self, record: ConversationRecord, lines: list[str]) -> Posted:
        """The whole transcript as a text file in the thread (never cut, never a wall of
        messages); without the files:write scope, as thread messages (long ones cut)."""
        if not lines:
            return await self._thread(record, conv_blocks.empty_transcript_message())
        if not record.channel_id or not record.message_ts:
            return Posted(True)  # nowhere to post it, now or later
        upload = conv_blocks.transcript_file(record, lines)
        try:
            answer = await self.client.files_upload_v2(
                channel=record.channel_id,
                thread_ts=record.thread_ts or record.message_ts,
                filename=upload.filename,
                title=upload.title,
                content=upload.content,
                initial_comment=upload.comment,
            )
        except SLACK_FAILURES as exc:
            log.warning("transcript upload failed: %s", slack_error_code(exc))
            if slack_error_code(exc) not in ("missing_scope", "not_allowed_token_type"):
                return Posted(False)  # a passing failure: upstream's retry (or a later look)
            return await self._thread(record, conv_blocks.transcript_inline_message(lines))
        files = answer.get("files") or [answer.get("file") or {}]
        link = next((str(f["permalink"]) for f in files if f.get("permalink")), None)
        return Posted(True, link)

    async def recording_ready(
        self, record: ConversationRecord, where: str, duration: float | None
    ) -> Posted:
        return await self._thread(record, conv_blocks.recording_message(where, duration))

    async def perception(self, record: ConversationRecord, analysis: str) -> Posted:
        return await self._thread(record, conv_blocks.perception_message(analysis))

    async def results_ready(self, record: ConversationRecord, links: dict[str, str]) -> bool:
        return await self._update(record, conv_blocks.ended_message(record, links))

    async def start_settled(self, record: ConversationRecord, started: bool) -> bool:
        """A direct message to the starter: how a start whose outcome was unknown ended."""
        message = conv_blocks.start_settled_message(record, started)
        return await self._dm(record.started_by, message)

    async def tell(self, user_id: str, text: str) -> bool:
        return await self._dm(user_id, conv_blocks.notice_message(text))

    async def _dm(self, user_id: str, message: dict[str, Any]) -> bool:
        try:
            await self.client.chat_postMessage(channel=user_id, **_posted(message))
            return True
        except SLACK_FAILURES as exc:
            log.warning("could not tell %s: %s", user_id, slack_error_code(exc))
            return False

    async def _thread(self, record: ConversationRecord, message: dict[str, Any]) -> Posted:
        """A reply in the conversation's thread, and its permalink."""
        if not record.channel_id or not record.message_ts:
            return Posted(True)  # nowhere to post it, now or later
        try:
            posted = await self.client.chat_postMessage(
                channel=record.channel_id,
                thread_ts=record.thread_ts or record.message_ts,  # a reply's thread is its own
                **_posted(message),
            )
        except SLACK_FAILURES as exc:
            log.warning("thread reply failed: %s", slack_error_code(exc))
            return Posted(False)
        try:
            found = await self.client.chat_getPermalink(
                channel=str(posted["channel"]), message_ts=str(posted["ts"])
            )
        except SLACK_FAILURES:
            return Posted(True)  # posted; the summary just has no link to it
        return Posted(True, str(found.get("permalink") or "") or None)

    async def _update(self, record: ConversationRecord, content: dict[str, Any]) -> bool:
        if not record.channel_id or not record.message_ts:
            return False
        return await self._update_at(record.channel_id, record.message_ts, content)

    async def _update_at(self, channel: str, ts: str, content: dict[str, Any]) -> bool:
        """Update a message; a passing failure is tried once more after a moment."""
        for attempt in range(2):
            try:
                await self.client.chat_update(channel=channel, ts=ts, **content)
                return True
            except SLACK_FAILURES as exc:
                code = slack_error_code(exc)
                log.warning("chat.update failed: %s", code)
                if attempt or code not in TRANSIENT:
                    return False
                await asyncio.sleep(UPDATE_RETRY_SECONDS)
        return False
