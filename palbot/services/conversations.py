"""Starting, ending and following conversations: the one place that spends money.

One "start" serves the slash command, the Start button and the Start modal alike: it claims the
action's idempotency keys and audits `accepted` before the ack; then it checks the workspace's
limits, posts a placeholder (so a channel palbot cannot post in fails before anything is billed),
creates the conversation once — never retried — and turns the placeholder into the join message.
Everything it shows goes through `ConversationMessages`; it never knows which chat it speaks to.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from palbot.pal_api import PalApiClient
from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import Conversation
from palbot.services.audit import Accepted, Ask, AuditTrail
from palbot.services.errors import Denied, Duplicate, Invalid, NoKey, UserError
from palbot.services.group_commit import GroupCommit
from palbot.services.limits import LimitsService
from palbot.services.ports import AdminCheck, ConversationMessages, MessageRef, PostRefused
from palbot.services.runtime import Actor, Runtime
from palbot.services.validation import is_id
from palbot.store.crypto import hash_token
from palbot.store.models import ConversationRecord, Limits, Outcome

log = logging.getLogger("palbot.conversations")
DELIVERED_FLUSH_SECONDS = 0.2
LIVE_BUDGET_SECONDS = 2.5  # asking the PAL API for the live list, at most
MAX_CALL_SECONDS = 3600  # the PAL API's documented maximum call duration
MEETING_TOKEN_SECONDS = 2 * 3600.0  # kept (encrypted) while a private call may still be joined
DEBOUNCE_SECONDS = 5.0  # the same start, by the same person, repeated within this is one action
HANDLED = "That request was already handled; no second conversation was started."
DEBOUNCED = (
    "You just started a conversation with this PAL here; palbot did not start a second one. "
    "Wait a few seconds to start another."
)
TEST_ENDED = "test conversation: nobody joins, nothing is billed"
LOST_CREATE_TEXT = (
    "The PAL API did not confirm the conversation in time, and palbot has not found it among "
    "the active ones yet. It was not retried, so nothing is billed twice. palbot keeps checking "
    "and will tell you here whether it started: please don't start another one meanwhile."
)


def callback_url(public_url: str, token: str) -> str:
    return f"{public_url}/pal/callbacks/{token}"


@dataclass
class StartRequest:
    actor: Actor
    pal_id: str
    channel_id: str
    conversation_name: str | None = None
    test_mode: bool = False
    dedupe_keys: tuple[str, ...] = ()
    audio_only: bool = False
    language: str | None = None  # a full language name, or "multilingual"
    conversational_context: str | None = None  # what the PAL should know about this call
    custom_greeting: str | None = None
    max_call_duration: int | None = None  # seconds, within the workspace's limit
    closed_captions: bool = False
    recording: bool = False  # allow recording (into the storage palbot is configured with)
    private: bool = False  # the link only to the starter (a DM), the room behind a token
    thread_ts: str | None = None  # post the join message in this thread (never for a private one)

    def __post_init__(self) -> None:
        if self.private:  # its messages live in the starter's DM, not in a channel's thread
            self.thread_ts = None

    @property
    def options(self) -> dict[str, Any]:
        """What was asked, for the audit row (the context and greeting by length only: they
        may quote private messages)."""
        return {
            "test_mode": self.test_mode,
            "conversation_name": self.conversation_name,
            "audio_only": self.audio_only,
            "language": self.language,
            "context_chars": len(self.conversational_context or ""),
            "greeting_chars": len(self.custom_greeting or ""),
            "max_call_duration": self.max_call_duration,
            "closed_captions": self.closed_captions,
            "recording": self.recording,
            "private": self.private,
            "in_thread": self.thread_ts is not None,
        }


@dataclass
class AcceptedStart:
    """A start written down before its ack: its `accepted` audit row and its `starting` row."""

    req: StartRequest
    audit: Accepted
    attempt_id: str
    callback_token: str | None = None  # in memory only: the store keeps its hash

    @property
    def seq(self) -> int:
        return self.audit.seq


@dataclass
class StartResult:
    ok: bool
    message: str = ""  # why it failed, in words for the starter
    record: ConversationRecord | None = None
    active: list[ConversationRecord] = field(default_factory=list)
    concurrency_limited: bool = False
    pending: bool = False  # the outcome is not known yet: palbot is checking


@dataclass
class LiveCalls:
    """The account's live conversations: those started from this workspace, and those the PAL
    API knows of that were started elsewhere (`started_outside_slack`). `unchecked` says the
    PAL API could not be asked: then only palbot's own are listed."""

    calls: list[ConversationRecord]
    unchecked: str | None = None


def visible_to(
    records: list[ConversationRecord], user_id: str, is_admin: bool
) -> list[ConversationRecord]:
    """What a list shows this person: a private conversation only to its starter and to
    admins (others do not learn that it exists, nor its name)."""
    return [r for r in records if not r.private or is_admin or r.started_by == user_id]


def started_outside_slack(record: ConversationRecord) -> bool:
    """A live conversation the PAL API reported that palbot did not start."""
    return not record.started_by


@dataclass
class EndResult:
    record: ConversationRecord
    already_ended: bool = False


class StartFailed(UserError):
    """A start that stops here; its row and its audit row are already closed."""

    def __init__(
        self,
        message: str,
        *,
        active: list[ConversationRecord] | None = None,
        capped: bool = False,
        pending: bool = False,
    ) -> None:
        super().__init__(message)
        self.active = active or []
        self.capped = capped
        self.pending = pending


@dataclass
class _Start:
    """One start in progress, after its ack."""

    accepted: AcceptedStart
    messages: ConversationMessages
    client: PalApiClient
    limits: Limits
    pal_name: str = ""
    ref: MessageRef | None = None

    @property
    def req(self) -> StartRequest:
        return self.accepted.req


class ConversationService:
    def __init__(self, rt: Runtime, audit: AuditTrail, limits: LimitsService) -> None:
        self.rt = rt
        self.audit = audit
        self.limits = limits
        self._delivered: set[str] = set()  # marks written together, a moment later
        # the acks' start rows, written together while one batch is being written
        self._starts: GroupCommit[tuple[StartRequest, str, str | None], AcceptedStart] = (
            GroupCommit(rt.db, self._write_starts)
        )
        self._flush: asyncio.TimerHandle | None = None

    def delivered(self, conversation_id: str) -> None:
        """Its message now shows what it is. Written in one batch a moment later, off the path
        of a burst's acks; a mark lost in a crash only makes reconciliation update the
        message once more (the same content: harmless)."""
        self._delivered.add(conversation_id)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(
                DELIVERED_FLUSH_SECONDS, self.flush_delivered
            )

    def mark_pending(self, conversation_id: str) -> bool:
        """Shown by this process, its delivery mark not written yet."""
        return conversation_id in self._delivered

    @property
    def pending_marks(self) -> int:
        """Delivery marks waiting for their batch."""
        return len(self._delivered)

    def flush_delivered(self) -> None:
        self._flush = None
        marks = set(self._delivered)
        self.rt.spawn(self._write_marks(marks), name="palbot-delivery-marks")

    async def flush_now(self) -> None:
        """Write the waiting delivery marks at once (a clean shutdown)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._delivered:
            await self._write_marks(set(self._delivered))

    async def _write_marks(self, marks: set[str]) -> None:
        try:
            await self.rt.db(self.rt.store.conversations.mark_delivered, *marks)
        except Exception:  # StoreBusy, or the store closing: reconciliation shows them again
            log.info("delivery marks for %d conversations not written", len(marks))
        finally:  # pending until written (or given up), never in between
            self._delivered -= marks

    # ---- start -----------------------------------------------------------------------

    async def accept(self, req: StartRequest) -> AcceptedStart:
        """The fast part, done before the ack: check, claim the action's keys, and write the
        start down (`accepted` audit row and a `starting` row, one commit) before any money is
        spent. Raises Invalid, Duplicate or NoKey; nothing is billed here."""
        if not is_id(req.pal_id):
            raise Invalid("That is not a PAL id (letters, digits, - and _).", field="pal_id")
        attempt_id = "start-" + secrets.token_urlsafe(12)
        token = secrets.token_urlsafe(32) if self.rt.settings.palbot_public_url else None
        return await self._starts.submit((req, attempt_id, token))

    def _write_starts(
        self, items: list[tuple[StartRequest, str, str | None]]
    ) -> list[AcceptedStart | BaseException]:
        """On a store thread: the starts waiting at this moment, written together in one
        commit and a handful of statements whatever their number: the key checks, the
        claims (a refused start gives back what it claimed), the `accepted` rows and the
        `starting` rows."""
        out: list[AcceptedStart | BaseException | None] = [None] * len(items)
        store = self.rt.store
        with store.transaction():
            keys: dict[int, tuple[list[str], str]] = {}
            taken: set[str] = set()
            has_key: dict[str, bool] = {}
            for i, (req, _, _) in enumerate(items):
                team = req.actor.team_id
                if team not in has_key:
                    workspace = store.workspaces.get(team)
                    has_key[team] = workspace is not None and workspace.has_key
                mine, debounce = list(dict.fromkeys(req.dedupe_keys)), self._debounce_key(req)
                if not has_key[team]:
                    out[i] = NoKey()  # before anything is claimed
                elif taken.intersection(mine):  # the same request twice in this batch
                    out[i] = Duplicate(HANDLED)
                elif debounce in taken:
                    out[i] = Duplicate(DEBOUNCED)
                else:
                    keys[i] = (mine, debounce)
                    taken.update(mine, (debounce,))
            teams = {i: items[i][0].actor.team_id for i in keys}
            debounces = [debounce for _, debounce in keys.values()]
            claimed = store.idempotency.claim_many(  # one statement: the keys and debounces
                [(k, teams[i]) for i, (mine, debounce) in keys.items() for k in (*mine, debounce)],
                window=DEBOUNCE_SECONDS,
                renewable=debounces,
            )
            debounced = claimed.intersection(debounces)
            given_back: list[str] = []
            going: list[int] = []
            for i, (mine, debounce) in keys.items():
                if not claimed.issuperset(mine):
                    out[i] = Duplicate(HANDLED)
                elif debounce not in debounced:
                    out[i] = Duplicate(DEBOUNCED)
                else:
                    going.append(i)
                    continue
                given_back += [k for k in (*mine, debounce) if k in claimed]
            store.idempotency.unclaim(given_back)
            for i, accepted in zip(going, self._write_accepted(items, going), strict=True):
                out[i] = accepted
        return [o if o is not None else RuntimeError("start not written") for o in out]

    def _write_accepted(
        self, items: list[tuple[StartRequest, str, str | None]], going: list[int]
    ) -> list[AcceptedStart]:
        """Inside the batch's transaction: the `accepted` audit rows and the `starting` rows
        of the starts that go ahead (two statements)."""
        tickets = self.audit.accept_many_now(
            [
                Ask(
                    "conversation.start",
                    items[i][0].actor,
                    target=items[i][0].pal_id,
                    channel_id=items[i][0].channel_id,
                    detail=items[i][0].options,
                )
                for i in going
            ]
        )
        records = []
        for i, ticket in zip(going, tickets, strict=True):
            req, attempt_id, token = items[i]
            records.append(
                ConversationRecord(
                    conversation_id=attempt_id,
                    attempt_id=attempt_id,
                    accepted_seq=ticket.seq,
                    team_id=req.actor.team_id,
                    pal_id=req.pal_id,
                    conversation_name=req.conversation_name,
                    channel_id=req.channel_id,
                    started_by=req.actor.user_id,
                    status="starting",
                    callback_token_hash=hash_token(token) if token else None,
                    test_mode=req.test_mode,
                    private=req.private,
                    thread_ts=req.thread_ts,
                )
            )
        self.rt.store.conversations.add_many(records)
        return [
            AcceptedStart(items[i][0], ticket, items[i][1], items[i][2])
            for i, ticket in zip(going, tickets, strict=True)
        ]

    @staticmethod
    def _debounce_key(req: StartRequest) -> str:
        name_hash = hashlib.sha256((req.conversation_name or "").encode()).hexdigest()[:12]
        a = req.actor
        return (
            f"start:{a.team_id}:{a.user_id}:{req.pal_id}:{req.channel_id}:{name_hash}:"
            f"{int(req.test_mode)}"
        )

    async def run(self, messages: ConversationMessages, accepted: AcceptedStart) -> StartResult:
        """The slow part, after the ack: limits, the PAL API, the join message. A burst of
        starts shares a bounded number of slots, so it never crowds out the acks."""
        self.rt.starts_running.add(accepted.attempt_id)  # reconciliation leaves it alone
        try:
            async with self.rt.work_slots:
                record = await self._run(messages, accepted)
        except StartFailed as exc:
            return StartResult(
                False,
                exc.message,
                active=exc.active,
                concurrency_limited=exc.capped,
                pending=exc.pending,
            )
        finally:
            self.rt.starts_running.discard(accepted.attempt_id)
        return StartResult(True, record=record)

    async def fail(
        self, accepted: AcceptedStart, outcome: Outcome, why: str, **detail: Any
    ) -> None:
        """The start ends here, nothing billed: its row and its audit row, in one commit."""

        def write() -> None:
            with self.rt.store.transaction():
                self.rt.store.conversations.fail(accepted.attempt_id, why)
                accepted.audit.close_now(outcome, target=accepted.req.pal_id, **detail)

        await self.rt.db(write)

    async def _run(
        self, messages: ConversationMessages, accepted: AcceptedStart
    ) -> ConversationRecord:
        req = accepted.req
        team = req.actor.team_id
        try:
            client = await self.rt.pal_client(team)
        except NoKey as exc:  # the key was removed between the ack and now
            await self.fail(accepted, "error", "no key", error="NoKey")
            raise StartFailed(exc.message) from None
        start = _Start(accepted, messages, client, await self.limits.get(team))
        start.pal_name = await self._pal_name(start)  # a PAL that does not exist says so first
        refusal = await self.limits.refusal(team, start.limits, req.test_mode, accepted.seq)
        if refusal:
            detail = {"reason": "limit", "limits": start.limits.model_dump()}
            await self.fail(accepted, "denied", "limit", **detail)
            active = await self.active(team)
            raise StartFailed(refusal, active=active, capped=True)
        conv = await self._create(start)
        return await self.record_started(accepted.attempt_id, conv, messages, start.pal_name)

    async def record_started(
        self,
        attempt_id: str,
        conv: Conversation,
        messages: ConversationMessages | None,
        pal_name: str | None = None,
    ) -> ConversationRecord:
        """The PAL API created it: the row becomes the conversation and the `accepted` row gets
        its `ok` (one commit), then the message shows Join and End."""
        record = await self.rt.db(self._write_started, attempt_id, conv, pal_name)
        await self.rt.ack_first.wait_turn()
        if messages is not None:
            record = await self.show_started(messages, record) or record
        return record

    def _write_started(
        self, attempt_id: str, conv: Conversation, pal_name: str | None
    ) -> ConversationRecord:
        """On a store thread: the row becomes the conversation, and its audit row, at once."""
        store = self.rt.store.conversations
        with self.rt.store.transaction():
            first = store.activate(
                attempt_id, conv.conversation_id, conv.conversation_url, conv.conversation_name
            )
            record = store.get(conv.conversation_id)
            if record is None:
                raise StartFailed("palbot lost track of this start; it is being checked.")
            if first and record.accepted_seq is not None:  # once, whoever recorded it
                starter = Actor(record.team_id, record.started_by, record.channel_id)
                ticket = self.audit.resume("conversation.start", starter, record.accepted_seq)
                ticket.close_now(
                    "ok",
                    target=conv.conversation_id,
                    pal_id=record.pal_id,
                    test_mode=record.test_mode,
                )
        if record.private and conv.meeting_token:  # encrypted, like every secret palbot keeps
            self.rt.store.sessions.put(
                _meeting_key(record.conversation_id),
                {"token": conv.meeting_token},
                MEETING_TOKEN_SECONDS,
                team_id=record.team_id,
            )
        if pal_name and not record.pal_name:
            record = record.model_copy(update={"pal_name": pal_name})
            store.set_pal_name(record.conversation_id, pal_name)
        if record.test_mode and record.status == "active":
            # nobody joins a test conversation and upstream has ended it already: it is
            # never listed as active, and its message says it was a test
            store.mark_ended(record.conversation_id, ended_by=None, reason=TEST_ENDED)
            record = store.get(record.conversation_id) or record
        return record

    async def show_started(
        self, messages: ConversationMessages, record: ConversationRecord
    ) -> ConversationRecord | None:
        """Show Join and End; where the message moved to (a new one), the record follows.
        None when it could not be shown yet (reconciliation shows it later)."""
        store = self.rt.store.conversations
        shown = await messages.started(await self.with_join_link(record))
        if shown is None:
            return None
        if (shown.channel_id, shown.ts) != (record.channel_id, record.message_ts):
            await self.rt.db(store.set_message, record.conversation_id, shown.channel_id, shown.ts)
            record = record.model_copy(
                update={"channel_id": shown.channel_id, "message_ts": shown.ts}
            )
        if shown.call_id and shown.call_id != record.slack_call_id:
            await self.rt.db(store.set_call_id, record.conversation_id, shown.call_id)
            record = record.model_copy(update={"slack_call_id": shown.call_id})
        self.delivered(record.conversation_id)
        return record

    async def with_join_link(self, record: ConversationRecord) -> ConversationRecord:
        """The record as its starter's message shows it: a private room's link carries its
        meeting token (kept encrypted, never in a channel). The copy is never stored."""
        if not record.private or not record.url or record.status != "active":
            return record
        kept = await self.rt.db(self.rt.store.sessions.get, _meeting_key(record.conversation_id))
        token = (kept or {}).get("token")
        if not token:
            return record
        joiner = "&" if "?" in record.url else "?"
        return record.model_copy(update={"url": f"{record.url}{joiner}t={quote(str(token))}"})

    async def _create(self, start: _Start) -> Conversation:
        """Name the PAL, post the placeholder, create the conversation once."""
        req = start.req
        await self.rt.ack_first.wait_turn()
        # a private start lives in the starter's DM: its link is never in a channel
        where = req.actor.user_id if req.private else req.channel_id
        try:
            start.ref = await start.messages.placeholder(
                where, start.pal_name, req.actor.user_id, thread_ts=req.thread_ts
            )
        except PostRefused as exc:
            await self.fail(start.accepted, "error", "slack", error="slack", slack_error=exc.code)
            raise StartFailed(exc.message) from None
        await self.rt.db(
            self.rt.store.conversations.set_message,
            start.accepted.attempt_id,
            start.ref.channel_id,
            start.ref.ts,
            start.pal_name,
        )
        body = self._create_body(req, start.limits, start.accepted.callback_token)
        return await self._create_upstream(start, body)

    async def _pal_name(self, start: _Start) -> str:
        req, team = start.req, start.req.actor.team_id
        cached = self.rt.pal_names.get(f"{team}:{req.pal_id}")
        if cached is not None:
            return cached
        await self.rt.ack_first.wait_turn()  # not seen lately: check it exists first
        try:
            pal = await start.client.get_pal(req.pal_id)
        except api_errors.NotFound:
            await self.fail(start.accepted, "error", "no such PAL", error="NotFound")
            raise StartFailed(
                f"No PAL `{req.pal_id}` in this workspace's PAL account. `/pal list` shows them."
            ) from None
        except api_errors.PalApiError as exc:
            await self.fail(start.accepted, "error", exc.user_message, error=type(exc).__name__)
            raise StartFailed(str(exc)) from None
        name = pal.pal_name or req.pal_id
        self.rt.remember_pal(team, req.pal_id, name)
        return name

    def _create_body(self, req: StartRequest, limits: Limits, token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"pal_id": req.pal_id}
        if req.conversation_name:
            body["conversation_name"] = req.conversation_name
        if req.test_mode:
            body["test_mode"] = True
        if token:
            body["callback_url"] = callback_url(self.rt.settings.palbot_public_url or "", token)
        properties: dict[str, Any] = {}
        durations = [d for d in (limits.max_call_duration, req.max_call_duration) if d]
        if durations:  # the shorter of the asked and the limit, within the documented maximum
            properties["max_call_duration"] = min(*durations, MAX_CALL_SECONDS)
        if req.language:
            properties["language"] = req.language
        if req.closed_captions:
            properties["enable_closed_captions"] = True
        storage = self.rt.settings.palbot_recording_storage
        if req.recording and storage:  # allowed, into the account's configured storage
            properties["enable_recording"] = True
            properties["recording_storage"] = storage
        if properties:
            body["properties"] = properties
        if req.audio_only:
            body["audio_only"] = True
        if req.conversational_context:
            body["conversational_context"] = req.conversational_context
        if req.custom_greeting:
            body["custom_greeting"] = req.custom_greeting
        if req.private:
            body["require_auth"] = True  # a private room: joined only with its meeting token
        return body

    async def _create_upstream(self, start: _Start, body: dict[str, Any]) -> Conversation:
        """The billed call: once, never retried; a lost answer is looked for, not repeated."""
        req, asked_at = start.req, datetime.now(UTC)
        await self.rt.ack_first.wait_turn()
        try:
            return await start.client.create_conversation(body)
        except (api_errors.OutcomeUnknown, api_errors.BadResponse):
            found = await self._find_created(start.client, req.pal_id, asked_at)
            if found is not None:
                log.warning(
                    "create's answer lost; adopted conversation %s found among the active",
                    found.conversation_id,
                )
                return found
            attempt_id = start.accepted.attempt_id
            recorded = await self.rt.db(self.rt.store.conversations.by_attempt, attempt_id)
            if recorded is not None and recorded.status == "active":  # by its callback, meanwhile
                return Conversation(
                    conversation_id=recorded.conversation_id,
                    conversation_url=recorded.url,
                    conversation_name=recorded.conversation_name,
                )
            # Not found yet: it may still appear. Reconciliation (every
            # PALBOT_RECONCILE_INTERVAL s, once the start is PALBOT_RECONCILE_GRACE s old)
            # decides, and tells the starter.
            await self.rt.db(self.rt.store.conversations.set_unknown, attempt_id)
            if start.ref is not None:
                await start.messages.unconfirmed(start.ref, start.pal_name, req.actor.user_id)
            raise StartFailed(LOST_CREATE_TEXT, pending=True) from None
        except api_errors.ConcurrencyLimit as exc:
            await self.fail(start.accepted, "error", exc.user_message, error="ConcurrencyLimit")
            await self._failed(start, exc.user_message)
            live = await self.live(req.actor.team_id)  # the account's: from Slack or not
            raise StartFailed(exc.user_message, active=live.calls, capped=True) from None
        except api_errors.PalApiError as exc:
            if isinstance(exc, api_errors.NotFound):
                self.rt.remember_pal(req.actor.team_id, req.pal_id, None)  # gone since cached
            kind = type(exc).__name__
            await self.fail(
                start.accepted, "error", exc.user_message, error=kind, status=exc.status
            )
            await self._failed(start, exc.user_message)
            raise StartFailed(str(exc)) from None

    async def _failed(self, start: _Start, reason: str) -> None:
        if start.ref is not None and await start.messages.failed(
            start.ref, start.pal_name, start.req.actor.user_id, reason
        ):
            self.delivered(start.accepted.attempt_id)

    async def _find_created(
        self,
        client: PalApiClient,
        pal_id: str,
        asked_at: datetime,
        attempts: int = 3,
        pause: float = 1.0,
    ) -> Conversation | None:
        """After a create whose answer was lost: look for it among the active conversations
        (a few times, since the lost request may still be completing upstream)."""
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(pause)
            try:
                page = await client.list_conversations(status="active", limit=50)
            except api_errors.PalApiError:
                continue
            active = await self.rt.db(self.rt.store.conversations.list_active)
            known = {c.conversation_id for c in active}
            for conv in page.data:
                created = parse_time(conv.created_at)
                if (
                    conv.pal_id in (pal_id, None)
                    and conv.conversation_id not in known
                    and (created is None or created >= asked_at - timedelta(seconds=5))
                ):
                    return conv
        return None

    # ---- end -------------------------------------------------------------------------

    async def accept_end(self, actor: Actor, conversation_id: str) -> Accepted:
        """Audit `accepted` for an end request, before its ack."""
        target = conversation_id[:128]
        return await self.audit.accept("conversation.end", actor, target=target)

    async def end(
        self,
        messages: ConversationMessages,
        actor: Actor,
        conversation_id: str,
        is_admin: AdminCheck,
        accepted: Accepted | None = None,
    ) -> EndResult:
        """End a conversation (its starter or an admin). Raises Invalid, Denied, NoKey or a
        PalApiError, each with its audit row written."""
        db = self.rt.db
        ticket = accepted or await self.accept_end(actor, conversation_id)
        record = (
            await db(self.rt.store.conversations.get, conversation_id)
            if is_id(conversation_id)
            else None
        )
        if record is None and is_id(conversation_id) and await is_admin():
            outside = await self._end_outside(actor, conversation_id, ticket)
            if outside is not None:
                return outside
        if record is None or record.team_id != actor.team_id:
            await ticket.close("invalid", reason="unknown id")
            raise Invalid(
                f"No conversation `{conversation_id[:64]}` was started from this workspace."
            )
        if record.started_by != actor.user_id and not await is_admin():
            await ticket.close("denied", reason="neither the starter nor an admin")
            raise Denied(
                "Only the person who started this conversation, or a workspace admin, can end it."
            )
        if record.status != "active":
            await ticket.close("ok", already_ended=True)
            return EndResult(record, already_ended=True)
        store = self.rt.store.conversations
        await db(store.note_ending, conversation_id, actor.user_id)  # one way to say who
        try:
            await (await self.rt.pal_client(actor.team_id)).end_conversation(conversation_id)
        except api_errors.NotFound:
            pass  # gone upstream already: record it as ended
        except (api_errors.PalApiError, NoKey) as exc:
            await db(store.note_ending, conversation_id, None)
            await ticket.close("error", error=type(exc).__name__)
            raise
        ended = await self.record_end(
            messages, conversation_id, ended_by=actor.user_id, reason="ended from Slack"
        )
        if not ended and await db(store.set_ended_by, conversation_id, actor.user_id):
            # the shutdown callback got here first: still say who ended it
            latest = await db(store.get, conversation_id)
            if latest is not None:
                await messages.ended(latest)
        await ticket.close("ok")
        return EndResult(record)

    async def _end_outside(
        self, actor: Actor, conversation_id: str, ticket: Accepted
    ) -> EndResult | None:
        """An admin ends a conversation of the account that was started outside Slack (the
        live list offers it); None when the PAL API does not know it either."""
        try:
            client = await self.rt.pal_client(actor.team_id)
            conv = await client.get_conversation(conversation_id)
        except (NoKey, api_errors.NotFound, api_errors.InvalidRequest):
            return None
        record = self._outside_record(actor.team_id, conv)
        if conv.status not in (None, "active"):
            await ticket.close("ok", already_ended=True, outside_slack=True)
            return EndResult(record, already_ended=True)
        try:
            await client.end_conversation(conversation_id)
        except api_errors.PalApiError as exc:
            await ticket.close("error", error=type(exc).__name__, outside_slack=True)
            raise
        await ticket.close("ok", outside_slack=True)
        return EndResult(record)

    async def record_end(
        self,
        messages: ConversationMessages | None,
        conversation_id: str,
        *,
        ended_by: str | None,
        reason: str | None,
    ) -> bool:
        """Mark ended once and update its message; False if it had already ended."""
        store, db = self.rt.store.conversations, self.rt.db
        if not await db(store.mark_ended, conversation_id, ended_by=ended_by, reason=reason):
            return False
        record = await db(store.get, conversation_id)
        if record is not None and messages is not None:
            await messages.ended(record)
            links = await db(store.result_links, conversation_id)
            if links:  # results posted before the end was recorded: link them now
                await messages.results_ready(record, links)
        return True

    # ---- reads -----------------------------------------------------------------------

    async def live(self, team_id: str, budget: float = LIVE_BUDGET_SECONDS) -> LiveCalls:
        """The live conversations of this workspace's PAL account (`GET /v2/conversations?
        status=active`), palbot's own with what palbot knows of them, those started outside
        Slack marked so; conversations another workspace started are never shown."""
        own = [r for r in await self.active(team_id) if not r.test_mode]
        try:
            client = await self.rt.pal_client(team_id, deadline=budget, max_retries=0)
            page = await client.list_conversations(status="active", limit=100)
        except NoKey:
            return LiveCalls(own, "No PAL API key is connected.")
        except api_errors.PalApiError as exc:
            return LiveCalls(own, exc.user_message)
        upstream = [c for c in page.data if c.status in (None, "active")]
        known = await self.rt.db(self._known, [c.conversation_id for c in upstream])
        mine = {r.conversation_id for r in own}
        outside = [
            self._outside_record(team_id, conv)
            for conv in upstream
            if conv.conversation_id not in mine and conv.conversation_id not in known
        ]
        return LiveCalls(own + outside)

    async def look_up(self, team_id: str, conversation_id: str) -> ConversationRecord | None:
        """A conversation someone linked to, as this workspace may see it: palbot's record
        (never another workspace's), or else what the PAL API says of it under this
        workspace's key (marked as started outside Slack); None when neither knows it."""
        if not is_id(conversation_id):
            return None
        record = await self.rt.db(self.rt.store.conversations.get, conversation_id)
        if record is not None:
            return record if record.team_id == team_id else None
        try:
            client = await self.rt.pal_client(team_id, deadline=LIVE_BUDGET_SECONDS)
            conv = await client.get_conversation(conversation_id)
        except (NoKey, api_errors.PalApiError):
            return None
        found = self._outside_record(team_id, conv)
        if conv.status not in (None, "active"):
            found = found.model_copy(update={"status": "ended"})
        return found

    def _known(self, conversation_ids: list[str]) -> set[str]:
        """On a store thread: which of these palbot recorded (in any workspace)."""
        store = self.rt.store.conversations
        return {i for i in conversation_ids if store.get(i) is not None}

    def _outside_record(self, team_id: str, conv: Conversation) -> ConversationRecord:
        pal_id = conv.pal_id or ""
        return ConversationRecord(
            conversation_id=conv.conversation_id,
            team_id=team_id,
            pal_id=pal_id,
            pal_name=self.rt.pal_names.get(f"{team_id}:{pal_id}") if pal_id else None,
            conversation_name=conv.conversation_name,
            started_by="",  # not started from Slack
            status="active",
            url=conv.conversation_url,
            created_at=conv.created_at or "",
        )

    async def active(self, team_id: str) -> list[ConversationRecord]:
        return await self.rt.db(self.rt.store.conversations.list_active, team_id)

    async def recent(self, team_id: str, limit: int = 10) -> list[ConversationRecord]:
        return await self.rt.db(self.rt.store.conversations.recent, team_id, limit)


def _meeting_key(conversation_id: str) -> str:
    return f"meeting:{conversation_id}"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
