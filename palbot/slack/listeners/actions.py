"""Buttons: Start, Patch, Join, End, Delete (confirmed), Overwrite editor changes, App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from palbot.pal_api import errors as api_errors
from palbot.services import pals as pal_service
from palbot.services.conversations import ConversationService, StartRequest
from palbot.services.errors import UserError, user_text
from palbot.services.runtime import Actor, PatchSession, Runtime
from palbot.slack import ids
from palbot.slack.answer_at_ack import register_each
from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.blocks import keys as key_blocks
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.blocks.common import (
    error_message,
    error_view,
    loading_view,
    ok_message,
    result_view,
)
from palbot.slack.listeners.commands import patch_inline, run_start
from palbot.slack.listeners.guards import require_admin
from palbot.slack.metadata import ModalMetadata
from palbot.slack.parsing import is_id
from palbot.slack.request import Reply, actor_from
from palbot.slack.text import escape, section
from palbot.store.models import Limits

log = logging.getLogger("palbot.actions")


class Click:
    def __init__(self, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        self.body = body
        self.action: dict[str, Any] = (body.get("actions") or [{}])[0]
        self.value: str = str(self.action.get("value") or "")
        self.view: dict[str, Any] | None = body.get("view")
        self.metadata = ModalMetadata.load((self.view or {}).get("private_metadata"))
        actor = actor_from(body, context)
        channel = actor.channel_id or self.metadata.channel_id
        self.actor = Actor(
            team_id=actor.team_id,
            user_id=actor.user_id,
            channel_id=channel,
            enterprise_id=actor.enterprise_id,
        )
        self.client = client
        self.response_url: str | None = body.get("response_url") or self.metadata.response_url
        self.reply = Reply(client, actor.user_id, self.response_url)
        self.trigger_id: str | None = body.get("trigger_id")


class Actions:
    def __init__(self, rt: Runtime, convs: ConversationService) -> None:
        self.rt = rt
        self.convs = convs

    async def start(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        click = Click(body, context, client)
        if not is_id(click.value) or not click.actor.channel_id:
            await ack()
            await click.reply.send(
                error_message(
                    "This button has no PAL or channel to start in; use `/pal start <pal_id>`."
                )
            )
            return
        action_ts = click.action.get("action_ts") or click.trigger_id
        start = StartRequest(
            actor=click.actor,
            pal_id=click.value,
            channel_id=click.actor.channel_id,
            dedupe_keys=(f"action:{action_ts}",),
        )
        try:
            accepted = self.convs.accept(start)  # audited before the ack
        except UserError as exc:
            await ack()
            await click.reply.send(error_message(exc.message))
            return
        await ack()
        try:
            await run_start(self.convs, client, accepted, click.reply)
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await click.reply.send(error_message(text))

    async def patch(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click(body, context, client)
        if not is_id(click.value):
            return
        metadata = ModalMetadata(
            pal_id=click.value, channel_id=click.actor.channel_id, response_url=click.response_url
        )
        loading = loading_view(
            "Patch PAL", "Loading the PAL's current configuration…", ids.PATCH_MODAL, metadata
        )
        try:
            if click.view is not None:  # a button inside a modal: stack the patch modal on top
                opened = await client.views_push(trigger_id=click.trigger_id, view=loading)
            else:
                opened = await client.views_open(trigger_id=click.trigger_id, view=loading)
        except SlackApiError as exc:
            log.warning("could not open the patch modal: %s", exc.response.get("error"))
            return
        view_id = str(opened["view"]["id"])
        try:
            pal = await self.rt.pal_client(click.actor.team_id).get_pal(click.value)
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await client.views_update(view_id=view_id, view=error_view(text))
            return
        self.rt.patch_sessions.set(
            view_id,
            PatchSession(
                pal_id=click.value,
                doc=pal.raw,
                response_url=click.response_url,
                channel_id=click.actor.channel_id,
            ),
        )
        await client.views_update(view_id=view_id, view=pal_blocks.patch_modal(metadata, pal.raw))

    async def join(self, ack: AsyncAck) -> None:
        await ack()  # a url button: Slack opens the link; nothing else to do

    async def end(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        click = Click(body, context, client)
        seq = self.convs.accept_end(click.actor, click.value)  # audited before the ack
        await ack()
        try:
            text = await self.convs.end(
                client,
                click.actor,
                click.value,
                lambda: self.rt.is_admin(client, click.actor),
                accepted_seq=seq,
            )
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await click.reply.send(error_message(text))
            return
        await click.reply.send(ok_message(text))

    async def delete(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        click = Click(body, context, client)
        if not is_id(click.value):
            await ack()
            return
        seq = pal_service.accept(self.rt, "pal.delete", click.actor, target=click.value)
        await ack()
        if not await require_admin(
            self.rt,
            client,
            click.actor,
            "pal.delete",
            "delete PALs",
            click.reply,
            target=click.value,
            accepted_seq=seq,
        ):
            return
        try:
            await pal_service.delete_pal(self.rt, click.actor, click.value, accepted_seq=seq)
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await click.reply.send(error_message(f"The PAL was not deleted. {text}"))
            return
        await click.reply.send(
            ok_message(f"Deleted the PAL `{escape(click.value)}`."), replace_original=True
        )

    async def force(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        click = Click(body, context, client)
        session = self.rt.patch_sessions.pop(click.value)
        if session is None or not session.ops:
            await ack()
            await click.reply.send(
                error_message("This confirmation has expired; run the patch again.")
            )
            return
        seq = pal_service.accept(
            self.rt,
            "pal.patch",
            click.actor,
            target=session.pal_id,
            detail={"ops": session.ops, "force": True},
        )
        await ack()
        if click.view is None:
            await patch_inline(
                self.rt,
                click.actor,
                click.reply,
                session.pal_id,
                session.ops,
                force=True,
                accepted_seq=seq,
            )
            return
        view_id = str(click.view["id"])
        await client.views_update(
            view_id=view_id, view=loading_view("Patch PAL", "Overwriting the editor changes…")
        )
        try:
            outcome = await pal_service.patch_pal(
                self.rt,
                click.actor,
                session.pal_id,
                session.ops,
                session.doc,
                force=True,
                accepted_seq=seq,
            )
        except api_errors.NoChange:
            await client.views_update(
                view_id=view_id,
                view=result_view("Patch PAL", [section(":information_source: Nothing changed.")]),
            )
            return
        except (UserError, api_errors.PalApiError) as exc:
            text = user_text(exc)
            await client.views_update(view_id=view_id, view=error_view(text))
            return
        await client.views_update(
            view_id=view_id,
            view=pal_blocks.patch_done_view(
                session.pal_id, outcome.after, outcome.changes, outcome.discarded
            ),
        )

    async def home_key(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click(body, context, client)
        if await require_admin(
            self.rt, client, click.actor, "key.set", "connect the PAL API key", click.reply
        ):
            await client.views_open(
                trigger_id=click.trigger_id,
                view=key_blocks.key_modal(
                    ModalMetadata(), self.rt.store.workspaces.get(click.actor.team_id)
                ),
            )

    async def home_limits(
        self, ack: AsyncAck, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click(body, context, client)
        if await require_admin(
            self.rt, client, click.actor, "limits.set", "set limits", click.reply
        ):
            workspace = self.rt.store.workspaces.get(click.actor.team_id)
            await client.views_open(
                trigger_id=click.trigger_id,
                view=admin_blocks.limits_modal(
                    ModalMetadata(), workspace.limits if workspace else Limits()
                ),
            )


def register(app: AsyncApp, rt: Runtime, convs: ConversationService) -> None:
    actions = Actions(rt, convs)
    register_each(
        rt,
        app.action,
        (
            (ids.PAL_START_BUTTON, actions.start),
            (ids.PAL_PATCH_BUTTON, actions.patch),
            (ids.CONVERSATION_JOIN, actions.join),
            (ids.CONVERSATION_END, actions.end),
            (ids.PAL_DELETE_CONFIRM, actions.delete),
            (ids.PATCH_FORCE, actions.force),
            (ids.HOME_CONNECT_KEY, actions.home_key),
            (ids.HOME_LIMITS, actions.home_limits),
        ),
    )
