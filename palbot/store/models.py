"""Records the store hands out. Backend-neutral: nothing here knows about SQLite."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

AuditAction = Literal[
    "key.set", "key.remove", "pal.create", "pal.patch", "pal.delete",
    "conversation.start", "conversation.end", "conversation.callback", "limits.set",
    "audit.read", "app.install", "app.uninstall", "secret.rotate",
    "permissions.set", "conversation.reconcile",
]  # fmt: skip
AUDIT_ACTIONS: tuple[str, ...] = AuditAction.__args__  # type: ignore[attr-defined]
Outcome = Literal["accepted", "ok", "denied", "invalid", "error"]
OUTCOMES: tuple[str, ...] = Outcome.__args__  # type: ignore[attr-defined]
ConversationStatus = Literal["starting", "active", "ended", "failed", "unknown"]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Limits(BaseModel):
    """An admin's cost guard for one workspace; None means no limit / upstream default."""

    max_concurrent: int | None = Field(default=None, ge=1, le=1000)
    max_per_day: int | None = Field(default=None, ge=1, le=100000)
    max_call_duration: int | None = Field(
        default=None, ge=10, le=14400
    )  # older limits: clamped when sent


PermissionLevel = Literal["everyone", "creator_and_admins", "admins"]


class Permissions(BaseModel):
    """Who may create, edit/patch and delete the workspace's PALs (admins always may)."""

    create: Literal["everyone", "admins"] = "everyone"
    edit: PermissionLevel = "creator_and_admins"
    delete: PermissionLevel = "creator_and_admins"


class Workspace(BaseModel):
    team_id: str
    enterprise_id: str | None = None
    key_last4: str | None = None
    key_set_by: str | None = None
    key_set_at: str | None = None
    limits: Limits = Field(default_factory=Limits)
    limits_set_by: str | None = None
    limits_set_at: str | None = None
    permissions: Permissions = Field(default_factory=Permissions)

    @property
    def has_key(self) -> bool:
        return self.key_last4 is not None


class ConversationRecord(BaseModel):
    conversation_id: str
    team_id: str
    pal_id: str
    pal_name: str | None = None
    conversation_name: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    started_by: str
    status: ConversationStatus = "active"
    url: str | None = None
    callback_token_hash: str | None = None  # sha256 of the callback URL's token, never the token
    slack_call_id: str | None = None  # the Slack call card (Calls API), where there is one
    test_mode: bool = False
    private: bool = False  # its link went only to the starter; the room needs a token
    thread_ts: str | None = None  # its message was posted in this thread (results go there)
    created_at: str = Field(default_factory=utc_now)
    ended_at: str | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    attempt_id: str | None = None  # the start that made it (its id until upstream names it)
    accepted_seq: int | None = None  # the start's `accepted` audit row
    delivered: bool = False  # its message shows what it is (join message, or the failure)


@dataclass(frozen=True)
class NewEntry:
    """An audit row to append (its place in the chain, time and hash come when it is)."""

    action: str
    outcome: str
    team_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class AuditEntry(BaseModel):
    seq: int
    at: str
    team_id: str | None
    user_id: str | None
    channel_id: str | None
    action: str
    target: str | None
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyResult(BaseModel):
    ok: bool
    rows: int
    head: str | None  # "seq:hash" of the last row
    first_bad_seq: int | None = None
    problem: str | None = None
