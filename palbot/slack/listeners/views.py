"""Modal submissions. Invalid input comes back as `response_action: errors` and changes nothing;
checks that need the PAL API run inside the ack with a 2-second budget."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from palbot.pal_api import errors as api_errors
from palbot.services import keys as key_service
from palbot.services import pals as pal_service
from palbot.services.audit import close_accepted, record
from palbot.services.conversations import (
    Accepted,
    ConversationService,
    StartRequest,
    slack_error_text,
)
from palbot.services.errors import Duplicate, Invalid, NoKey, UserError, user_text
from palbot.services.runtime import Actor, PatchSession, Runtime
from palbot.slack import ids
from palbot.slack.answer_at_ack import register_each
from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.blocks.common import (
    error_message,
    error_view,
    loading_view,
    ok_message,
    result_view,
)
from palbot.slack.metadata import ModalMetadata
from palbot.slack.request import Reply, actor_from, state_values
from palbot.slack.text import context, escape, section
from palbot.store.models import Limits

log = logging.getLogger("palbot.views")
CHECK_BUDGET = 2.0


def _errors(field: str, message: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {field: message[:250]}}


def _update(view: dict[str, Any]) -> dict[str, Any]:
    return {"response_action": "update", "view": view}


class Submission:
    def __init__(self, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        self.body = body
        self.view: dict[str, Any] = body["view"]
        self.view_id: str = self.view["id"]
        self.values = state_values(self.view)
        self.metadata = ModalMetadata.load(self.view.get("private_metadata"))
        actor = actor_from(body, context)
        self.actor = Actor(
            team_id=actor.team_id,
            user_id=actor.user_id,
            channel_id=self.metadata.channel_id,
            enterprise_id=actor.enterprise_id,
        )
        self.client = client
        self.reply = Reply(client, actor.user_id, self.metadata.response_url)

    def dedupe_key(self) -> str:
        digest = hashlib.sha256(repr(sorted(self.values.items())).encode()).hexdigest()[:16]
        return f"view:{self.view_id}:{self.view.get('hash', '')}:{digest}"

    async def show(self, view: dict[str, Any]) -> None:
        try:
            await self.client.views_update(view_id=self.view_id, view=view)
        except SlackApiError as exc:
            log.warning("views.update failed: %s", exc.response.get("error"))


class Views:
    def __init__(self, rt: Runtime, convs: ConversationService) -> None:
        self.rt = rt
        self.convs = convs

    # ---- Connect key -----------------------------------------------------------------

    async def key(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        sub = Submission(body, context, client)
        if not await self.rt.is_admin(client, sub.actor):
            record(self.rt, "key.set", "denied", detail={"reason": "not an admin"}, actor=sub.actor)
            await ack(_errors(ids.API_KEY, "Only workspace admins can connect the PAL API key."))
            return
        try:
            key = key_service.check_key_format(sub.values.get(ids.API_KEY) or "")
        except Invalid as exc:
            record(self.rt, "key.set", "invalid", detail={"reason": "format"}, actor=sub.actor)
            await ack(_errors(ids.API_KEY, exc.message))
            return
        check = asyncio.ensure_future(key_service.verify_key(self.rt, key, budget=10.0))
        done, _ = await asyncio.wait({check}, timeout=CHECK_BUDGET)
        if not done:  # the PAL API is slow: show "Checking…" and finish after the ack
            accepted = record(self.rt, "key.set", "accepted", actor=sub.actor)
            await ack(_update(loading_view("Connect key", "Checking the key with the PAL API…")))
            self.rt.spawn(self._finish_key(sub, key, check, accepted.seq))
            return
        try:
            check.result()
        except Invalid as exc:
            record(
                self.rt,
                "key.set",
                "invalid",
                detail={"reason": "refused upstream"},
                actor=sub.actor,
            )
            await ack(_errors(ids.API_KEY, exc.message))
            return
        except api_errors.PalApiError as exc:
            record(
                self.rt, "key.set", "error", detail={"error": type(exc).__name__}, actor=sub.actor
            )
            await ack(_errors(ids.API_KEY, f"Could not check the key: {exc.user_message}"))
            return
        workspace = key_service.save_key(self.rt, sub.actor, key)
        await ack()
        await sub.reply.send(
            ok_message(
                f"PAL API key ending in `{escape(workspace.key_last4 or '')}` connected. Anyone "
                "here can now `/pal create`, `/pal list` and `/pal start`."
            )
        )

    async def _finish_key(
        self, sub: Submission, key: str, check: asyncio.Future[None], accepted_seq: int
    ) -> None:
        try:
            await check
        except (Invalid, api_errors.PalApiError) as exc:
            outcome = "invalid" if isinstance(exc, Invalid) else "error"
            close_accepted(self.rt, "key.set", outcome, sub.actor, accepted_seq)  # type: ignore[arg-type]
            text = user_text(exc)
            await sub.show(
                result_view(
                    "Connect key",
                    [
                        section(f":warning: The key was not saved. {escape(text)}"),
                        context("Run `/pal key` to try again."),
                    ],
                )
            )
            return
        workspace = key_service.save_key(self.rt, sub.actor, key, accepted_seq=accepted_seq)
        await sub.show(
            result_view(
                "Connect key",
                [
                    section(
                        ":white_check_mark: PAL API key ending in "
                        f"`{escape(workspace.key_last4 or '')}` connected."
                    )
                ],
            )
        )

    # ---- Create PAL ------------------------------------------------------------------

    async def create(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        sub = Submission(body, context, client)
        try:
            pal_body = pal_service.build_create_body(sub.values)
        except Invalid as exc:
            record(
                self.rt,
                "pal.create",
                "invalid",
                detail={"field": exc.field, "reason": exc.message},
                actor=sub.actor,
            )
            await ack(_errors(exc.field or ids.PAL_NAME, exc.message))
            return
        try:
            self.rt.pal_client(sub.actor.team_id)
        except NoKey as exc:
            await ack(_errors(ids.PAL_NAME, exc.message))
            return
        if not self.rt.store.idempotency.claim(sub.dedupe_key(), team_id=sub.actor.team_id):
            await ack()  # a repeated submission: the first one is already being handled
            return
        seq = pal_service.accept(
            self.rt, "pal.create", sub.actor, detail={"pal_name": pal_body.pal_name}
        )
        await ack(
            _update(
                loading_view(
                    "Create PAL", f"Creating *{escape(pal_body.pal_name)}*…", metadata=sub.metadata
                )
            )
        )
        self.rt.spawn(self._finish_create(sub, pal_body, seq))

    async def _finish_create(self, sub: Submission, pal_body: Any, seq: int) -> None:
        try:
            pal = await pal_service.create_pal(self.rt, sub.actor, pal_body, accepted_seq=seq)
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await sub.show(error_view(f"The PAL was not created. {text}", "Create PAL"))
            return
        blocks = pal_blocks.pal_summary_blocks(pal, ":white_check_mark: Created")
        await sub.show(result_view("Create PAL", blocks, sub.metadata))
        name = pal_blocks.pal_title(pal)
        await sub.reply.send({"text": f"Created PAL {escape(name)}", "blocks": blocks})
        channel = sub.values.get(ids.POST_CHANNEL)
        if channel:
            announce = pal_blocks.pal_summary_blocks(
                pal, f"<@{escape(sub.actor.user_id)}> created a new PAL:"
            )
            try:
                await sub.client.chat_postMessage(
                    channel=channel, text=f"New PAL {escape(name)}", blocks=announce
                )
            except SlackApiError as exc:
                await sub.reply.send(
                    error_message(
                        f"The PAL was created, but the announcement failed: {slack_error_text(exc)}"
                    )
                )

    # ---- Patch PAL -------------------------------------------------------------------

    async def patch(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        sub = Submission(body, context, client)
        pal_id = sub.metadata.pal_id or ""

        async def refuse(exc: Invalid) -> None:  # a field error; nothing is sent upstream
            record(
                self.rt,
                "pal.patch",
                "invalid",
                detail={"reason": exc.message},
                actor=sub.actor,
                target=pal_id,
            )
            await ack(_errors(ids.PATCH_JSON, exc.message))

        try:
            ops = pal_service.parse_patch_text(sub.values.get(ids.PATCH_JSON) or "")
        except Invalid as exc:
            await refuse(exc)
            return
        session = self.rt.patch_sessions.get(sub.view_id)
        if session is None:  # palbot restarted since the modal opened: fetch within the budget
            try:
                client_api = self.rt.pal_client(
                    sub.actor.team_id, deadline=CHECK_BUDGET, max_retries=0
                )
                pal = await client_api.get_pal(pal_id)
            except (NoKey, api_errors.PalApiError) as exc:
                await ack(
                    _errors(
                        ids.PATCH_JSON,
                        f"Could not load the PAL to check the patch: "
                        f"{exc.message if isinstance(exc, NoKey) else str(exc)}",
                    )
                )
                return
            session = PatchSession(
                pal_id=pal_id, doc=pal.raw, response_url=sub.metadata.response_url
            )
        try:
            pal_service.apply_locally(session.doc, ops)
        except Invalid as exc:
            await refuse(exc)
            return
        if not self.rt.store.idempotency.claim(sub.dedupe_key(), team_id=sub.actor.team_id):
            await ack()
            return
        seq = pal_service.accept(
            self.rt,
            "pal.patch",
            sub.actor,
            target=session.pal_id,
            detail={"ops": ops, "force": False},
        )
        await ack(_update(loading_view("Patch PAL", "Applying the patch…", metadata=sub.metadata)))
        self.rt.spawn(self._finish_patch(sub, session, ops, seq))

    async def _finish_patch(
        self, sub: Submission, session: PatchSession, ops: list[dict[str, Any]], seq: int
    ) -> None:
        name = pal_blocks.pal_title(session.doc)
        try:
            outcome = await pal_service.patch_pal(
                self.rt, sub.actor, session.pal_id, ops, session.doc, accepted_seq=seq
            )
        except api_errors.NoChange:
            await sub.show(
                result_view(
                    "Patch PAL",
                    [
                        section(
                            f":information_source: Nothing changed: *{escape(name)}* already "
                            "had that configuration."
                        )
                    ],
                )
            )
            return
        except api_errors.PatchConflict:
            session.ops = ops
            self.rt.patch_sessions.set(sub.view_id, session)
            await sub.show(
                result_view(
                    "Patch PAL", pal_blocks.patch_conflict_blocks(name, sub.view_id), sub.metadata
                )
            )
            return
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await sub.show(error_view(f"The PAL was not changed. {text}", "Patch PAL"))
            return
        self.rt.patch_sessions.pop(sub.view_id)
        await sub.show(
            pal_blocks.patch_done_view(
                session.pal_id, outcome.after, outcome.changes, outcome.discarded
            )
        )

    # ---- Start conversation ----------------------------------------------------------

    async def start(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        sub = Submission(body, context, client)
        pal_id = (sub.values.get(ids.PAL_ID) or "").strip()
        name = (sub.values.get(ids.CONVERSATION_NAME) or "").strip()
        channel = sub.values.get(ids.CHANNEL) or sub.metadata.channel_id
        if not pal_id:
            await ack(_errors(ids.PAL_ID, "Choose a PAL."))
            return
        if not channel:
            await ack(_errors(ids.CHANNEL, "Choose the channel for the Join link."))
            return
        if len(name) > 200:
            await ack(_errors(ids.CONVERSATION_NAME, "200 characters at most."))
            return
        actor = Actor(
            team_id=sub.actor.team_id,
            user_id=sub.actor.user_id,
            channel_id=channel,
            enterprise_id=sub.actor.enterprise_id,
        )
        start = StartRequest(
            actor=actor,
            pal_id=pal_id,
            channel_id=channel,
            conversation_name=name or None,
            dedupe_keys=(f"view:{sub.view_id}",),
        )
        try:
            accepted = self.convs.accept(start)  # audited before the ack
        except Duplicate:
            await ack()  # the first submission is being handled and will update this view
            return
        except Invalid as exc:
            await ack(_errors(ids.PAL_ID, exc.message))
            return
        except NoKey as exc:
            await ack(_errors(ids.PAL_ID, exc.message))
            return
        await ack(_update(loading_view("Start conversation", "Starting the conversation…")))
        self.rt.spawn(self._finish_start(sub, accepted))

    async def _finish_start(self, sub: Submission, accepted: Accepted) -> None:
        try:
            result = await self.convs.run(sub.client, accepted)
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await sub.show(error_view(text, "Start conversation"))
            return
        if result.ok:
            await sub.show(
                result_view("Start conversation", [section(f":white_check_mark: {result.message}")])
            )
            return
        blocks = (
            conv_blocks.active_list_message(result.message, result.active)["blocks"]
            if result.concurrency_limited
            else [section(f":warning: {escape(result.message)}")]
        )
        await sub.show(result_view("Start conversation", blocks))

    # ---- Limits ----------------------------------------------------------------------

    async def limits(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        sub = Submission(body, context, client)
        if not await self.rt.is_admin(client, sub.actor):
            record(self.rt, "limits.set", "denied", actor=sub.actor)
            await ack(_errors(ids.MAX_CONCURRENT, "Only workspace admins can set limits."))
            return
        bounds = {
            ids.MAX_CONCURRENT: (1, 1000),
            ids.MAX_PER_DAY: (1, 100000),
            ids.MAX_CALL_DURATION: (10, 14400),
        }
        values: dict[str, int | None] = {}
        for field, (low, high) in bounds.items():
            raw = (sub.values.get(field) or "").strip()
            if not raw:
                values[field] = None
                continue
            if not raw.isdigit() or not low <= int(raw) <= high:
                record(self.rt, "limits.set", "invalid", detail={"field": field}, actor=sub.actor)
                await ack(
                    _errors(field, f"A whole number from {low} to {high}, or empty for no limit.")
                )
                return
            values[field] = int(raw)
        limits = Limits(**values)
        self.rt.store.workspaces.set_limits(sub.actor.team_id, limits, set_by=sub.actor.user_id)
        record(self.rt, "limits.set", "ok", detail=limits.model_dump(), actor=sub.actor)
        await ack()
        await sub.reply.send(ok_message(f"Limits saved: {admin_blocks.limits_text(limits)}."))


def register(app: AsyncApp, rt: Runtime, convs: ConversationService) -> None:
    views = Views(rt, convs)
    register_each(
        rt,
        app.view,
        (
            (ids.KEY_MODAL, views.key),
            (ids.CREATE_MODAL, views.create),
            (ids.PATCH_MODAL, views.patch),
            (ids.START_MODAL, views.start),
            (ids.LIMITS_MODAL, views.limits),
        ),
    )
