"""Reconciliation: every start palbot accepted ends as a recorded conversation or a failure the
starter was told about, whatever happened to the process in between.

Open starts (`starting`, `unknown`) older than a grace period are matched against the PAL API,
the source of truth: first by their callback token (in the conversation's callback URL), then
by PAL, name and creation time. A found conversation is recorded, its message offers Join and End,
and its `accepted` audit row is closed `ok`; one that never started is marked failed, its message
says so, and its audit row is closed `error`. Each decision also writes a
`conversation.reconcile` row, and the starter is told either way. It runs at start-up, every
`PALBOT_RECONCILE_INTERVAL` seconds (a create whose answer was lost is settled by the next
round once it is `PALBOT_RECONCILE_GRACE` seconds old).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from palbot.pal_api import PalApiClient
from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import Conversation
from palbot.services.audit import Accepted, AuditTrail
from palbot.services.conversations import ConversationService, parse_time
from palbot.services.errors import NoKey
from palbot.services.ports import MessageRef, MessagesFor
from palbot.services.runtime import Actor, Runtime
from palbot.store.crypto import token_matches
from palbot.store.models import AuditEntry, ConversationRecord
from palbot.store.offloop import BACKGROUND

log = logging.getLogger("palbot.reconcile")
# Accepted actions (besides starts, which have rows of their own) that change upstream state
INTERRUPTED_ACTIONS = ("pal.create", "pal.patch", "pal.delete", "conversation.end", "key.set")
INTERRUPTED_TEXT = {
    "pal.create": "palbot stopped while creating your PAL{name}. It may or may not exist now: "
    "`/pal list` shows the workspace's PALs. Create it again only if it is not there.",
    "pal.patch": "palbot stopped while changing the PAL `{target}`. `/pal show {target}` shows "
    "whether your change is there; apply it again only if it is not.",
    "pal.delete": "palbot stopped while deleting the PAL `{target}`. `/pal list` shows whether "
    "it is gone; delete it again if it is still there.",
    "key.set": "palbot stopped while checking the PAL API key you entered, so it was not "
    "saved. Run `/pal key` to connect it again.",
}
NEVER_CREATED = "the PAL API has no record of it: it was never created, and nothing was billed"
KEY_REMOVED = "the workspace's PAL API key was removed before palbot could check it"


@dataclass
class ReconcileReport:
    found: int = 0
    failed: int = 0
    redelivered: int = 0
    waiting: int = 0  # the PAL API could not be asked: next round
    interrupted: int = 0  # other actions a process took on and never finished


class Reconciler:
    def __init__(
        self,
        rt: Runtime,
        audit: AuditTrail,
        convs: ConversationService,
        messages_for: MessagesFor,
    ) -> None:
        self.rt = rt
        self.audit = audit
        self.convs = convs
        self.messages_for = messages_for
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        """A round is under way in this process."""
        return self._lock.locked()

    async def run_once(self, grace: float | None = None) -> ReconcileReport:
        """Settle every open start older than `grace` seconds; bring undelivered messages up
        to date. One round at a time in this process."""
        grace = self.rt.settings.palbot_reconcile_grace if grace is None else grace
        report = ReconcileReport()
        async with self._lock:
            store, db = self.rt.store.conversations, self.rt.db
            for record in await db(store.open_starts, older_than=grace):
                if record.attempt_id not in self.rt.starts_running:
                    await self.settle(record, report)
            for record in await db(store.undelivered, older_than=grace):
                if self.convs.mark_pending(record.conversation_id):
                    continue  # shown a moment ago; its delivery mark is on its way
                if await self.redeliver(record):
                    report.redelivered += 1
            audit_log = self.rt.store.audit
            for row in await db(audit_log.open_accepted, INTERRUPTED_ACTIONS, older_than=grace):
                if await self.settle_interrupted(row):
                    report.interrupted += 1
        if report.found or report.failed or report.redelivered:
            log.info("reconciled: %s", report)
        return report

    async def run_forever(self, interval: float) -> None:
        """Every `interval` seconds, in whichever process holds the `reconcile` lease."""
        BACKGROUND.set(True)  # this task's store calls yield to requests'
        while True:
            try:
                if await self.rt.leading("reconcile", interval):
                    await self.run_once()
            except Exception:
                log.exception("reconciliation round failed")
            await asyncio.sleep(interval)

    # ---- one open start --------------------------------------------------------------

    async def settle(self, record: ConversationRecord, report: ReconcileReport) -> None:
        try:
            client = await self.rt.pal_client(record.team_id, max_retries=1)
        except NoKey:
            await self.give_up(record, KEY_REMOVED)
            report.failed += 1
            return
        try:
            found = await self.find(client, record)
        except api_errors.PalApiError as exc:
            log.info("reconcile of %s waits: %s", record.attempt_id, type(exc).__name__)
            report.waiting += 1
            return
        if found is None:
            await self.give_up(record, NEVER_CREATED)
            report.failed += 1
        else:
            await self.adopt(record, found)
            report.found += 1

    async def find(self, client: PalApiClient, record: ConversationRecord) -> Conversation | None:
        """The conversation this start created, among the account's active ones."""
        page = await client.list_conversations(status="active", limit=100)
        active = await self.rt.db(self.rt.store.conversations.list_active)
        known = {c.conversation_id for c in active}
        fresh = [c for c in page.data if c.conversation_id not in known]
        if record.callback_token_hash:  # the strongest match: the URL only this start knows
            for conv in fresh:
                url = conv.callback_url or str(conv.raw.get("callback_url") or "")
                if token_matches(url.rsplit("/", 1)[-1], record.callback_token_hash):
                    return conv
        asked = parse_time(record.created_at)
        for conv in fresh:
            created = parse_time(conv.created_at)
            if (
                conv.pal_id in (record.pal_id, None)
                and (
                    not record.conversation_name
                    or conv.conversation_name in (None, record.conversation_name)
                )
                and (created is None or asked is None or created >= asked - timedelta(seconds=5))
                and not (record.callback_token_hash and conv.callback_url)  # another start's
            ):
                return conv
        return None

    async def adopt(self, record: ConversationRecord, conv: Conversation) -> ConversationRecord:
        """The start did create `conv`: record it, show Join and End, tell the starter."""
        messages = await self.messages_for(record.team_id)
        pal_name = record.pal_name or self.rt.pal_names.get(f"{record.team_id}:{record.pal_id}")
        if messages is not None and not record.message_ts and record.channel_id:
            try:  # stopped before its placeholder was posted: post one now
                ref = await messages.placeholder(
                    record.channel_id, pal_name or record.pal_id, record.started_by
                )
                await self.rt.db(
                    self.rt.store.conversations.set_message,
                    record.conversation_id,
                    ref.channel_id,
                    ref.ts,
                )
            except Exception as exc:  # PostRefused and the like: the starter is still told
                log.info("no placeholder for %s: %s", record.attempt_id, type(exc).__name__)
        attempt = record.attempt_id or record.conversation_id
        started = await self.convs.record_started(attempt, conv, messages, pal_name)
        await self.rt.db(self._note, record, found=True, conversation_id=conv.conversation_id)
        if messages is not None:
            await messages.start_settled(started, True)
        return started

    async def give_up(self, record: ConversationRecord, reason: str) -> None:
        """The start created nothing: it failed, its message says so, the starter is told."""
        store = self.rt.store.conversations
        failed = await self.rt.db(self._fail_now, record, reason)
        if failed is None:
            return  # decided meanwhile (a late answer, a callback)
        messages = await self.messages_for(record.team_id)
        if messages is None:
            return
        if failed.message_ts and failed.channel_id:
            ref = MessageRef(failed.channel_id, failed.message_ts)
            pal = failed.pal_name or failed.pal_id
            if await messages.failed(ref, pal, failed.started_by, reason):
                await self.rt.db(store.mark_delivered, failed.conversation_id)
        await messages.start_settled(failed, False)

    def _fail_now(self, record: ConversationRecord, reason: str) -> ConversationRecord | None:
        """On a store thread: the start failed, its audit row closed, the decision noted;
        None if it was decided meanwhile."""
        store = self.rt.store.conversations
        attempt = record.attempt_id or record.conversation_id
        with self.rt.store.transaction():
            if not store.fail(attempt, reason):
                return None
            if record.accepted_seq is not None:
                starter = Actor(record.team_id, record.started_by, record.channel_id)
                ticket = self.audit.resume("conversation.start", starter, record.accepted_seq)
                ticket.close_now("error", target=record.pal_id, error="NotCreated", reconciled=True)
            self._note(record, found=False)
        return store.by_attempt(attempt) or record

    async def settle_interrupted(self, row: AuditEntry) -> bool:
        """An action a process accepted and never finished: finish it (an End), or close it
        `error` and tell the person what to check. True once it is closed."""
        actor = Actor(row.team_id or "", row.user_id or "", row.channel_id)
        ticket = self.audit.resume(row.action, actor, row.seq, target=row.target)  # type: ignore[arg-type]
        if row.action == "conversation.end":
            return await self._finish_end(ticket, actor, row.target or "")
        await ticket.close("error", error="Interrupted", reconciled=True)
        name = str(row.detail.get("pal_name") or "")
        text = INTERRUPTED_TEXT.get(row.action, "palbot stopped while doing what you asked.")
        messages = await self.messages_for(actor.team_id)
        if messages is not None and actor.user_id:
            await messages.tell(
                actor.user_id, text.format(name=f" {name}" if name else "", target=row.target)
            )
        return True

    async def _finish_end(self, ticket: Accepted, actor: Actor, conversation_id: str) -> bool:
        """The person asked to end it: end it now (it may have ended meanwhile)."""
        record = await self.rt.db(self.rt.store.conversations.get, conversation_id)
        if record is None or record.team_id != actor.team_id:
            await ticket.close("invalid", reason="unknown id", reconciled=True)
            return True
        messages = await self.messages_for(actor.team_id)
        if record.status == "active":
            try:
                client = await self.rt.pal_client(actor.team_id, max_retries=1)
                await client.end_conversation(conversation_id)
            except api_errors.NotFound:
                pass  # gone upstream already
            except api_errors.PalApiError:
                return False  # the next round tries again
            except NoKey:
                await ticket.close("error", error="NoKey", reconciled=True)
                return True
            await self.convs.record_end(
                messages, conversation_id, ended_by=actor.user_id, reason="ended from Slack"
            )
        await ticket.close("ok", reconciled=True)
        if messages is not None and actor.user_id:
            pal = record.pal_name or record.pal_id
            await messages.tell(
                actor.user_id, f"The conversation with {pal} that you ended is ended."
            )
        return True

    async def redeliver(self, record: ConversationRecord) -> bool:
        """A decided start whose message does not show it yet (palbot stopped in between)."""
        messages = await self.messages_for(record.team_id)
        if messages is None:
            return False
        if record.status == "active":
            return await self.convs.show_started(messages, record) is not None
        if record.status == "ended":
            done = await messages.ended(record)
        elif record.message_ts and record.channel_id:
            ref = MessageRef(record.channel_id, record.message_ts)
            pal = record.pal_name or record.pal_id
            done = await messages.failed(ref, pal, record.started_by, record.end_reason or "")
        else:
            done = True  # nothing was ever posted: nothing to correct
        if done:
            await self.rt.db(self.rt.store.conversations.mark_delivered, record.conversation_id)
        return done

    def _note(
        self, record: ConversationRecord, *, found: bool, conversation_id: str | None = None
    ) -> None:
        """On a store thread: the `conversation.reconcile` row."""
        self.audit.record_now(
            "conversation.reconcile",
            "ok",
            team_id=record.team_id,
            channel_id=record.channel_id,
            target=conversation_id or record.attempt_id,
            detail={
                "found": found,
                "attempt_id": record.attempt_id,
                "accepted_seq": record.accepted_seq,
                "started_by": record.started_by,
            },
        )
