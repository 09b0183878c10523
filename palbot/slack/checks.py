"""Checks declared where a listener is registered, never repeated inside it.

`Entry(key, handler, checks=(ValidId(...), NeedsKey(), AdminOnly(...)))`: each check raises a
typed error that `failures.answer_failure` turns into the surface's reply. Checks that cost a
Slack round trip (the admin check) run after an empty ack on commands and buttons, so the ack
never waits for them; on a form they run inside the ack and answer as a field error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from palbot.services.errors import Denied, Invalid
from palbot.services.validation import is_id
from palbot.slack.context import Ctx
from palbot.store.models import AuditAction

ADMIN_ONLY = "Only workspace admins and owners (or users listed in PALBOT_ADMIN_USERS) can {what}."
ADMIN_ONLY_FORM = "Only workspace admins can {what}."


class Usage(Invalid):
    """A malformed command: the problem, and the subcommand whose usage to show."""

    def __init__(self, sub: str, problem: str) -> None:
        super().__init__(problem)
        self.sub = sub


class Silent(Exception):
    """Nothing to say (a stale or foreign button): acked, nothing else happens."""


class Check(Protocol):
    @property
    def after_ack(self) -> bool: ...

    async def __call__(self, ctx: Ctx) -> None: ...


@dataclass(frozen=True)
class ValidId:
    """The command's id argument (or the button's value) is a well-formed id."""

    problem: str = ""
    silent: bool = False
    after_ack: bool = False

    async def __call__(self, ctx: Ctx) -> None:
        if is_id(ctx.target):
            return
        if self.silent or ctx.command is None:
            raise Silent()
        raise Usage(ctx.command.sub, self.problem)


@dataclass(frozen=True)
class NeedsKey:
    """The workspace has a PAL API key connected (else: how to connect one)."""

    after_ack: bool = False

    async def __call__(self, ctx: Ctx) -> None:
        await ctx.services.keys.require(ctx.actor.team_id)


@dataclass(frozen=True)
class Once:
    """The same request delivered again (Slack's retry of a command, a replayed click) acts
    once: keyed by the command's trigger_id or the button's action_ts."""

    after_ack: bool = False

    async def __call__(self, ctx: Ctx) -> None:
        if ctx.command is not None:
            key = f"trigger:{ctx.trigger_id}" if ctx.trigger_id else None
        else:
            stamp = ctx.action.get("action_ts")
            key = f"action:{ctx.action.get('action_id')}:{stamp}" if stamp else None
        await ctx.services.pals.claim(ctx.actor, key)


@dataclass(frozen=True)
class Accept:
    """Audit `accepted` for the request's target before the ack (the outcome follows)."""

    action: AuditAction
    after_ack: bool = False

    async def __call__(self, ctx: Ctx) -> None:
        ctx.accepted = await ctx.services.audit.accept(self.action, ctx.actor, target=ctx.target)


@dataclass(frozen=True)
class AdminOnly:
    """Admins only; a refusal is audited `denied` under `action` and says who may do it."""

    action: AuditAction
    what: str
    field: str | None = None  # on a form: the field the refusal is shown at
    targeted: bool = False  # the refusal names the request's target
    after_ack: bool = True

    async def __call__(self, ctx: Ctx) -> None:
        if await ctx.is_admin():
            return
        detail: dict[str, object] = {"reason": "not an admin"}
        if ctx.accepted is not None:
            detail["accepted_seq"] = ctx.accepted.seq
        target = ctx.target if self.targeted else None
        await ctx.services.audit.record(
            self.action, "denied", ctx.actor, target=target, detail=detail
        )
        text = ADMIN_ONLY_FORM if ctx.surface == "view" else ADMIN_ONLY
        raise Denied(text.format(what=self.what), field=self.field)


@dataclass(frozen=True)
class Permitted:
    """The workspace's permissions let this person create PALs, or edit or delete the
    request's PAL (`/pal limits` sets them); a refusal is audited `denied` and says who may."""

    verb: Literal["create", "edit", "delete"]
    field: str | None = None
    # the policy is read first; Slack is asked whether the person is an admin only when the
    # policy needs it (and that answer is cached), so the ack seldom waits for it
    after_ack: bool = False

    async def __call__(self, ctx: Ctx) -> None:
        await ctx.services.permissions.require(
            ctx.actor,
            self.verb,
            ctx.is_admin,
            pal_id=None if self.verb == "create" else ctx.target,
            field=self.field,
            ticket=ctx.accepted,
        )


@dataclass(frozen=True)
class DeleteConfirmed:
    """The Delete button was offered to this person, in this workspace, for this PAL, less
    than ten minutes ago, and not used yet (single use)."""

    after_ack: bool = False

    async def __call__(self, ctx: Ctx) -> None:
        if not await ctx.services.pals.take_delete(ctx.actor, ctx.target or ""):
            raise Invalid(DELETE_EXPIRED)


DELETE_EXPIRED = (
    "This Delete button has expired (or it was shown to someone else). "
    "Run `/pal delete <pal_id>` again."
)


@dataclass(frozen=True)
class KeyRemovalConfirmed:
    """The Remove key button was offered to this admin, in this workspace, less than ten
    minutes ago, and not used yet."""

    after_ack: bool = False

    async def __call__(self, ctx: Ctx) -> None:
        if not await ctx.services.key_removal.take(ctx.actor):
            raise Invalid(
                "This Remove key button has expired (or it was shown to someone else). "
                "Run `/pal key remove` again."
            )
