"""The request context: who asked, from where, where later answers go, what the form held.

Built once per request by one Bolt middleware (`request_context`), so no listener parses a
payload itself. Listeners take `ctx` and speak to services through `ctx.services`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient

from palbot.services import Services
from palbot.services.audit import Accepted
from palbot.services.runtime import Actor
from palbot.slack.admins import Admins
from palbot.slack.blocks.common import error_message, working_message
from palbot.slack.clients import SlackClients
from palbot.slack.messages import SlackConversationMessages
from palbot.slack.metadata import ModalMetadata
from palbot.slack.parsing import Command, parse
from palbot.slack.request import Reply, actor_from, state_values
from palbot.slack.slack_errors import SLACK_FAILURES, slack_error_code

log = logging.getLogger("palbot.slack")
Surface = Literal["command", "action", "view", "options", "event", "shortcut", "other"]
CONTEXT_KEY = "palbot_ctx"
FORM_NOT_OPENED = "Slack did not open the form (it may have taken too long). Run the command again."


@dataclass
class SlackDeps:
    """What the Slack layer holds: the domain services, and its own Slack-side helpers."""

    services: Services
    admins: Admins
    clients: SlackClients


def surface_of(body: dict[str, Any]) -> Surface:
    kind = body.get("type")
    if body.get("command"):
        return "command"
    if kind == "block_actions":
        return "action"
    if kind == "view_submission":
        return "view"
    if kind == "block_suggestion":
        return "options"
    if kind == "event_callback":
        return "event"
    if kind in ("message_action", "shortcut"):
        return "shortcut"
    return "other"


SLOW_SECONDS = 4.0  # a command still waiting for the PAL API says so after this long


@dataclass
class Ctx:
    surface: Surface
    deps: SlackDeps
    client: AsyncWebClient
    body: dict[str, Any]
    actor: Actor
    reply: Reply
    metadata: ModalMetadata
    trigger_id: str | None = None
    response_url: str | None = None
    view: dict[str, Any] | None = None
    values: dict[str, str | None] = field(default_factory=dict)
    action: dict[str, Any] = field(default_factory=dict)
    command: Command | None = None
    ack: Any = None  # Bolt's ack for this request, set when the listener runs
    accepted: Accepted | None = None  # an `accepted` audit row written by a declared check
    title: str = "palbot"  # the modal's title, kept through its whole flow
    failure_prefix: str = ""  # what did not happen, said before a failure's reason
    _slow: asyncio.TimerHandle | None = field(default=None, repr=False)
    # a form brought back after a failure, with what was entered (None: a plain error view)
    refill: Callable[[Ctx, str], dict[str, Any] | None] | None = None
    form_doc: dict[str, Any] | None = None  # the PAL document a Patch/Edit form was opened on

    @classmethod
    def build(
        cls, deps: SlackDeps, body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> Ctx:
        surface = surface_of(body)
        view = body.get("view")
        metadata = ModalMetadata.load((view or {}).get("private_metadata"))
        actor = actor_from(body, context)
        if surface == "view" or (not actor.channel_id and metadata.channel_id):
            # a modal's channel is the one it was opened from
            actor = Actor(actor.team_id, actor.user_id, metadata.channel_id, actor.enterprise_id)
        response_url = body.get("response_url") or metadata.response_url
        return cls(
            surface=surface,
            deps=deps,
            client=client,
            body=body,
            actor=actor,
            reply=Reply(client, actor.user_id, response_url),
            metadata=metadata,
            trigger_id=body.get("trigger_id"),
            response_url=response_url,
            view=view,
            values=state_values(view) if surface == "view" and view else {},
            action=(body.get("actions") or [{}])[0] if surface == "action" else {},
            command=parse(body.get("text")) if surface == "command" else None,
        )

    # ---- what the request carries ----------------------------------------------------

    @property
    def services(self) -> Services:
        return self.deps.services

    @property
    def value(self) -> str:
        """A button's value."""
        return str(self.action.get("value") or "")

    @property
    def view_id(self) -> str:
        return str((self.view or {}).get("id") or "")

    @property
    def target(self) -> str | None:
        """The id the request is about: a command's argument or a button's value."""
        if self.command is not None:
            return self.command.arg
        return self.value or None

    @property
    def in_modal(self) -> bool:
        """The request came from a modal (not a message, not App Home)."""
        return self.view is not None and self.view.get("type", "modal") == "modal"

    @property
    def acked(self) -> bool:
        return self.ack is not None and self.ack.response is not None

    def form_metadata(self, pal_id: str | None = None) -> ModalMetadata:
        """What a modal opened from this request carries back."""
        return ModalMetadata(
            pal_id=pal_id, channel_id=self.actor.channel_id, response_url=self.response_url
        )

    def messages(self) -> SlackConversationMessages:
        return SlackConversationMessages(self.client)

    async def is_admin(self) -> bool:
        return await self.deps.admins.is_admin(self.client, self.actor)

    # ---- answering -------------------------------------------------------------------

    async def working(self, text: str) -> None:
        """A sign of life for a command whose answer needs the PAL API: an ephemeral
        "Looking up…" in the ack at once, replaced by the answer (or the failure); if the PAL
        API is slow, it says so after SLOW_SECONDS."""
        if self.surface != "command" or self.acked or self.ack is None:
            if self.ack is not None and not self.acked:
                await self.ack()
            return
        await self.ack(working_message(text))
        self.reply.replaces_placeholder = True
        loop = asyncio.get_running_loop()
        self._slow = loop.call_later(SLOW_SECONDS, self._say_slow, text)

    def _say_slow(self, text: str) -> None:
        self._slow = None
        still = working_message(f"{text.rstrip('….')}: the PAL API is slow today, still waiting…")
        self.deps.services.rt.spawn(self.reply.still_working(still), name="palbot-still-working")

    def done_working(self) -> None:
        if self._slow is not None:
            self._slow.cancel()
            self._slow = None

    async def answer(self, message: dict[str, Any]) -> None:
        """A command's answer goes in its ack while that is open; anything else (and anything
        later) through the response_url, or a DM. A button's ack carries no message."""
        if self.surface == "command" and not self.acked:
            await self.ack(message)
            return
        if self.ack is not None and not self.acked:
            await self.ack()
        await self.reply.send(message)

    def submission_key(self) -> str:
        """One form submission: the view, its hash and what it held (a repeat is ignored)."""
        digest = hashlib.sha256(repr(sorted(self.values.items())).encode()).hexdigest()[:16]
        return f"view:{self.view_id}:{(self.view or {}).get('hash', '')}:{digest}"

    async def open_view(self, view: dict[str, Any]) -> str | None:
        """Open a modal (stacked on top when the request came from one); its id, or None."""
        try:
            if self.in_modal and self.surface == "action":
                resp = await self.client.views_push(trigger_id=self.trigger_id, view=view)
            else:
                resp = await self.client.views_open(trigger_id=self.trigger_id, view=view)
            return str(resp["view"]["id"])
        except SLACK_FAILURES as exc:
            log.warning("views.open failed: %s", slack_error_code(exc))
            await self.reply.send(error_message(FORM_NOT_OPENED))
            return None

    async def show(self, view: dict[str, Any], view_id: str | None = None) -> None:
        """Replace the modal this request came from (or `view_id`)."""
        try:
            await self.client.views_update(view_id=view_id or self.view_id, view=view)
        except SLACK_FAILURES as exc:
            log.warning("views.update failed: %s", slack_error_code(exc))


def request_context(deps: SlackDeps) -> Any:
    """The Bolt middleware that builds `Ctx` once per request, before any listener runs."""

    async def middleware(body: dict[str, Any], context: Any, client: Any, next: Any) -> Any:
        if isinstance(body, dict) and surface_of(body) != "other":
            try:
                context[CONTEXT_KEY] = Ctx.build(deps, body, context, client)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                log.info("no request context for a malformed payload: %s", type(exc).__name__)
        return await next()

    return middleware
