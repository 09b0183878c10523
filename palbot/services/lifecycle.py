"""Following each conversation to its end: PAL API callbacks, and a poller when there are none."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import CallbackEvent
from palbot.services.audit import AuditTrail
from palbot.services.conversations import ConversationService
from palbot.services.errors import NoKey
from palbot.services.ports import MessagesFor, Posted
from palbot.services.reconcile import Reconciler
from palbot.services.runtime import Runtime
from palbot.services.validation import is_id
from palbot.store.models import ConversationRecord
from palbot.store.offloop import BACKGROUND

log = logging.getLogger("palbot.lifecycle")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
MAX_CALLBACK_BYTES = 2_000_000
TRANSCRIPT = "application.transcription_ready"
RESULT_EVENTS = (
    TRANSCRIPT,
    "application.perception_analysis",
    "application.recording_ready",
)
RESULTS_GRACE_SECONDS = 120.0  # after an end, upstream's callbacks have had their chance
RESULTS_WINDOW_SECONDS = 2 * 3600.0  # older conversations are not looked at again
RESULTS_RELOOK_SECONDS = 600.0  # one conversation is looked at upstream this often at most
DONE = Posted(True)  # nothing (more) to show
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


def _event_of(conversation_id: str, raw: dict[str, Any]) -> CallbackEvent | None:
    """A result among a verbose conversation's `events`, as the callback that would have
    brought it (other events are not results: None)."""
    kind = raw.get("event_type")
    props = raw.get("properties")
    if kind not in RESULT_EVENTS or not isinstance(props, dict):
        return None
    return CallbackEvent(
        conversation_id=conversation_id,
        event_type=str(kind),
        message_type="application",
        timestamp=str(raw.get("timestamp") or ""),
        properties=props,
    )


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
        # summaries are updated one at a time per conversation (striped: a bounded set)
        self._summaries = [asyncio.Lock() for _ in range(64)]
        self._looked: dict[str, float] = {}  # conversation → when its results were looked for

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
        self._audit_event(record, event)
        return 200, "accepted", record

    def _audit_event(self, record: ConversationRecord, event: CallbackEvent, **extra: Any) -> None:
        """On a store thread: the `conversation.callback` row of an event taken on."""
        self.audit.record_now(
            "conversation.callback",
            "ok",
            team_id=record.team_id,
            channel_id=record.channel_id,
            target=event.conversation_id,
            detail={
                "event_type": event.event_type,
                "known": event.event_type in KNOWN_EVENTS,
                **extra,
            },
        )

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
        failed Slack call leaves it for upstream's retry (or palbot's next look). A result
        posted in the thread is then linked from the conversation's message."""
        store, db = self.rt.store.conversations, self.rt.db
        try:
            posted = await self.apply(record, event)
        except Exception:
            await db(store.release_event, event.conversation_id, event.event_type)
            raise
        if not posted.ok:
            await db(store.release_event, event.conversation_id, event.event_type)
            return
        await db(store.event_delivered, event.conversation_id, event.event_type, posted.link)
        if posted.link:
            await self._summarise(record.conversation_id)

    async def _summarise(self, conversation_id: str) -> None:
        """The ended conversation's message links to every result posted so far (one update
        at a time per conversation, so a slower one never hides a newer link)."""
        lock = self._summaries[hash(conversation_id) % len(self._summaries)]
        async with lock:
            store, db = self.rt.store.conversations, self.rt.db
            latest = await db(store.get, conversation_id)
            messages = await self.messages_for(latest.team_id) if latest else None
            if latest is None or messages is None or latest.status != "ended":
                return
            await messages.results_ready(latest, await db(store.result_links, conversation_id))

    async def apply(self, record: ConversationRecord, event: CallbackEvent) -> Posted:
        """Show the event; ok once it is shown (or there is nothing to show)."""
        messages = await self.messages_for(record.team_id)
        props, kind = event.properties, event.event_type
        if kind == "system.shutdown":  # recorded even where nothing can be posted any more
            reason = str(props.get("shutdown_reason") or "shutdown")
            await self.convs.record_end(
                messages, record.conversation_id, ended_by=None, reason=reason
            )
            return DONE
        if messages is None:
            log.info("no way to post for %s: callback %s not shown", record.team_id, kind)
            return DONE  # uninstalled: nothing will ever show it
        if kind == "system.replica_joined":
            store = self.rt.store.conversations
            current = await self.rt.db(store.get, record.conversation_id)
            if current is None or current.status != "active":  # not after an end
                return DONE
            shown = await messages.joined(await self.convs.with_join_link(current))
            latest = await self.rt.db(store.get, record.conversation_id)
            if latest is not None and latest.status != "active":
                # it ended while "PAL joined" was on its way, and that may have landed last:
                # the message says it ended, once more
                links = await self.rt.db(store.result_links, record.conversation_id)
                await messages.results_ready(latest, links)
            return Posted(shown)
        if kind == "application.transcription_ready":
            latest = await self.rt.db(self.rt.store.conversations.get, record.conversation_id)
            record = latest or record  # its end time, for the file's heading
            lines = transcript_lines(props.get("transcript"), record.pal_name or "PAL")
            return await messages.transcript(record, lines)
        if kind == "application.recording_ready":
            where = props.get("storage_uri") or props.get("s3_key") or "the PAL account's storage"
            duration = props.get("duration")
            seconds = float(duration) if isinstance(duration, int | float) else None
            return await messages.recording_ready(record, str(where), seconds)
        if kind == "application.perception_analysis":
            analysis = str(props.get("analysis") or "").strip()
            return await messages.perception(record, analysis) if analysis else DONE
        log.info("ignored callback event %s", kind)
        return DONE

    # ---- results a callback never brought -------------------------------------------

    async def fetch_missing_results(self, grace: float = RESULTS_GRACE_SECONDS) -> int:
        """For conversations that ended over `grace` seconds ago (within two hours) with no
        transcript callback: ask the PAL API (`GET …?verbose=true`) and post what its events
        hold, each claimed as a callback would be (so a late callback never posts it twice).
        A conversation whose results are not there yet is looked at again after ten minutes
        at the soonest. Returns how many results were posted."""
        now = datetime.now(UTC)
        before = (now - timedelta(seconds=grace)).isoformat().replace("+00:00", "Z")
        after = (now - timedelta(seconds=RESULTS_WINDOW_SECONDS)).isoformat().replace("+00:00", "Z")
        store, db = self.rt.store.conversations, self.rt.db
        waiting = await db(store.awaiting_results, TRANSCRIPT, before, after)
        posted, moment = 0, time.monotonic()
        for gone in [c for c, at in self._looked.items() if moment - at > RESULTS_WINDOW_SECONDS]:
            del self._looked[gone]
        for record in waiting:
            last = self._looked.get(record.conversation_id)
            if last is not None and moment - last < RESULTS_RELOOK_SECONDS:
                continue
            self._looked[record.conversation_id] = moment
            try:
                client = await self.rt.pal_client(record.team_id, max_retries=1)
                conv = await client.get_conversation(record.conversation_id, verbose=True)
            except (NoKey, api_errors.PalApiError) as exc:
                log.info("no verbose look at %s: %s", record.conversation_id, type(exc).__name__)
                continue
            for raw in conv.events or []:
                event = _event_of(record.conversation_id, raw)
                if event is None or not await db(self._claim_now, record, event):
                    continue
                await self.deliver(record, event)
                posted += 1
        return posted

    def _claim_now(self, record: ConversationRecord, event: CallbackEvent) -> bool:
        """On a store thread: claim a result found upstream as its callback would be."""
        if not self.rt.store.conversations.first_event(event.conversation_id, event.event_type):
            return False
        self._audit_event(record, event, via="verbose")
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
                    await self.fetch_missing_results()
            except Exception:
                log.exception("conversation poller round failed")
            await asyncio.sleep(interval)
