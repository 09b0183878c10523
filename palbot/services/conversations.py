"""Starting, ending and following conversations: the one place that spends money.

One "start" serves the slash command, the Start button and the Start modal alike: it claims the
action's idempotency keys, checks the workspace's limits, posts a placeholder (so a channel palbot
cannot post in fails before anything is billed), creates the conversation once — never retried —
and turns the placeholder into the join message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from palbot.pal_api import errors as api_errors
from palbot.pal_api.models import Conversation
from palbot.services.audit import close_accepted
from palbot.services.errors import Denied, Duplicate, Invalid, NoKey
from palbot.services.runtime import Actor, Runtime
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.parsing import is_id
from palbot.slack.text import escape
from palbot.store.models import ConversationRecord, Limits, Outcome, utc_now

log = logging.getLogger("palbot.conversations")
DEBOUNCE_SECONDS = 5.0  # the same start, by the same person, repeated within this is one action
SLACK_ERRORS = {
    "not_in_channel": "palbot is not a member of that channel. Invite it with `/invite @palbot` "
    "and try again.",
    "channel_not_found": "palbot cannot see that channel (a private channel or a DM it is not "
    "in). Invite it with `/invite @palbot`, or use a public channel.",
    "is_archived": "That channel is archived.",
    "ratelimited": "Slack is rate-limiting palbot right now; try again in a minute.",
    "restricted_action": "This workspace does not allow palbot to post in that channel.",
}


def slack_error_text(exc: SlackApiError) -> str:
    code = str(exc.response.get("error", "")) if exc.response is not None else ""
    return SLACK_ERRORS.get(code, f"Slack refused the message ({code or 'unknown error'}).")


@dataclass
class StartRequest:
    actor: Actor
    pal_id: str
    channel_id: str
    conversation_name: str | None = None
    test_mode: bool = False
    dedupe_keys: tuple[str, ...] = ()


@dataclass
class Accepted:
    req: StartRequest
    seq: int


@dataclass
class StartResult:
    ok: bool
    message: str
    record: ConversationRecord | None = None
    active: list[ConversationRecord] = field(default_factory=list)
    concurrency_limited: bool = False


def day_start(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.isoformat(timespec="microseconds").replace("+00:00", "Z")


def limit_refusal(
    rt: Runtime, team_id: str, limits: Limits, test_mode: bool, in_flight: int = 0
) -> str | None:
    """Why a start would break the workspace's limits, counting starts still in flight."""
    if test_mode:
        return None  # test conversations cost nothing
    who = "A workspace admin can change it with `/pal limits`."
    if limits.max_concurrent is not None:
        active = [c for c in rt.store.conversations.list_active(team_id) if not c.test_mode]
        if len(active) + in_flight >= limits.max_concurrent:
            return (
                f"This workspace allows at most {limits.max_concurrent} concurrent "
                f"conversations, and {len(active) + in_flight} are active or starting. End one "
                f"first. {who}"
            )
    if limits.max_per_day is not None:
        today = rt.store.conversations.count_started_since(team_id, day_start()) + in_flight
        if today >= limits.max_per_day:
            return (
                f"This workspace allows at most {limits.max_per_day} conversations per day "
                f"(UTC), and {today} were started today. {who}"
            )
    return None


class ConversationService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # ---- start -----------------------------------------------------------------------

    def accept(self, req: StartRequest) -> Accepted:
        """The fast part, done before the ack: check, claim the action's keys, audit
        `accepted`. Raises Invalid, Duplicate or NoKey; nothing is billed here."""
        rt, actor = self.rt, req.actor
        if not is_id(req.pal_id):
            raise Invalid("That is not a PAL id (letters, digits, - and _).", field="pal_id")
        workspace = rt.store.workspaces.get(actor.team_id)
        if workspace is None or not workspace.has_key:
            raise NoKey()  # before anything is claimed
        with rt.store.transaction():  # the claims and the audit row: one commit
            for key in req.dedupe_keys:
                if not rt.store.idempotency.claim(key, team_id=actor.team_id):
                    raise Duplicate(
                        "That request was already handled; no second conversation was started."
                    )
            name_hash = hashlib.sha256((req.conversation_name or "").encode()).hexdigest()[:12]
            debounce = (
                f"start:{actor.team_id}:{actor.user_id}:{req.pal_id}:{req.channel_id}:"
                f"{name_hash}:{int(req.test_mode)}"
            )
            if not rt.store.idempotency.claim(
                debounce, team_id=actor.team_id, window=DEBOUNCE_SECONDS
            ):
                raise Duplicate(
                    "You just started a conversation with this PAL here; palbot did not "
                    "start a second one. Wait a few seconds to start another."
                )
            row = rt.store.audit.append(
                "conversation.start",
                "accepted",
                team_id=actor.team_id,
                user_id=actor.user_id,
                channel_id=req.channel_id,
                target=req.pal_id,
                detail={"test_mode": req.test_mode, "conversation_name": req.conversation_name},
            )
        return Accepted(req, row.seq)

    async def start(self, slack: AsyncWebClient, req: StartRequest) -> StartResult:
        return await self.run(slack, self.accept(req))

    async def run(self, slack: AsyncWebClient, accepted: Accepted) -> StartResult:
        """The slow part, after the ack: limits, the PAL API, the join message. A burst of
        starts shares a bounded number of slots, so it never crowds out the acks."""
        async with self.rt.work_slots:
            return await self._run(slack, accepted)

    async def _run(self, slack: AsyncWebClient, accepted: Accepted) -> StartResult:
        rt, req = self.rt, accepted.req
        actor = req.actor

        def note(outcome: Outcome, target: str = req.pal_id, **detail: Any) -> None:
            close_accepted(
                rt,
                "conversation.start",
                outcome,
                actor,
                accepted.seq,
                target=target,
                channel_id=req.channel_id,
                **detail,
            )

        def fail(kind: str, **extra: Any) -> None:
            note("error", error=kind, **extra)

        try:
            client = rt.pal_client(actor.team_id)
        except NoKey as exc:  # the key was removed between the ack and now
            fail("NoKey")
            return StartResult(False, exc.message)
        workspace = rt.store.workspaces.get(actor.team_id)
        limits = workspace.limits if workspace else Limits()
        in_flight = rt.starts_in_flight.get(actor.team_id, 0) if not req.test_mode else 0
        refusal = limit_refusal(rt, actor.team_id, limits, req.test_mode, in_flight)
        if refusal:
            note("denied", reason="limit", limits=limits.model_dump())
            return StartResult(False, refusal)
        # The check above and this reservation run without an await in between: two starts
        # racing in one process cannot both pass a limit, and no lock serialises the calls.
        if not req.test_mode:
            rt.starts_in_flight[actor.team_id] = in_flight + 1
        try:
            pal_name = rt.pal_names.get(f"{actor.team_id}:{req.pal_id}")
            if pal_name is None:  # not seen lately: check it exists before posting anything
                await rt.ack_first.wait_turn()
                try:
                    pal = await client.get_pal(req.pal_id)
                except api_errors.NotFound:
                    fail("NotFound")
                    return StartResult(
                        False,
                        f"No PAL `{req.pal_id}` in this workspace's PAL "
                        "account. `/pal list` shows them.",
                    )
                except api_errors.PalApiError as exc:
                    fail(type(exc).__name__)
                    return StartResult(False, str(exc))
                pal_name = pal.pal_name or req.pal_id
                rt.remember_pal(actor.team_id, req.pal_id, pal_name)
            await rt.ack_first.wait_turn()
            try:
                posted = await slack.chat_postMessage(
                    channel=req.channel_id, **conv_blocks.starting_message(pal_name, actor.user_id)
                )
            except SlackApiError as exc:
                fail("slack", slack_error=exc.response.get("error"))
                return StartResult(False, slack_error_text(exc))
            channel_id, ts = str(posted["channel"]), str(posted["ts"])

            token = secrets.token_urlsafe(32) if rt.settings.palbot_public_url else None
            body: dict[str, Any] = {"pal_id": req.pal_id}
            if req.conversation_name:
                body["conversation_name"] = req.conversation_name
            if req.test_mode:
                body["test_mode"] = True
            if token:
                body["callback_url"] = f"{rt.settings.palbot_public_url}/pal/callbacks/{token}"
            if limits.max_call_duration:
                body["properties"] = {"max_call_duration": limits.max_call_duration}
            asked_at = datetime.now(UTC)
            await rt.ack_first.wait_turn()
            try:
                conv = await client.create_conversation(body)
            except api_errors.OutcomeUnknown:
                found = await self._find_created(client, req.pal_id, asked_at)
                if found is None:
                    fail("OutcomeUnknown", found=False)
                    text = (
                        "The PAL API did not confirm the conversation in time, and palbot "
                        "found no new active conversation for this PAL: most likely none "
                        "was created. It was not retried, so nothing was billed twice; "
                        "try again."
                    )
                    await self._update(
                        slack,
                        channel_id,
                        ts,
                        conv_blocks.failed_start_message(
                            pal_name, actor.user_id, "the PAL API did not answer in time"
                        ),
                    )
                    return StartResult(False, text)
                conv = found
                log.warning(
                    "create timed out; adopted conversation %s found among the active",
                    conv.conversation_id,
                )
            except api_errors.ConcurrencyLimit as exc:
                fail("ConcurrencyLimit")
                await self._update(
                    slack,
                    channel_id,
                    ts,
                    conv_blocks.failed_start_message(pal_name, actor.user_id, exc.user_message),
                )
                return StartResult(
                    False,
                    exc.user_message,
                    concurrency_limited=True,
                    active=rt.store.conversations.list_active(actor.team_id),
                )
            except api_errors.PalApiError as exc:
                if isinstance(exc, api_errors.NotFound):
                    rt.remember_pal(actor.team_id, req.pal_id, None)  # gone since we cached it
                fail(type(exc).__name__, status=exc.status)
                await self._update(
                    slack,
                    channel_id,
                    ts,
                    conv_blocks.failed_start_message(pal_name, actor.user_id, exc.user_message),
                )
                return StartResult(False, str(exc))

            record = ConversationRecord(
                conversation_id=conv.conversation_id,
                team_id=actor.team_id,
                pal_id=req.pal_id,
                pal_name=pal_name,
                conversation_name=conv.conversation_name or req.conversation_name,
                channel_id=channel_id,
                message_ts=ts,
                started_by=actor.user_id,
                status="active",
                url=conv.conversation_url,
                callback_token=token,
                test_mode=req.test_mode,
            )
            rt.store.conversations.add(record)
        finally:
            if not req.test_mode:
                rt.starts_in_flight[actor.team_id] -= 1
        await rt.ack_first.wait_turn()
        await self._update(slack, channel_id, ts, conv_blocks.join_message(record))
        note("ok", target=conv.conversation_id, pal_id=req.pal_id, test_mode=req.test_mode)
        return StartResult(
            True,
            f"Started a conversation with {escape(pal_name)}; its Join link is posted in "
            f"<#{channel_id}>.",
            record=record,
        )

    async def _find_created(
        self, client: Any, pal_id: str, asked_at: datetime, attempts: int = 3, pause: float = 1.0
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
            known = {c.conversation_id for c in self.rt.store.conversations.list_active()}
            for conv in page.data:
                created = _parse(conv.created_at)
                if (
                    conv.pal_id in (pal_id, None)
                    and conv.conversation_id not in known
                    and (created is None or created >= asked_at - timedelta(seconds=5))
                ):
                    return conv
        return None

    async def _update(
        self,
        slack: AsyncWebClient | None,
        channel: str | None,
        ts: str | None,
        content: dict[str, Any],
    ) -> bool:
        if slack is None or not channel or not ts:
            return False
        try:
            await slack.chat_update(channel=channel, ts=ts, **content)
            return True
        except SlackApiError as exc:
            log.warning("chat.update failed: %s", exc.response.get("error"))
            return False

    # ---- end -------------------------------------------------------------------------

    def accept_end(self, actor: Actor, conversation_id: str) -> int:
        """Audit `accepted` for an end request, before its ack."""
        return self.rt.store.audit.append(
            "conversation.end",
            "accepted",
            team_id=actor.team_id,
            user_id=actor.user_id,
            channel_id=actor.channel_id,
            target=conversation_id[:128],
        ).seq

    async def end(
        self,
        slack: AsyncWebClient,
        actor: Actor,
        conversation_id: str,
        is_admin: Callable[[], Awaitable[bool]],
        accepted_seq: int | None = None,
    ) -> str:
        rt = self.rt
        base: dict[str, Any] = {
            "team_id": actor.team_id,
            "user_id": actor.user_id,
            "channel_id": actor.channel_id,
            "target": conversation_id[:128],
        }
        record = rt.store.conversations.get(conversation_id) if is_id(conversation_id) else None

        def close(outcome: Outcome, **detail: Any) -> None:
            if accepted_seq is not None:
                detail["accepted_seq"] = accepted_seq
            rt.store.audit.append("conversation.end", outcome, detail=detail, **base)

        if record is None or record.team_id != actor.team_id:
            close("invalid", reason="unknown id")
            raise Invalid(
                f"No conversation `{conversation_id[:64]}` was started from this workspace."
            )
        if record.started_by != actor.user_id and not await is_admin():
            close("denied", reason="neither the starter nor an admin")
            raise Denied(
                "Only the person who started this conversation, or a workspace admin, can end it."
            )
        if record.status != "active":
            close("ok", already_ended=True)
            return "That conversation has already ended."
        if accepted_seq is None:
            accepted_seq = self.accept_end(actor, conversation_id)
        try:
            client = rt.pal_client(actor.team_id)
            await client.end_conversation(conversation_id)
        except api_errors.NotFound:
            pass  # gone upstream already: record it as ended
        except (api_errors.PalApiError, NoKey) as exc:
            close("error", error=type(exc).__name__)
            raise
        if not await self.record_end(
            slack, conversation_id, ended_by=actor.user_id, reason="ended from Slack"
        ) and rt.store.conversations.set_ended_by(conversation_id, actor.user_id):
            # the shutdown callback got here first: still say who ended it
            ended = rt.store.conversations.get(conversation_id)
            if ended is not None:
                await self._update(
                    slack, ended.channel_id, ended.message_ts, conv_blocks.ended_message(ended)
                )
        close("ok")
        return f"Ended the conversation with {escape(record.pal_name or record.pal_id)}."

    async def record_end(
        self,
        slack: AsyncWebClient | None,
        conversation_id: str,
        *,
        ended_by: str | None,
        reason: str | None,
    ) -> bool:
        """Mark ended once and update the join message; False if it had already ended."""
        if not self.rt.store.conversations.mark_ended(
            conversation_id, ended_by=ended_by, reason=reason
        ):
            return False
        record = self.rt.store.conversations.get(conversation_id)
        if record is not None:
            await self._update(
                slack, record.channel_id, record.message_ts, conv_blocks.ended_message(record)
            )
        return True


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


__all__ = ["ConversationService", "StartRequest", "StartResult", "utc_now"]
