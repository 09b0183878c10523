"""`/pal …`: parse, then hand each subcommand to its service; quick answers go in the ack."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from palbot.pal_api import errors as api_errors
from palbot.services import pals as pal_service
from palbot.services.audit import close_accepted
from palbot.services.conversations import Accepted, ConversationService, StartRequest
from palbot.services.errors import NoKey, UserError, user_text
from palbot.services.keys import remove_key
from palbot.services.runtime import Actor, PatchSession, Runtime
from palbot.slack import ids
from palbot.slack.answer_at_ack import answer_at_ack
from palbot.slack.blocks import admin as admin_blocks
from palbot.slack.blocks import conversations as conv_blocks
from palbot.slack.blocks import keys as key_blocks
from palbot.slack.blocks import pals as pal_blocks
from palbot.slack.blocks.common import error_message, error_view, loading_view, ok_message
from palbot.slack.blocks.help import help_message
from palbot.slack.listeners.guards import require_admin
from palbot.slack.metadata import ModalMetadata
from palbot.slack.parsing import USAGE, Command, is_id, parse
from palbot.slack.request import Reply, actor_from
from palbot.slack.text import escape
from palbot.store.models import Limits, Outcome

log = logging.getLogger("palbot.commands")


class Request:
    """One /pal invocation: its ack, Slack client, actor, and where later answers go."""

    def __init__(
        self, ack: AsyncAck, client: AsyncWebClient, body: dict[str, Any], context: Any
    ) -> None:
        self.ack = ack
        self.client = client
        self.body = body
        self.actor: Actor = actor_from(body, context)
        self.trigger_id: str | None = body.get("trigger_id")
        self.response_url: str | None = body.get("response_url")
        self.reply = Reply(client, self.actor.user_id, self.response_url)

    def metadata(self, pal_id: str | None = None) -> ModalMetadata:
        return ModalMetadata(
            pal_id=pal_id, channel_id=self.actor.channel_id, response_url=self.response_url
        )

    async def open_view(self, view: dict[str, Any]) -> str | None:
        try:
            resp = await self.client.views_open(trigger_id=self.trigger_id, view=view)
            return str(resp["view"]["id"])
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            await self.reply.send(
                error_message(
                    "Slack did not open the form (it may have taken too long). Run the command "
                    "again."
                )
            )
            return None


Handler = Callable[[Request, Command], Awaitable[None]]


class PalCommand:
    def __init__(self, rt: Runtime, convs: ConversationService) -> None:
        self.rt = rt
        self.convs = convs
        self.handlers: dict[str, Handler] = {
            "help": self.help,
            "key": self.key,
            "create": self.create,
            "list": self.list,
            "show": self.show,
            "patch": self.patch,
            "start": self.start,
            "end": self.end,
            "delete": self.delete,
            "audit": self.audit,
            "limits": self.limits,
        }

    async def __call__(
        self, ack: AsyncAck, client: AsyncWebClient, body: dict[str, Any], context: Any
    ) -> None:
        req = Request(ack, client, body, context)
        cmd = parse(body.get("text"))
        handler = self.handlers.get(cmd.sub)
        if handler is None:
            await ack(
                error_message(
                    f"Unknown subcommand `{cmd.sub[:40]}`.",
                    "Try `/pal help` for every subcommand with an example.",
                )
            )
            return
        try:
            await handler(req, cmd)
        except UserError as exc:
            await self._answer(req, error_message(exc.message))
        except api_errors.PalApiError as exc:
            await self._answer(req, error_message(str(exc)))

    @staticmethod
    async def _answer(req: Request, message: dict[str, Any]) -> None:
        if req.ack.response is None:
            await req.ack(message)
        else:
            await req.reply.send(message)

    @staticmethod
    async def usage(req: Request, sub: str, problem: str) -> None:
        await req.ack(error_message(problem, f"Usage: `{USAGE[sub]}`"))

    def _needs_key(self, req: Request) -> bool:
        workspace = self.rt.store.workspaces.get(req.actor.team_id)
        return workspace is None or not workspace.has_key

    # ---- subcommands -----------------------------------------------------------------

    async def help(self, req: Request, cmd: Command) -> None:
        await req.ack(help_message())

    async def key(self, req: Request, cmd: Command) -> None:
        what = (cmd.arg or "").lower()
        if what == "status":
            await req.ack(
                key_blocks.key_status_message(self.rt.store.workspaces.get(req.actor.team_id))
            )
            return
        if what not in ("", "remove"):
            await self.usage(
                req, "key", f"`/pal key {cmd.arg[:40] if cmd.arg else ''}` is not a key command."
            )
            return
        await req.ack()
        if what == "remove":
            if await require_admin(
                self.rt, req.client, req.actor, "key.remove", "remove the PAL API key", req.reply
            ):
                removed = remove_key(self.rt, req.actor)
                await req.reply.send(
                    ok_message("The workspace's PAL API key was removed.")
                    if removed
                    else error_message("No PAL API key was connected.")
                )
            return
        if await require_admin(
            self.rt, req.client, req.actor, "key.set", "connect the PAL API key", req.reply
        ):
            await req.open_view(
                key_blocks.key_modal(
                    req.metadata(), self.rt.store.workspaces.get(req.actor.team_id)
                )
            )

    async def create(self, req: Request, cmd: Command) -> None:
        template = (cmd.arg or "").lower() or None
        if template and template not in pal_blocks.TEMPLATES:
            await self.usage(
                req,
                "create",
                f"There is no template `{template[:40]}`; the "
                f"templates are: {', '.join(pal_blocks.TEMPLATES)}.",
            )
            return
        if self._needs_key(req):
            await req.ack(key_blocks.no_key_message())
            return
        await req.ack()
        await req.open_view(pal_blocks.create_modal(req.metadata(), template))

    async def list(self, req: Request, cmd: Command) -> None:
        if self._needs_key(req):
            await req.ack(key_blocks.no_key_message())
            return
        await req.ack()
        client = self.rt.pal_client(req.actor.team_id)
        page = await client.list_pals(limit=15)
        for pal in page.data:
            self.rt.remember_pal(req.actor.team_id, pal.pal_id, pal.pal_name or pal.pal_id)
        await req.reply.send(
            pal_blocks.pal_list_message([p.raw for p in page.data], page.total_count)
        )

    async def show(self, req: Request, cmd: Command) -> None:
        if not is_id(cmd.arg):
            await self.usage(req, "show", "Give the id of the PAL to show.")
            return
        if self._needs_key(req):
            await req.ack(key_blocks.no_key_message())
            return
        await req.ack()
        assert cmd.arg is not None
        pal = await self.rt.pal_client(req.actor.team_id).get_pal(cmd.arg)
        await req.reply.send(pal_blocks.pal_show_message(pal.raw))

    async def patch(self, req: Request, cmd: Command) -> None:
        if not is_id(cmd.arg):
            await self.usage(req, "patch", "Give the id of the PAL to patch.")
            return
        assert cmd.arg is not None
        pal_id = cmd.arg
        if self._needs_key(req):
            await req.ack(key_blocks.no_key_message())
            return
        if cmd.rest:
            ops = pal_service.parse_patch_text(cmd.rest, field="patch")  # raises: ack'd error
            seq = pal_service.accept(
                self.rt, "pal.patch", req.actor, target=pal_id, detail={"ops": ops, "force": False}
            )
            await req.ack()
            await patch_inline(self.rt, req.actor, req.reply, pal_id, ops, accepted_seq=seq)
            return
        await req.ack()
        metadata = req.metadata(pal_id)
        view_id = await req.open_view(
            loading_view(
                "Patch PAL", "Loading the PAL's current configuration…", ids.PATCH_MODAL, metadata
            )
        )
        if view_id is None:
            return
        try:
            pal = await self.rt.pal_client(req.actor.team_id).get_pal(pal_id)
        except api_errors.PalApiError as exc:
            await req.client.views_update(view_id=view_id, view=error_view(str(exc)))
            return
        self.rt.patch_sessions.set(
            view_id,
            PatchSession(
                pal_id=pal_id,
                doc=pal.raw,
                response_url=req.response_url,
                channel_id=req.actor.channel_id,
            ),
        )
        await req.client.views_update(
            view_id=view_id, view=pal_blocks.patch_modal(metadata, pal.raw)
        )

    async def start(self, req: Request, cmd: Command) -> None:
        if cmd.arg is None:
            if self._needs_key(req):
                await req.ack(key_blocks.no_key_message())
                return
            await req.ack()
            await req.open_view(conv_blocks.start_modal(req.metadata()))
            return
        if not is_id(cmd.arg):
            await self.usage(req, "start", f"`{cmd.arg[:40]}` is not a PAL id.")
            return
        if len(cmd.rest) > 200:
            await self.usage(
                req, "start", "The conversation name is too long (200 characters at most)."
            )
            return
        if not req.actor.channel_id:
            await self.usage(req, "start", "Run it in the channel where the Join link belongs.")
            return
        start = StartRequest(
            actor=req.actor,
            pal_id=cmd.arg,
            channel_id=req.actor.channel_id,
            conversation_name=cmd.rest or None,
            test_mode=cmd.test,
            dedupe_keys=(f"trigger:{req.trigger_id}",) if req.trigger_id else (),
        )
        try:  # audited before the ack; a refusal (no key, a repeat) goes in the ack
            accepted = self.convs.accept(start)
        except NoKey:
            await req.ack(key_blocks.no_key_message())
            return
        await req.ack()
        await run_start(self.convs, req.client, accepted, req.reply)

    async def end(self, req: Request, cmd: Command) -> None:
        if not is_id(cmd.arg):
            await self.usage(req, "end", "Give the id of the conversation to end.")
            return
        assert cmd.arg is not None
        if self._needs_key(req):
            await req.ack(key_blocks.no_key_message())
            return
        seq = self.convs.accept_end(req.actor, cmd.arg)
        await req.ack()
        text = await self.convs.end(
            req.client,
            req.actor,
            cmd.arg,
            lambda: self.rt.is_admin(req.client, req.actor),
            accepted_seq=seq,
        )
        await req.reply.send(ok_message(text))

    async def delete(self, req: Request, cmd: Command) -> None:
        if not is_id(cmd.arg):
            await self.usage(req, "delete", "Give the id of the PAL to delete.")
            return
        assert cmd.arg is not None
        if self._needs_key(req):
            await req.ack(key_blocks.no_key_message())
            return
        await req.ack()
        if not await require_admin(
            self.rt, req.client, req.actor, "pal.delete", "delete PALs", req.reply, target=cmd.arg
        ):
            return
        pal = await self.rt.pal_client(req.actor.team_id).get_pal(cmd.arg)
        await req.reply.send(pal_blocks.delete_confirm_message(pal.raw))

    async def audit(self, req: Request, cmd: Command) -> None:
        limit = 20
        if cmd.arg is not None:
            if not cmd.arg.isdigit() or not 1 <= int(cmd.arg) <= 100:
                await self.usage(req, "audit", "N is a whole number from 1 to 100.")
                return
            limit = int(cmd.arg)
        await req.ack()
        if not await require_admin(
            self.rt, req.client, req.actor, "audit.read", "read the audit log", req.reply
        ):
            return
        entries = self.rt.store.audit.recent(req.actor.team_id, limit)
        self.rt.store.audit.append(
            "audit.read",
            "ok",
            team_id=req.actor.team_id,
            user_id=req.actor.user_id,
            channel_id=req.actor.channel_id,
            detail={"rows": len(entries)},
        )
        await req.reply.send(admin_blocks.audit_message(entries, limit))

    async def limits(self, req: Request, cmd: Command) -> None:
        await req.ack()
        if not await require_admin(
            self.rt, req.client, req.actor, "limits.set", "set limits", req.reply
        ):
            return
        workspace = self.rt.store.workspaces.get(req.actor.team_id)

        await req.open_view(
            admin_blocks.limits_modal(req.metadata(), workspace.limits if workspace else Limits())
        )


async def patch_inline(
    rt: Runtime,
    actor: Actor,
    reply: Reply,
    pal_id: str,
    ops: list[dict[str, Any]],
    *,
    force: bool = False,
    accepted_seq: int | None = None,
) -> None:
    """`/pal patch <id> <json>` and the Overwrite button: fetch, check locally, send, report."""
    seq = accepted_seq or pal_service.accept(
        rt, "pal.patch", actor, target=pal_id, detail={"ops": ops, "force": force}
    )

    def close(outcome: Outcome, **detail: Any) -> None:
        close_accepted(rt, "pal.patch", outcome, actor, seq, target=pal_id, **detail)

    try:
        before = (await rt.pal_client(actor.team_id).get_pal(pal_id)).raw
    except (UserError, api_errors.PalApiError) as exc:
        close("error", error=type(exc).__name__)
        await reply.send(error_message(user_text(exc)))
        return
    try:
        pal_service.apply_locally(before, ops, field="patch")
    except UserError as exc:
        close("invalid", reason=exc.message)
        await reply.send(error_message(exc.message))
        return
    try:
        outcome = await pal_service.patch_pal(
            rt, actor, pal_id, ops, before, force=force, accepted_seq=seq
        )
    except UserError as exc:
        await reply.send(error_message(exc.message))
        return
    except api_errors.NoChange:
        await reply.send(ok_message("Nothing changed: the PAL already had that configuration."))
        return
    except api_errors.PatchConflict:
        token = "pf-" + secrets.token_urlsafe(12)
        rt.patch_sessions.set(
            token, PatchSession(pal_id=pal_id, doc=before, ops=ops, response_url=reply.response_url)
        )
        name = pal_blocks.pal_title(before)
        await reply.send(
            {
                "text": f"{escape(name)} has unpublished editor changes",
                "blocks": pal_blocks.patch_conflict_blocks(name, token),
            }
        )
        return
    except api_errors.PalApiError as exc:
        await reply.send(error_message(str(exc)))
        return
    name = pal_blocks.pal_title(outcome.after)
    await reply.send(
        {
            "text": f"Patched {escape(name)}",
            "blocks": pal_blocks.patch_done_blocks(
                name, pal_id, outcome.changes, outcome.discarded
            ),
        }
    )


async def run_start(
    convs: ConversationService, client: AsyncWebClient, accepted: Accepted, reply: Reply
) -> None:
    result = await convs.run(client, accepted)
    if result.ok:
        if accepted.req.test_mode:
            await reply.send(ok_message(result.message + " (test mode: nobody joins, no cost)"))
        return
    if result.concurrency_limited:
        await reply.send(conv_blocks.active_list_message(result.message, result.active))
        return
    await reply.send(error_message(result.message))


def register(app: AsyncApp, rt: Runtime, convs: ConversationService) -> None:
    app.command(ids.COMMAND)(answer_at_ack(rt, PalCommand(rt, convs)))
