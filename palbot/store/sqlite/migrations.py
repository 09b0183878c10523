"""Schema steps. Step N takes a database at user_version N to N+1; never edit a shipped step."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from palbot.store.crypto import hash_token

APPEND_ONLY_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""


def v1_initial(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("workspaces").create(
        {
            "team_id": str,
            "enterprise_id": str,
            "pal_key_enc": str,
            "pal_key_last4": str,
            "key_set_by": str,
            "key_set_at": str,
            "created_at": str,
        },
        pk="team_id",
        not_null={"created_at"},
    )
    db.table("conversations").create(
        {
            "conversation_id": str,
            "team_id": str,
            "pal_id": str,
            "pal_name": str,
            "conversation_name": str,
            "channel_id": str,
            "message_ts": str,
            "started_by": str,
            "status": str,
            "url": str,
            "callback_token": str,
            "test_mode": int,
            "created_at": str,
            "ended_at": str,
            "ended_by": str,
            "end_reason": str,
        },
        pk="conversation_id",
        not_null={"team_id", "pal_id", "started_by", "status", "created_at"},
    )
    db.table("audit_log").create(
        {
            "seq": int,
            "at": str,
            "team_id": str,
            "user_id": str,
            "channel_id": str,
            "action": str,
            "target": str,
            "outcome": str,
            "detail": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="seq",
        not_null={"at", "action", "outcome", "detail", "prev_hash", "hash"},
    )
    db.executescript(APPEND_ONLY_TRIGGERS)


def v2_lifecycle_and_installs(db: sqlite_utils.Database) -> None:
    workspaces = db.table("workspaces")
    for column, kind in (
        ("max_concurrent", int),
        ("max_per_day", int),
        ("max_call_duration", int),
        ("limits_set_by", str),
        ("limits_set_at", str),
    ):
        workspaces.add_column(column, kind)
    conversations = db.table("conversations")
    conversations.create_index(["callback_token"], unique=True, if_not_exists=True)
    conversations.create_index(["channel_id", "message_ts"], if_not_exists=True)
    conversations.create_index(["team_id", "status"], if_not_exists=True)
    conversations.create_index(["team_id", "created_at"], if_not_exists=True)
    audit = db.table("audit_log")
    audit.create_index(["team_id", "seq"], if_not_exists=True)
    db.table("conversation_events").create(
        {"conversation_id": str, "event_type": str, "received_at": str},
        pk=("conversation_id", "event_type"),
    )
    db.table("idempotency_keys").create(
        {"key": str, "team_id": str, "created_at": str}, pk="key", not_null={"created_at"}
    )
    db.table("slack_bots").create(
        {
            "enterprise_id": str,
            "team_id": str,
            "is_enterprise_install": int,
            "installed_at": float,
            "data_enc": str,
        },
        pk=("enterprise_id", "team_id"),
        not_null={"data_enc"},
    )
    db.table("slack_installations").create(
        {
            "enterprise_id": str,
            "team_id": str,
            "user_id": str,
            "is_enterprise_install": int,
            "installed_at": float,
            "data_enc": str,
        },
        pk=("enterprise_id", "team_id", "user_id"),
        not_null={"data_enc"},
    )
    db.table("oauth_states").create({"state": str, "expire_at": float}, pk="state")


def v3_durable_starts(db: sqlite_utils.Database) -> None:
    """A start is a row before any money is spent (status `starting`, keyed by its attempt id
    until the PAL API names the conversation); callback events are delivered, not just seen."""
    conversations = db.table("conversations")
    conversations.add_column("attempt_id", str)
    conversations.add_column("accepted_seq", int)
    conversations.add_column("delivered", int, not_null_default=0)
    db.execute("UPDATE conversations SET delivered = 1")  # rows from before: shown already
    conversations.create_index(["attempt_id"], unique=True, if_not_exists=True)
    # the few rows reconciliation looks at, indexed alone (a start's insert and its updates
    # stay cheap: they are on the path to Slack's ack)
    db.execute(
        "CREATE INDEX IF NOT EXISTS conversations_open ON conversations (created_at) "
        "WHERE status IN ('starting', 'unknown') OR delivered = 0"
    )
    # nothing looks a conversation up by its message: one index less to keep on every start
    db.execute("DROP INDEX IF EXISTS idx_conversations_channel_id_message_ts")
    db.table("conversation_events").add_column("delivered_at", str)
    db.execute("UPDATE conversation_events SET delivered_at = received_at")


def v4_shared_state(db: sqlite_utils.Database) -> None:
    """What several processes share: leases (one process runs a duty at a time) and the state
    a later request needs (a form's document, an Overwrite confirmation), encrypted."""
    db.table("leases").create({"name": str, "holder": str, "expires_at": float}, pk="name")
    db.table("form_sessions").create(
        {"key": str, "team_id": str, "data_enc": str, "expires_at": float},
        pk="key",
        not_null={"data_enc", "expires_at"},
    )


def v5_hashed_tokens_and_permissions(db: sqlite_utils.Database) -> None:
    """Callback tokens kept as their SHA-256 only (the rows from before are hashed in place);
    who may create, edit and delete PALs, per workspace; and who created each PAL here."""
    db.execute("ALTER TABLE conversations RENAME COLUMN callback_token TO callback_token_hash")
    rows = db.execute(
        "SELECT conversation_id, callback_token_hash FROM conversations "
        "WHERE callback_token_hash IS NOT NULL"
    ).fetchall()
    for conversation_id, token in rows:
        db.execute(
            "UPDATE conversations SET callback_token_hash = ? WHERE conversation_id = ?",
            (hash_token(token), conversation_id),
        )
    workspaces = db.table("workspaces")
    workspaces.add_column("perm_create", str)
    workspaces.add_column("perm_edit", str)
    workspaces.add_column("perm_delete", str)
    workspaces.add_column("permissions_set_by", str)
    db.table("pal_creators").create(
        {"team_id": str, "pal_id": str, "created_by": str, "created_at": str},
        pk=("team_id", "pal_id"),
    )


def v6_slack_calls(db: sqlite_utils.Database) -> None:
    """The Slack call (Calls API) registered for a conversation, to add its PAL as a
    participant and end it with the conversation."""
    db.table("conversations").add_column("slack_call_id", str)


def v7_private_and_threaded(db: sqlite_utils.Database) -> None:
    """A private start (its link only in the starter's DM, the room behind a token), a join
    message posted in a thread (a start from a message), and a link to each posted result."""
    conversations = db.table("conversations")
    conversations.add_column("private", int)
    conversations.add_column("thread_ts", str)
    # where a result posted in the thread lives (a permalink), for the message's summary
    db.table("conversation_events").add_column("link", str)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    v1_initial,
    v2_lifecycle_and_installs,
    v3_durable_starts,
    v4_shared_state,
    v5_hashed_tokens_and_permissions,
    v6_slack_calls,
    v7_private_and_threaded,
]
